import { ApiObject, Duration, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { checkCreateNamespace, finishConstruct, renderNamespace } from '../core/app-checks';
import { ServiceMonitor, ServiceMonitorSpecEndpointsMetricRelabelingsAction,
  ServiceMonitorSpecEndpointsRelabelingsAction } from '../imports/monitoring.coreos.com';
import { metricLabelsAllowlist, registerKsm } from '../core/ksm-labels';
import { assertDnsLabel, describe } from '../core/assertions';
import { checkPodSettings, PodSettings, withContainerSettings, withPodSettings } from '../core/pod-settings';
import { enforceRequestsEqualLimits } from '../policy/requests-equal-limits';
import { Problems } from '../core/problems';
import { guaranteedResources, ResourceAmounts } from '../core/resources';
import { goDuration, imageRef, mergeArgs, restrictedSecurityContext } from '../core/pod-spec';

/** Props of {@link KubeStateMetrics}. */
export interface KubeStateMetricsProps extends PodSettings {
  /**
   * Namespace of the namespaced objects.
   * @default "kube-system"
   */
  readonly namespace?: string;
  /**
   * Render the Namespace too, labelled for Pod Security "restricted" (shared with the other constructs of the app that create
   * it). Set it when nothing else creates the namespace.
   * @default false
   */
  readonly createNamespace?: boolean;
  /**
   * kube-state-metrics release, the image tag.
   * @default "v2.20.0"
   */
  readonly version?: string;
  /**
   * Registry to pull from instead of registry.k8s.io (a mirror).
   * @default "registry.k8s.io"
   */
  readonly imageRegistry?: string;
  /**
   * Full image reference; overrides `imageRegistry` and `version`.
   * @default - `<imageRegistry>/kube-state-metrics/kube-state-metrics:<version>`
   */
  readonly image?: string;
  /**
   * cpu and memory of the container, rendered as requests == limits (upstream sets none).
   * @default { cpu: "100m", memory: "250Mi" } (kube-prometheus's limits)
   */
  readonly resources?: ResourceAmounts;
  /**
   * Labels to export per resource (`kube_<resource>_labels`), e.g. `{ pods: ["app.kubernetes.io/name"] }`.
   * The labels the app's constructs need (every filler's pod label) are added by themselves.
   * @default - only what the app needs
   */
  readonly metricLabelsAllowlist?: Record<string, string[]>;
  /**
   * Labels the Prometheus selects ServiceMonitors by, e.g. `{ release: "prometheus" }`.
   * @default - none
   */
  readonly serviceMonitorLabels?: Record<string, string>;
  /**
   * Scrape interval of the ServiceMonitor.
   * @default Duration.seconds(30)
   */
  readonly scrapeInterval?: Duration;
  /**
   * Extra command-line flags. Flags the construct sets are refused.
   * @default - none
   */
  readonly args?: string[];
}

const NAME = 'kube-state-metrics';
const SELECTOR = { 'app.kubernetes.io/name': NAME };
const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** The upstream v2.20.0 ClusterRole: list and watch of every resource kube-state-metrics reports, create for the --auth-filter reviews. */
const RULES: [string, string[], string[]?][] = [
  ['', ['configmaps', 'secrets', 'nodes', 'pods', 'services', 'serviceaccounts', 'resourcequotas', 'replicationcontrollers', 'limitranges',
    'persistentvolumeclaims', 'persistentvolumes', 'namespaces', 'endpoints']],
  ['apps', ['statefulsets', 'daemonsets', 'deployments', 'replicasets']],
  ['batch', ['cronjobs', 'jobs']],
  ['autoscaling', ['horizontalpodautoscalers']],
  ['authentication.k8s.io', ['tokenreviews'], ['create']],
  ['authorization.k8s.io', ['subjectaccessreviews'], ['create']],
  ['policy', ['poddisruptionbudgets']],
  ['certificates.k8s.io', ['certificatesigningrequests']],
  ['discovery.k8s.io', ['endpointslices']],
  ['storage.k8s.io', ['storageclasses', 'volumeattachments']],
  ['admissionregistration.k8s.io', ['mutatingadmissionpolicies', 'mutatingadmissionpolicybindings', 'mutatingwebhookconfigurations',
    'validatingadmissionpolicies', 'validatingadmissionpolicybindings', 'validatingwebhookconfigurations']],
  ['networking.k8s.io', ['networkpolicies', 'ingressclasses', 'ingresses']],
  ['coordination.k8s.io', ['leases']],
  [RBAC_GROUP, ['clusterrolebindings', 'clusterroles', 'rolebindings', 'roles']],
];

/**
 * kube-state-metrics at parity with upstream v2.20.0 `examples/standard`
 * (objects, names, RBAC, ports, probes, securityContext), plus requests ==
 * limits and a ServiceMonitor that keeps the object labels it exports
 * (`job="kube-state-metrics"`, as the kube-prometheus alerts expect). Its
 * `--metric-labels-allowlist` is computed from the app: every filler's pod
 * label, plus `metricLabelsAllowlist`.
 */
export class KubeStateMetrics extends Construct {
  /** Namespace of the namespaced objects. */
  public readonly namespace: string;
  /** The Deployment. */
  public readonly deployment: ApiObject;
  /** The headless Service. */
  public readonly service: ApiObject;

  constructor(scope: Construct, id: string, props: KubeStateMetricsProps = {}) {
    super(scope, id);
    const where = describe(this);
    const problems = new Problems(where);
    const namespace = this.namespace = props.namespace ?? 'kube-system';
    problems.check(() => assertDnsLabel(namespace, where, 'namespace'));
    const extra = props.metricLabelsAllowlist ?? {};
    for (const [resource, labels] of Object.entries(extra)) {
      if (!/^([a-z]+|\*)$/.test(resource)) problems.add(`metricLabelsAllowlist: "${resource}" is not a plural resource name such as "pods"`);
      if (!labels.length) problems.add(`metricLabelsAllowlist.${resource} is empty; omit it`);
      labels.forEach(l => /[,[\]=\s]/.test(l) && problems.add(`metricLabelsAllowlist.${resource}: "${l}" is not a label key`));
    }
    const interval = problems.check(() => goDuration(props.scrapeInterval ?? Duration.seconds(30), where, 'scrapeInterval'));
    const resources = problems.check(() => guaranteedResources(props.resources ?? { cpu: '100m', memory: '250Mi' }, where));
    problems.check(() => mergeArgs(['--metric-labels-allowlist', '--port', '--telemetry-port'], props.args, where));
    const version = props.version ?? 'v2.20.0';
    const labels = { 'app.kubernetes.io/component': 'exporter', 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/version': version.replace(/^v/,
      '') };
    checkPodSettings(props, { labels, volumes: [], mountPaths: [], containers: [NAME], topologySpread: false, serviceAccount: true }, problems);
    checkCreateNamespace(props.createNamespace, namespace, problems);
    problems.throwIfAny();

    const meta = (ns?: string) => ({ name: NAME, ...(ns ? { namespace: ns } : {}), labels: { ...labels } });
    this.renderRbac(meta, namespace);
    const allowlist = () => metricLabelsAllowlist(this, extra);
    this.deployment = this.renderDeployment(meta(namespace), labels, props, version, resources!, allowlist);
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: meta(namespace),
      spec: {
        clusterIp: 'None',
        ports: [
          { name: 'http-metrics', port: 8080, targetPort: k8s.IntOrString.fromString('http-metrics') },
          { name: 'telemetry', port: 8081, targetPort: k8s.IntOrString.fromString('telemetry') },
        ],
        selector: { ...SELECTOR },
      },
    });
    this.renderServiceMonitor(meta(namespace), props.serviceMonitorLabels, interval!);
    registerKsm(this);
    enforceRequestsEqualLimits(this);
    if (props.createNamespace) renderNamespace(this, namespace);
    finishConstruct(this);
  }

  private renderRbac(meta: (ns?: string) => k8s.ObjectMeta, namespace: string): void {
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(namespace), automountServiceAccountToken: false });
    new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: meta(),
      rules: RULES.map(([group, resources, verbs]) => ({ apiGroups: [group], resources, verbs: verbs ?? ['list', 'watch'] })),
    });
    new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: meta(),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace }],
    });
  }

  /** L1, as upstream's kube-state-metrics manifests (CONTRIBUTING: which workloads are cdk8s-plus). */
  private renderDeployment(
    metadata: k8s.ObjectMeta, labels: Record<string, string>, props: KubeStateMetricsProps, version: string,
    resources: k8s.ResourceRequirements, allowlist: () => string,
  ): ApiObject {
    const probe = (path: string, port: string): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString(port) }, initialDelaySeconds: 5, timeoutSeconds: 5,
    });
    // The allowlist depends on the whole app (fillers may come later): resolved at synth; no flag when there is nothing to export.
    const args = Lazy.any({
      produce: () => {
        const list = allowlist();
        const all = [...(list ? [`--metric-labels-allowlist=${list}`] : []), ...(props.args ?? [])];
        return all.length ? all : undefined;
      },
    });
    return new k8s.KubeDeployment(this, 'Deployment', {
      metadata,
      spec: {
        replicas: 1,
        selector: { matchLabels: { ...SELECTOR } },
        template: withPodSettings({
          metadata: { labels: { ...labels } },
          spec: {
            automountServiceAccountToken: true,
            containers: [withContainerSettings({
              name: NAME,
              image: imageRef('registry.k8s.io', 'kube-state-metrics/kube-state-metrics', version, props.imageRegistry, props.image),
              args: args as any,
              livenessProbe: probe('/livez', 'http-metrics'),
              readinessProbe: probe('/readyz', 'telemetry'),
              ports: [{ containerPort: 8080, name: 'http-metrics' }, { containerPort: 8081, name: 'telemetry' }],
              resources,
              securityContext: restrictedSecurityContext(65534),
            }, props)],
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            serviceAccountName: NAME,
          },
        }, props),
      },
    });
  }

  /** `job="kube-state-metrics"` (jobLabel), and the exported objects' own namespace/pod labels kept (honorLabels, labeldrop of the target's). */
  private renderServiceMonitor(metadata: k8s.ObjectMeta, extraLabels: Record<string, string> | undefined, interval: string): void {
    new ServiceMonitor(this, 'ServiceMonitor', {
      metadata: { ...metadata, labels: { ...metadata.labels, ...(extraLabels ?? {}) } },
      spec: {
        jobLabel: 'app.kubernetes.io/name',
        selector: { matchLabels: { ...SELECTOR } },
        endpoints: [
          {
            port: 'http-metrics', interval, scrapeTimeout: interval, honorLabels: true,
            relabelings: [{ action: ServiceMonitorSpecEndpointsRelabelingsAction.LABELDROP, regex: '(pod|service|endpoint|namespace)' }],
            metricRelabelings: [{ action: ServiceMonitorSpecEndpointsMetricRelabelingsAction.DROP,
              regex: 'kube_(endpoint_(address_not_ready|address_available|ports))', sourceLabels: ['__name__'] }],
          },
          { port: 'telemetry', interval },
        ],
      },
    });
  }
}
