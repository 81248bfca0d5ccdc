import { ApiObject, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { finishConstruct, renderNamespace, renderOnce } from '../core/app-checks';
import { Autoscaler, AutoscalerProps, checkAutoscaling, hostedAutoscaler } from '../scaling/autoscaler';
import { fillerSlotsRules, ksmLabelName, RecordingRule } from './filler-query';
import { PrometheusRule, PrometheusRuleSpecGroupsRulesExpr } from '../imports/monitoring.coreos.com';
import { CapacityBufferV1Beta1 } from '../imports/autoscaling.x-k8s.io';
import { requireKsmLabel } from '../core/ksm-labels';
import { DEFAULT_EXPENDABLE_CUTOFF } from '../core/priorities';
import { selectorLabels, standardLabels } from '../core/labels';
import { assertDnsLabel, assertDnsSubdomain, assertInteger, describe } from '../core/assertions';
import { checkPodSettings, PodSettings, SchedulingSettings, withPodSettings } from '../core/pod-settings';
import { enforceRequestsEqualLimits } from '../policy/requests-equal-limits';
import { Problems } from '../core/problems';
import { AdapterMetric, MetricsApi, PromAdapter } from '../metrics/prom-adapter';
import { amountText, CpuAmount, MemoryAmount, parseQuantity } from '../core/quantity';
import { ResourceQuotaPolicy } from '../policy/resource-quota-policy';
import { guaranteedResources, parseAmounts, ParsedAmounts, ResourceAmounts } from '../core/resources';
import { ScalingMetric } from '../scaling/scaling-metric';
import { ScalingPolicyType, ScalingRules, SelectPolicy } from '../scaling/scaling-rules';
import { ScalingSchedule } from '../scaling/scaling-schedule';
import { ScenarioLoad, SimulationContext } from '../scaling/simulate';
import { imageRef, restrictedPodSecurityContext, restrictedSecurityContext, wholeSeconds } from '../core/pod-spec';
import { finishPlusDeployment, plusEnv, plusResources, PlusScheduling, plusScheduling, plusServiceAccount } from './plus-pod';

/** The pod label only filler pods carry; the capacity metric leaves pods with it out of "used". */
export const FILLER_POD_LABEL = 'cdk8s-autoscaling.io/opportunistic-filler';

/** Buffer (overprovisioning) pods: pause containers that hold room for bursts. */
export interface FillerBuffer {
  /** Number of buffer pods. */
  readonly replicas: number;
  /** cpu held by each buffer pod (`Cpu` or a quantity). */
  readonly cpu: CpuAmount;
  /** memory held by each buffer pod (`Size` or a quantity). */
  readonly memory: MemoryAmount;
  /**
   * PriorityClass of the buffer pods: -10, the lowest priority that still
   * makes cluster-autoscaler add nodes, above the fillers so buffer pods
   * displace fillers and paying pods displace buffer pods.
   * @default "overprovisioning"
   */
  readonly priorityClassName?: string;
  /**
   * Image of the buffer pods.
   * @default "registry.k8s.io/pause:3.9"
   */
  readonly image?: string;
  /**
   * Render the buffer as a CapacityBuffer (`autoscaling.x-k8s.io/v1beta1`) of a PodTemplate instead of a Deployment of pause pods:
   * cluster-autoscaler keeps room for `replicas` such pods as virtual pods, so nothing runs and nothing is preempted. Needs the app's
   * ClusterAutoscaler at Kubernetes 1.35+ with `capacityBuffers: true`, and the CapacityBuffer CRD in the cluster.
   * @default false - pause pods
   */
  readonly capacityBuffer?: boolean;
}

/** Capacity kept free cluster-wide; set cpu, memory or both. */
export interface FillerReserve {
  /**
   * cpu kept free (`Cpu` or a quantity).
   * @default - none
   */
  readonly cpu?: CpuAmount;
  /**
   * memory kept free (`Size` or a quantity).
   * @default - none
   */
  readonly memory?: MemoryAmount;
}

/** A ResourceQuota cap on the filler pods. */
export interface FillerQuota {
  /** Total cpu of all filler pods (`Cpu` or a quantity). */
  readonly cpu: CpuAmount;
  /** Total memory of all filler pods (`Size` or a quantity). */
  readonly memory: MemoryAmount;
  /**
   * Most filler pods.
   * @default - no count limit
   */
  readonly pods?: number;
}

/**
 * Props of {@link OpportunisticFiller}.
 */
export interface OpportunisticFillerProps extends PodSettings {
  /** Image of the filler workload (a batch worker, a transcoder...). */
  readonly image: string;
  /**
   * Name of the Deployment, HPA and metric prefix.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Namespace of the filler (and of the buffer pods).
   * @default "filler"
   */
  readonly namespace?: string;
  /**
   * Render the Namespace (Pod Security "restricted").
   * @default false
   */
  readonly createNamespace?: boolean;
  /**
   * Container command.
   * @default - the image's entrypoint
   */
  readonly command?: string[];
  /**
   * Container args.
   * @default - the image's command
   */
  readonly args?: string[];
  /**
   * Environment variables.
   * @default - none
   */
  readonly env?: Record<string, string>;
  /** cpu and memory of each filler pod, rendered as requests == limits. */
  readonly resources: ResourceAmounts;
  /** The PromAdapter that serves the filler's capacity metric (an external rule is added to it). */
  readonly adapter: PromAdapter;
  /**
   * cpu and/or memory kept free cluster-wide for bursts of paying workloads,
   * e.g. `{ cpu: "30" }`. Counted in filler pods, rounded up.
   * @default - none kept free
   */
  readonly reserve?: FillerReserve;
  /**
   * Fewest filler replicas.
   * @default 1
   */
  readonly minReplicas?: number;
  /** Most filler replicas. */
  readonly maxReplicas: number;
  /**
   * Scale-down behavior. The metric has no feedback, so the window is kept
   * within 0..30 s.
   * @default - no stabilization; any amount per 15 s
   */
  readonly scaleDown?: ScalingRules;
  /**
   * Off-hours: a lower floor at night and on weekends, applied by the app's kube-downscaler to the HPA.
   * @default - none
   */
  readonly schedule?: ScalingSchedule;
  /**
   * PriorityClass of the filler pods.
   * @default "opportunistic-filler"
   */
  readonly priorityClassName?: string;
  /**
   * Priority of the filler pods: below cluster-autoscaler's expendable cutoff
   * (-10), so Pending fillers never buy nodes; -10 or above is refused.
   * @default -100
   */
  readonly priority?: number;
  /**
   * Seconds a filler pod gets to stop when preempted or scaled down.
   * @default Duration.seconds(10)
   */
  readonly terminationGracePeriod?: Duration;
  /**
   * UID the container runs as.
   * @default 10001
   */
  readonly runAsUser?: number;
  /**
   * Buffer (overprovisioning) pods.
   * @default - none
   */
  readonly buffer?: FillerBuffer;
  /**
   * ResourceQuota capping the filler pods (scoped to the filler PriorityClass).
   * @default - no cap beyond maxReplicas
   */
  readonly quota?: FillerQuota;
  /**
   * Label matchers that select kube-state-metrics' series, e.g. `job="kube-state-metrics"`.
   * @default - none
   */
  readonly kubeStateMetricsMatchers?: string;
  /**
   * Labels of the filler's PrometheusRule (its recording rules): the ones your Prometheus's `ruleSelector` requires. Without a
   * Prometheus that loads them, the metric has no series and the filler stays at minReplicas (the AutoscalingMetricAbsent
   * alert says so); an app with a PrometheusInstance checks at synth that one selects the rule.
   * @default - none
   */
  readonly ruleLabels?: Record<string, string>;
  /**
   * The cluster's kube-state-metrics is installed elsewhere and runs with
   * `--metric-labels-allowlist=pods=[cdk8s-autoscaling.io/opportunistic-filler]`.
   * Otherwise the app must render a KubeStateMetrics (which exports the label by itself), or the synth fails.
   * @default false
   */
  readonly externalKubeStateMetrics?: boolean;
}

/** The filler's scale-down defaults: follow the metric at once. */
const FILLER_SCALE_DOWN: Required<ScalingRules> = {
  stabilizationWindow: Duration.seconds(0),
  policies: [{ type: ScalingPolicyType.PERCENT, value: 100, period: Duration.seconds(15) }],
  selectPolicy: SelectPolicy.MAX,
};

/** The props after checking, with their defaults. */
interface FillerSettings {
  readonly name: string;
  readonly namespace: string;
  readonly priority: number;
  readonly priorityClassName: string;
  readonly per: ParsedAmounts;
  readonly reservePods: number;
  readonly grace: number;
  readonly runAsUser: number;
  readonly resources?: kplus.ContainerResources;
  readonly scheduling: PlusScheduling;
}


/**
 * A low-priority workload whose replica count tracks the cluster's free
 * capacity: an HPA on an External metric (served by the given PromAdapter)
 * that counts the filler pods that fit, with an `AverageValue` target of 1,
 * so desired replicas = the metric, in one step. A PriorityClass below
 * cluster-autoscaler's expendable cutoff with `preemptionPolicy: Never`
 * lets the scheduler evict fillers at once for any paying pod, and keeps
 * Pending fillers from buying nodes. Optional buffer pods and quota.
 */
export class OpportunisticFiller extends Construct {
  /** Name of the Deployment and HPA. */
  public readonly name: string;
  /** The Deployment (cdk8s-plus: add containers, volumes, scheduling and network rules with its methods). */
  public readonly deployment: kplus.Deployment;
  /** The HorizontalPodAutoscaler. */
  public readonly hpa: ApiObject;
  /** The Autoscaler that renders the HPA (hand it to `simulate` or `HpaController`). */
  public readonly autoscaler: Autoscaler;
  /** The external metric the HPA scales on. */
  public readonly metric: AdapterMetric;
  /** The PromQL of the metric: the series the last of `recordingRules` records. */
  public readonly query: string;
  /** The recording rules that compute the metric, step by step (rendered in the filler's PrometheusRule). */
  public readonly recordingRules: readonly RecordingRule[];
  /** The PrometheusRule that records the metric; a Prometheus must select it (`ruleLabels`). */
  public readonly rule: ApiObject;
  /** Filler pods the reserve amounts to (rounded up). */
  public readonly reservePods: number;

  constructor(scope: Construct, id: string, props: OpportunisticFillerProps) {
    super(scope, id);
    const where = describe(this);
    const s = this.checkProps(props, new Problems(where));
    this.name = s.name;
    this.reservePods = s.reservePods;
    const prefix = `${s.name.replace(/-/g, '_')}_filler`;
    this.recordingRules = fillerSlotsRules({
      cpu: s.per.cpu, memory: s.per.memory, reservePods: s.reservePods,
      fillerLabel: ksmLabelName(FILLER_POD_LABEL), ksmMatchers: props.kubeStateMetricsMatchers,
    }, prefix);
    this.query = this.recordingRules[this.recordingRules.length - 1].record;
    this.rule = this.renderRecordingRules(props, s);
    this.metric = this.publishMetric(props);
    // Without the filler's label in kube_pod_labels, the filler's own pods count as used capacity and it never fills the cluster.
    requireKsmLabel(this, 'pods', FILLER_POD_LABEL, props.externalKubeStateMetrics ?? false);
    this.renderNamespaceAndQuota(props, s);
    this.renderPriorityClass(s);
    this.deployment = this.renderDeployment(props, s);
    this.autoscaler = hostedAutoscaler(this, 'HPA', {
      ...this.autoscalingOf(props),
      metrics: [ScalingMetric.external(this.metric, { averageValue: '1' })],
      target: this.deployment,
      labels: standardLabels(s.name, 'filler'),
    }, { where, defaults: { scaleUp: this.scaleUpOf(props), scaleDown: FILLER_SCALE_DOWN } });
    this.hpa = this.autoscaler.hpa;
    if (props.buffer) this.renderBuffer(props.buffer, s.name, s.namespace, where, schedulingOf(props));
    enforceRequestsEqualLimits(this);
    finishConstruct(this);
  }

  /**
   * The filler's load for `simulate` and `simulateCluster` on a cluster: its metric computed on the simulated cluster as its recording
   * rules compute it on the real one (the filler pods that fit beside every other pod, minus the reserve).
   */
  public simulatedLoad(): ScenarioLoad {
    const reserve = this.reservePods;
    const name = this.name;
    return {
      metrics: {
        [this.metric.metricName]: (context: SimulationContext) => {
          if (!context.cluster) throw new Error(`OpportunisticFiller ${name}: simulatedLoad() reads the cluster; give the scenario a cluster`);
          return context.cluster.slots(reserve);
        },
      },
    };
  }

  /** Checks every prop (all problems in one error) and fills in the defaults. */
  private checkProps(props: OpportunisticFillerProps, problems: Problems): FillerSettings {
    const where = problems.where;
    const name = props.name ?? this.node.id;
    const namespace = props.namespace ?? 'filler';
    problems.check(() => assertDnsLabel(name, where, 'name'));
    problems.check(() => assertDnsLabel(namespace, where, 'namespace'));
    if (!props.image) problems.add('image is required');
    if (!props.adapter) problems.add('adapter is required: the PromAdapter that serves the filler\'s capacity metric');
    const per = problems.check(() => parseAmounts(props.resources, where));
    const reserve = per ? problems.check(() => reservePods(props.reserve, per, where)) : undefined;
    const priority = props.priority ?? -100;
    problems.check(() => assertInteger(priority, where, 'priority', -2147483648, 1000000000));
    const cutoff = DEFAULT_EXPENDABLE_CUTOFF;
    if (priority >= cutoff) {
      problems.add(`priority ${priority} is not below cluster-autoscaler's expendable cutoff (${cutoff}): Pending fillers would make it add nodes. `
        + `Use -100 or another value below ${cutoff}`);
    }
    const priorityClassName = props.priorityClassName ?? 'opportunistic-filler';
    problems.check(() => assertDnsSubdomain(priorityClassName, where, 'priorityClassName'));
    if (priorityClassName.startsWith('system-')) problems.add('priorityClassName may not start with "system-"');
    const window = props.scaleDown?.stabilizationWindow?.toSeconds();
    if (window !== undefined && window > 30) {
      problems.add(`scaleDown.stabilizationWindow ${window}s is too slow for a filler: paying pods wait for its room. Use 0 to 30 s`);
    }
    // The metric is published once the props are known to be good; it is always an External one of this app's adapter.
    checkPodSettings(props, {
      labels: { ...standardLabels(name, 'filler'), [FILLER_POD_LABEL]: 'true' }, volumes: ['tmp'], mountPaths: ['/tmp'], containers: ['filler'],
      topologySpread: false, serviceAccount: false,
    }, problems);
    const autoscaling = { ...this.autoscalingOf(props), metrics: [ScalingMetric.external(AdapterMetric.servedElsewhere(MetricsApi.EXTERNAL,
      'filler_slots'), { averageValue: '1' })] };
    checkAutoscaling(this, autoscaling, { scaleUp: this.scaleUpOf(props), scaleDown: FILLER_SCALE_DOWN }, problems);
    const settings: FillerSettings = {
      name, namespace, priority, priorityClassName,
      per: per!,
      reservePods: reserve ?? 0,
      grace: problems.check(() => wholeSeconds(props.terminationGracePeriod ?? Duration.seconds(10), where, 'terminationGracePeriod', 0)) ?? 0,
      runAsUser: props.runAsUser ?? 10001,
      resources: per ? problems.check(() => plusResources(per, where)) : undefined,
      scheduling: plusScheduling(props, problems),
    };
    problems.check(() => assertInteger(settings.runAsUser, where, 'runAsUser', 1));
    problems.throwIfAny();
    return settings;
  }

  private autoscalingOf(props: OpportunisticFillerProps): Omit<AutoscalerProps, 'target' | 'metrics'> {
    const minReplicas = props.minReplicas ?? 1;
    return { minReplicas, scaleToZero: minReplicas === 0, maxReplicas: props.maxReplicas, scaleDown: props.scaleDown, schedule: props.schedule };
  }

  /** Reach the metric in one sync: as many pods as it says, up to maxReplicas. */
  private scaleUpOf(props: OpportunisticFillerProps): Required<ScalingRules> {
    return {
      stabilizationWindow: Duration.seconds(0),
      policies: [
        { type: ScalingPolicyType.PODS, value: Math.max(props.maxReplicas, 1), period: Duration.seconds(15) },
        { type: ScalingPolicyType.PERCENT, value: 100, period: Duration.seconds(15) },
      ],
      selectPolicy: SelectPolicy.MAX,
    };
  }

  /**
   * The recording rules, every 15 s (the HPA's sync period), so the metric
   * is at most one evaluation behind the cluster.
   */
  private renderRecordingRules(props: OpportunisticFillerProps, s: FillerSettings): ApiObject {
    const name = `${s.name}-filler-slots`;
    return new PrometheusRule(this, 'RecordingRules', {
      metadata: { name, namespace: s.namespace, labels: { ...standardLabels(s.name, 'filler'), ...(props.ruleLabels ?? {}) } },
      spec: {
        groups: [{
          name,
          interval: '15s',
          rules: this.recordingRules.map(r => ({ record: r.record, expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr) })),
        }],
      },
    });
  }

  /** The metric: filler pods that fit, published as an external rule on the adapter, which reads the recorded series. */
  private publishMetric(props: OpportunisticFillerProps): AdapterMetric {
    return props.adapter.addExternalMetric({
      metricName: `${this.name.replace(/-/g, '_')}_filler_slots`,
      seriesQuery: this.query,
      metricsQuery: `max(${this.query})`,
      namespaced: false,
    });
  }

  private renderNamespaceAndQuota(props: OpportunisticFillerProps, s: FillerSettings): void {
    if (props.createNamespace && !props.quota) renderNamespace(this, s.namespace);
    if (props.quota) {
      new ResourceQuotaPolicy(this, 'Quota', {
        namespace: s.namespace,
        createNamespace: props.createNamespace ?? false,
        name: `${s.name}-cap`,
        quota: { cpu: props.quota.cpu, memory: props.quota.memory },
        pods: props.quota.pods,
        priorityClassNames: [s.priorityClassName],
        containerDefault: props.resources,
      });
    }
  }

  /** The fillers' PriorityClass, shared by every filler of the app that names it. */
  private renderPriorityClass(s: FillerSettings): void {
    const settings = { value: s.priority, preemptionPolicy: 'Never' };
    renderOnce(this, 'PriorityClass', s.priorityClassName, settings, () => new k8s.KubePriorityClass(this, 'PriorityClass', {
      metadata: { name: s.priorityClassName, labels: standardLabels(s.priorityClassName, 'filler') },
      ...settings,
      globalDefault: false,
      description: 'Opportunistic fillers: below cluster-autoscaler\'s expendable cutoff, evicted for any other pod, never preempt.',
    }));
  }

  /**
   * A cdk8s-plus Deployment, with what cdk8s-plus 27 cannot express patched in (see plus-pod): priorityClassName, which
   * is what makes a filler a filler, and seccompProfile and capabilities drop ALL (Pod Security "restricted").
   */
  private renderDeployment(props: OpportunisticFillerProps, s: FillerSettings): kplus.Deployment {
    const labels = { ...standardLabels(s.name, 'filler'), [FILLER_POD_LABEL]: 'true' };
    const deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: s.name, namespace: s.namespace, labels: standardLabels(s.name, 'filler') },
      select: false,
      podMetadata: { labels },
      strategy: kplus.DeploymentStrategy.rollingUpdate({
        maxSurge: kplus.PercentOrAbsolute.absolute(0), maxUnavailable: kplus.PercentOrAbsolute.percent(25),
      }),
      ...plusServiceAccount(this, props),
      securityContext: { user: s.runAsUser, group: s.runAsUser, ensureNonRoot: true },
      terminationGracePeriod: Duration.seconds(s.grace),
      containers: [{
        name: 'filler',
        image: props.image,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: props.command,
        args: props.args,
        envVariables: plusEnv(props.env),
        resources: s.resources,
        securityContext: {
          user: s.runAsUser, group: s.runAsUser, ensureNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
        },
        volumeMounts: [{ path: '/tmp', volume: kplus.Volume.fromEmptyDir(this, 'TmpVolume', 'tmp') }],
      }],
    });
    deployment.select(kplus.LabelSelector.of({ labels: selectorLabels(s.name, 'filler') }));
    finishPlusDeployment(this, deployment, props, s.scheduling, { priorityClassName: s.priorityClassName });
    return deployment;
  }

  /** Buffer pods: L1, pause pods whose point is their priorityClassName (CONTRIBUTING: which workloads are cdk8s-plus). */
  private renderBuffer(buffer: FillerBuffer, name: string, namespace: string, where: string, scheduling: SchedulingSettings): void {
    assertInteger(buffer.replicas, where, 'buffer.replicas', 1);
    const pcName = buffer.priorityClassName ?? 'overprovisioning';
    assertDnsSubdomain(pcName, where, 'buffer.priorityClassName');
    const settings = { value: DEFAULT_EXPENDABLE_CUTOFF, preemptionPolicy: 'PreemptLowerPriority' };
    renderOnce(this, 'PriorityClass', pcName, settings, () => new k8s.KubePriorityClass(this, 'BufferPriorityClass', {
      metadata: { name: pcName, labels: standardLabels(pcName, 'buffer') },
      ...settings,
      globalDefault: false,
      description: 'Buffer (overprovisioning) pods: the lowest priority that still makes cluster-autoscaler add nodes; preempted by any workload at '
        + 'priority 0 or above.',
    }));
    const bufferName = `${name}-buffer`;
    const labels = standardLabels(bufferName, 'buffer');
    const template = withPodSettings({
      metadata: { labels },
      spec: {
        priorityClassName: pcName,
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 0,
        securityContext: restrictedPodSecurityContext(65535),
        containers: [{
          name: 'pause',
          image: buffer.image ?? imageRef('registry.k8s.io', 'pause', '3.9'),
          imagePullPolicy: 'IfNotPresent',
          resources: guaranteedResources({ cpu: buffer.cpu, memory: buffer.memory }, where, 'buffer'),
          securityContext: restrictedSecurityContext(),
        }],
      },
    }, scheduling);
    if (buffer.capacityBuffer) {
      // cluster-autoscaler injects `replicas` virtual pods of the template into its simulation: room is kept, no pod runs
      new k8s.KubePodTemplate(this, 'BufferTemplate', { metadata: { name: bufferName, namespace, labels }, template });
      new CapacityBufferV1Beta1(this, 'CapacityBuffer', {
        metadata: { name: bufferName, namespace, labels },
        spec: { podTemplateRef: { name: bufferName }, replicas: buffer.replicas },
      });
      return;
    }
    new k8s.KubeDeployment(this, 'Buffer', {
      metadata: { name: bufferName, namespace, labels },
      spec: {
        replicas: buffer.replicas,
        selector: { matchLabels: selectorLabels(bufferName, 'buffer') },
        strategy: { type: 'Recreate' },
        template,
      },
    });
  }
}

/** The settings that place the filler's pods, which its buffer pods take too (they hold room where fillers and paying pods run). */
function schedulingOf(props: OpportunisticFillerProps): SchedulingSettings {
  const { nodeSelector, tolerations, affinity, topologySpreadConstraints, imagePullSecrets, podAnnotations } = props;
  return { nodeSelector, tolerations, affinity, topologySpreadConstraints, imagePullSecrets, podAnnotations };
}

/** The reserve in whole filler pods: the larger of the cpu and memory counts, each rounded up. */
function reservePods(reserve: FillerReserve | undefined, per: ParsedAmounts, where: string): number {
  let pods = 0;
  for (const r of ['cpu', 'memory'] as const) {
    const v = reserve?.[r];
    if (v === undefined) continue;
    const q = parseQuantity(v, `${where}: reserve.${r}`);
    if (q.compare(0) < 0) throw new Error(`${where}: reserve.${r} must not be negative, got "${amountText(v)}"`);
    pods = Math.max(pods, q.ceilDiv(per[r]));
  }
  return pods;
}
