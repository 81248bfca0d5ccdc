import { ApiObject, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { notEvictable } from '../core/labels';
import { claimApiService } from './api-services';
import { finishConstruct } from '../core/app-checks';
import { renderAggregatedMetricsReader, renderAuthDelegator, renderAuthReader } from './metrics-api-rbac';
import { assertDnsLabel, assertDnsSubdomain, describe, isDnsSubdomain } from '../core/assertions';
import { checkPodSettings, PodSettings, withContainerSettings, withPodSettings } from '../core/pod-settings';
import { enforceRequestsEqualLimits } from '../policy/requests-equal-limits';
import { Problems } from '../core/problems';
import { guaranteedResources, ResourceAmounts } from '../core/resources';
import { goDuration, httpProbe, imageRef, mergeArgs, restrictedSecurityContext } from '../core/pod-spec';

/**
 * Node address types metrics-server may use to reach kubelets.
 */
export enum KubeletAddressType {
  /** The node's internal IP. */
  INTERNAL_IP = 'InternalIP',
  /** The node's external IP. */
  EXTERNAL_IP = 'ExternalIP',
  /** The node's hostname. */
  HOSTNAME = 'Hostname',
  /** The node's internal DNS name. */
  INTERNAL_DNS = 'InternalDNS',
  /** The node's external DNS name. */
  EXTERNAL_DNS = 'ExternalDNS',
}

/**
 * Props of {@link MetricsServer}.
 */
export interface MetricsServerProps extends PodSettings {
  /**
   * Namespace of the metrics-server objects.
   * @default "kube-system"
   */
  readonly namespace?: string;

  /**
   * metrics-server release, the image tag.
   * @default "v0.9.0"
   */
  readonly version?: string;

  /**
   * Registry to pull from instead of registry.k8s.io (a mirror); the image
   * path `metrics-server/metrics-server:<version>` stays.
   * @default "registry.k8s.io"
   */
  readonly imageRegistry?: string;

  /**
   * Full image reference; overrides `imageRegistry` and `version`.
   * @default - `<imageRegistry>/metrics-server/metrics-server:<version>`
   */
  readonly image?: string;

  /**
   * How often metrics-server scrapes kubelets (`--metric-resolution`). Values
   * below 10 s are refused, as metrics-server itself refuses them; 15 s is the
   * kubelet's own resolution.
   * @default Duration.seconds(15)
   */
  readonly metricResolution?: Duration;

  /**
   * Skip verification of kubelet serving certificates (`--kubelet-insecure-tls`).
   * Only for clusters whose kubelet certificates lack IP SANs (kind, some
   * kubeadm set-ups); the Deployment is annotated to say so.
   * @default false
   */
  readonly kubeletInsecureTls?: boolean;

  /**
   * Order of node address types used to reach kubelets.
   * @default [InternalIP, ExternalIP, Hostname]
   */
  readonly kubeletPreferredAddressTypes?: KubeletAddressType[];

  /**
   * Run two replicas on different nodes with a PodDisruptionBudget
   * (minAvailable 1), as upstream's high-availability manifest. Needs at
   * least two nodes.
   * @default false
   */
  readonly highAvailability?: boolean;

  /**
   * cpu and memory of the container, rendered as requests == limits.
   * Upstream requests 100m/200Mi for up to 100 nodes and sets no limits; add
   * 1m cpu and 2Mi memory per node beyond that.
   * @default { cpu: "100m", memory: "256Mi" }
   */
  readonly resources?: ResourceAmounts;

  /**
   * PriorityClass of the pods.
   * @default "system-cluster-critical"
   */
  readonly priorityClassName?: string;

  /**
   * Extra command-line flags, appended after the managed ones. A flag that a
   * prop sets (e.g. `--metric-resolution`) is refused.
   * @default - none
   */
  readonly args?: string[];

  /**
   * Run in the host's network namespace: the fix for clusters whose CNI does not let the API server reach pod IPs
   * (APIService FailedDiscoveryCheck). The namespace must then allow it (Pod Security "privileged" or "baseline").
   * @default false
   */
  readonly hostNetwork?: boolean;

  /**
   * The port metrics-server serves on (container port, probes, Service targetPort and --secure-port follow).
   * With hostNetwork it must not be the kubelet's 10250.
   * @default 10250, or 4443 with hostNetwork
   */
  readonly securePort?: number;

  /**
   * The CA that signed the kubelets' serving certificates, from a Secret or ConfigMap: the secure alternative
   * to kubeletInsecureTls (`--kubelet-certificate-authority`).
   * @default - the system's trust store
   */
  readonly kubeletCertificateAuthority?: KubeletCertificateAuthority;
}

/** Where the kubelets' CA certificate is. */
export interface KubeletCertificateAuthority {
  /**
   * A Secret holding it.
   * @default - not a Secret
   */
  readonly secretName?: string;
  /**
   * A ConfigMap holding it.
   * @default - not a ConfigMap
   */
  readonly configMapName?: string;
  /**
   * The key of the certificate.
   * @default "ca.crt"
   */
  readonly key?: string;
}

const NAME = 'metrics-server';
const LABELS = { 'k8s-app': NAME };
const DEFAULT_RESOURCES: ResourceAmounts = { cpu: '100m', memory: '256Mi' };
const DEFAULT_ADDRESS_TYPES = [KubeletAddressType.INTERNAL_IP, KubeletAddressType.EXTERNAL_IP, KubeletAddressType.HOSTNAME];
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const KUBELET_PORT = 10250;
const KUBELET_CA_DIR = '/etc/kubelet-ca';

/**
 * The annotation set on the Deployment when kubelet TLS verification is off,
 * so reviewers and policy tools see the trade-off.
 */
export const KUBELET_INSECURE_TLS_ANNOTATION = 'cdk8s-autoscaling.io/kubelet-insecure-tls';

/** The props after checking, with their defaults. */
interface MetricsServerSettings {
  readonly namespace: string;
  readonly ha: boolean;
  readonly port: number;
  readonly priorityClassName: string;
  readonly args: string[];
  readonly resources: k8s.ResourceRequirements;
}

/**
 * metrics-server (`metrics.k8s.io`), with the same objects, names, args,
 * RBAC rules, probes and securityContext as upstream's v0.9.0
 * `components.yaml` (and its HA manifest), with requests == limits.
 */
export class MetricsServer extends Construct {
  /** The namespace of the objects. */
  public readonly namespace: string;
  /** The Deployment. */
  public readonly deployment: ApiObject;
  /** The Service the APIService points at. */
  public readonly service: ApiObject;
  /** The APIService `v1beta1.metrics.k8s.io`. */
  public readonly apiService: ApiObject;

  constructor(scope: Construct, id: string, props: MetricsServerProps = {}) {
    super(scope, id);
    const s = this.checkProps(props, new Problems(describe(this)));
    this.namespace = s.namespace;
    const meta = (name: string, ns?: string) => ({ name, ...(ns ? { namespace: ns } : {}), labels: { ...LABELS } });
    this.renderRbac(meta, s.namespace);
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: meta(NAME, s.namespace),
      spec: {
        ports: [{ appProtocol: 'https', name: 'https', port: 443, protocol: 'TCP', targetPort: k8s.IntOrString.fromString('https') }],
        selector: { ...LABELS },
      },
    });
    this.deployment = this.renderDeployment(props, s, meta(NAME, s.namespace));
    if (s.ha) {
      new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
        metadata: meta(NAME, s.namespace),
        spec: { minAvailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: { ...LABELS } } },
      });
    }
    this.apiService = new k8s.KubeApiService(this, 'APIService', {
      metadata: meta('v1beta1.metrics.k8s.io'),
      spec: {
        group: 'metrics.k8s.io', groupPriorityMinimum: 100, insecureSkipTlsVerify: true,
        service: { name: NAME, namespace: s.namespace }, version: 'v1beta1', versionPriority: 100,
      },
    });
    claimApiService(this, 'v1beta1.metrics.k8s.io', () => ['cpu', 'memory']);
    enforceRequestsEqualLimits(this);
    finishConstruct(this);
  }

  /** Checks every prop (all problems in one error) and fills in the defaults. */
  private checkProps(props: MetricsServerProps, problems: Problems): MetricsServerSettings {
    const where = problems.where;
    const namespace = props.namespace ?? 'kube-system';
    problems.check(() => assertDnsLabel(namespace, where, 'namespace'));
    const resolution = props.metricResolution ?? Duration.seconds(15);
    const timeoutArg = (props.args ?? []).find(a => a.startsWith('--kubelet-request-timeout='));
    const timeoutMs = timeoutArg ? problems.check(() => parseGoDurationMs(timeoutArg.split('=')[1])) ?? 0 : 10_000;
    if (resolution.toMilliseconds() < 10_000) {
      problems.add(`metricResolution ${resolution.toMilliseconds() / 1000}s is below 10s, which metrics-server refuses to start with; use 15s (the `
        + `kubelet's own resolution) or more`);
    } else if (resolution.toMilliseconds() * 9 / 10 < timeoutMs) {
      problems.add(`metricResolution ${resolution.toMilliseconds() / 1000}s is too short for the kubelet request timeout (${timeoutMs / 1000}s): `
        + 'metrics-server requires 90% of the resolution to be at least the timeout. Use 15s or more');
    }
    const priorityClassName = props.priorityClassName ?? 'system-cluster-critical';
    problems.check(() => assertDnsSubdomain(priorityClassName, where, 'priorityClassName'));
    const addressTypes = props.kubeletPreferredAddressTypes ?? DEFAULT_ADDRESS_TYPES;
    if (addressTypes.length === 0 || new Set(addressTypes).size !== addressTypes.length) {
      problems.add('kubeletPreferredAddressTypes must list at least one address type, each once');
    }
    const port = this.checkNetwork(props, problems);
    const ca = props.kubeletCertificateAuthority;
    if (ca) this.checkKubeletCa(props, ca, problems);
    checkPodSettings(props, {
      labels: LABELS, volumes: ['tmp-dir', ...(ca ? ['kubelet-ca'] : [])], mountPaths: ['/tmp', ...(ca ? [KUBELET_CA_DIR] : [])],
      containers: [NAME], topologySpread: false, serviceAccount: true,
    }, problems);
    const args = problems.check(() => mergeArgs([
      '--cert-dir=/tmp',
      `--secure-port=${port}`,
      `--kubelet-preferred-address-types=${addressTypes.join(',')}`,
      '--kubelet-use-node-status-port',
      `--metric-resolution=${goDuration(resolution, where, 'metricResolution')}`,
      ...(props.kubeletInsecureTls ? ['--kubelet-insecure-tls'] : []),
      ...(ca ? [`--kubelet-certificate-authority=${KUBELET_CA_DIR}/${ca.key ?? 'ca.crt'}`] : []),
    ], props.args, where));
    const resources = problems.check(() => guaranteedResources(props.resources ?? DEFAULT_RESOURCES, where));
    problems.throwIfAny();
    return { namespace, ha: props.highAvailability ?? false, port, priorityClassName, args: args!, resources: resources! };
  }

  /** The serving port: 10250 in the pod network; with hostNetwork, 4443 by default and never the kubelet's. */
  private checkNetwork(props: MetricsServerProps, problems: Problems): number {
    const port = props.securePort ?? (props.hostNetwork ? 4443 : KUBELET_PORT);
    if (!Number.isInteger(port) || port < 1 || port > 65535) problems.add(`securePort must be a whole number between 1 and 65535, got ${port}`);
    if (props.hostNetwork && port === KUBELET_PORT) {
      problems.add(`securePort ${KUBELET_PORT} with hostNetwork collides with the kubelet's port on every node; use another port (4443)`);
    }
    return port;
  }

  private checkKubeletCa(props: MetricsServerProps, ca: KubeletCertificateAuthority, problems: Problems): void {
    if (props.kubeletInsecureTls) problems.add('kubeletCertificateAuthority and kubeletInsecureTls contradict each other; keep the CA and drop '
      + 'kubeletInsecureTls');
    const set = [ca.secretName, ca.configMapName].filter(v => v !== undefined);
    if (set.length !== 1) problems.add('kubeletCertificateAuthority needs exactly one of secretName or configMapName');
    else if (!isDnsSubdomain(set[0])) problems.add(`kubeletCertificateAuthority: "${set[0]}" is not a valid name`);
  }

  private renderRbac(meta: (name: string, ns?: string) => k8s.ObjectMeta, namespace: string): void {
    const sa = { name: NAME, namespace };
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(NAME, namespace) });
    renderAggregatedMetricsReader(this, 'AggregatedReader', LABELS);
    new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: meta('system:metrics-server'),
      rules: [
        { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      ],
    });
    renderAuthReader(this, sa, LABELS);
    renderAuthDelegator(this, sa, LABELS);
    new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: meta('system:metrics-server'),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'system:metrics-server' },
      subjects: [{ kind: 'ServiceAccount', ...sa }],
    });
  }

  /** L1, as upstream's components.yaml, at system-cluster-critical priority (CONTRIBUTING: which workloads are cdk8s-plus). */
  private renderDeployment(props: MetricsServerProps, s: MetricsServerSettings, metadata: k8s.ObjectMeta): ApiObject {
    const ca = props.kubeletCertificateAuthority;
    const container = withContainerSettings({
      name: NAME,
      image: imageRef('registry.k8s.io', 'metrics-server/metrics-server', props.version ?? 'v0.9.0', props.imageRegistry, props.image),
      imagePullPolicy: 'IfNotPresent',
      args: s.args,
      ports: [{ containerPort: s.port, name: 'https', protocol: 'TCP' }],
      livenessProbe: httpProbe('/livez', 'https', { failureThreshold: 3, periodSeconds: 10 }),
      readinessProbe: httpProbe('/readyz', 'https', { failureThreshold: 3, initialDelaySeconds: 20, periodSeconds: 10 }),
      resources: s.resources,
      securityContext: restrictedSecurityContext(1000),
      volumeMounts: [{ mountPath: '/tmp', name: 'tmp-dir' }, ...(ca ? [{ mountPath: KUBELET_CA_DIR, name: 'kubelet-ca', readOnly: true }] : [])],
    }, props);
    const caVolume = ca && (ca.secretName !== undefined ? { secret: { secretName: ca.secretName } } : { configMap: { name: ca.configMapName! } });
    return new k8s.KubeDeployment(this, 'Deployment', {
      metadata: props.kubeletInsecureTls ? { ...metadata, annotations: { [KUBELET_INSECURE_TLS_ANNOTATION]: INSECURE_TLS_NOTE } } : metadata,
      spec: {
        ...(s.ha ? { replicas: 2 } : {}),
        selector: { matchLabels: { ...LABELS } },
        strategy: { rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(s.ha ? 1 : 0) } },
        template: withPodSettings({
          // a lone metrics-server stays put when cluster-autoscaler drains nodes (two replicas have a PodDisruptionBudget instead)
          metadata: { labels: { ...LABELS }, ...(s.ha ? {} : { annotations: notEvictable() }) },
          spec: {
            ...(s.ha ? { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{
              labelSelector: { matchLabels: { ...LABELS } }, namespaces: [s.namespace], topologyKey: 'kubernetes.io/hostname',
            }] } } } : {}),
            ...(props.hostNetwork ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
            containers: [container],
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            priorityClassName: s.priorityClassName,
            serviceAccountName: NAME,
            volumes: [{ name: 'tmp-dir', emptyDir: {} }, ...(caVolume ? [{ name: 'kubelet-ca', ...caVolume }] : [])],
          },
        }, props),
      },
    });
  }
}

const INSECURE_TLS_NOTE = 'kubelet serving certificates are not verified: only for clusters whose kubelet certificates lack IP SANs; '
  + 'prefer signed kubelet certificates (serverTLSBootstrap) and drop this flag';

/** Parses a simple Go duration (`10s`, `1m30s`, `500ms`) into milliseconds. */
function parseGoDurationMs(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  let consumed = '';
  for (const m of text.matchAll(re)) {
    total += parseFloat(m[1]) * unit[m[2]];
    consumed += m[0];
  }
  if (!text || consumed !== text) {
    throw new Error(`invalid duration "${text}" in --kubelet-request-timeout; write it like "10s" or "1m"`);
  }
  return total;
}
