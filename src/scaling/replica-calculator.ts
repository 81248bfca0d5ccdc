import { Quantity } from '../core/quantity';

/**
 * The HPA controller's replica calculator: a port of
 * `pkg/controller/podautoscaler/replica_calculator.go` (per-metric
 * arithmetic, pod grouping) and the metrics client's usage ratios. Function
 * names follow the Go functions they port.
 *
 * The calculator reads the pods as runs: `count` alike pods (the pods of one
 * ReplicaSet batch look alike) kept once, in the columns of a `PodTable`
 * that is reused from sync to sync. NaN marks a run without a sample, and
 * every sum weighs a run by its count: upstream's per-pod integer
 * arithmetic, done once per distinct pod, without allocating.
 */

/** A Kubernetes quantity (`"250m"`, `"1Gi"`) or a plain number of base units (cores, bytes, ...). */
export type Amount = string | number;

/** cpu and memory amounts of a pod or container. */
export interface ResourceObservation {
  /**
   * cpu, in cores.
   * @default - not reported
   */
  readonly cpu?: Amount;
  /**
   * memory, in bytes.
   * @default - not reported
   */
  readonly memory?: Amount;
}

/** One container of a pod, for ContainerResource metrics. */
export interface ContainerObservation {
  /** The container's name. */
  readonly name: string;
  /**
   * Its requests.
   * @default - none
   */
  readonly requests?: ResourceObservation;
  /**
   * Its usage sample; a resource without one is a missing metric.
   * @default - no sample
   */
  readonly usage?: ResourceObservation;
}

/** A pod's phase (`status.phase`). */
export enum PodPhase {
  /** Accepted, not all containers running yet (scheduling, pulling images). */
  PENDING = 'Pending',
  /** Bound to a node, its containers started. */
  RUNNING = 'Running',
  /** Every container ended successfully. */
  SUCCEEDED = 'Succeeded',
  /** Every container ended, at least one in failure. */
  FAILED = 'Failed',
}

/** One pod of the target, as the controller's pod lister and metrics clients see it. */
export interface PodObservation {
  /**
   * Name of the pod.
   * @default - `pod-<index>`
   */
  readonly name?: string;
  /**
   * Phase.
   * @default PodPhase.RUNNING
   */
  readonly phase?: PodPhase;
  /**
   * The Ready condition.
   * @default true
   */
  readonly ready?: boolean;
  /**
   * Being deleted (has a deletionTimestamp): ignored.
   * @default false
   */
  readonly deleting?: boolean;
  /**
   * When the pod started (seconds, on the observations' clock).
   * @default - long ago
   */
  readonly startTime?: number;
  /**
   * When the Ready condition last changed (its lastTransitionTime).
   * @default - the pod's startTime
   */
  readonly readySince?: number;
  /**
   * The pod's requests (the sum over its containers), when `containers` is not given.
   * @default - none
   */
  readonly requests?: ResourceObservation;
  /**
   * The pod's usage sample; a resource without one is a missing metric.
   * @default - no sample
   */
  readonly usage?: ResourceObservation;
  /**
   * Per-pod custom metric values (Pods metrics), by metric name.
   * @default - none
   */
  readonly metrics?: Record<string, Amount>;
  /**
   * The pod's containers (restartable init containers included), for
   * ContainerResource metrics; when given, pod requests and usage are their sums.
   * @default - none
   */
  readonly containers?: ContainerObservation[];
}

/** Scale-down and scale-up tolerances on the usage ratio. */
export interface Tolerances {
  readonly scaleDown: number;
  readonly scaleUp: number;
}

/** The controller's settings that the replica calculator reads. */
export interface CalculatorSettings {
  readonly tolerances: Tolerances;
  readonly cpuInitializationPeriod: number;
  readonly initialReadinessDelay: number;
  readonly metricWindow: number;
}

export const MAX_INT32 = 2147483647;
const MILLI = Quantity.parse('1m');
/** The start time of a pod that started "long ago" (a finite time, so that start + delay > start, as in Go). */
export const LONG_AGO = -1e12;

function isWithin(t: Tolerances, ratio: number): boolean {
  return 1.0 - t.scaleDown <= ratio && ratio <= 1.0 + t.scaleUp;
}

/** Go's `int32(math.Ceil(x))` for the values the controller produces, clamped at MaxInt32 as upstream does. */
function ceilInt32(x: number): number {
  return x > MAX_INT32 ? MAX_INT32 : Math.ceil(x);
}

/** An amount in milli-units, rounded up as `Quantity.MilliValue()` does. */
export function milliOf(a: Amount): number {
  if (typeof a === 'number') {
    const m = a * 1000;
    const r = Math.round(m);
    return Math.abs(m - r) < 1e-6 ? r : Math.ceil(m);
  }
  const text = a.trim();
  return text.startsWith('-') ? -milliOf(text.slice(1)) : Quantity.parse(text).ceilDiv(MILLI);
}

/** A pod's phase, as a `PodTable` keeps it. */
export const enum Phase { Running, Pending, Succeeded, Failed }

/** How groupPods files a run. */
const enum Group { Ready, Unready, Missing, Ignored }

/**
 * The target's pods as the calculator reads them: one entry per run of alike
 * pods, in columns reused from sync to sync. A subclass fills the pod columns
 * (`setLength`, then one value per run) and says where samples and requests
 * come from. The calculator's scratch columns and outputs live here too, so
 * that a sync allocates nothing.
 * @internal
 */
export abstract class PodTable {
  /** Runs in the table. */
  public length = 0;
  /** Pods in each run. */
  public count = new Float64Array(4);
  public phase = new Uint8Array(4);
  /** 1: being deleted (has a deletionTimestamp). */
  public deleting = new Uint8Array(4);
  /** 1: the Ready condition is true. */
  public ready = new Uint8Array(4);
  public startTime = new Float64Array(4);
  /** When the Ready condition last changed. */
  public readySince = new Float64Array(4);
  /** The metric's samples in milli-units (NaN: missing), as `readSamples` left them. */
  public samples = new Float64Array(4);
  /** The pods' requests in milli-units, as `readRequests` left them. */
  public requests = new Float64Array(4);
  /** The samples the calculator counts: unready and ignored pods' removed, then the rebalancing's fill-ins. */
  public usable = new Float64Array(4);
  /** groupPods' verdict on each run. */
  public group = new Uint8Array(4);
  /** groupPods' ready pod count and runs of the other groups. */
  public readyPodCount = 0;
  public unreadyRuns = 0;
  public missingRuns = 0;
  /** The last Utilization calculation: integer percent, and the raw average in milli-units. */
  public utilization = 0;
  public rawAverage = 0;
  /** The last AverageValue calculation's average, in milli-units. */
  public usage = 0;

  /** Fills `samples` with each run's sample of a resource (`cpu`, `memory`; of one container when named) or of a Pods metric. */
  public abstract readSamples(name: string, container: string | undefined, resource: boolean): void;
  /** Fills `requests` with each run's pod (or container) request; throws naming the pod when one is missing. */
  public abstract readRequests(resource: string, container: string | undefined): void;

  /** Sets the number of runs, growing the columns (and keeping their values) when needed. */
  protected setLength(n: number): void {
    this.length = n;
    if (n <= this.count.length) return;
    const size = Math.max(n, this.count.length * 2);
    this.count = grown(this.count, new Float64Array(size));
    this.phase = grown(this.phase, new Uint8Array(size));
    this.deleting = grown(this.deleting, new Uint8Array(size));
    this.ready = grown(this.ready, new Uint8Array(size));
    this.startTime = grown(this.startTime, new Float64Array(size));
    this.readySince = grown(this.readySince, new Float64Array(size));
    this.samples = new Float64Array(size);
    this.requests = new Float64Array(size);
    this.usable = new Float64Array(size);
    this.group = new Uint8Array(size);
  }
}

function grown<T extends Float64Array | Uint8Array>(column: T, to: T): T {
  to.set(column);
  return to;
}

/**
 * Pods given as observations: consecutive pods that are the same object form
 * one run. Without a pod list, `replicas` Running and Ready pods without samples.
 * @internal
 */
export class ObservedPods extends PodTable {
  private readonly pods: PodObservation[] = [];
  /** Index of each run's first pod in the list (its name in messages when the pod has none). */
  private readonly first: number[] = [];

  constructor(pods: readonly PodObservation[] | undefined, replicas = 0) {
    super();
    if (!pods) {
      if (replicas > 0) this.add({}, 0, replicas);
    } else {
      for (let i = 0; i < pods.length; i++) {
        const last = this.pods.length - 1;
        if (last >= 0 && this.pods[last] === pods[i]) this.count[last]++;
        else this.add(pods[i], i, 1);
      }
    }
  }

  public readSamples(name: string, container: string | undefined, resource: boolean): void {
    for (let i = 0; i < this.length; i++) {
      const pod = this.pods[i];
      if (resource) {
        this.samples[i] = podSample(pod, name, container);
      } else {
        const v = pod.metrics?.[name];
        this.samples[i] = v === undefined ? NaN : milliOf(v);
      }
    }
  }

  /** calculatePodRequestsFromContainers: the named container's request, or the sum over the containers, or the pod's. */
  public readRequests(resource: string, container: string | undefined): void {
    for (let i = 0; i < this.length; i++) {
      const pod = this.pods[i];
      const name = pod.name ?? `pod-${this.first[i]}`;
      if (container !== undefined) {
        const c = pod.containers?.find(x => x.name === container);
        if (!c) throw new Error(`container ${container} not found in Pod ${name}`);
        this.requests[i] = requestOf(c.requests, resource, name, c.name);
      } else if (pod.containers?.length) {
        let total = 0;
        for (const c of pod.containers) total += requestOf(c.requests, resource, name, c.name);
        this.requests[i] = total;
      } else {
        this.requests[i] = requestOf(pod.requests, resource, name);
      }
    }
  }

  private add(pod: PodObservation, first: number, count: number): void {
    const i = this.length;
    this.setLength(i + 1);
    this.pods.push(pod);
    this.first.push(first);
    this.count[i] = count;
    this.phase[i] = pod.phase === PodPhase.PENDING ? Phase.Pending : pod.phase === PodPhase.SUCCEEDED ? Phase.Succeeded
      : pod.phase === PodPhase.FAILED ? Phase.Failed : Phase.Running;
    this.deleting[i] = pod.deleting ? 1 : 0;
    this.ready[i] = pod.ready ?? true ? 1 : 0;
    this.startTime[i] = pod.startTime ?? LONG_AGO;
    this.readySince[i] = pod.readySince ?? this.startTime[i];
  }
}

/** `r` of the amounts (cpu, else memory). */
function amountOf(amounts: ResourceObservation | undefined, r: string): Amount | undefined {
  if (amounts === undefined) return undefined;
  return r === 'cpu' ? amounts.cpu : amounts.memory;
}

/** A pod's resource sample in milli-units: the pod's, the named container's, or the sum over its containers; NaN when one is missing. */
function podSample(pod: PodObservation, r: string, container: string | undefined): number {
  if (container !== undefined) {
    const v = amountOf(pod.containers?.find(c => c.name === container)?.usage, r);
    return v === undefined ? NaN : milliOf(v);
  }
  const v = amountOf(pod.usage, r);
  if (v !== undefined) return milliOf(v);
  if (!pod.containers?.length) return NaN;
  let total = 0;
  for (const c of pod.containers) {
    const cv = amountOf(c.usage, r);
    if (cv === undefined) return NaN;
    total += milliOf(cv);
  }
  return total;
}

/** A request of a pod (or of its container) in milli-units; a missing one fails the metric. */
function requestOf(requests: ResourceObservation | undefined, r: string, pod: string, container?: string): number {
  const v = amountOf(requests, r);
  if (v === undefined) {
    throw new Error(`missing request for ${r} in ${container === undefined ? '' : `container ${container} of `}Pod ${pod}`);
  }
  return milliOf(v);
}

/** groupPods: files each run as ready, unready, missing (no sample) or ignored (deleted, failed); counts the ready pods. */
function groupPods(t: PodTable, cpu: boolean, s: CalculatorSettings, now: number): void {
  let readyPodCount = 0;
  let unready = 0;
  let missing = 0;
  for (let i = 0; i < t.length; i++) {
    const phase = t.phase[i];
    let group = Group.Ready;
    if (t.deleting[i] || phase === Phase.Failed) {
      group = Group.Ignored;
    } else if (phase === Phase.Pending) {
      group = Group.Unready;
    } else if (Number.isNaN(t.samples[i])) {
      group = Group.Missing;
    } else if (cpu) {
      const ready = t.ready[i] === 1;
      const start = t.startTime[i];
      const transition = t.readySince[i];
      const isUnready = start + s.cpuInitializationPeriod > now
        // within the initialization period: unready, or no full metric window since it turned Ready
        ? !ready || now < transition + s.metricWindow
        // after it: unready only if it has never been Ready since its initial readiness delay
        : !ready && start + s.initialReadinessDelay > transition;
      if (isUnready) group = Group.Unready;
    }
    t.group[i] = group;
    if (group === Group.Ready) readyPodCount += t.count[i];
    else if (group === Group.Unready) unready++;
    else if (group === Group.Missing) missing++;
  }
  t.readyPodCount = readyPodCount;
  t.unreadyRuns = unready;
  t.missingRuns = missing;
}

/** removeMetricsForPods: the samples without the unready and ignored pods'; the number of pods left with a sample. */
function removeMetricsForPods(t: PodTable): number {
  for (let i = 0; i < t.length; i++) t.usable[i] = t.group[i] === Group.Unready || t.group[i] === Group.Ignored ? NaN : t.samples[i];
  return countWithSamples(t);
}

/** The number of pods with a usable sample (not NaN). */
function countWithSamples(t: PodTable): number {
  let n = 0;
  for (let i = 0; i < t.length; i++) if (!Number.isNaN(t.usable[i])) n += t.count[i];
  return n;
}

/** metrics.GetResourceUtilizationRatio: integer percent of the requests of the pods that have a usable sample. */
function getResourceUtilization(t: PodTable): number {
  let metricsTotal = 0;
  let requestsTotal = 0;
  for (let i = 0; i < t.length; i++) {
    if (Number.isNaN(t.usable[i])) continue;
    metricsTotal += t.usable[i] * t.count[i];
    requestsTotal += t.requests[i] * t.count[i];
  }
  if (requestsTotal === 0) throw new Error('no metrics returned matched known pods');
  return Math.trunc((metricsTotal * 100) / requestsTotal);
}

/** metrics.GetMetricUsageRatio (and the raw average of GetResourceUtilizationRatio): the integer average of the usable samples. */
function getMetricUsage(t: PodTable): number {
  let total = 0;
  let count = 0;
  for (let i = 0; i < t.length; i++) {
    if (Number.isNaN(t.usable[i])) continue;
    total += t.usable[i] * t.count[i];
    count += t.count[i];
  }
  return Math.trunc(total / count);
}

/**
 * GetResourceReplicas (Utilization targets), over the samples `t.readSamples`
 * left; sets `t.utilization` and `t.rawAverage`.
 * @internal
 */
export function getResourceReplicas(
  t: PodTable, currentReplicas: number, targetUtilization: number, resource: string, container: string | undefined,
  s: CalculatorSettings, now: number,
): number {
  if (t.length === 0) throw new Error('no pods returned by selector while calculating replica count');
  groupPods(t, resource === 'cpu', s, now);
  if (removeMetricsForPods(t) === 0) throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  t.readRequests(resource, container);
  const utilization = getResourceUtilization(t);
  const ratio = utilization / targetUtilization;
  t.utilization = utilization;
  t.rawAverage = getMetricUsage(t);
  const scaleUpWithUnready = t.unreadyRuns > 0 && ratio > 1.0;
  if (!scaleUpWithUnready && t.missingRuns === 0) {
    if (isWithin(s.tolerances, ratio)) return currentReplicas;
    return Math.ceil(ratio * t.readyPodCount);
  }
  // on a scale-down, missing pods count as using max(100%, target) of their request; on a scale-up, as 0
  const fallback = Math.max(100, targetUtilization);
  for (let i = 0; i < t.length; i++) {
    if (t.group[i] === Group.Missing) {
      if (ratio < 1.0) t.usable[i] = Math.trunc((t.requests[i] * fallback) / 100);
      else if (ratio > 1.0) t.usable[i] = 0;
    } else if (scaleUpWithUnready && t.group[i] === Group.Unready) {
      t.usable[i] = 0;
    }
  }
  const newRatio = getResourceUtilization(t) / targetUtilization;
  return rebalanced(currentReplicas, ratio, newRatio, countWithSamples(t), s.tolerances);
}

/**
 * calcPlainMetricReplicas (AverageValue of Resource and ContainerResource;
 * Pods metrics, where `resource` is empty), over the samples `t.readSamples`
 * left; sets `t.usage`.
 * @internal
 */
export function calcPlainMetricReplicas(
  t: PodTable, currentReplicas: number, targetUsage: number, resource: string, s: CalculatorSettings, now: number,
): number {
  if (t.length === 0) throw new Error('no pods returned by selector while calculating replica count');
  groupPods(t, resource === 'cpu', s, now);
  if (removeMetricsForPods(t) === 0) throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  const usage = getMetricUsage(t);
  const ratio = usage / targetUsage;
  t.usage = usage;
  const scaleUpWithUnready = t.unreadyRuns > 0 && ratio > 1.0;
  if (!scaleUpWithUnready && t.missingRuns === 0) {
    if (isWithin(s.tolerances, ratio)) return currentReplicas;
    return Math.ceil(ratio * t.readyPodCount);
  }
  // on a scale-down, missing pods count as using exactly the target; on a scale-up, as 0
  for (let i = 0; i < t.length; i++) {
    if (t.group[i] === Group.Missing) {
      if (ratio < 1.0) t.usable[i] = targetUsage;
      else if (ratio > 1.0) t.usable[i] = 0;
    } else if (scaleUpWithUnready && t.group[i] === Group.Unready) {
      t.usable[i] = 0;
    }
  }
  const newRatio = getMetricUsage(t) / targetUsage;
  return rebalanced(currentReplicas, ratio, newRatio, countWithSamples(t), s.tolerances);
}

/**
 * The end of both calculators: keep the current count when the recomputed
 * ratio is within the tolerance or flips direction, or when the new count
 * would move against it; else the ratio times the pods now counted.
 */
function rebalanced(current: number, ratio: number, newRatio: number, counted: number, t: Tolerances): number {
  if (isWithin(t, newRatio) || (ratio < 1.0 && newRatio > 1.0) || (ratio > 1.0 && newRatio < 1.0)) return current;
  const newReplicas = Math.ceil(newRatio * counted);
  if ((newRatio < 1.0 && newReplicas > current) || (newRatio > 1.0 && newReplicas < current)) return current;
  return newReplicas;
}

/**
 * getUsageRatioReplicaCount (Object and External `Value` targets): the ratio times the ready pods; from zero replicas, the ratio alone.
 * @internal
 */
export function getUsageRatioReplicaCount(currentReplicas: number, ratio: number, tolerances: Tolerances, t: PodTable): number {
  if (currentReplicas === 0) return Math.ceil(ratio);
  if (isWithin(tolerances, ratio)) return currentReplicas;
  if (t.length === 0) throw new Error('unable to calculate ready pods: no pods returned by selector while calculating replica count');
  let ready = 0;
  for (let i = 0; i < t.length; i++) if (t.phase[i] === Phase.Running && t.ready[i] === 1) ready += t.count[i];
  return ceilInt32(ratio * ready);
}

/** GetObjectPerPodMetricReplicas / GetExternalPerPodMetricReplicas (`AverageValue` targets): the usage over the target, from status.replicas. */
export function getPerPodMetricReplicas(statusReplicas: number, targetPerPod: number, usage: number,
  t: Tolerances): { replicas: number; usage: number } {
  let replicas = statusReplicas;
  const ratio = usage / (targetPerPod * statusReplicas);
  if (!isWithin(t, ratio)) replicas = ceilInt32(usage / targetPerPod);
  return { replicas, usage: Math.ceil(usage / statusReplicas) };
}
