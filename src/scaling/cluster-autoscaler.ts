import { ApiObject, Duration, Yaml } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { AppContext, AppSlot } from '../core/app-context';
import { finishConstruct } from '../core/app-checks';
import { assertDnsSubdomain, describe } from '../core/assertions';
import { goDuration, mergeArgs, restrictedPodSecurityContext, restrictedSecurityContext } from '../core/pod-spec';
import { Problems } from '../core/problems';
import { POD_SPEC_PATHS, podSpecOf } from '../core/manifests';
import { appConstructs, renderedJson } from '../core/render-pass';
import { guaranteedResources, ResourceAmounts } from '../core/resources';
import { enforceRequestsEqualLimits } from '../policy/requests-equal-limits';
import { SAFE_TO_EVICT_ANNOTATION } from '../core/labels';
import { DEFAULT_EXPENDABLE_CUTOFF, priorityClassValue } from '../core/priorities';
import { amountText, CpuAmount, MemoryAmount, parseQuantity } from '../core/quantity';

/** The cluster-autoscaler settings the simulator follows (upstream's flags of the same names). */
export interface ClusterAutoscalerSettings {
  /**
   * `--scan-interval`: how often it looks at Pending pods and unneeded nodes.
   * @default Duration.seconds(10)
   */
  readonly scanInterval?: Duration | number;
  /**
   * `--scale-down-unneeded-time`: how long a node must be unneeded before it is removed.
   * @default Duration.minutes(10)
   */
  readonly scaleDownUnneededTime?: Duration | number;
  /**
   * `--scale-down-delay-after-add`: no node is removed for this long after a scale-up.
   * @default Duration.minutes(10)
   */
  readonly scaleDownDelayAfterAdd?: Duration | number;
  /**
   * `--scale-down-utilization-threshold`: a node whose requests (the larger of the cpu and memory fractions of its allocatable) are below it is a
   * candidate for removal.
   * @default 0.5
   */
  readonly scaleDownUtilizationThreshold?: number;
  /**
   * `--expendable-pods-priority-cutoff`: pods below it never make it add nodes and never keep a node.
   * @default -10
   */
  readonly expendablePodsPriorityCutoff?: number;
  /**
   * `--expander`: an `Expander`, or its name (`least-waste`, `most-pods`, `least-nodes`, `random`, `priority`, as JSON scenarios give it).
   * @default Expander.leastWaste()
   */
  readonly expander?: Expander | string;
  /**
   * The priority expander's tiers, when `expander` is the name `priority`.
   * @default - none
   */
  readonly priorities?: PriorityTier[];
  /**
   * `--max-node-provision-time`: a node group's provision time must be below it, or cluster-autoscaler gives its nodes up.
   * @default Duration.minutes(15)
   */
  readonly maxNodeProvisionTime?: Duration | number;
}

/**
 * Upstream's defaults of the flags the simulator follows (the construct renders them; the simulator fills them in).
 * @internal
 */
export const CA_DEFAULTS = {
  scanInterval: Duration.seconds(10),
  scaleDownUnneededTime: Duration.minutes(10),
  scaleDownDelayAfterAdd: Duration.minutes(10),
  scaleDownUtilizationThreshold: 0.5,
  expendablePodsPriorityCutoff: DEFAULT_EXPENDABLE_CUTOFF,
  maxNodeProvisionTime: Duration.minutes(15),
} as const;

/** The settings a ClusterAutoscaler resolves from its props. */
interface ResolvedSettings {
  readonly scanInterval: Duration;
  readonly scaleDownUnneededTime: Duration;
  readonly scaleDownDelayAfterAdd: Duration;
  readonly scaleDownUtilizationThreshold: number;
  readonly expendablePodsPriorityCutoff: number;
  readonly expander: Expander;
  readonly maxNodeProvisionTime: Duration;
}

/** The latest cluster-autoscaler patch of each Kubernetes minor it supports (cluster-autoscaler 1.N is for Kubernetes 1.N). */
const VERSIONS: Record<string, string> = {
  '1.29': '1.29.5', '1.30': '1.30.7', '1.31': '1.31.5', '1.32': '1.32.7', '1.33': '1.33.6', '1.34': '1.34.5', '1.35': '1.35.2', '1.36': '1.36.1',
};

/** A node group cluster-autoscaler may resize, by its cloud's name for it. */
export interface NodeGroup {
  /** The group's name (the ASG, MIG URL or VMSS name). */
  readonly name: string;
  /** Fewest nodes. */
  readonly minNodes: number;
  /** Most nodes. */
  readonly maxNodes: number;
}

/** Options of {@link CloudProvider.aws}. */
export interface AwsOptions {
  /**
   * Discover the Auto Scaling groups tagged `k8s.io/cluster-autoscaler/enabled` and `k8s.io/cluster-autoscaler/<clusterName>`.
   * @default - none: list nodeGroups
   */
  readonly clusterName?: string;
  /**
   * The Auto Scaling groups, by name, with their bounds.
   * @default - none: discover by tags
   */
  readonly nodeGroups?: NodeGroup[];
}

/** A node group of fake nodes for the kwok provider: its bounds and the node each new one copies. */
export interface KwokNodeGroup extends NodeGroup {
  /** Allocatable (and capacity) cpu of each node. */
  readonly cpu: CpuAmount;
  /** Allocatable (and capacity) memory of each node. */
  readonly memory: MemoryAmount;
  /**
   * Pods per node.
   * @default 110
   */
  readonly pods?: number;
}

/** Options of {@link CloudProvider.kwok}. */
export interface KwokOptions {
  /** The node groups, each with the node its new nodes copy. */
  readonly nodeGroups: KwokNodeGroup[];
  /**
   * Taint the fake nodes `kwok-provider=true:NoSchedule` (upstream's default, so that only pods that tolerate it land on them).
   * @default false - any pod schedules on them, as on real nodes
   */
  readonly taintNodes?: boolean;
}

/** Options of {@link CloudProvider.clusterApi}. */
export interface ClusterApiOptions {
  /**
   * Discover node groups in this namespace of the management cluster.
   * @default - every namespace
   */
  readonly namespace?: string;
  /**
   * Discover node groups of this cluster.
   * @default - every cluster
   */
  readonly clusterName?: string;
}

/** Where the nodes come from, and how cluster-autoscaler finds the node groups. */
export class CloudProvider {
  /** AWS Auto Scaling groups: discovered by the standard tags, or listed. Credentials: IAM roles for service accounts. */
  public static aws(options: AwsOptions): CloudProvider {
    const args = options?.clusterName !== undefined
      ? [`--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/${options.clusterName}`]
      : (options?.nodeGroups ?? []).map(g => `--nodes=${g.minNodes}:${g.maxNodes}:${g.name}`);
    return new CloudProvider('aws', args, options?.nodeGroups ?? [], options?.clusterName === undefined && !options?.nodeGroups?.length);
  }

  /** GCE managed instance groups, listed by URL with their bounds. Credentials: workload identity. */
  public static gce(nodeGroups: NodeGroup[]): CloudProvider {
    return new CloudProvider('gce', (nodeGroups ?? []).map(g => `--nodes=${g.minNodes}:${g.maxNodes}:${g.name}`), nodeGroups ?? [],
      !nodeGroups?.length);
  }

  /** Azure virtual machine scale sets, listed by name with their bounds. Credentials: a Secret with the ARM_* variables, or workload identity. */
  public static azure(nodeGroups: NodeGroup[]): CloudProvider {
    return new CloudProvider('azure', (nodeGroups ?? []).map(g => `--nodes=${g.minNodes}:${g.maxNodes}:${g.name}`), nodeGroups ?? [],
      !nodeGroups?.length);
  }

  /**
   * Cluster API MachineDeployments, MachineSets and MachinePools annotated with
   * `cluster.x-k8s.io/cluster-api-autoscaler-node-group-{min,max}-size`.
   */
  public static clusterApi(options: ClusterApiOptions = {}): CloudProvider {
    const selectors = [options.namespace ? `namespace=${options.namespace}` : '', options.clusterName ? `clusterName=${options.clusterName}` : '']
      .filter(Boolean);
    return new CloudProvider('clusterapi', selectors.length ? [`--node-group-auto-discovery=clusterapi:${selectors.join(',')}`] : [], [], false);
  }

  /**
   * Fake nodes (kwok, cluster-autoscaler 1.29+): cluster-autoscaler creates and deletes Node objects copied from a template per group,
   * which a kwok controller in the cluster (installed separately) makes Ready. For trying autoscaling on kind without a cloud.
   */
  public static kwok(options: KwokOptions): CloudProvider {
    return new CloudProvider('kwok', [], options?.nodeGroups ?? [], !options?.nodeGroups?.length, options);
  }

  private constructor(
    /** `--cloud-provider`. */
    public readonly name: string,
    /** @internal */ public readonly _args: readonly string[],
    /** @internal */ public readonly _nodeGroups: readonly NodeGroup[],
    /** @internal */ public readonly _empty: boolean,
    /** @internal */ public readonly _kwok?: KwokOptions,
  ) {}
}

/** One tier of the priority expander: node groups whose name matches one of `nodeGroups` (regular expressions) get `priority`. */
export interface PriorityTier {
  /** Higher wins; 0 or more (negative priorities never win upstream). */
  readonly priority: number;
  /** Regular expressions matched against the node group's name (unanchored; write `^...$` to anchor). */
  readonly nodeGroups: string[];
}

/** How cluster-autoscaler chooses the node group to grow (`--expander`). */
export class Expander {
  /**
   * The highest priority tier with a group that fits wins (the
   * `cluster-autoscaler-priority-expander` ConfigMap), ties broken by
   * least-waste. Groups matching no tier are never chosen: end with a
   * catch-all `.*` tier.
   */
  public static priority(tiers: PriorityTier[]): Expander {
    return new Expander(['priority', 'least-waste'], tiers);
  }

  /** The group that leaves the least cpu and memory idle (upstream's default from 1.33). */
  public static leastWaste(): Expander {
    return new Expander(['least-waste']);
  }

  /** The group that schedules the most pods. */
  public static mostPods(): Expander {
    return new Expander(['most-pods']);
  }

  /** The group that needs the fewest nodes. */
  public static leastNodes(): Expander {
    return new Expander(['least-nodes']);
  }

  /** Any group (upstream's default up to 1.32). */
  public static random(): Expander {
    return new Expander(['random']);
  }

  private constructor(
    /** @internal */ public readonly _names: readonly string[],
    /** @internal */ public readonly _tiers?: readonly PriorityTier[],
  ) {}
}

/** Scale-down settings of {@link ClusterAutoscaler}. */
export interface ScaleDownSettings {
  /**
   * How long a node must be unneeded before it is removed (`--scale-down-unneeded-time`).
   * @default Duration.minutes(10)
   */
  readonly unneededTime?: Duration;
  /**
   * How long after a scale-up scale-down resumes (`--scale-down-delay-after-add`).
   * @default Duration.minutes(10)
   */
  readonly delayAfterAdd?: Duration;
  /**
   * How long after a node deletion scale-down resumes (`--scale-down-delay-after-delete`).
   * @default Duration.seconds(0)
   */
  readonly delayAfterDelete?: Duration;
  /**
   * How long after a failed scale-down it resumes (`--scale-down-delay-after-failure`).
   * @default Duration.minutes(3)
   */
  readonly delayAfterFailure?: Duration;
  /**
   * How long an unready node must be unneeded before it is removed (`--scale-down-unready-time`).
   * @default Duration.minutes(20)
   */
  readonly unreadyTime?: Duration;
  /**
   * A node whose requested cpu and memory are both below this share of its allocatable is a candidate for removal.
   * @default 0.5
   */
  readonly utilizationThreshold?: number;
}

/** Props of {@link ClusterAutoscaler}. */
export interface ClusterAutoscalerProps {
  /** Where the nodes come from. */
  readonly cloudProvider: CloudProvider;
  /** The cluster's Kubernetes minor version, e.g. "1.34": cluster-autoscaler 1.N runs with Kubernetes 1.N (its latest patch is rendered). */
  readonly kubernetesVersion: string;
  /**
   * How to choose the node group to grow.
   * @default Expander.leastWaste()
   */
  readonly expander?: Expander;
  /**
   * Pods below this priority neither trigger scale-ups nor block scale-downs (`--expendable-pods-priority-cutoff`).
   * @default -10
   */
  readonly expendablePodsPriorityCutoff?: number;
  /**
   * How often it looks at the cluster (`--scan-interval`).
   * @default Duration.seconds(10)
   */
  readonly scanInterval?: Duration;
  /**
   * Scale-down settings.
   * @default - upstream's
   */
  readonly scaleDown?: ScaleDownSettings;
  /**
   * How long a new node may take to register before the group is considered failed (`--max-node-provision-time`).
   * @default Duration.minutes(15)
   */
  readonly maxNodeProvisionTime?: Duration;
  /**
   * Keep similar node groups (across zones) the same size (`--balance-similar-node-groups`).
   * @default false
   */
  readonly balanceSimilarNodeGroups?: boolean;
  /**
   * Never remove nodes with pods using local storage, emptyDir included (`--skip-nodes-with-local-storage`).
   * @default false (as upstream's AWS example: emptyDir pods are movable)
   */
  readonly skipNodesWithLocalStorage?: boolean;
  /**
   * Never remove nodes running kube-system pods other than DaemonSets (`--skip-nodes-with-system-pods`).
   * @default true
   */
  readonly skipNodesWithSystemPods?: boolean;
  /**
   * Never remove nodes with pods owned by controllers other than the built-in ones (`--skip-nodes-with-custom-controller-pods`).
   * @default true
   */
  readonly skipNodesWithCustomControllerPods?: boolean;
  /**
   * Keep room for the app's CapacityBuffers (`autoscaling.x-k8s.io`, cluster-autoscaler 1.34+): the buffer controller and pod
   * injection flags, and read access to CapacityBuffers and PodTemplates. The CapacityBuffer CRD must be installed in the cluster.
   * @default false
   */
  readonly capacityBuffers?: boolean;
  /**
   * Annotations of its ServiceAccount: how the cloud's credentials reach it (`eks.amazonaws.com/role-arn` for IAM roles for
   * service accounts, `iam.gke.io/gcp-service-account` for workload identity).
   * @default - none
   */
  readonly serviceAccountAnnotations?: Record<string, string>;
  /**
   * A Secret whose keys become its environment (Azure's `ARM_*` variables, say); never the credentials themselves in props.
   * @default - none
   */
  readonly credentialsSecret?: string;
  /**
   * cpu and memory (requests == limits).
   * @default { cpu: "100m", memory: "600Mi" } (upstream's AWS example)
   */
  readonly resources?: ResourceAmounts;
  /**
   * More flags; a flag a prop manages is refused.
   * @default - none
   */
  readonly args?: string[];
}

/** The cluster-autoscaler of the app, for the app-wide checks and the simulator. */
interface Registry {
  readonly autoscalers: ClusterAutoscaler[];
}

const CLUSTER_AUTOSCALERS = new AppSlot<Registry>('cluster-autoscalers', root => {
  const reg: Registry = { autoscalers: [] };
  root.node.addValidation({
    validate: () => {
      if (reg.autoscalers.length) evictionWarnings(root).forEach(w => AppContext.of(root).warn(w));
      return [...priorityProblems(root, reg), ...capacityBufferProblems(root, reg)];
    },
  });
  return reg;
});

const NAME = 'cluster-autoscaler';
const LABELS = { 'k8s-addon': 'cluster-autoscaler.addons.k8s.io', 'k8s-app': NAME };
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const PRIORITY_CONFIGMAP = 'cluster-autoscaler-priority-expander';
const KWOK_CONFIG = 'kwok-provider-config';
const KWOK_TEMPLATES = 'kwok-provider-templates';
/** The label the kwok provider groups nodes by; its value is the node group's name. */
const KWOK_GROUP_LABEL = 'kwok-nodegroup';
export { SAFE_TO_EVICT_ANNOTATION };

/**
 * cluster-autoscaler in kube-system, at the version matching the cluster's
 * Kubernetes minor, as upstream's examples render it (ServiceAccount, the
 * ClusterRole and Role with the same rules, bindings, the Deployment with
 * `system-cluster-critical`), with requests == limits, Pod Security
 * "restricted", a liveness probe, and every flag it manages typed. At synth
 * it checks the app's PriorityClasses against its expendable-pods cutoff:
 * the filler's must be below it (a Pending filler must not buy nodes), the
 * buffer pods' at or above it (else they never make it add a node) and below
 * every other workload's.
 */
export class ClusterAutoscaler extends Construct {
  /** The expendable-pods priority cutoff. */
  public readonly expendablePodsPriorityCutoff: number;
  /** The scan interval. */
  public readonly scanInterval: Duration;
  /** The node groups it was given (none when it discovers them). */
  public readonly nodeGroups: readonly NodeGroup[];
  /** The Deployment. */
  public readonly deployment: ApiObject;
  /** The Kubernetes (and cluster-autoscaler) minor version. */
  public readonly minor: number;
  /** Whether it keeps room for CapacityBuffers. */
  public readonly capacityBuffers: boolean;
  /** Its settings as the simulator follows them (give the ClusterAutoscaler as `simulate`'s `cluster.clusterAutoscaler`). */
  public readonly settings: ClusterAutoscalerSettings;

  constructor(scope: Construct, id: string, props: ClusterAutoscalerProps) {
    super(scope, id);
    const where = describe(this);
    const problems = new Problems(where);
    const version = VERSIONS[props.kubernetesVersion];
    if (!version) {
      problems.add(`kubernetesVersion "${props.kubernetesVersion}" has no cluster-autoscaler release here; use one of `
        + `${Object.keys(VERSIONS).join(', ')} (cluster-autoscaler 1.N is for Kubernetes 1.N)`);
    }
    const provider = props.cloudProvider;
    if (!(provider instanceof CloudProvider)) {
      problems.add('cloudProvider is required: CloudProvider.aws(...), .gce(...), .azure(...), .clusterApi(...) or .kwok(...)');
    } else if (provider._empty) problems.add(`cloudProvider ${provider.name} has no node groups: give clusterName (AWS) or nodeGroups`);
    (provider?._nodeGroups ?? []).forEach((g, i) => {
      if (!Number.isInteger(g.minNodes) || !Number.isInteger(g.maxNodes) || g.minNodes < 0 || g.maxNodes < Math.max(1, g.minNodes)) {
        problems.add(`nodeGroups[${i}] ("${g.name}"): minNodes and maxNodes must be whole numbers with 0 <= minNodes <= maxNodes and maxNodes >= 1`);
      }
    });
    (provider?._kwok?.nodeGroups ?? []).forEach((g, i) => {
      const at = `nodeGroups[${i}] ("${g.name}")`;
      problems.check(() => assertDnsSubdomain(g.name, where, `${at}.name`));
      problems.check(() => parseQuantity(g.cpu, `${at}.cpu`));
      problems.check(() => parseQuantity(g.memory, `${at}.memory`));
      if (g.pods !== undefined && (!Number.isInteger(g.pods) || g.pods < 1)) problems.add(`${at}.pods must be a whole number >= 1, got ${g.pods}`);
    });
    this.minor = version ? Number(version.split('.')[1]) : NaN;
    if (props.capacityBuffers && this.minor < 34) {
      problems.add(`capacityBuffers needs cluster-autoscaler 1.34 or later (kubernetesVersion "${props.kubernetesVersion}"); use pause-pod buffers`);
    }
    this.capacityBuffers = props.capacityBuffers ?? false;
    this.nodeGroups = [...(provider?._nodeGroups ?? [])];
    const expander = props.expander ?? Expander.leastWaste();
    const settings = this.settings = {
      scanInterval: props.scanInterval ?? CA_DEFAULTS.scanInterval,
      expendablePodsPriorityCutoff: props.expendablePodsPriorityCutoff ?? CA_DEFAULTS.expendablePodsPriorityCutoff,
      expander,
      scaleDownUtilizationThreshold: props.scaleDown?.utilizationThreshold ?? CA_DEFAULTS.scaleDownUtilizationThreshold,
      scaleDownUnneededTime: props.scaleDown?.unneededTime ?? CA_DEFAULTS.scaleDownUnneededTime,
      scaleDownDelayAfterAdd: props.scaleDown?.delayAfterAdd ?? CA_DEFAULTS.scaleDownDelayAfterAdd,
      maxNodeProvisionTime: props.maxNodeProvisionTime ?? CA_DEFAULTS.maxNodeProvisionTime,
    };
    this.expendablePodsPriorityCutoff = settings.expendablePodsPriorityCutoff;
    this.scanInterval = settings.scanInterval;
    if (!Number.isInteger(settings.expendablePodsPriorityCutoff)) {
      problems.add(`expendablePodsPriorityCutoff must be a whole number, got ${settings.expendablePodsPriorityCutoff}`);
    }
    expanderProblems(expander).forEach(p => problems.add(p));
    const args = problems.check(() => mergeArgs(this.managedArgs(props, settings, where), props.args, where));
    const threshold = settings.scaleDownUtilizationThreshold;
    if (!(threshold > 0 && threshold <= 1)) problems.add(`scaleDown.utilizationThreshold must be above 0 and at most 1, got ${threshold}`);
    if (props.credentialsSecret !== undefined) problems.check(() => assertDnsSubdomain(props.credentialsSecret!, where, 'credentialsSecret'));
    const resources = problems.check(() => guaranteedResources(props.resources ?? { cpu: '100m', memory: '600Mi' }, where));
    problems.throwIfAny();

    this.renderRbac(props, this.minor);
    if (expander._tiers) this.renderPriorities(expander._tiers);
    if (provider._kwok) this.renderKwokConfig(provider._kwok);
    this.deployment = this.renderDeployment(`registry.k8s.io/autoscaling/cluster-autoscaler:v${version}`, args!, props, resources!);
    AppContext.of(this).get(CLUSTER_AUTOSCALERS).autoscalers.push(this);
    enforceRequestsEqualLimits(this);
    finishConstruct(this);
  }

  /** Every flag the construct manages, in upstream's order. */
  private managedArgs(props: ClusterAutoscalerProps, settings: ResolvedSettings, where: string): string[] {
    const d = (value: Duration, field: string) => goDuration(value, where, field);
    const s = props.scaleDown ?? {};
    return [
      '--v=4', '--stderrthreshold=info',
      `--cloud-provider=${props.cloudProvider.name}`,
      '--namespace=kube-system',
      ...props.cloudProvider._args,
      `--expander=${settings.expander._names.join(',')}`,
      `--expendable-pods-priority-cutoff=${settings.expendablePodsPriorityCutoff}`,
      `--scan-interval=${d(settings.scanInterval, 'scanInterval')}`,
      `--scale-down-unneeded-time=${d(settings.scaleDownUnneededTime, 'scaleDown.unneededTime')}`,
      `--scale-down-delay-after-add=${d(settings.scaleDownDelayAfterAdd, 'scaleDown.delayAfterAdd')}`,
      `--scale-down-delay-after-delete=${d(s.delayAfterDelete ?? Duration.seconds(0), 'scaleDown.delayAfterDelete')}`,
      `--scale-down-delay-after-failure=${d(s.delayAfterFailure ?? Duration.minutes(3), 'scaleDown.delayAfterFailure')}`,
      `--scale-down-unready-time=${d(s.unreadyTime ?? Duration.minutes(20), 'scaleDown.unreadyTime')}`,
      `--scale-down-utilization-threshold=${settings.scaleDownUtilizationThreshold}`,
      `--max-node-provision-time=${d(settings.maxNodeProvisionTime, 'maxNodeProvisionTime')}`,
      `--balance-similar-node-groups=${props.balanceSimilarNodeGroups ?? false}`,
      `--skip-nodes-with-local-storage=${props.skipNodesWithLocalStorage ?? false}`,
      `--skip-nodes-with-system-pods=${props.skipNodesWithSystemPods ?? true}`,
      `--skip-nodes-with-custom-controller-pods=${props.skipNodesWithCustomControllerPods ?? true}`,
      ...(props.capacityBuffers ? ['--capacity-buffer-controller-enabled=true', '--capacity-buffer-pod-injection-enabled=true'] : []),
    ];
  }

  /** Upstream's AWS example rules (the ones its version reads), and Cluster API's management rules for that provider. */
  private renderRbac(props: ClusterAutoscalerProps, minor: number): void {
    const kwok = props.cloudProvider._kwok !== undefined;
    const meta = (ns?: string) => ({ name: NAME, ...(ns ? { namespace: ns } : {}), labels: { ...LABELS } });
    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { ...meta('kube-system'), ...(props.serviceAccountAnnotations ? { annotations: { ...props.serviceAccountAnnotations } } : {}) },
    });
    const read = ['watch', 'list', 'get'];
    new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: meta(),
      rules: [
        { apiGroups: [''], resources: ['events', 'endpoints'], verbs: ['create', 'patch'] },
        { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
        { apiGroups: [''], resources: ['pods/status'], verbs: ['update'] },
        { apiGroups: [''], resources: ['endpoints'], resourceNames: [NAME], verbs: ['get', 'update'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['watch', 'list', 'get', 'update'] },
        { apiGroups: [''], resources: ['namespaces', 'pods', 'services', 'replicationcontrollers', 'persistentvolumeclaims', 'persistentvolumes'],
          verbs: read },
        { apiGroups: ['extensions'], resources: ['replicasets', 'daemonsets'], verbs: read },
        { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['watch', 'list'] },
        { apiGroups: ['apps'], resources: ['statefulsets', 'replicasets', 'daemonsets'], verbs: read },
        ...(minor >= 35 ? [{ apiGroups: ['resource.k8s.io'], resources: ['deviceclasses', 'resourceslices', 'resourceclaims'], verbs: read }]
          : []),
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses', 'csinodes', 'csidrivers', 'csistoragecapacities',
          ...(minor >= 33 ? ['volumeattachments'] : [])], verbs: read },
        { apiGroups: ['batch', 'extensions'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'patch'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resourceNames: [NAME], resources: ['leases'], verbs: ['get', 'update'] },
        ...(props.capacityBuffers ? [
          { apiGroups: [''], resources: ['podtemplates'], verbs: read },
          { apiGroups: ['autoscaling.x-k8s.io'], resources: ['capacitybuffers'], verbs: read },
          { apiGroups: ['autoscaling.x-k8s.io'], resources: ['capacitybuffers/status'], verbs: ['update', 'patch'] },
          // from 1.36 it dry-runs the buffer's pods (--capacity-buffer-pod-dry-run-enabled, on by default)
          ...(minor >= 36 ? [{ apiGroups: [''], resources: ['pods'], verbs: ['create'] }] : []),
        ] : []),
        // kwok: cluster-autoscaler creates and deletes the fake Node objects itself
        ...(kwok ? [{ apiGroups: [''], resources: ['nodes'], verbs: ['create', 'delete'] }] : []),
        ...(props.cloudProvider.name === 'clusterapi' ? [{ apiGroups: ['cluster.x-k8s.io'], resources: ['machinedeployments',
          'machinedeployments/scale', 'machines', 'machinesets', 'machinepools'], verbs: ['get', 'list', 'update', 'watch', 'patch'] }] : []),
      ],
    });
    new k8s.KubeRole(this, 'Role', {
      metadata: meta('kube-system'),
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'list', 'watch'] },
        { apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-autoscaler-status', PRIORITY_CONFIGMAP],
          verbs: ['delete', 'get', 'update', 'watch'] },
        ...(kwok ? [{ apiGroups: [''], resources: ['configmaps'], resourceNames: [KWOK_CONFIG, KWOK_TEMPLATES], verbs: ['get'] }] : []),
      ],
    });
    const subjects = [{ kind: 'ServiceAccount', name: NAME, namespace: 'kube-system' }];
    new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: meta(), roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: NAME }, subjects,
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', { metadata: meta('kube-system'), roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: NAME },
      subjects });
  }

  /**
   * The kwok provider's ConfigMaps: its config (groups by the `kwok-nodegroup` label, templates from a ConfigMap), and the template
   * Node of each group (a `List`, as the provider reads it) with its bounds in annotations.
   */
  private renderKwokConfig(kwok: KwokOptions): void {
    const config = ['apiVersion: v1alpha1', 'readNodesFrom: configmap', 'nodegroups:', `  fromNodeLabelKey: ${KWOK_GROUP_LABEL}`, 'nodes:',
      `  skipTaint: ${!kwok.taintNodes}`, 'configmap:', `  name: ${KWOK_TEMPLATES}`, ''].join('\n');
    const nodes = kwok.nodeGroups.map(g => {
      const resources = { cpu: amountText(g.cpu), memory: amountText(g.memory), pods: String(g.pods ?? 110) };
      return {
        apiVersion: 'v1', kind: 'Node',
        metadata: {
          name: `${g.name}-template`,
          annotations: { 'cluster-autoscaler.kwok.nodegroup/min-count': String(g.minNodes), 'cluster-autoscaler.kwok.nodegroup/max-count':
            String(g.maxNodes) },
          labels: { [KWOK_GROUP_LABEL]: g.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
        },
        status: { allocatable: { ...resources }, capacity: { ...resources } },
      };
    });
    const meta = (name: string) => ({ name, namespace: 'kube-system', labels: { ...LABELS } });
    new k8s.KubeConfigMap(this, 'KwokConfig', { metadata: meta(KWOK_CONFIG), data: { config } });
    new k8s.KubeConfigMap(this, 'KwokTemplates', { metadata: meta(KWOK_TEMPLATES), data: {
      templates: Yaml.stringify({ apiVersion: 'v1', kind: 'List', items: nodes }),
    } });
  }

  /** The priority expander's ConfigMap: `priorities` as YAML, priority to the list of regular expressions. */
  private renderPriorities(tiers: readonly PriorityTier[]): void {
    const lines = [...tiers].sort((a, b) => b.priority - a.priority)
      .flatMap(t => [`${t.priority}:`, ...t.nodeGroups.map(r => `  - ${JSON.stringify(r)}`)]);
    new k8s.KubeConfigMap(this, 'PriorityExpander', {
      metadata: { name: PRIORITY_CONFIGMAP, namespace: 'kube-system', labels: { ...LABELS } },
      data: { priorities: `${lines.join('\n')}\n` },
    });
  }

  /** L1, as upstream's manifests, at system-cluster-critical priority (CONTRIBUTING: which workloads are cdk8s-plus). */
  private renderDeployment(image: string, args: string[], props: ClusterAutoscalerProps, resources: k8s.ResourceRequirements): ApiObject {
    const labels = { app: NAME };
    return new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: NAME, namespace: 'kube-system', labels },
      spec: {
        // one replica: it elects a leader anyway, and a second would only wait
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: {
            labels,
            // it must not evict itself while draining the node it runs on
            annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8085', [SAFE_TO_EVICT_ANNOTATION]: 'false' },
          },
          spec: {
            priorityClassName: 'system-cluster-critical',
            serviceAccountName: NAME,
            securityContext: restrictedPodSecurityContext(65534, true),
            containers: [{
              name: NAME,
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['./cluster-autoscaler', ...args],
              ...(props.credentialsSecret ? { envFrom: [{ secretRef: { name: props.credentialsSecret } }] } : {}),
              // the kwok provider reads its ConfigMaps from the pod's namespace
              ...(props.cloudProvider._kwok
                ? { env: [{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }] } : {}),
              ports: [{ name: 'metrics', containerPort: 8085 }],
              livenessProbe: { httpGet: { path: '/health-check', port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 10,
                failureThreshold: 3 },
              resources,
              securityContext: restrictedSecurityContext(),
            }],
          },
        },
      },
    });
  }
}

/** What upstream's priority expander would do wrong with these tiers. */
function expanderProblems(expander: Expander): string[] {
  const tiers = expander._tiers;
  if (!tiers) return [];
  const out: string[] = [];
  if (!tiers.length) out.push('expander: Expander.priority needs at least one tier');
  const seen = new Set<number>();
  tiers.forEach((t, i) => {
    if (!Number.isInteger(t.priority) || t.priority < 0) {
      out.push(`expander: tier ${i} priority must be a whole number >= 0 (negative priorities never win upstream), got ${t.priority}`);
    } else if (seen.has(t.priority)) {
      out.push(`expander: priority ${t.priority} is given twice; each priority once, with all its regular expressions`);
    }
    seen.add(t.priority);
    if (!t.nodeGroups?.length) out.push(`expander: tier ${i} (priority ${t.priority}) lists no node groups`);
    (t.nodeGroups ?? []).forEach(r => {
      try {
        new RegExp(r);
        if (/\(\?[=!<]/.test(r)) throw new Error('lookaround');
      } catch {
        out.push(`expander: "${r}" is not a regular expression cluster-autoscaler (Go RE2) accepts`);
      }
    });
  });
  return out;
}

/**
 * The app's PriorityClasses against the cutoff (as rendered): the filler's
 * below it, the buffer pods' at or above it and below every other
 * workload's; one cluster-autoscaler per app.
 */
function priorityProblems(root: IConstruct, reg: Registry): string[] {
  if (reg.autoscalers.length > 1) {
    return [`the app has ${reg.autoscalers.length} ClusterAutoscalers (${reg.autoscalers.map(c => c.node.path).join(', ')}); keep one: two would `
      + 'both resize the same node groups'];
  }
  const ca = reg.autoscalers[0];
  if (!ca) return [];
  const cutoff = ca.expendablePodsPriorityCutoff;
  // Only PriorityClasses and workloads are read: the kind is known without rendering.
  const read = (c: IConstruct): c is ApiObject => ApiObject.isApiObject(c) && (c.kind === 'PriorityClass' || c.kind in POD_SPEC_PATHS);
  const objects = appConstructs(root).filter(read).map(o => renderedJson(o));
  const classes = objects.filter(o => o.kind === 'PriorityClass');
  const component = (name: string) => classes.find(pc => pc.metadata?.name === name)?.metadata?.labels?.['app.kubernetes.io/component'];
  // the workloads' priorities: a PriorityClass of the app or a system one, else 0 (no class, or one installed elsewhere)
  const used = new Set(objects.flatMap(o => {
    const spec = podSpecOf(o)?.spec;
    return spec ? [spec.priorityClassName ?? ''] : [];
  }));
  const lowestWorkload = Math.min(...[...used].filter(n => !['filler', 'buffer'].includes(component(n) ?? ''))
    .map(n => (n === '' ? 0 : priorityClassValue(n, classes) ?? 0)));
  const out: string[] = [];
  for (const pc of classes) {
    const name = pc.metadata?.name;
    if (component(name) === 'filler' && !(pc.value < cutoff)) {
      out.push(`PriorityClass ${name} (the filler's, ${pc.value}) is not below cluster-autoscaler's expendablePodsPriorityCutoff (${cutoff}): `
        + `a Pending filler pod would make it add nodes; use a priority below ${cutoff}`);
    }
    if (component(name) === 'buffer') {
      if (pc.value < cutoff) {
        out.push(`PriorityClass ${name} (the buffer pods', ${pc.value}) is below cluster-autoscaler's expendablePodsPriorityCutoff (${cutoff}): `
          + 'Pending buffer pods would never make it add a node; use the cutoff or above');
      }
      if (pc.value >= lowestWorkload) {
        out.push(`PriorityClass ${name} (the buffer pods', ${pc.value}) is not below the lowest priority of the app's other workloads `
          + `(${lowestWorkload}): they could not preempt the buffer pods; keep buffers below every workload`);
      }
    }
  }
  return out;
}

/**
 * The servers of the app's metrics APIs (the Deployments behind each
 * APIService's Service) that cluster-autoscaler may evict while draining a
 * node: one replica, without `safe-to-evict: "false"`. Warnings, not errors:
 * keeping such a pod pins its node, a trade the user may choose.
 */
function evictionWarnings(root: IConstruct): string[] {
  const objects = appConstructs(root).filter(ApiObject.isApiObject);
  const json = (kind: string) => objects.filter(o => o.kind === kind).map(o => renderedJson(o));
  const services = json('Service');
  const deployments = json('Deployment');
  const out: string[] = [];
  for (const api of json('APIService')) {
    const ref = api.spec?.service;
    const service = ref && services.find(s => s.metadata?.name === ref.name && s.metadata?.namespace === ref.namespace);
    const selector: Record<string, string> | undefined = service?.spec?.selector;
    if (!selector || !Object.keys(selector).length) continue;
    for (const d of deployments) {
      const pod = d.spec?.template?.metadata ?? {};
      const selected = d.metadata?.namespace === ref.namespace && Object.entries(selector).every(([k, v]) => pod.labels?.[k] === v);
      if (!selected || (d.spec?.replicas ?? 1) > 1 || pod.annotations?.[SAFE_TO_EVICT_ANNOTATION] === 'false') continue;
      out.push(`warning: Deployment ${ref.namespace}/${d.metadata.name} serves ${api.metadata.name} with one replica, and the app's `
        + 'cluster-autoscaler may evict it while removing its node: every HPA on those metrics fails until it is back. Annotate its pod '
        + `template with ${SAFE_TO_EVICT_ANNOTATION}: "false", or run two replicas with a PodDisruptionBudget`);
    }
  }
  return [...new Set(out)];
}

/** Each CapacityBuffer of the app needs the app's cluster-autoscaler to keep room for it, at a version that serves its API. */
function capacityBufferProblems(root: IConstruct, reg: Registry): string[] {
  const ca = reg.autoscalers.length === 1 ? reg.autoscalers[0] : undefined;
  if (!ca) return [];
  const out: string[] = [];
  for (const o of appConstructs(root).filter(ApiObject.isApiObject)) {
    if (o.kind !== 'CapacityBuffer' || o.apiGroup !== 'autoscaling.x-k8s.io') continue;
    const name = `CapacityBuffer ${o.metadata.namespace ?? 'default'}/${o.name}`;
    if (!ca.capacityBuffers) {
      out.push(`${name}: the app's ClusterAutoscaler (${ca.node.path}) runs without capacityBuffers, so it keeps no room for it; set `
        + 'capacityBuffers: true on it');
    }
    const needed = o.apiVersion.endsWith('/v1alpha1') ? 34 : 35;
    if (ca.minor < needed) {
      out.push(`${name}: ${o.apiVersion} is served from cluster-autoscaler 1.${needed}, and the app's ClusterAutoscaler is 1.${ca.minor}; `
        + `raise kubernetesVersion to 1.${needed} or later, or use pause-pod buffers`);
    }
  }
  return out;
}
