import { ApiObject, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { AutoscalingSpec, checkAutoscaling, renderHpa, ScalingMetric, ScalingPolicyType, ScalingRules, scalingRules, SelectPolicy, utilizationRequestErrors } from './hpa';
import { ServiceMonitor } from './imports/monitoring.coreos.com';
import { selectorLabels, standardLabels } from './labels';
import { assertDnsLabel, assertInteger, describe } from './names';
import { enforceRequestsEqualLimits } from './policy';
import { MemoizedKubeDeployment, MemoizedKubePodDisruptionBudget, MemoizedKubeService } from './render-cache';
import { guaranteedResources, ResourceAmounts } from './resources';
import { envVars, httpProbe, restrictedPodSecurityContext, restrictedSecurityContext, wholeSeconds } from './workload';

/** How the Service is exposed. */
export enum FlaskServiceType {
  /** Inside the cluster only. */
  CLUSTER_IP = 'ClusterIP',
  /** On a port of every node. */
  NODE_PORT = 'NodePort',
  /** Through a cloud load balancer. */
  LOAD_BALANCER = 'LoadBalancer',
}

/** Prometheus scraping of the app's `/metrics`. */
export interface FlaskMetricsScraping {
  /**
   * HTTP path of the metrics.
   * @default "/metrics"
   */
  readonly path?: string;
  /**
   * Container port serving the metrics, when it is not the app's port
   * (e.g. a prometheus_client exporter on 9100).
   * @default - the app's port
   */
  readonly port?: number;
  /**
   * Scrape interval.
   * @default Duration.seconds(15)
   */
  readonly interval?: Duration;
  /**
   * Labels the cluster's Prometheus selects ServiceMonitors by, e.g. `{ release: "prometheus" }`.
   * @default - none
   */
  readonly serviceMonitorLabels?: Record<string, string>;
}

/**
 * Props of {@link ScalableFlaskApp}.
 */
export interface ScalableFlaskAppProps {
  /** Container image with the Flask app and gunicorn. */
  readonly image: string;
  /**
   * Name of the Deployment, Service, HPA and PodDisruptionBudget.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Namespace of the objects.
   * @default - the chart's namespace
   */
  readonly namespace?: string;
  /**
   * Port gunicorn listens on.
   * @default 5000
   */
  readonly port?: number;
  /** cpu and memory per pod, rendered as requests == limits. */
  readonly resources: ResourceAmounts;
  /**
   * Environment variables.
   * @default - none
   */
  readonly env?: Record<string, string>;
  /**
   * The WSGI application, `module:variable`.
   * @default "app:app"
   */
  readonly wsgiApp?: string;
  /**
   * gunicorn worker processes per pod. Size with the cpu: about 2 per core.
   * @default 2
   */
  readonly workers?: number;
  /**
   * Threads per worker (gthread).
   * @default 4
   */
  readonly threads?: number;
  /**
   * Longest request the app serves: gunicorn's `--timeout` and
   * `--graceful-timeout`; the pod's termination grace period covers it plus
   * the preStop pause.
   * @default Duration.seconds(30)
   */
  readonly requestTimeout?: Duration;
  /**
   * Pause before gunicorn gets SIGTERM, so endpoints controllers and proxies
   * stop routing to the pod first.
   * @default Duration.seconds(5)
   */
  readonly preStopDelay?: Duration;
  /**
   * Path of the health endpoint used by the readiness, liveness and startup probes.
   * @default "/healthz"
   */
  readonly healthPath?: string;
  /**
   * UID the container runs as (Pod Security "restricted" needs non-root).
   * @default 10001
   */
  readonly runAsUser?: number;
  /**
   * Service type.
   * @default FlaskServiceType.CLUSTER_IP
   */
  readonly serviceType?: FlaskServiceType;
  /**
   * Port of the Service.
   * @default 80
   */
  readonly servicePort?: number;
  /**
   * Fixed node port (30000-32767), with NodePort or LoadBalancer services.
   * @default - assigned by the cluster
   */
  readonly nodePort?: number;
  /**
   * Scrape `/metrics` with a ServiceMonitor.
   * @default - no scraping
   */
  readonly metricsScraping?: FlaskMetricsScraping;
  /**
   * Extra containers in the pod (log shippers, proxies). Each needs cpu and
   * memory requests equal to limits, like every container here.
   * @default - none
   */
  readonly sidecars?: k8s.Container[];
  /**
   * Fewest replicas. 0 only with an Object or External metric.
   * @default 2
   */
  readonly minReplicas?: number;
  /** Most replicas. */
  readonly maxReplicas: number;
  /**
   * Target average cpu use, percent of the request.
   * @default 70, when no other metric is set
   */
  readonly cpuUtilization?: number;
  /**
   * Target average memory use, percent of the request.
   * @default - not used
   */
  readonly memoryUtilization?: number;
  /**
   * Pods, Object and External metrics from a PromAdapter.
   * @default - none
   */
  readonly metrics?: ScalingMetric[];
  /**
   * Scale-up behavior.
   * @default - no stabilization; at most +100% or +4 pods per 15 s, whichever is more
   */
  readonly scaleUp?: ScalingRules;
  /**
   * Scale-down behavior.
   * @default - 5 min stabilization; at most -20% per minute
   */
  readonly scaleDown?: ScalingRules;
  /**
   * Pods that may be down at once in voluntary disruptions (PodDisruptionBudget).
   * @default 1
   */
  readonly maxUnavailable?: number;
}

/** Defaults of a web service: react to bursts at once, shrink slowly. */
export const WEB_SCALE_UP: Required<ScalingRules> = {
  stabilizationWindow: Duration.seconds(0),
  policies: [
    { type: ScalingPolicyType.PERCENT, value: 100, period: Duration.seconds(15) },
    { type: ScalingPolicyType.PODS, value: 4, period: Duration.seconds(15) },
  ],
  selectPolicy: SelectPolicy.MAX,
};

/** Defaults of a web service: five minutes of stabilization, -20% a minute. */
export const WEB_SCALE_DOWN: Required<ScalingRules> = {
  stabilizationWindow: Duration.minutes(5),
  policies: [{ type: ScalingPolicyType.PERCENT, value: 20, period: Duration.minutes(1) }],
  selectPolicy: SelectPolicy.MAX,
};

/**
 * A Flask web service served by gunicorn: Deployment (without
 * `spec.replicas`: the HPA owns it), Service, HorizontalPodAutoscaler
 * (autoscaling/v2, behavior always explicit), PodDisruptionBudget and
 * optionally a ServiceMonitor.
 */
export class ScalableFlaskApp extends Construct {
  /** Name of the Deployment, Service, HPA and PDB. */
  public readonly name: string;
  /** The Deployment. */
  public readonly deployment: ApiObject;
  /** The Service. */
  public readonly service: ApiObject;
  /** The HorizontalPodAutoscaler. */
  public readonly hpa: ApiObject;

  constructor(scope: Construct, id: string, props: ScalableFlaskAppProps) {
    super(scope, id);
    const where = describe(this);
    const name = this.name = props.name ?? id;
    assertDnsLabel(name, where, 'name');
    if (props.namespace !== undefined) assertDnsLabel(props.namespace, where, 'namespace');
    if (!props.image) throw new Error(`${where}: image is required`);
    const port = props.port ?? 5000;
    assertInteger(port, where, 'port', 1, 65535);
    const servicePort = props.servicePort ?? 80;
    assertInteger(servicePort, where, 'servicePort', 1, 65535);
    const workers = props.workers ?? 2;
    assertInteger(workers, where, 'workers', 1);
    const threads = props.threads ?? 4;
    assertInteger(threads, where, 'threads', 1);
    const timeout = wholeSeconds(props.requestTimeout ?? Duration.seconds(30), where, 'requestTimeout', 1);
    const preStop = wholeSeconds(props.preStopDelay ?? Duration.seconds(5), where, 'preStopDelay', 0);
    const healthPath = props.healthPath ?? '/healthz';
    if (!healthPath.startsWith('/')) throw new Error(`${where}: healthPath "${healthPath}" must start with "/"`);
    const runAsUser = props.runAsUser ?? 10001;
    assertInteger(runAsUser, where, 'runAsUser', 1);
    const serviceType = props.serviceType ?? FlaskServiceType.CLUSTER_IP;
    if (props.nodePort !== undefined) {
      if (serviceType === FlaskServiceType.CLUSTER_IP) {
        throw new Error(`${where}: nodePort ${props.nodePort} needs serviceType NodePort or LoadBalancer`);
      }
      assertInteger(props.nodePort, where, 'nodePort', 30000, 32767);
    }
    const maxUnavailable = props.maxUnavailable ?? 1;
    assertInteger(maxUnavailable, where, 'maxUnavailable', 1);
    const scraping = props.metricsScraping;
    if (scraping?.port !== undefined) {
      assertInteger(scraping.port, where, 'metricsScraping.port', 1, 65535);
      if (scraping.port === port) throw new Error(`${where}: metricsScraping.port ${port} is the app's port; omit it to scrape the app's port`);
    }

    const autoscaling: AutoscalingSpec = {
      minReplicas: props.minReplicas ?? 2,
      maxReplicas: props.maxReplicas,
      cpuUtilization: props.cpuUtilization ?? (props.memoryUtilization === undefined && !props.metrics?.length ? 70 : undefined),
      memoryUtilization: props.memoryUtilization,
      metrics: props.metrics,
      scaleUp: scalingRules(props.scaleUp, WEB_SCALE_UP, where, 'scaleUp'),
      scaleDown: scalingRules(props.scaleDown, WEB_SCALE_DOWN, where, 'scaleDown'),
    };
    checkAutoscaling(this, autoscaling, where);

    const labels = standardLabels(name, 'web');
    const selector = selectorLabels(name, 'web');
    const meta = { name, ...(props.namespace ? { namespace: props.namespace } : {}), labels };
    const ports: k8s.ContainerPort[] = [{ name: 'http', containerPort: port, protocol: 'TCP' }];
    if (scraping?.port !== undefined) ports.push({ name: 'metrics', containerPort: scraping.port, protocol: 'TCP' });
    const probe = (timing: Omit<k8s.Probe, 'httpGet'>) => httpProbe(healthPath, 'http', { timeoutSeconds: 2, ...timing }, 'HTTP');

    this.deployment = new MemoizedKubeDeployment(this, 'Deployment', {
      metadata: meta,
      spec: {
        selector: { matchLabels: selector },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromString('25%'), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            securityContext: restrictedPodSecurityContext(runAsUser, true),
            terminationGracePeriodSeconds: preStop + timeout + 5,
            topologySpreadConstraints: ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map(topologyKey => ({
              maxSkew: 1, topologyKey, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector },
            })),
            containers: [{
              name: 'flask',
              image: props.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['gunicorn'],
              args: [
                `--bind=0.0.0.0:${port}`, `--workers=${workers}`, `--threads=${threads}`,
                `--timeout=${timeout}`, `--graceful-timeout=${timeout}`, '--worker-tmp-dir=/tmp',
                '--access-logfile=-', props.wsgiApp ?? 'app:app',
              ],
              env: envVars(props.env),
              ports,
              startupProbe: probe({ periodSeconds: 5, failureThreshold: 24 }),
              readinessProbe: probe({ periodSeconds: 5, failureThreshold: 3 }),
              livenessProbe: probe({ periodSeconds: 10, failureThreshold: 3 }),
              lifecycle: preStop > 0 ? { preStop: { exec: { command: ['sleep', String(preStop)] } } } : undefined,
              resources: guaranteedResources(props.resources, where),
              securityContext: restrictedSecurityContext(),
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            }, ...(props.sidecars ?? [])],
            volumes: [{ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('64Mi') } }],
          },
        },
      },
    });

    const servicePorts: k8s.ServicePort[] = [{
      name: 'http', port: servicePort, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP',
      ...(props.nodePort !== undefined ? { nodePort: props.nodePort } : {}),
    }];
    if (scraping?.port !== undefined) {
      servicePorts.push({ name: 'metrics', port: scraping.port, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' });
    }
    this.service = new MemoizedKubeService(this, 'Service', {
      metadata: meta,
      spec: { type: serviceType, selector, ports: servicePorts },
    });

    this.hpa = renderHpa(this, 'HPA', meta, name, autoscaling);
    new MemoizedKubePodDisruptionBudget(this, 'PodDisruptionBudget', {
      metadata: meta,
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(maxUnavailable), selector: { matchLabels: selector } },
    });

    if (scraping) {
      const path = scraping.path ?? '/metrics';
      if (!path.startsWith('/')) throw new Error(`${where}: metricsScraping.path "${path}" must start with "/"`);
      new ServiceMonitor(this, 'ServiceMonitor', {
        metadata: { ...meta, labels: { ...labels, ...(scraping.serviceMonitorLabels ?? {}) } },
        spec: {
          selector: { matchLabels: selector },
          endpoints: [{
            port: scraping.port !== undefined ? 'metrics' : 'http',
            path,
            interval: `${wholeSeconds(scraping.interval ?? Duration.seconds(15), where, 'metricsScraping.interval', 1)}s`,
          }],
        },
      });
    }

    this.node.addValidation({ validate: () => utilizationRequestErrors(this.deployment, autoscaling, where) });
    enforceRequestsEqualLimits(this);
  }
}
