import { ApiObject, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { finishConstruct } from '../core/app-checks';
import { Autoscaler, AutoscalerProps, AutoscalingSpec, checkAutoscaling, hostedAutoscaler } from '../scaling/autoscaler';
import { ServiceMonitor } from '../imports/monitoring.coreos.com';
import { selectorLabels, standardLabels } from '../core/labels';
import { assertDnsLabel, assertInteger, describe } from '../core/assertions';
import { checkPodSettings, PodSettings } from '../core/pod-settings';
import { enforceRequestsEqualLimits } from '../policy/requests-equal-limits';
import { Problems } from '../core/problems';
import { parseAmounts, ResourceAmounts } from '../core/resources';
import { ResourceName, ScalingMetric } from '../scaling/scaling-metric';
import { ScalingPolicyType, ScalingRules, SelectPolicy } from '../scaling/scaling-rules';
import { ScalingSchedule } from '../scaling/scaling-schedule';
import { wholeSeconds } from '../core/pod-spec';
import { finishPlusDeployment, plusEnv, plusResources, PlusScheduling, plusScheduling, plusServiceAccount } from './plus-pod';

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
export interface ScalableFlaskAppProps extends PodSettings {
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
   * Off-hours: a lower floor at night and on weekends, applied by the app's kube-downscaler to the HPA.
   * @default - none
   */
  readonly schedule?: ScalingSchedule;
  /**
   * Pods that may be down at once in voluntary disruptions (PodDisruptionBudget).
   * @default 1
   */
  readonly maxUnavailable?: number;
}

/** Defaults of a web service: react to bursts at once, shrink slowly. */
const WEB_SCALE_UP: Required<ScalingRules> = {
  stabilizationWindow: Duration.seconds(0),
  policies: [
    { type: ScalingPolicyType.PERCENT, value: 100, period: Duration.seconds(15) },
    { type: ScalingPolicyType.PODS, value: 4, period: Duration.seconds(15) },
  ],
  selectPolicy: SelectPolicy.MAX,
};

/** Defaults of a web service: five minutes of stabilization, -20% a minute. */
const WEB_SCALE_DOWN: Required<ScalingRules> = {
  stabilizationWindow: Duration.minutes(5),
  policies: [{ type: ScalingPolicyType.PERCENT, value: 20, period: Duration.minutes(1) }],
  selectPolicy: SelectPolicy.MAX,
};

/** The props after checking, with their defaults. */
interface FlaskSettings {
  readonly name: string;
  readonly port: number;
  readonly servicePort: number;
  readonly workers: number;
  readonly threads: number;
  readonly timeout: number;
  readonly preStop: number;
  readonly healthPath: string;
  readonly runAsUser: number;
  readonly serviceType: FlaskServiceType;
  readonly maxUnavailable: number;
  readonly scrapeInterval?: number;
  readonly resources?: kplus.ContainerResources;
  readonly scheduling: PlusScheduling;
  readonly autoscaling: Omit<AutoscalerProps, 'target'>;
  /** The autoscaling props as checked. */
  readonly autoscalingSpec: AutoscalingSpec;
}

/**
 * A Flask web service served by gunicorn: Deployment (without
 * `spec.replicas`: the HPA owns it), Service, HorizontalPodAutoscaler
 * (autoscaling/v2 through {@link Autoscaler}, behavior always explicit),
 * PodDisruptionBudget and optionally a ServiceMonitor.
 */
export class ScalableFlaskApp extends Construct {
  /** Name of the Deployment, Service, HPA and PDB. */
  public readonly name: string;
  /** The Deployment (cdk8s-plus: add containers, volumes, scheduling and network rules with its methods). */
  public readonly deployment: kplus.Deployment;
  /** The Service. */
  public readonly service: ApiObject;
  /** The HorizontalPodAutoscaler. */
  public readonly hpa: ApiObject;
  /** The Autoscaler that renders the HPA (hand it to `simulate` or `HpaController`). */
  public readonly autoscaler: Autoscaler;

  constructor(scope: Construct, id: string, props: ScalableFlaskAppProps) {
    super(scope, id);
    const where = describe(this);
    const settings = this.checkProps(props, new Problems(where));
    this.name = settings.name;
    const labels = standardLabels(settings.name, 'web');
    const meta = { name: settings.name, ...(props.namespace ? { namespace: props.namespace } : {}), labels };
    this.deployment = this.renderDeployment(props, settings, meta);
    this.service = this.renderService(props, settings, meta);
    this.autoscaler = hostedAutoscaler(this, 'HPA', { ...settings.autoscaling, target: this.deployment, labels },
      { where, defaults: { scaleUp: WEB_SCALE_UP, scaleDown: WEB_SCALE_DOWN }, checked: settings.autoscalingSpec });
    this.hpa = this.autoscaler.hpa;
    new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
      metadata: meta,
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(settings.maxUnavailable), selector: { matchLabels: selectorLabels(settings.name, 'web') } },
    });
    if (props.metricsScraping) this.renderServiceMonitor(props.metricsScraping, settings, meta);
    enforceRequestsEqualLimits(this);
    finishConstruct(this);
  }

  /** Checks every prop (all problems in one error) and fills in the defaults. */
  private checkProps(props: ScalableFlaskAppProps, problems: Problems): FlaskSettings {
    const where = problems.where;
    const name = props.name ?? this.node.id;
    const int = (value: number, field: string, min: number, max?: number) => {
      problems.check(() => assertInteger(value, where, field, min, max));
      return value;
    };
    problems.check(() => assertDnsLabel(name, where, 'name'));
    if (props.namespace !== undefined) problems.check(() => assertDnsLabel(props.namespace!, where, 'namespace'));
    if (!props.image) problems.add('image is required');
    const port = int(props.port ?? 5000, 'port', 1, 65535);
    const serviceType = props.serviceType ?? FlaskServiceType.CLUSTER_IP;
    if (props.nodePort !== undefined) {
      if (serviceType === FlaskServiceType.CLUSTER_IP) problems.add(`nodePort ${props.nodePort} needs serviceType NodePort or LoadBalancer`);
      else int(props.nodePort, 'nodePort', 30000, 32767);
    }
    const healthPath = props.healthPath ?? '/healthz';
    if (!healthPath.startsWith('/')) problems.add(`healthPath "${healthPath}" must start with "/"`);
    const scraping = props.metricsScraping;
    if (scraping?.port !== undefined) {
      int(scraping.port, 'metricsScraping.port', 1, 65535);
      if (scraping.port === port) problems.add(`metricsScraping.port ${port} is the app's port; omit it to scrape the app's port`);
    }
    if (scraping?.path !== undefined && !scraping.path.startsWith('/')) problems.add(`metricsScraping.path "${scraping.path}" must start with "/"`);
    checkPodSettings(props, {
      labels: standardLabels(name, 'web'), volumes: ['tmp'], mountPaths: ['/tmp'], containers: ['flask'], topologySpread: true, serviceAccount: false,
    }, problems);
    const autoscaling = this.autoscalingOf(props);
    const autoscalingSpec = checkAutoscaling(this, autoscaling, { scaleUp: WEB_SCALE_UP, scaleDown: WEB_SCALE_DOWN }, problems);
    const settings: FlaskSettings = {
      name,
      port,
      serviceType,
      healthPath,
      autoscaling,
      autoscalingSpec,
      servicePort: int(props.servicePort ?? 80, 'servicePort', 1, 65535),
      workers: int(props.workers ?? 2, 'workers', 1),
      threads: int(props.threads ?? 4, 'threads', 1),
      timeout: problems.check(() => wholeSeconds(props.requestTimeout ?? Duration.seconds(30), where, 'requestTimeout', 1)) ?? 0,
      preStop: problems.check(() => wholeSeconds(props.preStopDelay ?? Duration.seconds(5), where, 'preStopDelay', 0)) ?? 0,
      runAsUser: int(props.runAsUser ?? 10001, 'runAsUser', 1),
      maxUnavailable: int(props.maxUnavailable ?? 1, 'maxUnavailable', 1),
      scrapeInterval: scraping ? problems.check(() => wholeSeconds(scraping.interval ?? Duration.seconds(15), where, 'metricsScraping.interval',
        1)) : undefined,
      resources: problems.check(() => plusResources(parseAmounts(props.resources, where), where)),
      scheduling: plusScheduling(props, problems),
    };
    problems.throwIfAny();
    return settings;
  }

  /** The HPA's settings: the utilization props as Resource metrics (cpu at 70% when nothing else is set), then `metrics`. */
  private autoscalingOf(props: ScalableFlaskAppProps): Omit<AutoscalerProps, 'target'> {
    const cpu = props.cpuUtilization ?? (props.memoryUtilization === undefined && !props.metrics?.length ? 70 : undefined);
    const utilization = (resource: ResourceName, value: number | undefined) => (value === undefined ? []
      : [ScalingMetric.resource(resource, { averageUtilization: value })._labelled(`${resource}Utilization`)]);
    const minReplicas = props.minReplicas ?? 2;
    return {
      minReplicas,
      scaleToZero: minReplicas === 0,
      maxReplicas: props.maxReplicas,
      metrics: [...utilization(ResourceName.CPU, cpu), ...utilization(ResourceName.MEMORY, props.memoryUtilization), ...(props.metrics ?? [])],
      scaleUp: props.scaleUp,
      scaleDown: props.scaleDown,
      schedule: props.schedule,
    };
  }

  /**
   * A cdk8s-plus Deployment: users add containers, volumes, scheduling and network rules with its methods. What
   * cdk8s-plus 27 cannot express is patched in (see plus-pod): seccompProfile and capabilities drop ALL (Pod Security
   * "restricted"), the topology spread with ScheduleAnyway, and the PodSettings it has no field for.
   */
  private renderDeployment(props: ScalableFlaskAppProps, s: FlaskSettings, meta: k8s.ObjectMeta): kplus.Deployment {
    const selector = selectorLabels(s.name, 'web');
    const ports: kplus.ContainerPort[] = [{ name: 'http', number: s.port, protocol: kplus.Protocol.TCP }];
    const metricsPort = props.metricsScraping?.port;
    if (metricsPort !== undefined) ports.push({ name: 'metrics', number: metricsPort, protocol: kplus.Protocol.TCP });
    const probe = (periodSeconds: number, failureThreshold: number) => kplus.Probe.fromHttpGet(s.healthPath, {
      port: s.port, periodSeconds: Duration.seconds(periodSeconds), failureThreshold, timeoutSeconds: Duration.seconds(2),
    });
    const deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: meta.name, namespace: meta.namespace, labels: meta.labels },
      select: false,
      podMetadata: { labels: meta.labels },
      strategy: kplus.DeploymentStrategy.rollingUpdate({
        maxSurge: kplus.PercentOrAbsolute.percent(25), maxUnavailable: kplus.PercentOrAbsolute.absolute(0),
      }),
      ...plusServiceAccount(this, props),
      securityContext: { user: s.runAsUser, group: s.runAsUser, fsGroup: s.runAsUser, ensureNonRoot: true },
      terminationGracePeriod: Duration.seconds(s.preStop + s.timeout + 5),
      containers: [{
        name: 'flask',
        image: props.image,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['gunicorn'],
        args: [
          `--bind=0.0.0.0:${s.port}`, `--workers=${s.workers}`, `--threads=${s.threads}`,
          `--timeout=${s.timeout}`, `--graceful-timeout=${s.timeout}`, '--worker-tmp-dir=/tmp',
          '--access-logfile=-', props.wsgiApp ?? 'app:app',
        ],
        envVariables: plusEnv(props.env),
        ports,
        startup: probe(5, 24),
        readiness: probe(5, 3),
        liveness: probe(10, 3),
        lifecycle: s.preStop > 0 ? { preStop: kplus.Handler.fromCommand(['sleep', String(s.preStop)]) } : undefined,
        resources: s.resources,
        securityContext: {
          user: s.runAsUser, group: s.runAsUser, ensureNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
        },
        volumeMounts: [{ path: '/tmp', volume: kplus.Volume.fromEmptyDir(this, 'TmpVolume', 'tmp', {
          medium: kplus.EmptyDirMedium.MEMORY, sizeLimit: Size.mebibytes(64),
        }) }],
      }],
    });
    deployment.select(kplus.LabelSelector.of({ labels: selector }));
    finishPlusDeployment(this, deployment, props, s.scheduling, {
      topologySpreadConstraints: ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map(topologyKey => ({
        maxSkew: 1, topologyKey, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector },
      })),
    });
    return deployment;
  }

  private renderService(props: ScalableFlaskAppProps, s: FlaskSettings, meta: k8s.ObjectMeta): ApiObject {
    const ports: k8s.ServicePort[] = [{
      name: 'http', port: s.servicePort, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP',
      ...(props.nodePort !== undefined ? { nodePort: props.nodePort } : {}),
    }];
    const metricsPort = props.metricsScraping?.port;
    if (metricsPort !== undefined) {
      ports.push({ name: 'metrics', port: metricsPort, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' });
    }
    return new k8s.KubeService(this, 'Service', {
      metadata: meta,
      spec: { type: s.serviceType, selector: selectorLabels(s.name, 'web'), ports },
    });
  }

  private renderServiceMonitor(scraping: FlaskMetricsScraping, s: FlaskSettings, meta: k8s.ObjectMeta): void {
    new ServiceMonitor(this, 'ServiceMonitor', {
      metadata: { ...meta, labels: { ...meta.labels, ...(scraping.serviceMonitorLabels ?? {}) } },
      spec: {
        selector: { matchLabels: selectorLabels(s.name, 'web') },
        endpoints: [{
          port: scraping.port !== undefined ? 'metrics' : 'http',
          path: scraping.path ?? '/metrics',
          interval: `${s.scrapeInterval}s`,
        }],
      },
    });
  }
}
