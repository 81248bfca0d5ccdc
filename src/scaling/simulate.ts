import { ApiObject } from 'cdk8s';
import { Autoscaler } from './autoscaler';
import { HpaController, HpaControllerOptions, HpaManifest, HpaSource, SyncRecord } from './hpa-controller';
import { appDownscaler } from './kube-downscaler';
import { ScalingSchedule } from './scaling-schedule';
import { MetricSourceType, MetricTargetType } from './scaling-metric';
import { Amount, LONG_AGO, milliOf, Phase, PodTable } from './replica-calculator';
import { ClusterModel, ClusterView, NodeCount, Owner, Seconds, secondsOf, SimulatedCluster } from './simulated-cluster';
import { podSpecOf } from '../core/manifests';
import { priorityClassValue } from '../core/priorities';
import { appConstructs, renderedJson } from '../core/render-pass';

/** What a load function sees at a sync. */
export interface SimulationContext {
  /** Seconds since the start of the scenario. */
  readonly time: number;
  /** The target's replicas (`spec.replicas`): pods that exist, Ready or not. */
  readonly replicas: number;
  /** Pods that are Ready (started at least `podStartup` ago). */
  readonly readyReplicas: number;
  /**
   * The cluster, when the scenario has one (e.g. `ctx => ctx.cluster!.slots(reservePods)`, an OpportunisticFiller's metric).
   * @default - undefined without a cluster
   */
  readonly cluster?: ClusterView;
}

/**
 * A load: a function of the sync's context, a constant, or (for JSON
 * scenarios) steps `[[fromSecond, value], ...]` that hold each value from
 * its second on.
 */
export type Load = ((context: SimulationContext) => Amount) | Amount | [number, Amount][];

/** The load, per kind of metric the HPA reads. */
export interface ScenarioLoad {
  /**
   * Total cpu demand in cores, shared equally by the Ready pods; each pod's usage is capped at its cpu limit (= request).
   * @default - none (an HPA on cpu then has nothing to read)
   */
  readonly cpu?: Load;
  /**
   * Memory of each Ready pod, in bytes.
   * @default - none
   */
  readonly memory?: Load;
  /**
   * Pods metrics: the total, shared equally by the Ready pods (e.g. requests per second).
   * @default - none
   */
  readonly pods?: Record<string, Load>;
  /**
   * Object and External metrics: the value of each, by metric name.
   * @default - none
   */
  readonly metrics?: Record<string, Load>;
}

/** One workload of a replay: its starting replicas, its load, its pods. */
export interface WorkloadScenario {
  /** Replicas at the start (all Ready; on a cluster, those that fit). */
  readonly initialReplicas: number;
  /** The load over time. */
  readonly load: ScenarioLoad;
  /**
   * Time from a pod's creation (on a cluster: from its binding to a node) until it is Ready and reports metrics.
   * @default Duration.seconds(30)
   */
  readonly podStartup?: Seconds;
  /**
   * cpu and memory requests of one pod (equal to its limits).
   * @default - read from the target's pod template when the HPA is an Autoscaler of this app or the target is in the rendered YAML
   */
  readonly podResources?: { readonly cpu: Amount; readonly memory: Amount };
  /**
   * The target's pod spec as rendered JSON (`spec.template.spec`), where the pod's requests come from when `podResources` is not set.
   * @default - the pod template of the Autoscaler's target, when it is an object of this app
   */
  readonly podSpec?: { readonly [key: string]: any };
  /**
   * The pods' priority on a cluster (what they preempt, and whether cluster-autoscaler adds nodes for them).
   * @default - the value of the pod spec's PriorityClass when it is one of this app's (or a system one), else 0
   */
  readonly priority?: number;
}

/** What to replay: one HPA's workload, the controller, and optionally the cluster under it. */
export interface Scenario extends WorkloadScenario {
  /** How long to simulate. */
  readonly duration: Seconds;
  /**
   * Time between syncs (`--horizontal-pod-autoscaler-sync-period`).
   * @default Duration.seconds(15)
   */
  readonly syncPeriod?: Seconds;
  /**
   * The cluster the pods run on: pods that do not fit are Pending (and not Ready) until cluster-autoscaler's node is Ready, each step
   * counts nodes and Pending pods, and the summary the longest Pending time and node-hours.
   * @default - no cluster: every pod the HPA asks for runs at once
   */
  readonly cluster?: SimulatedCluster;
  /**
   * kube-controller-manager flags.
   * @default - Kubernetes' defaults
   */
  readonly controller?: HpaControllerOptions;
  /**
   * The wall-clock time of the scenario's start (ISO 8601, e.g. `2026-03-23T00:00:00+01:00`): where an off-hours schedule of the HPA
   * (an Autoscaler's `schedule`, or the HPA's `downscaler/*` annotations) is evaluated.
   * @default - none: an HPA with a schedule is refused without it
   */
  readonly start?: string;
  /**
   * The kube-downscaler that applies the schedule: how often it runs, and its default time zone.
   * @default - the app's KubeDownscaler for an Autoscaler, else every 30 s and UTC
   */
  readonly downscaler?: { readonly interval?: Seconds; readonly defaultTimezone?: string };
}

/** One metric at one sync. */
export interface SimulatedMetric {
  /** `cpu`, `memory` or the metric's name. */
  readonly name: string;
  /** The metric source type. */
  readonly type: MetricSourceType;
  /** What the target is compared with: percent of requests, a per-pod average, or the total. */
  readonly targetType: MetricTargetType;
  /** The target. */
  readonly target: number;
  /**
   * The value the HPA status shows.
   * @default - undefined when the metric failed
   */
  readonly value?: number;
}

/** One sync of the replay. */
export interface SimulationStep {
  /** Seconds since the start. */
  readonly time: number;
  /** Replicas before the sync. */
  readonly currentReplicas: number;
  /** Ready pods at the sync. */
  readonly readyReplicas: number;
  /** What the metrics asked for, before stabilization and rate limits. */
  readonly desiredReplicas: number;
  /** Replicas the controller set. */
  readonly replicas: number;
  /** The HPA's floor at the sync (lower off hours, when the HPA has a schedule). */
  readonly minReplicas: number;
  /** Each metric against its target (steps share the objects of metrics whose value did not change). */
  readonly metrics: readonly SimulatedMetric[];
  /** Why the controller did not simply follow the metrics (see HpaDecision.reasons). */
  readonly reasons: readonly string[];
  /**
   * On a cluster: this HPA's pods still Pending after the sync's scheduling pass.
   * @default - undefined without a cluster
   */
  readonly pendingPods?: number;
  /**
   * On a cluster: Ready nodes per node group at the sync (steps share the object while the counts do not change).
   * @default - undefined without a cluster
   */
  readonly nodes?: Readonly<Record<string, number>>;
  /**
   * On a cluster: nodes cluster-autoscaler added that are not Ready yet.
   * @default - undefined without a cluster
   */
  readonly provisioningNodes?: number;
}

/** What the replay shows at a glance. */
export interface SimulationSummary {
  /**
   * Seconds until the governing metric (the one furthest above its target, which the HPA follows) was first within the tolerance of its target.
   * @default - undefined if it never was
   */
  readonly timeToTarget?: number;
  /** Most replicas at any time. */
  readonly peakReplicas: number;
  /** Fewest replicas at any time. */
  readonly lowestReplicas: number;
  /** How many syncs changed the replica count. */
  readonly replicaChanges: number;
  /** Whether the replica count stayed the same over the last `settleWindow` seconds. */
  readonly settled: boolean;
  /** Seconds over which `settled` is judged: the last quarter of the run, at most 10 minutes. */
  readonly settleWindow: number;
  /** Seconds the governing metric (the one furthest above its target) spent above its tolerance band. */
  readonly timeAboveTarget: number;
  /** Seconds it spent below the band. */
  readonly timeBelowTarget: number;
  /** Syncs at which the controller could not compute its metrics. */
  readonly failedSyncs: number;
  /** Pod-hours: the replicas the controller set, summed over the run (each sync's count held until the next sync). */
  readonly podHours: number;
  /**
   * On a cluster: the longest any of this HPA's pods stayed Pending, seconds (pods still Pending at the end count up to the end).
   * @default - undefined without a cluster
   */
  readonly longestPending?: number;
  /**
   * On a cluster: node-hours per node group, from each node's launch (Ready or not) to its removal or the end.
   * @default - undefined without a cluster
   */
  readonly nodeHours?: Readonly<Record<string, number>>;
}

/** The replay. */
export interface SimulationResult {
  /** The HPA, `namespace/name`. */
  readonly hpa: string;
  /** minReplicas and maxReplicas. */
  readonly minReplicas: number;
  /** maxReplicas. */
  readonly maxReplicas: number;
  /** The tolerance the HPA scales up with. */
  readonly tolerance: number;
  /** The sync period, seconds. */
  readonly syncPeriod: number;
  /** Every sync. */
  readonly steps: SimulationStep[];
  /** The summary. */
  readonly summary: SimulationSummary;
}

/** Pods that look alike to the controller: created at one sync, Ready (or Pending) together. */
interface PodBatch {
  readonly createdAt: number;
  readonly readyAt: number;
  readonly count: number;
  /** Not on a node yet (on a cluster). */
  readonly pending?: boolean;
}

/** One workload of a cluster replay: its HPA and its scenario. */
export interface SimulatedWorkload extends WorkloadScenario {
  /** An Autoscaler, an HPA `ApiObject`, or an autoscaling/v2 HPA manifest. */
  readonly hpa: HpaSource;
}

/** What `simulateCluster` replays: several HPAs' workloads on one cluster. */
export interface ClusterScenario {
  /** How long to simulate. */
  readonly duration: Seconds;
  /** The cluster the workloads share. */
  readonly cluster: SimulatedCluster;
  /** The workloads, each with its HPA; at the same sync, they are synced in this order. */
  readonly workloads: SimulatedWorkload[];
  /**
   * Time between syncs.
   * @default Duration.seconds(15)
   */
  readonly syncPeriod?: Seconds;
  /**
   * kube-controller-manager flags.
   * @default - Kubernetes' defaults
   */
  readonly controller?: HpaControllerOptions;
  /**
   * The wall-clock time of the start, for HPAs with an off-hours schedule (see Scenario.start).
   * @default - none
   */
  readonly start?: string;
  /**
   * The kube-downscaler that applies schedules (see Scenario.downscaler).
   * @default - the app's KubeDownscaler, else every 30 s and UTC
   */
  readonly downscaler?: { readonly interval?: Seconds; readonly defaultTimezone?: string };
}

/** The replay of several HPAs on one cluster. */
export interface ClusterSimulationResult {
  /** Each workload's replay, in the order given (each step has the cluster's nodes and the workload's Pending pods). */
  readonly workloads: SimulationResult[];
  /** Node-hours per node group. */
  readonly nodeHours: Readonly<Record<string, number>>;
  /** Most Ready nodes per node group at any sync. */
  readonly peakNodes: Readonly<Record<string, number>>;
}

/**
 * Replays the HPA controller over a scenario: the load, pods that become
 * Ready `podStartup` after the controller asks for them (on a cluster: after
 * they are bound to a node), and the controller's decision at every sync.
 *
 * @param hpa an Autoscaler, an HPA `ApiObject`, or an autoscaling/v2 HPA manifest
 */
export function simulate(hpa: HpaSource, scenario: Scenario): SimulationResult {
  if (scenario.cluster !== undefined) {
    // the scenario's workload fields are the one workload's; simulateCluster reads the shared ones from the top
    return simulateCluster({ ...scenario, cluster: scenario.cluster, workloads: [{ ...scenario, hpa }] }).workloads[0];
  }
  const replay = new WorkloadReplay(hpa, scenario);
  const pods = new UnboundedPods(replay.run);
  for (let time = 0; time <= replay.run.duration; time += replay.run.syncPeriod) replay.sync(time, pods);
  return replay.result();
}

/**
 * Replays several HPAs whose pods share one cluster: at each sync, the
 * cluster first catches up (nodes turning Ready, cluster-autoscaler's scans,
 * a scheduling pass after each), then each HPA syncs in turn, then the pods
 * they created are scheduled. Pods that do not fit are Pending and not
 * Ready; cluster-autoscaler adds nodes for Pending pods at or above its
 * cutoff and removes unneeded ones; higher-priority pods preempt lower ones
 * (buffer pods, fillers).
 */
export function simulateCluster(scenario: ClusterScenario): ClusterSimulationResult {
  const cluster = new ClusterModel(scenario.cluster);
  const { workloads, syncPeriod, controller, start, downscaler } = scenario;
  const shared = { duration: scenario.duration, syncPeriod, controller, start, downscaler };
  if (!Array.isArray(workloads) || !workloads.length) throw new Error('scenario: workloads must list at least one { hpa, initialReplicas, load }');
  const replays = checkWorkloads(workloads, shared, cluster);
  cluster.start();
  const { duration, syncPeriod: period } = replays[0].replay.run;
  const peakNodes: Record<string, number> = Object.fromEntries(cluster.groups.map(g => [g.name, 0]));
  for (let time = 0; time <= duration; time += period) {
    cluster.advanceTo(time);
    for (const { replay, pods } of replays) replay.sync(time, pods);
    cluster.schedule(time);
    const count = cluster.nodeCount();
    for (const [g, n] of Object.entries(count.nodes)) peakNodes[g] = Math.max(peakNodes[g], n);
    for (const { replay, pods } of replays) replay.noteCluster(cluster.pendingOf(pods.owner), count);
  }
  const nodeHours = cluster.finish(duration);
  return {
    workloads: replays.map(({ replay, pods }) => replay.result({ longestPending: pods.owner.longestPending, nodeHours })),
    nodeHours, peakNodes,
  };
}

/** Each workload's replay on the cluster (every problem of every workload at once, each line naming it). */
function checkWorkloads(workloads: SimulatedWorkload[], shared: Omit<ClusterScenario, 'workloads' | 'cluster'>, cluster: ClusterModel):
{ replay: WorkloadReplay; pods: ClusterPods }[] {
  const out: string[] = [];
  const replays = workloads.map((w, i) => {
    const { hpa, ...workload } = w;
    try {
      const replay = new WorkloadReplay(hpa, { ...shared, ...workload });
      const where = `workloads[${i}] (HPA ${replay.controller.name})`;
      const t = replay.template;
      if (!t) throw new Error(`scenario: ${where}: on a cluster the pods' requests are needed; set podResources or podSpec`);
      const owner = cluster.owner(priorityOf(hpa, w, t.priorityClassName, where), t.cpu, t.memory, replay.run.podStartup);
      cluster.checkOwner(owner, `scenario: ${where}`);
      cluster.addStartingPods(owner, replay.run.initialReplicas);
      return { replay, pods: new ClusterPods(cluster, owner) };
    } catch (e) {
      const lines = (e as Error).message.split('\n');
      // problems of the shared fields are the same for every workload: reported once
      out.push(...lines.map(l => (/^scenario: (duration|syncPeriod|start) /.test(l) || l.includes(`workloads[${i}]`) ? l
        : `workloads[${i}]: ${l}`)));
      return undefined;
    }
  });
  if (out.length) throw new Error([...new Set(out)].join('\n'));
  return replays as { replay: WorkloadReplay; pods: ClusterPods }[];
}

/**
 * The priority of a workload's pods: given, else the value of the pod spec's PriorityClass (a system one, or one this app renders when the
 * HPA is an Autoscaler), else 0.
 */
function priorityOf(hpa: HpaSource, w: WorkloadScenario, className: string | undefined, where: string): number {
  if (w.priority !== undefined) {
    if (!Number.isInteger(w.priority)) throw new Error(`scenario: ${where}: priority must be a whole number, got ${w.priority}`);
    return w.priority;
  }
  if (className === undefined) return 0;
  const classes = hpa instanceof Autoscaler ? appConstructs(hpa.node.root).filter(o => ApiObject.isApiObject(o) && o.kind === 'PriorityClass')
    .map(o => renderedJson(o as ApiObject)) : [];
  const value = priorityClassValue(className, classes);
  if (value !== undefined) return value;
  throw new Error(`scenario: ${where}: the pods' PriorityClass "${className}" is not one of this app's; give the workload's priority`);
}

/** Where a replay's pods are: created at once and Ready after `podStartup` (no cluster), or on the simulated cluster. */
interface PodSource {
  /** The pods as the controller sees them at `time`, in creation order. */
  batches(time: number): readonly PodBatch[];
  /** The ReplicaSet's response to the controller's new replica count. */
  scale(current: number, replicas: number, time: number): void;
  /** What a load function sees of the cluster. */
  view(): ClusterView | undefined;
}

/** Pods without a cluster: the ReplicaSet's batches, Ready `podStartup` after their creation. */
class UnboundedPods implements PodSource {
  private list: PodBatch[];

  constructor(private readonly run: Run) {
    this.list = run.initialReplicas ? [{ createdAt: -Infinity, readyAt: -Infinity, count: run.initialReplicas }] : [];
  }

  public batches(): readonly PodBatch[] {
    return this.list;
  }

  public scale(current: number, replicas: number, time: number): void {
    this.list = resize(this.list, current, replicas, time, this.run.podStartup);
  }

  public view(): undefined {
    return undefined;
  }
}

/** A workload's pods on the simulated cluster: Ready `podStartup` after their binding, Pending until then. */
class ClusterPods implements PodSource {
  constructor(private readonly cluster: ClusterModel, public readonly owner: Owner) {}

  /** Consecutive pods created and Ready (or Pending) at the same times are one batch. */
  public batches(): readonly PodBatch[] {
    const out: PodBatch[] = [];
    let last: { createdAt: number; readyAt: number; count: number; pending: boolean } | undefined;
    for (const p of this.owner.pods) {
      const pending = !p.node;
      if (last && last.createdAt === p.createdAt && last.readyAt === p.readyAt && last.pending === pending) {
        last.count++;
      } else {
        last = { createdAt: p.createdAt, readyAt: p.readyAt, count: 1, pending };
        out.push(last);
      }
    }
    return out;
  }

  public scale(current: number, replicas: number, time: number): void {
    if (replicas > current) this.cluster.create(this.owner, replicas - current, time);
    else if (replicas < current) this.cluster.remove(this.owner, current - replicas, time);
  }

  public view(): ClusterView {
    return this.cluster.view(this.owner);
  }
}

/** One HPA's replay: its controller, its scenario as the replay reads it, and the steps so far. */
class WorkloadReplay {
  public readonly controller: HpaController;
  public readonly run: Run;
  public readonly template?: PodTemplate;
  private readonly floor: (time: number) => number;
  private readonly tolerance: number;
  private readonly calculator: BatchPods;
  /** Object and External metrics: their values, by metric index. */
  private readonly values: (Amount | undefined)[];
  private readonly fed: { index: number; load: ParsedLoad }[];
  private readonly steps: SimulationStep[] = [];
  private replicas: number;
  private previous: readonly SimulatedMetric[] = NONE;

  /** Checks the scenario against the HPA (throws every problem, one line each). */
  constructor(hpa: HpaSource, scenario: Scenario) {
    this.controller = new HpaController(hpa, scenario.controller);
    this.run = checkScenario(this.controller, scenario);
    this.floor = floorOf(hpa, this.controller, scenario);
    this.template = podTemplate(scenario, scenario.podSpec ?? targetPodSpec(hpa), this.controller);
    this.tolerance = scenario.controller?.tolerance ?? 0.1;
    const metrics = this.controller.metricNames;
    this.calculator = new BatchPods(this.run, this.template, metrics.some(m => m.type === 'ContainerResource'),
      this.controller._calculatorSettings.cpuInitializationPeriod);
    this.values = metrics.map(() => undefined);
    this.fed = metrics.flatMap((m, index) => (m.type === 'Object' || m.type === 'External'
      ? [{ index, load: this.run.metrics.get(m.name)! }] : []));
    this.replicas = this.run.initialReplicas;
  }

  /** One sync: the load, the pods as they are, the controller's decision, and the ReplicaSet's response. */
  public sync(time: number, pods: PodSource): void {
    const batches = pods.batches(time);
    let readyReplicas = 0;
    for (const b of batches) if (b.readyAt <= time) readyReplicas += b.count;
    const replicas = this.replicas;
    const context: SimulationContext = { time, replicas, readyReplicas, cluster: pods.view() };
    for (const { index, load } of this.fed) this.values[index] = load.at(context) / 1000;
    this.calculator.observe(batches, context);
    const minReplicas = this.floor(time);
    const record = this.controller._sync(time, replicas, replicas, this.calculator, this.values, minReplicas);
    this.previous = metricsOf(record, this.previous);
    this.steps.push({ time, currentReplicas: replicas, readyReplicas, desiredReplicas: record.desiredReplicas, replicas: record.replicas,
      minReplicas, reasons: record.reasons.list(), metrics: this.previous });
    pods.scale(replicas, record.replicas, time);
    this.replicas = record.replicas;
  }

  /** Adds the cluster's side to the last step: this HPA's Pending pods after the scheduling pass, and the nodes. */
  public noteCluster(pendingPods: number, count: NodeCount): void {
    const last = this.steps.length - 1;
    this.steps[last] = { ...this.steps[last], pendingPods, nodes: count.nodes, provisioningNodes: count.provisioningNodes };
  }

  public result(cluster?: { longestPending: number; nodeHours: Readonly<Record<string, number>> }): SimulationResult {
    const c = this.controller;
    const { syncPeriod, duration } = this.run;
    const summary = summarize(this.steps, syncPeriod, this.tolerance, duration);
    return {
      hpa: c.name, minReplicas: c.minReplicas, maxReplicas: c.maxReplicas, tolerance: this.tolerance, syncPeriod, steps: this.steps,
      summary: cluster ? { ...summary, longestPending: cluster.longestPending, nodeHours: cluster.nodeHours } : summary,
    };
  }
}

/** A scenario as the replay reads it: times in seconds, every load's quantities parsed once. */
interface Run {
  readonly duration: number;
  readonly initialReplicas: number;
  readonly syncPeriod: number;
  readonly podStartup: number;
  readonly cpu?: ParsedLoad;
  readonly memory?: ParsedLoad;
  readonly pods: ReadonlyMap<string, ParsedLoad>;
  readonly metrics: ReadonlyMap<string, ParsedLoad>;
}

/**
 * A load whose quantities are parsed once per simulation: its value at a
 * sync in milli-units (`milliOf`). A function is called at every sync, so
 * what it returns is parsed then.
 */
class ParsedLoad {
  private readonly constant?: number;
  private readonly steps?: readonly (readonly [number, number])[];

  /** Parses `load`; throws one plain line (naming `where`) when it is not a load. */
  constructor(private readonly load: Load, where: string) {
    if (typeof load === 'function') return;
    if (Array.isArray(load)) {
      this.steps = load.map((step, i) => {
        if (!Array.isArray(step) || step.length !== 2 || typeof step[0] !== 'number' || !(step[0] >= 0)) {
          throw new Error(`scenario: ${where}[${i}] must be [second, value] with a second >= 0, got ${JSON.stringify(step)}`);
        }
        if (i > 0 && !(step[0] > load[i - 1][0])) {
          throw new Error(`scenario: ${where} steps must be in time order, but [${i}] at ${step[0]} s follows one at ${load[i - 1][0]} s; sort them`);
        }
        return [step[0], parsedAmount(step[1], `${where}[${i}]`)] as const;
      });
      return;
    }
    this.constant = parsedAmount(load, where);
  }

  /** The value at a sync, in milli-units. */
  public at(context: SimulationContext): number {
    if (this.constant !== undefined) return this.constant;
    if (this.steps === undefined) return milliOf((this.load as (c: SimulationContext) => Amount)(context));
    let value = 0;
    for (const [from, milli] of this.steps) if (context.time >= from) value = milli;
    return value;
  }
}

function parsedAmount(amount: unknown, where: string): number {
  if (typeof amount === 'number' && Number.isFinite(amount)) return milliOf(amount);
  if (typeof amount === 'string') {
    try {
      return milliOf(amount);
    } catch {
      // reported below
    }
  }
  throw new Error(`scenario: ${where} must be a number or a quantity such as "500m" or "150Mi", got ${JSON.stringify(amount)}`);
}

/**
 * The HPA's floor at each sync. With an off-hours schedule (an Autoscaler's,
 * or the HPA's `downscaler/*` annotations), kube-downscaler sets
 * `minReplicas` at each of its runs (every `interval` from the start) to the
 * off-hours floor or back, as the wall clock (`start`) says then; the
 * controller reads the floor of the latest run at each sync.
 */
function floorOf(hpa: HpaSource, controller: HpaController, scenario: Scenario): (time: number) => number {
  const day = controller.minReplicas;
  const schedule = hpa instanceof Autoscaler ? hpa.schedule : scheduleOf(ApiObject.isApiObject(hpa) ? hpa.toJson() : hpa);
  if (!schedule) return () => day;
  const start = scenario.start !== undefined ? Date.parse(scenario.start) : NaN;
  if (Number.isNaN(start)) {
    throw new Error(`scenario: HPA ${controller.name} has an off-hours schedule ("${schedule.spec}"); give start, the wall-clock time of the `
      + `scenario's start (ISO 8601, e.g. 2026-03-23T00:00:00+01:00)${scenario.start !== undefined ? `, not "${scenario.start}"` : ''}`);
  }
  const app = hpa instanceof Autoscaler ? appDownscaler(hpa) : undefined;
  const given = scenario.downscaler?.interval;
  const interval = given === undefined ? (app?.interval.toSeconds() ?? 30) : secondsOf(given);
  const zone = scenario.downscaler?.defaultTimezone ?? app?.defaultTimezone ?? 'UTC';
  return time => (schedule.isOffHours(start + Math.floor(time / interval) * interval * 1000, zone) ? schedule.offHoursMinReplicas : day);
}

/** The schedule a rendered HPA carries in its kube-downscaler annotations (either implementation's names). */
function scheduleOf(manifest: HpaManifest): ScalingSchedule | undefined {
  const a: Record<string, string> = (manifest as any)?.metadata?.annotations ?? {};
  const replicas = Number(a['downscaler/downscale-replicas'] ?? a['downscaler/downtime-replicas']);
  const options = { offHoursMinReplicas: replicas };
  if (a['downscaler/uptime'] !== undefined) return ScalingSchedule.uptime(a['downscaler/uptime'], options);
  if (a['downscaler/downtime'] !== undefined) return ScalingSchedule.downtime(a['downscaler/downtime'], options);
  return undefined;
}

/** The load keys a scenario may have. */
const LOAD_KEYS = ['cpu', 'memory', 'pods', 'metrics'];

/**
 * The scenario as the replay reads it; throws every problem, one plain line
 * each: times that are not positive, loads the HPA has no metric for (or
 * metrics without a load), steps out of time order, amounts that are not
 * quantities.
 */
function checkScenario(c: HpaController, s: Scenario): Run {
  const out: string[] = [];
  const seconds = (value: Seconds | undefined, field: string, fallback: number): number => {
    const n = value === undefined ? fallback : secondsOf(value);
    if (typeof n !== 'number' || !(n > 0)) out.push(`scenario: ${field} must be a Duration or a number of seconds > 0, got ${value}`);
    return n;
  };
  const duration = seconds(s.duration, 'duration', NaN);
  const syncPeriod = seconds(s.syncPeriod, 'syncPeriod', 15);
  const podStartup = seconds(s.podStartup, 'podStartup', 30);
  if (!Number.isInteger(s.initialReplicas) || s.initialReplicas < 0) {
    out.push(`scenario: initialReplicas must be a whole number >= 0, got ${s.initialReplicas}`);
  }
  const load: ScenarioLoad | undefined = s.load && typeof s.load === 'object' ? s.load : undefined;
  if (!load) out.push('scenario: load is required (cpu, memory, pods, metrics)');
  const parse = (l: Load, where: string): ParsedLoad | undefined => {
    try {
      return new ParsedLoad(l, where);
    } catch (e) {
      out.push((e as Error).message);
      return undefined;
    }
  };
  const named = (key: 'pods' | 'metrics', types: string[]): Map<string, ParsedLoad> => {
    const metrics = c.metricNames.filter(m => types.includes(m.type)).map(m => `"${m.name}"`);
    const parsed = new Map<string, ParsedLoad>();
    for (const [name, l] of Object.entries(load?.[key] ?? {})) {
      const p = parse(l, `load.${key}["${name}"]`);
      if (p) parsed.set(name, p);
      if (!metrics.includes(`"${name}"`)) {
        out.push(`scenario: load.${key}["${name}"] feeds no metric of HPA ${c.name}; its ${types.join(' and ')} metrics are `
          + `${metrics.join(', ') || 'none'}`);
      }
    }
    return parsed;
  };
  const run: Run = {
    duration, syncPeriod, podStartup, initialReplicas: s.initialReplicas,
    cpu: load?.cpu !== undefined ? parse(load.cpu, 'load.cpu') : undefined,
    memory: load?.memory !== undefined ? parse(load.memory, 'load.memory') : undefined,
    pods: named('pods', ['Pods']),
    metrics: named('metrics', ['Object', 'External']),
  };
  for (const key of Object.keys(load ?? {})) {
    if (!LOAD_KEYS.includes(key)) out.push(`scenario: load.${key} is not a load; use ${LOAD_KEYS.join(', ')}`);
  }
  const resources = new Set(c.metricNames.filter(m => m.type === 'Resource' || m.type === 'ContainerResource').map(m => m.name));
  for (const r of ['cpu', 'memory'] as const) {
    if (load?.[r] !== undefined && !resources.has(r)) out.push(`scenario: load.${r} feeds no metric of HPA ${c.name}, which does not scale on ${r}`);
  }
  for (const m of c.metricNames) {
    const isResource = m.type === 'Resource' || m.type === 'ContainerResource';
    const fed = isResource ? load?.[m.name as 'cpu' | 'memory'] : m.type === 'Pods' ? load?.pods?.[m.name] : load?.metrics?.[m.name];
    if (load && fed === undefined) {
      const where = isResource ? `load.${m.name}` : m.type === 'Pods' ? `load.pods["${m.name}"]` : `load.metrics["${m.name}"]`;
      out.push(`scenario does not feed the ${m.type} metric "${m.name}" of HPA ${c.name}; add ${where}`);
    }
  }
  if (out.length) throw new Error(out.join('\n'));
  return run;
}

interface PodTemplate {
  /** Containers with their requests, in milli-units. */
  readonly containers: { name: string; cpu: number; memory: number }[];
  readonly cpu: number;
  readonly memory: number;
  /** The pod spec's PriorityClass. */
  readonly priorityClassName?: string;
}

/** The pod spec of the HPA's target, when the HPA is an Autoscaler whose target this app renders. */
function targetPodSpec(hpa: HpaSource): any {
  const target: ApiObject | undefined = hpa instanceof Autoscaler ? hpa._targetObject : undefined;
  return target ? podSpecOf(target.toJson())?.spec : undefined;
}

function podTemplate(s: Scenario, podSpec: any, c: HpaController): PodTemplate | undefined {
  let containers: { name: string; cpu: number; memory: number }[] | undefined;
  if (s.podResources) {
    containers = [{ name: 'app', cpu: milliOf(s.podResources.cpu), memory: milliOf(s.podResources.memory) }];
  } else if (podSpec) {
    const all = [...(podSpec.initContainers ?? []).filter((x: any) => x.restartPolicy === 'Always'), ...(podSpec.containers ?? [])];
    containers = all.map((x: any) => ({ name: x.name, cpu: milliOf(x.resources?.requests?.cpu ?? 0),
      memory: milliOf(x.resources?.requests?.memory ?? 0) }));
  }
  const needed = c.metricNames.some(m => m.type === 'Resource' || m.type === 'ContainerResource');
  if (!containers) {
    if (needed) throw new Error(`scenario: HPA ${c.name} scales on cpu or memory; set podResources (the pod's requests), or simulate the Autoscaler `
      + `of this app`);
    return undefined;
  }
  return { containers, cpu: containers.reduce((n, x) => n + x.cpu, 0), memory: containers.reduce((n, x) => n + x.memory, 0),
    priorityClassName: s.podResources ? undefined : podSpec?.priorityClassName };
}

/** A step's metrics when the controller did not compute them, shared (read-only by type). */
const NONE: readonly SimulatedMetric[] = [];

/**
 * Each metric against its target at a sync. A metric whose value did not
 * change since the previous sync is the previous step's object, and so is
 * the whole list when none changed: a day of syncs keeps few objects.
 */
function metricsOf(r: SyncRecord, previous: readonly SimulatedMetric[]): readonly SimulatedMetric[] {
  if (!r.computed) return NONE;
  let changed = previous.length !== r.metrics.length;
  for (let i = 0; i < r.metrics.length && !changed; i++) changed = previous[i].value !== valueOf(r, i);
  if (!changed) return previous;
  const out: SimulatedMetric[] = new Array(r.metrics.length);
  for (let i = 0; i < out.length; i++) {
    const value = valueOf(r, i);
    if (previous.length === out.length && previous[i].value === value) {
      out[i] = previous[i];
    } else {
      const m = r.metrics[i];
      out[i] = { name: m.name, type: m.type, targetType: m.targetType, target: m.statusTarget, value };
    }
  }
  return out;
}

function valueOf(r: SyncRecord, i: number): number | undefined {
  return r.errors[i] === undefined ? r.current[i] : undefined;
}

/**
 * The target's pods as the metrics APIs report them, a run per batch (the
 * settled ones together, see `observe`): Ready pods have samples, the
 * others do not yet. The loads are read once
 * per sync (cpu, then memory, then the Pods metrics); containers are listed
 * only when a ContainerResource metric reads them.
 */
class BatchPods extends PodTable {
  private readonly podLoads: [string, ParsedLoad][];
  private readonly podValues: number[];
  /** Each Ready pod's cpu and memory (milli-units; NaN: no sample). */
  private cpu = NaN;
  private memory = NaN;

  /**
   * @param settledAfter seconds after its start from which a Ready pod looks like any other such pod to the
   * controller (the cpu initialization period: the only rule that reads a Ready pod's times)
   */
  constructor(private readonly load: Run, private readonly template: PodTemplate | undefined, private readonly containers: boolean,
    private readonly settledAfter: number) {
    super();
    this.podLoads = [...load.pods.entries()];
    this.podValues = this.podLoads.map(() => NaN);
  }

  /**
   * The pods of the batches at a sync: one run per batch, except that the settled batches (Ready, past the cpu
   * initialization period: the oldest ones, as batches are in creation order) are one run.
   */
  public observe(batches: readonly PodBatch[], context: SimulationContext): void {
    const { time, readyReplicas: ready } = context;
    const cpuShare = this.load.cpu !== undefined && ready ? this.load.cpu.at(context) / ready : NaN;
    this.cpu = Math.min(cpuShare, this.template?.cpu ?? Infinity);
    this.memory = this.load.memory !== undefined ? this.load.memory.at(context) : NaN;
    for (let i = 0; i < this.podLoads.length; i++) this.podValues[i] = ready ? this.podLoads[i][1].at(context) / ready / 1000 : 0;
    this.setLength(batches.length);
    let runs = 0;
    let settled = false;
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i];
      const old = b.createdAt === -Infinity;
      const isReady = b.readyAt <= time;
      const start = old ? LONG_AGO : b.createdAt;
      if (settled && isReady && start + this.settledAfter <= time) {
        this.count[0] += b.count;
        continue;
      }
      settled = runs === 0 && isReady && start + this.settledAfter <= time;
      this.count[runs] = b.count;
      this.phase[runs] = b.pending ? Phase.Pending : Phase.Running;
      this.deleting[runs] = 0;
      this.ready[runs] = isReady ? 1 : 0;
      this.startTime[runs] = start;
      this.readySince[runs] = old ? LONG_AGO : isReady ? b.readyAt : b.createdAt;
      runs++;
    }
    this.setLength(runs);
  }

  public readSamples(name: string, container: string | undefined, resource: boolean): void {
    let sample = NaN;
    if (!resource) {
      const i = this.podLoads.findIndex(([n]) => n === name);
      if (i >= 0) sample = milliOf(this.podValues[i]);
    } else {
      const pod = name === 'cpu' ? this.cpu : this.memory;
      const t = this.template;
      if (container === undefined) {
        sample = Number.isNaN(pod) ? NaN : milliOf(pod / 1000);
      } else if (this.containers && t) {
        const c = t.containers.find(x => x.name === container);
        if (c && !Number.isNaN(pod)) sample = milliOf(share(pod, name === 'cpu' ? c.cpu : c.memory, name === 'cpu' ? t.cpu : t.memory));
      }
    }
    for (let i = 0; i < this.length; i++) this.samples[i] = this.ready[i] ? sample : NaN;
  }

  /** The template's requests, already in milli-units (the pod's is the sum over its containers). */
  public readRequests(resource: string, container: string | undefined): void {
    const t = this.template;
    const cpu = resource === 'cpu';
    let request: number;
    if (container !== undefined) {
      const c = this.containers ? t?.containers.find(x => x.name === container) : undefined;
      if (!c) throw new Error(`container ${container} not found in Pod pod-0`);
      request = cpu ? c.cpu : c.memory;
    } else if (t && (!this.containers || t.containers.length)) {
      request = cpu ? t.cpu : t.memory;
    } else {
      throw new Error(`missing request for ${resource} in Pod pod-0`);
    }
    for (let i = 0; i < this.length; i++) this.requests[i] = request;
  }
}

/** A container's part of the pod's usage, in proportion to its request, in base units. */
function share(podMilli: number, containerRequest: number, podRequest: number): number {
  return (podRequest ? podMilli * (containerRequest / podRequest) : 0) / 1000;
}

/**
 * The ReplicaSet's response: new pods start now, in a new batch; removed pods
 * go unready first, then newest first. Batches are in creation order and all
 * take `podStartup` to turn Ready, so the unready ones are the newest: both
 * orders remove from the end.
 */
function resize(batches: PodBatch[], current: number, replicas: number, time: number, startup: number): PodBatch[] {
  if (replicas === current) return batches;
  const out = batches.slice();
  if (replicas > current) {
    out.push({ createdAt: time, readyAt: time + startup, count: replicas - current });
    return out;
  }
  let excess = current - replicas;
  for (let i = out.length - 1; i >= 0 && excess > 0; i--) {
    const b = out[i];
    const removed = Math.min(excess, b.count);
    excess -= removed;
    if (removed === b.count) out.pop();
    else out[i] = { createdAt: b.createdAt, readyAt: b.readyAt, count: b.count - removed };
  }
  return out;
}

function summarize(steps: SimulationStep[], syncPeriod: number, tolerance: number, duration: number): SimulationSummary {
  let timeToTarget: number | undefined;
  let above = 0;
  let below = 0;
  let changes = 0;
  let lastChange = -Infinity;
  let failedSyncs = 0;
  let peakReplicas = 0;
  let lowestReplicas = steps.length ? Infinity : 0;
  let podSeconds = 0;
  for (const s of steps) {
    podSeconds += s.replicas * Math.max(0, Math.min(syncPeriod, duration - s.time));
    peakReplicas = Math.max(peakReplicas, s.currentReplicas, s.replicas);
    lowestReplicas = Math.min(lowestReplicas, s.replicas);
    if (s.reasons.includes('FailedComputeMetricsReplicas')) failedSyncs++;
    if (s.replicas !== s.currentReplicas) {
      changes++;
      lastChange = s.time;
    }
    // the governing metric: the one furthest above its target, which the HPA follows
    let governing = -Infinity;
    let computed = 0;
    for (const m of s.metrics) {
      if (m.value === undefined) continue;
      computed++;
      governing = Math.max(governing, m.value / m.target);
    }
    if (!computed) continue;
    if (timeToTarget === undefined && computed === s.metrics.length && Math.abs(governing - 1) <= tolerance + 1e-9) timeToTarget = s.time;
    if (governing > 1 + tolerance) above += syncPeriod;
    else if (governing < 1 - tolerance) below += syncPeriod;
  }
  const settleWindow = Math.min(600, duration / 4);
  return {
    timeToTarget, peakReplicas, lowestReplicas,
    replicaChanges: changes, settled: lastChange < duration - settleWindow, settleWindow, timeAboveTarget: above, timeBelowTarget: below,
    failedSyncs, podHours: Math.round(podSeconds / 36) / 100,
  };
}
