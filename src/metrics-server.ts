import { ApiObject, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { claimApiService } from './api-services';
import { finishConstruct } from './app-checks';
import { assertDnsLabel, assertDnsSubdomain, describe } from './names';
import { enforceRequestsEqualLimits } from './policy';
import { Problems } from './problems';
import { MemoizedKubeDeployment, MemoizedKubePodDisruptionBudget, MemoizedKubeService } from './render-cache';
import { guaranteedResources, ResourceAmounts } from './resources';
import { goDuration, httpProbe, imageRef, mergeArgs, restrictedSecurityContext } from './workload';

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
export interface MetricsServerProps {
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
}

const NAME = 'metrics-server';
const LABELS = { 'k8s-app': NAME };
const DEFAULT_RESOURCES: ResourceAmounts = { cpu: '100m', memory: '256Mi' };
const DEFAULT_ADDRESS_TYPES = [KubeletAddressType.INTERNAL_IP, KubeletAddressType.EXTERNAL_IP, KubeletAddressType.HOSTNAME];
const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** The annotation that explains `--kubelet-insecure-tls`. */
export const KUBELET_INSECURE_TLS_ANNOTATION = 'cdk8s-autoscaling.io/kubelet-insecure-tls';

/**
 * metrics-server, the resource metrics pipeline (`metrics.k8s.io`) that
 * `kubectl top` and cpu/memory HPAs read. Renders the same objects, names,
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
    const where = describe(this);
    const problems = new Problems(where);
    const namespace = props.namespace ?? 'kube-system';
    problems.check(() => assertDnsLabel(namespace, where, 'namespace'));
    this.namespace = namespace;

    const resolution = props.metricResolution ?? Duration.seconds(15);
    const timeoutArg = (props.args ?? []).find(a => a.startsWith('--kubelet-request-timeout='));
    const timeoutMs = timeoutArg ? problems.check(() => parseGoDurationMs(timeoutArg.split('=')[1])) ?? 0 : 10_000;
    if (resolution.toMilliseconds() < 10_000) {
      problems.add(`metricResolution ${resolution.toMilliseconds() / 1000}s is below 10s, which metrics-server refuses to start with; use 15s (the kubelet's own resolution) or more`);
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
    const args = problems.check(() => mergeArgs([
      '--cert-dir=/tmp',
      '--secure-port=10250',
      `--kubelet-preferred-address-types=${addressTypes.join(',')}`,
      '--kubelet-use-node-status-port',
      `--metric-resolution=${goDuration(resolution, where, 'metricResolution')}`,
      ...(props.kubeletInsecureTls ? ['--kubelet-insecure-tls'] : []),
    ], props.args, where));
    const resources = problems.check(() => guaranteedResources(props.resources ?? DEFAULT_RESOURCES, where));
    problems.throwIfAny();
    const ha = props.highAvailability ?? false;
    const meta = (name: string, ns?: string) => ({ name, ...(ns ? { namespace: ns } : {}), labels: { ...LABELS } });
    const sa = { kind: 'ServiceAccount', name: NAME, namespace };

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(NAME, namespace) });

    new k8s.KubeClusterRole(this, 'AggregatedReader', {
      metadata: {
        name: 'system:aggregated-metrics-reader',
        labels: {
          ...LABELS,
          'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
          'rbac.authorization.k8s.io/aggregate-to-view': 'true',
        },
      },
      rules: [{ apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: meta('system:metrics-server'),
      rules: [
        { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'AuthReader', {
      metadata: meta('metrics-server-auth-reader', 'kube-system'),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'extension-apiserver-authentication-reader' },
      subjects: [sa],
    });
    new k8s.KubeClusterRoleBinding(this, 'AuthDelegator', {
      metadata: meta('metrics-server:system:auth-delegator'),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [sa],
    });
    new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: meta('system:metrics-server'),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'system:metrics-server' },
      subjects: [sa],
    });

    this.service = new MemoizedKubeService(this, 'Service', {
      metadata: meta(NAME, namespace),
      spec: {
        ports: [{ appProtocol: 'https', name: 'https', port: 443, protocol: 'TCP', targetPort: k8s.IntOrString.fromString('https') }],
        selector: { ...LABELS },
      },
    });

    this.deployment = new MemoizedKubeDeployment(this, 'Deployment', {
      metadata: {
        ...meta(NAME, namespace),
        ...(props.kubeletInsecureTls ? {
          annotations: {
            [KUBELET_INSECURE_TLS_ANNOTATION]: 'kubelet serving certificates are not verified: only for clusters whose kubelet certificates lack IP SANs; prefer signed kubelet certificates (serverTLSBootstrap) and drop this flag',
          },
        } : {}),
      },
      spec: {
        ...(ha ? { replicas: 2 } : {}),
        selector: { matchLabels: { ...LABELS } },
        strategy: { rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(ha ? 1 : 0) } },
        template: {
          metadata: { labels: { ...LABELS } },
          spec: {
            ...(ha ? {
              affinity: {
                podAntiAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: [{
                    labelSelector: { matchLabels: { ...LABELS } },
                    namespaces: [namespace],
                    topologyKey: 'kubernetes.io/hostname',
                  }],
                },
              },
            } : {}),
            containers: [{
              name: NAME,
              image: imageRef('registry.k8s.io', 'metrics-server/metrics-server', props.version ?? 'v0.9.0', props.imageRegistry, props.image),
              imagePullPolicy: 'IfNotPresent',
              args,
              ports: [{ containerPort: 10250, name: 'https', protocol: 'TCP' }],
              livenessProbe: httpProbe('/livez', 'https', { failureThreshold: 3, periodSeconds: 10 }),
              readinessProbe: httpProbe('/readyz', 'https', { failureThreshold: 3, initialDelaySeconds: 20, periodSeconds: 10 }),
              resources,
              securityContext: restrictedSecurityContext(1000),
              volumeMounts: [{ mountPath: '/tmp', name: 'tmp-dir' }],
            }],
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            priorityClassName,
            serviceAccountName: NAME,
            volumes: [{ name: 'tmp-dir', emptyDir: {} }],
          },
        },
      },
    });

    if (ha) {
      new MemoizedKubePodDisruptionBudget(this, 'PodDisruptionBudget', {
        metadata: meta(NAME, namespace),
        spec: { minAvailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: { ...LABELS } } },
      });
    }

    this.apiService = new k8s.KubeApiService(this, 'APIService', {
      metadata: meta('v1beta1.metrics.k8s.io'),
      spec: {
        group: 'metrics.k8s.io',
        groupPriorityMinimum: 100,
        insecureSkipTlsVerify: true,
        service: { name: NAME, namespace },
        version: 'v1beta1',
        versionPriority: 100,
      },
    });
    claimApiService(this, 'v1beta1.metrics.k8s.io');
    enforceRequestsEqualLimits(this);
    finishConstruct(this);
  }
}

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
