import { ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { checkCreateNamespace, finishConstruct, renderNamespace } from '../core/app-checks';
import { assertDnsLabel, assertInteger, describe } from '../core/assertions';
import { notEvictable } from '../core/labels';
import { httpProbe, restrictedPodSecurityContext, restrictedSecurityContext } from '../core/pod-spec';
import { Problems } from '../core/problems';
import { appConstructs } from '../core/render-pass';
import { guaranteedResources, ResourceAmounts } from '../core/resources';
import { enforceRequestsEqualLimits } from '../policy/requests-equal-limits';
import { claimApiService } from './api-services';
import { AdapterMetric, MetricsApi } from './prom-adapter';

/** Props of {@link TestMetricsAdapter}. */
export interface TestMetricsAdapterProps {
  /**
   * The adapter's image. Upstream publishes none: build it from kubernetes-sigs/custom-metrics-apiserver with
   * `make test-adapter-container` (`$REGISTRY/k8s-test-metrics-adapter-amd64:latest`) and load it into the cluster
   * (`kind load docker-image ...`).
   */
  readonly image: string;
  /**
   * Namespace of the adapter.
   * @default "custom-metrics"
   */
  readonly namespace?: string;
  /**
   * Render the Namespace too (upstream's manifest does), labelled Pod Security "restricted".
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * cpu and memory of the adapter (requests == limits).
   * @default { cpu: "100m", memory: "128Mi" }
   */
  readonly resources?: ResourceAmounts;
  /**
   * Log verbosity (`--v`); upstream logs every request at 10.
   * @default 10
   */
  readonly verbosity?: number;
}

/** The external metrics the test adapter serves: fixed values in its code, not writable. */
const FIXED_EXTERNAL_METRICS = ['my-external-metric', 'other-external-metric'];

const NAME = 'custom-metrics-apiserver';
const LABELS = { app: NAME };
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const HTTPS_PORT = 6443;
const HTTP_PORT = 8080;
const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_:.-]*$/;

/**
 * The custom-metrics-apiserver's test adapter, for trying HPAs on a trial
 * cluster (kind): it serves any custom metric value POSTed to it, at parity
 * with upstream's `test-adapter-deploy/testing-adapter.yaml` (same objects,
 * names and APIServices: custom.metrics.k8s.io v1beta1 and v1beta2,
 * external.metrics.k8s.io v1beta1), with requests == limits, Pod Security
 * "restricted", probes, and read-only verbs for the HPA controller.
 *
 * Write a value with `POST .../write-metrics/namespaces/<ns>/<resource>/<name>/<metric>` and a JSON quantity body
 * (`"400m"`) on the Service's `http` port. Its external metrics are fixed in its code
 * (`my-external-metric`, `other-external-metric`), not writable.
 * Not for production: no authentication on the write endpoint, values kept in memory.
 */
export class TestMetricsAdapter extends Construct {
  /** Namespace of the adapter. */
  public readonly namespace: string;
  /** The Deployment. */
  public readonly deployment: ApiObject;
  /** The Service: `https` (443) for the APIServices, `http` (80) for writing values. */
  public readonly service: ApiObject;

  private readonly metrics = new Map<string, AdapterMetric>();

  constructor(scope: Construct, id: string, props: TestMetricsAdapterProps) {
    super(scope, id);
    const where = describe(this);
    const problems = new Problems(where);
    const namespace = this.namespace = props.namespace ?? 'custom-metrics';
    problems.check(() => assertDnsLabel(namespace, where, 'namespace'));
    if (!props.image) {
      problems.add('image is required: upstream publishes none; build it with `make test-adapter-container` in kubernetes-sigs/custom-metrics-'
        + 'apiserver and load it into the cluster (kind load docker-image <image>)');
    }
    const verbosity = props.verbosity ?? 10;
    problems.check(() => assertInteger(verbosity, where, 'verbosity', 0, 10));
    const createNamespace = props.createNamespace ?? true;
    checkCreateNamespace(createNamespace, namespace, problems);
    const resources = problems.check(() => guaranteedResources(props.resources ?? { cpu: '100m', memory: '128Mi' }, where));
    problems.throwIfAny();

    if (createNamespace) renderNamespace(this, namespace);
    this.renderRbac(namespace);
    this.deployment = this.renderDeployment(props.image, namespace, verbosity, resources!);
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: NAME, namespace },
      spec: {
        ports: [
          { name: 'https', port: 443, targetPort: k8s.IntOrString.fromNumber(HTTPS_PORT) },
          { name: 'http', port: 80, targetPort: k8s.IntOrString.fromNumber(HTTP_PORT) },
        ],
        selector: { ...LABELS },
      },
    });
    this.renderApiServices(namespace);
    this.node.addValidation({ validate: () => kedaProblems(this, where) });
    enforceRequestsEqualLimits(this);
    finishConstruct(this);
  }

  /**
   * A custom metric whose values you write to the adapter, as the handle
   * `ScalingMetric.object` and `ScalingMetric.pods` take, so the HPA and the
   * values you write never disagree on its name. (For a Pods metric, write a
   * value for each pod.)
   */
  public customMetric(name: string): AdapterMetric {
    if (!METRIC_NAME.test(name ?? '')) throw new Error(`${describe(this)}: customMetric: "${name}" is not a metric name`);
    let metric = this.metrics.get(name);
    if (!metric) this.metrics.set(name, metric = new AdapterMetric(undefined, MetricsApi.CUSTOM, name, []));
    return metric;
  }

  private renderRbac(namespace: string): void {
    const subject = { kind: 'ServiceAccount', name: NAME, namespace };
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: NAME, namespace } });
    new k8s.KubeClusterRoleBinding(this, 'AuthDelegator', {
      metadata: { name: 'custom-metrics:system:auth-delegator' },
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [subject],
    });
    new k8s.KubeRoleBinding(this, 'AuthReader', {
      metadata: { name: 'custom-metrics-auth-reader', namespace: 'kube-system' },
      roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'extension-apiserver-authentication-reader' },
      subjects: [subject],
    });
    // The objects a custom metric may describe, which the adapter looks up.
    new k8s.KubeClusterRole(this, 'ResourceReader', {
      metadata: { name: 'custom-metrics-resource-reader' },
      rules: [{ apiGroups: [''], resources: ['namespaces', 'pods', 'services'], verbs: ['get', 'list'] }],
    });
    new k8s.KubeClusterRoleBinding(this, 'ResourceReaderBinding', {
      metadata: { name: 'custom-metrics-resource-reader' },
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'custom-metrics-resource-reader' },
      subjects: [subject],
    });
    // The HPA controller reads the custom metrics API; upstream grants every verb, reading is all it needs.
    new k8s.KubeClusterRole(this, 'ServerResources', {
      metadata: { name: 'custom-metrics-server-resources' },
      rules: [{ apiGroups: ['custom.metrics.k8s.io'], resources: ['*'], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeClusterRoleBinding(this, 'HpaControllerBinding', {
      metadata: { name: 'hpa-controller-custom-metrics' },
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'custom-metrics-server-resources' },
      subjects: [{ kind: 'ServiceAccount', name: 'horizontal-pod-autoscaler', namespace: 'kube-system' }],
    });
  }

  /** L1, as upstream's testing-adapter.yaml (CONTRIBUTING: which workloads are cdk8s-plus). */
  private renderDeployment(image: string, namespace: string, verbosity: number, resources: k8s.ResourceRequirements): ApiObject {
    return new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: NAME, namespace, labels: { ...LABELS } },
      spec: {
        // one replica, as upstream: each pod keeps the values written to it in memory
        replicas: 1,
        selector: { matchLabels: { ...LABELS } },
        template: {
          // its one pod keeps the values written to it: it stays put when cluster-autoscaler drains nodes
          metadata: { name: NAME, labels: { ...LABELS }, annotations: notEvictable() },
          spec: {
            serviceAccountName: NAME,
            securityContext: restrictedPodSecurityContext(65534),
            containers: [{
              name: NAME,
              image,
              imagePullPolicy: 'IfNotPresent',
              args: [`--secure-port=${HTTPS_PORT}`, '--cert-dir=/var/run/serving-cert', `--v=${verbosity}`],
              ports: [{ containerPort: HTTPS_PORT, name: 'https' }, { containerPort: HTTP_PORT, name: 'http' }],
              livenessProbe: httpProbe('/livez', 'https', { failureThreshold: 3, periodSeconds: 10 }),
              readinessProbe: httpProbe('/readyz', 'https', { failureThreshold: 3, periodSeconds: 10 }),
              resources,
              securityContext: restrictedSecurityContext(),
              volumeMounts: [
                { mountPath: '/tmp', name: 'temp-vol', readOnly: false },
                { mountPath: '/var/run/serving-cert', name: 'volume-serving-cert', readOnly: false },
              ],
            }],
            volumes: [{ name: 'temp-vol', emptyDir: {} }, { name: 'volume-serving-cert', emptyDir: {} }],
          },
        },
      },
    });
  }

  private renderApiServices(namespace: string): void {
    const apis: [string, string, number][] = [
      ['v1beta1', 'custom.metrics.k8s.io', 100], ['v1beta2', 'custom.metrics.k8s.io', 200], ['v1beta1', 'external.metrics.k8s.io', 100],
    ];
    for (const [version, group, versionPriority] of apis) {
      const name = `${version}.${group}`;
      new k8s.KubeApiService(this, `APIService-${name}`, {
        metadata: { name },
        spec: { service: { name: NAME, namespace }, group, version, insecureSkipTlsVerify: true, groupPriorityMinimum: 100, versionPriority },
      });
      claimApiService(this, name, () => (group === MetricsApi.EXTERNAL ? [...FIXED_EXTERNAL_METRICS] : [...this.metrics.keys()]));
    }
  }
}

/** KEDA serves external.metrics.k8s.io in a cluster that runs ScaledObjects: one APIService per group and version. */
function kedaProblems(adapter: IConstruct, where: string): string[] {
  const scaledObjects = appConstructs(adapter.node.root).filter(c => ApiObject.isApiObject(c) && c.kind === 'ScaledObject'
    && c.apiVersion.startsWith('keda.sh/')) as ApiObject[];
  if (!scaledObjects.length) return [];
  const first = scaledObjects[0];
  return [`${where}: the app has KEDA ScaledObjects (${first.kind} ${first.metadata.namespace ?? Chart.of(first).namespace ?? 'default'}/`
    + `${first.name}${scaledObjects.length > 1 ? ` and ${scaledObjects.length - 1} more` : ''}), and KEDA serves v1beta1.external.metrics.k8s.io, `
    + 'which this adapter registers too (one APIService per group and version in a cluster); try the test adapter on a cluster without KEDA'];
}
