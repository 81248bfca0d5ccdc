import { ApiObject, Duration } from 'cdk8s';
import { Quantity } from '../core/quantity';

/**
 * The Kubernetes HPA controller's decisions, replayed: a port of
 * `pkg/controller/podautoscaler/horizontal.go` (reconcileAutoscaler and the
 * normalization paths) and `replica_calculator.go` (per-metric arithmetic,
 * pod grouping), Kubernetes 1.33+ (per-direction tolerances). Function names
 * below follow the Go functions they port.
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

/** One pod of the target, as the controller's pod lister and metrics clients see it. */
export interface PodObservation {
  /**
   * Name of the pod.
   * @default - `pod-<index>`
   */
  readonly name?: string;
  /**
   * Phase.
   * @default "Running"
   */
  readonly phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
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

/** What the controller sees at one sync. */
export interface Observation {
  /** Seconds, increasing from sync to sync. */
  readonly time: number;
  /** The target's `spec.replicas`. */
  readonly specReplicas: number;
  /**
   * The target's `status.replicas`.
   * @default - specReplicas
   */
  readonly statusReplicas?: number;
  /**
   * The target's pods.
   * @default - specReplicas pods, Running and Ready, with no samples
   */
  readonly pods?: PodObservation[];
  /**
   * Object and External metric values by metric name; several values are several series, which the controller sums.
   * @default - none
   */
  readonly metrics?: Record<string, Amount | Amount[]>;
}

/** Flags of kube-controller-manager that the HPA controller reads. */
export interface HpaControllerOptions {
  /**
   * `--horizontal-pod-autoscaler-tolerance`; a per-HPA `behavior.<direction>.tolerance` wins.
   * @default 0.1
   */
  readonly tolerance?: number;
  /**
   * `--horizontal-pod-autoscaler-downscale-stabilization`: the window without `behavior`, and
   * the scale-down window when `behavior.scaleDown` sets none.
   * @default Duration.minutes(5)
   */
  readonly downscaleStabilization?: Duration;
  /**
   * `--horizontal-pod-autoscaler-cpu-initialization-period`.
   * @default Duration.minutes(5)
   */
  readonly cpuInitializationPeriod?: Duration;
  /**
   * `--horizontal-pod-autoscaler-initial-readiness-delay`.
   * @default Duration.seconds(30)
   */
  readonly initialReadinessDelay?: Duration;
  /**
   * The window of a resource metrics sample (metrics-server reports the interval it measured over,
   * about its resolution); a cpu sample younger than one window after a pod turned Ready is not used.
   * @default Duration.seconds(15)
   */
  readonly metricWindow?: Duration;
}

/** One metric at one sync. */
export interface MetricOutcome {
  /** `cpu`, `memory`, or the metric's name. */
  readonly name: string;
  /** The metric source type. */
  readonly type: string;
  /** `Utilization` (percent of requests), `AverageValue` or `Value`. */
  readonly targetType: string;
  /** The target, in the unit of `current`. */
  readonly target: number;
  /**
   * The current value as the HPA status shows it (percent, or base units).
   * @default - undefined when the metric failed
   */
  readonly current?: number;
  /**
   * The replica count this metric proposes.
   * @default - undefined when the metric failed
   */
  readonly proposal?: number;
  /**
   * Why the metric could not be computed.
   * @default - undefined when it was computed
   */
  readonly error?: string;
}

/** One sync of the controller. */
export interface HpaDecision {
  /** The observation's time. */
  readonly time: number;
  /** `spec.replicas` when the sync started. */
  readonly currentReplicas: number;
  /** The replica count the metrics asked for, before stabilization and rate limits (the current count when they gave none). */
  readonly desiredReplicas: number;
  /** The replica count the controller sets (the current one when it does not rescale). */
  readonly replicas: number;
  /** Each metric's value, target and proposal. */
  readonly metrics: MetricOutcome[];
  /**
   * Condition reasons and events that explain the decision: `ScaleUpLimit`, `ScaleDownLimit`,
   * `ScaleUpStabilized`, `ScaleDownStabilized`, `TooManyReplicas`, `TooFewReplicas`, `ScalingDisabled`,
   * `FailedGetResourceMetric` (and the other `FailedGet*Metric`), `FailedComputeMetricsReplicas`.
   */
  readonly reasons: string[];
}

/** A parsed metric of the HPA spec. */
interface MetricSpec {
  readonly type: 'Resource' | 'ContainerResource' | 'Pods' | 'Object' | 'External';
  readonly name: string;
  readonly container?: string;
  readonly targetType: 'Utilization' | 'AverageValue' | 'Value';
  /** Utilization in percent, else milli-units. */
  readonly target: number;
}

/** A scaling direction's rules, with the API's defaults filled in. */
export interface ScalingRulesSpec {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: 'Max' | 'Min' | 'Disabled';
  readonly policies: { type: 'Pods' | 'Percent'; value: number; periodSeconds: number }[];
  readonly tolerance?: number;
}

/** A past raw recommendation (timestampedRecommendation). */
export interface Recommendation {
  recommendation: number;
  timestamp: number;
}

/** A past scale event (timestampedScaleEvent). */
export interface ScaleEvent {
  replicaChange: number;
  timestamp: number;
  outdated: boolean;
}

/** What the controller keeps in memory between syncs, per HPA (lost when kube-controller-manager restarts). */
export interface ControllerMemory {
  recommendations?: Recommendation[];
  scaleUpEvents: ScaleEvent[];
  scaleDownEvents: ScaleEvent[];
}

/** Scale-down and scale-up tolerances on the usage ratio. */
export interface Tolerances {
  readonly scaleDown: number;
  readonly scaleUp: number;
}

const MAX_INT32 = 2147483647;
const MIN_INT32 = -2147483648;
const MILLI = Quantity.parse('1m');
/** The start time of a pod that started "long ago" (a finite time, so that start + delay > start, as in Go). */
const LONG_AGO = -1e12;

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

function seconds(d: Duration | undefined, fallback: number): number {
  return d === undefined ? fallback : d.toMilliseconds() / 1000;
}

/**
 * The Kubernetes HPA controller's decision rules for one HPA, replayed:
 * `sync(observation)` returns the replica count the controller would set,
 * and keeps between syncs what the real controller keeps in memory (past
 * recommendations and scale events).
 */
export class HpaController {
  /** The HPA's name (`namespace/name`), for messages. */
  public readonly name: string;
  /** minReplicas. */
  public readonly minReplicas: number;
  /** maxReplicas. */
  public readonly maxReplicas: number;
  /** The metrics (name, type, target type), in spec order. */
  public readonly metricNames: { readonly name: string; readonly type: string; readonly targetType: string }[];
  /** The decision of the last sync. */
  public lastDecision?: HpaDecision;

  private readonly metrics: MetricSpec[];
  private readonly behavior?: { scaleUp: ScalingRulesSpec; scaleDown: ScalingRulesSpec };
  private readonly tolerances: Tolerances;
  private readonly downscaleWindow: number;
  private readonly cpuInitializationPeriod: number;
  private readonly initialReadinessDelay: number;
  private readonly metricWindow: number;
  private readonly memory: ControllerMemory = { scaleUpEvents: [], scaleDownEvents: [] };
  private settings?: CalculatorSettings;

  /**
   * @param hpa an Autoscaler (anything with an `hpa` ApiObject), a rendered HPA `ApiObject`, or the HPA's autoscaling/v2 JSON.
   */
  constructor(hpa: { readonly hpa: ApiObject } | ApiObject | any, options: HpaControllerOptions = {}) {
    const json = hpaJson(hpa);
    const spec = json.spec ?? {};
    this.name = `${json.metadata?.namespace ?? 'default'}/${json.metadata?.name ?? 'hpa'}`;
    this.minReplicas = spec.minReplicas ?? 1;
    this.maxReplicas = spec.maxReplicas;
    this.metrics = (spec.metrics ?? []).map((m: any, i: number) => parseMetric(m, `${this.name}: spec.metrics[${i}]`));
    this.metricNames = this.metrics.map(m => ({ name: m.name, type: m.type, targetType: m.targetType }));
    const tolerance = options.tolerance ?? 0.1;
    this.downscaleWindow = seconds(options.downscaleStabilization, 300);
    this.cpuInitializationPeriod = seconds(options.cpuInitializationPeriod, 300);
    this.initialReadinessDelay = seconds(options.initialReadinessDelay, 30);
    this.metricWindow = seconds(options.metricWindow, 15);
    if (spec.behavior) this.behavior = behaviorWithDefaults(spec.behavior, this.downscaleWindow);
    this.tolerances = {
      scaleUp: this.behavior?.scaleUp.tolerance ?? tolerance,
      scaleDown: this.behavior?.scaleDown.tolerance ?? tolerance,
    };
  }

  /** Forgets what the controller kept in memory, as a kube-controller-manager restart or failover does. */
  public restart(): void {
    this.memory.recommendations = undefined;
    this.memory.scaleUpEvents = [];
    this.memory.scaleDownEvents = [];
  }

  /** Runs one sync; returns the replica count the controller sets. */
  public sync(observation: Observation): number {
    return this.decide(observation).replicas;
  }

  /** Runs one sync (reconcileAutoscaler); returns the whole decision. */
  public decide(observation: Observation): HpaDecision {
    return this._decide(observation, observedRuns(observation));
  }

  /**
   * `decide` with the observation's pods given as runs (the simulator's pod batches).
   * @internal
   */
  public _decide(observation: Observation, runs: PodRun[]): HpaDecision {
    const now = observation.time;
    const current = observation.specReplicas;
    const reasons: string[] = [];
    // recordInitialRecommendation
    if (!this.memory.recommendations) this.memory.recommendations = [{ recommendation: current, timestamp: now }];
    const min = this.minReplicas;
    let desired = 0;
    let metricDesired = current;
    let outcomes: MetricOutcome[] = [];
    let rescale = true;
    if (current === 0 && min !== 0) {
      rescale = false;
      reasons.push('ScalingDisabled');
    } else if (current > this.maxReplicas) {
      desired = this.maxReplicas;
      reasons.push('TooManyReplicas');
    } else if (current < min) {
      desired = min;
      reasons.push('TooFewReplicas');
    } else {
      const computed = this.computeReplicasForMetrics(observation, runs, reasons);
      outcomes = computed.outcomes;
      if (computed.replicas === -1) {
        reasons.push('FailedComputeMetricsReplicas');
        return this.remember({ time: now, currentReplicas: current, desiredReplicas: current, replicas: current, metrics: outcomes, reasons });
      }
      metricDesired = computed.replicas;
      if (metricDesired > desired) desired = metricDesired;
      desired = this.behavior
        ? this.normalizeDesiredReplicasWithBehaviors(now, current, desired, min, reasons)
        : this.normalizeDesiredReplicas(now, current, desired, min, reasons);
      rescale = desired !== current;
    }
    if (rescale) storeScaleEvent(this.memory, this.behavior, now, current, desired);
    const replicas = rescale ? desired : current;
    return this.remember({ time: now, currentReplicas: current, desiredReplicas: metricDesired, replicas, metrics: outcomes, reasons });
  }

  private remember(d: HpaDecision): HpaDecision {
    this.lastDecision = d;
    return d;
  }

  /** computeReplicasForMetrics: the largest proposal; -1 when every metric failed, or one failed and the rest would scale down. */
  private computeReplicasForMetrics(o: Observation, runs: PodRun[], reasons: string[]): { replicas: number; outcomes: MetricOutcome[] } {
    const specReplicas = o.specReplicas;
    const statusReplicas = o.statusReplicas ?? o.specReplicas;
    const s = this._settings();
    let replicas = 0;
    let invalid = 0;
    const outcomes = new Array<MetricOutcome>(this.metrics.length);
    for (let i = 0; i < outcomes.length; i++) {
      const m = this.metrics[i];
      const r = outcomes[i] = computeReplicasForMetric(s, m, o, specReplicas, statusReplicas, runs);
      if (r.error !== undefined) {
        if (invalid === 0) reasons.push(failedReason(m.type));
        invalid++;
      } else if (replicas === 0 || r.proposal! > replicas) {
        replicas = r.proposal!;
      }
    }
    if (invalid >= this.metrics.length || (invalid > 0 && replicas < specReplicas)) return { replicas: -1, outcomes };
    return { replicas, outcomes };
  }

  /** normalizeDesiredReplicas: the path without `spec.behavior`. */
  private normalizeDesiredReplicas(now: number, current: number, prenormalized: number, min: number, reasons: string[]): number {
    const stabilized = stabilizeRecommendation(this.memory, now, this.downscaleWindow, prenormalized);
    if (stabilized !== prenormalized) reasons.push('ScaleDownStabilized');
    const [desired, condition] = convertDesiredReplicasWithRules(current, stabilized, min, this.maxReplicas);
    if (desired !== stabilized) reasons.push(condition);
    return desired;
  }

  /** normalizeDesiredReplicasWithBehaviors: per-direction windows, then the policies' rate limits. */
  private normalizeDesiredReplicasWithBehaviors(now: number, current: number, prenormalized: number, min: number, reasons: string[]): number {
    const b = this.behavior!;
    const args = { currentReplicas: current, desiredReplicas: prenormalized, minReplicas: min, maxReplicas: this.maxReplicas, scaleUp: b.scaleUp,
      scaleDown: b.scaleDown };
    const [stabilized, reason] = stabilizeRecommendationWithBehaviors(this.memory, now, args);
    if (stabilized !== prenormalized) reasons.push(reason);
    const [desired, condition] = convertDesiredReplicasWithBehaviorRate(this.memory, now, { ...args, desiredReplicas: stabilized });
    if (desired !== stabilized) reasons.push(condition);
    return desired;
  }

  /** @internal */
  public _settings(): CalculatorSettings {
    return this.settings ??= {
      tolerances: this.tolerances, cpuInitializationPeriod: this.cpuInitializationPeriod,
      initialReadinessDelay: this.initialReadinessDelay, metricWindow: this.metricWindow,
    };
  }
}

function failedReason(type: MetricSpec['type']): string {
  return `FailedGet${type === 'Resource' ? 'Resource' : type === 'ContainerResource' ? 'ContainerResource' : type === 'Pods' ? 'Pods' : type}Metric`;
}

function hpaJson(hpa: any): any {
  if (hpa && typeof hpa === 'object' && hpa.hpa && ApiObject.isApiObject(hpa.hpa)) return hpa.hpa.toJson();
  if (hpa && ApiObject.isApiObject(hpa)) return (hpa as ApiObject).toJson();
  if (hpa?.kind === 'HorizontalPodAutoscaler' || hpa?.spec?.scaleTargetRef) return hpa;
  throw new Error('HpaController: pass an Autoscaler, a rendered HorizontalPodAutoscaler ApiObject, or its autoscaling/v2 JSON');
}

function parseMetric(m: any, where: string): MetricSpec {
  const type = m?.type;
  const source = m?.[type === 'ContainerResource' ? 'containerResource' : String(type).charAt(0).toLowerCase() + String(type).slice(1)];
  if (!source) throw new Error(`${where}: unknown metric type "${type}"`);
  const t = source.target ?? {};
  const name = type === 'Resource' || type === 'ContainerResource' ? source.name : source.metric?.name;
  // The fields the controller branches on (computeStatusFor*Metric), whatever target.type says, except for Object.
  let found: [MetricSpec['targetType'], number] | undefined;
  if (type === 'Resource' || type === 'ContainerResource') {
    if (t.averageValue !== undefined) found = ['AverageValue', milliOf(t.averageValue)];
    else if (t.averageUtilization !== undefined) found = ['Utilization', t.averageUtilization];
  } else if (type === 'Pods') {
    if (t.averageValue !== undefined) found = ['AverageValue', milliOf(t.averageValue)];
  } else if (type === 'Object') {
    if (t.type === 'Value' && t.value !== undefined) found = ['Value', milliOf(t.value)];
    else if (t.type === 'AverageValue' && t.averageValue !== undefined) found = ['AverageValue', milliOf(t.averageValue)];
  } else if (t.averageValue !== undefined) {
    found = ['AverageValue', milliOf(t.averageValue)];
  } else if (t.value !== undefined) {
    found = ['Value', milliOf(t.value)];
  }
  if (!found) throw new Error(`${where}: ${type} metric "${name}" has no target the controller uses`);
  const [targetType, target] = found;
  return { type, name, container: source.container, targetType, target };
}

/** API defaulting of `spec.behavior` (SetDefaults_HorizontalPodAutoscalerBehavior) and maybeInitScaleDownStabilizationWindow. */
function behaviorWithDefaults(behavior: any, downscaleWindow: number): { scaleUp: ScalingRulesSpec; scaleDown: ScalingRulesSpec } {
  const rules = (r: any, window: number, policies: ScalingRulesSpec['policies']): ScalingRulesSpec => ({
    stabilizationWindowSeconds: r?.stabilizationWindowSeconds ?? window,
    selectPolicy: r?.selectPolicy ?? 'Max',
    policies: r?.policies ?? policies,
    tolerance: r?.tolerance !== undefined ? Quantity.parse(r.tolerance).toNumber() : undefined,
  });
  return {
    scaleUp: rules(behavior.scaleUp, 0, [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }]),
    scaleDown: rules(behavior.scaleDown, downscaleWindow, [{ type: 'Percent', value: 100, periodSeconds: 15 }]),
  };
}

/* ---------------------------------------------------------------- replica_calculator.go */

/*
 * The calculator reads the pods as runs: one observation (the same object)
 * repeated `count` times, as the pods of one ReplicaSet batch look alike.
 * Per-pod data is kept in arrays aligned with the runs (NaN marks a run
 * without a sample), and every sum weighs a run by its count: upstream's
 * per-pod integer arithmetic, done once per distinct pod.
 */

/** The controller's settings that the replica calculator reads. */
export interface CalculatorSettings {
  readonly tolerances: Tolerances;
  readonly cpuInitializationPeriod: number;
  readonly initialReadinessDelay: number;
  readonly metricWindow: number;
}

/** `count` pods seen as the same observation, next to each other in the pod list. */
export interface PodRun {
  readonly pod: PodObservation;
  /** Index of the run's first pod in the list (its name in messages when the pod has none). */
  readonly first: number;
  readonly count: number;
}

/** The pods as runs: consecutive pods that are the same object form one run. */
export function runsOf(pods: readonly PodObservation[]): PodRun[] {
  const runs: PodRun[] = [];
  for (let i = 0; i < pods.length; i++) {
    const last = runs[runs.length - 1];
    if (last?.pod === pods[i]) runs[runs.length - 1] = { ...last, count: last.count + 1 };
    else runs.push({ pod: pods[i], first: i, count: 1 });
  }
  return runs;
}

/** The observation's pods as runs; without a pod list, specReplicas Running and Ready pods without samples. */
function observedRuns(o: Observation): PodRun[] {
  if (o.pods) return runsOf(o.pods);
  return o.specReplicas > 0 ? [{ pod: {}, first: 0, count: o.specReplicas }] : [];
}

const podName = (run: PodRun) => run.pod.name ?? `pod-${run.first}`;

/** A metric's proposal, or why it failed. */
function computeReplicasForMetric(
  s: CalculatorSettings, m: MetricSpec, o: Observation, specReplicas: number, statusReplicas: number, runs: PodRun[],
): MetricOutcome {
  const target = m.targetType === 'Utilization' ? m.target : m.target / 1000;
  try {
    switch (m.type) {
      case 'Resource':
      case 'ContainerResource': {
        const samples = resourceSamples(runs, m.name, m.container);
        if (m.targetType === 'Utilization') {
          const r = getResourceReplicas(specReplicas, m.target, m.name, m.container, s, runs, samples, o.time);
          return outcome(m, target, r.utilization, r.replicas);
        }
        const r = calcPlainMetricReplicas(samples, specReplicas, m.target, s, runs, m.name, o.time);
        return outcome(m, target, r.usage / 1000, r.replicas);
      }
      case 'Pods': {
        const r = calcPlainMetricReplicas(podMetricSamples(runs, m.name), specReplicas, m.target, s, runs, '', o.time);
        return outcome(m, target, r.usage / 1000, r.replicas);
      }
      case 'Object':
      case 'External': {
        const raw = o.metrics?.[m.name];
        if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) throw new Error(`unable to get `
          + `${m.type === 'External' ? 'external ' : ''}metric ${m.name}: no value`);
        const usage = Array.isArray(raw) ? raw.reduce((sum: number, v) => sum + milliOf(v), 0) : milliOf(raw);
        if (m.targetType === 'AverageValue') {
          const r = getPerPodMetricReplicas(statusReplicas, m.target, usage, s.tolerances);
          return outcome(m, target, r.usage / 1000, r.replicas);
        }
        return outcome(m, target, usage / 1000, getUsageRatioReplicaCount(specReplicas, usage / m.target, s.tolerances, runs));
      }
    }
  } catch (e) {
    return { name: m.name, type: m.type, targetType: m.targetType, target, error: (e as Error).message };
  }
}

function outcome(m: MetricSpec, target: number, current: number, proposal: number): MetricOutcome {
  return { name: m.name, type: m.type, targetType: m.targetType, target, current, proposal };
}

/** Each run's sample of a Pods metric in milli-units (NaN: missing). */
function podMetricSamples(runs: PodRun[], name: string): number[] {
  const out = new Array<number>(runs.length);
  for (let i = 0; i < runs.length; i++) {
    const v = runs[i].pod.metrics?.[name];
    out[i] = v === undefined ? NaN : milliOf(v);
  }
  return out;
}

/** Each run's resource sample in milli-units (NaN: missing). */
export function resourceSamples(runs: PodRun[], resource: string, container?: string): number[] {
  const out = new Array<number>(runs.length);
  for (let i = 0; i < runs.length; i++) out[i] = podSample(runs[i].pod, resource as 'cpu' | 'memory', container);
  return out;
}

/** `r` of the amounts (a property read the engine keeps fast for both names). */
function amountOf(amounts: ResourceObservation | undefined, r: 'cpu' | 'memory'): Amount | undefined {
  if (amounts === undefined) return undefined;
  return r === 'cpu' ? amounts.cpu : amounts.memory;
}

/** A pod's resource sample in milli-units: the pod's, the named container's, or the sum over its containers; NaN when one is missing. */
function podSample(pod: PodObservation, r: 'cpu' | 'memory', container: string | undefined): number {
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

/** How groupPods sorts the pods: the ready count, and the indexes of the other runs. */
interface PodGroups {
  readonly readyPodCount: number;
  readonly unready: readonly number[];
  readonly missing: readonly number[];
  readonly ignored: readonly number[];
}

/** The empty index list groupPods returns for a group no pod is in (most syncs); never written to. */
const NONE: readonly number[] = Object.freeze([]) as readonly number[];

/** `list` with `i` appended: a new array the first time, so NONE stays empty. */
function added(list: readonly number[], i: number): number[] {
  if (list === NONE) return [i];
  (list as number[]).push(i);
  return list as number[];
}

/** groupPods: the ready pod count, and the indexes of the runs of unready, missing and ignored pods. */
function groupPods(runs: PodRun[], samples: number[], resource: string, s: CalculatorSettings, now: number): PodGroups {
  let unready = NONE;
  let missing = NONE;
  let ignored = NONE;
  let readyPodCount = 0;
  for (let i = 0; i < runs.length; i++) {
    const pod = runs[i].pod;
    const phase = pod.phase ?? 'Running';
    if (pod.deleting || phase === 'Failed') {
      ignored = added(ignored, i);
      continue;
    }
    if (phase === 'Pending') {
      unready = added(unready, i);
      continue;
    }
    if (Number.isNaN(samples[i])) {
      missing = added(missing, i);
      continue;
    }
    if (resource === 'cpu') {
      const ready = pod.ready ?? true;
      const start = pod.startTime ?? LONG_AGO;
      const transition = pod.readySince ?? start;
      const isUnready = start + s.cpuInitializationPeriod > now
        // within the initialization period: unready, or no full metric window since it turned Ready
        ? !ready || now < transition + s.metricWindow
        // after it: unready only if it has never been Ready since its initial readiness delay
        : !ready && start + s.initialReadinessDelay > transition;
      if (isUnready) {
        unready = added(unready, i);
        continue;
      }
    }
    readyPodCount += runs[i].count;
  }
  return { readyPodCount, unready, missing, ignored };
}

/** calculateRequests: each run's pod request for the resource, in milli-units. */
function calculateRequests(runs: PodRun[], container: string | undefined, resource: string): number[] {
  const out = new Array<number>(runs.length);
  for (let i = 0; i < runs.length; i++) out[i] = podRequest(runs[i], resource as 'cpu' | 'memory', container);
  return out;
}

/** calculatePodRequestsFromContainers: the named container's request, or the sum over the containers, or the pod's. */
function podRequest(run: PodRun, r: 'cpu' | 'memory', container: string | undefined): number {
  const pod = run.pod;
  if (container !== undefined) {
    const c = pod.containers?.find(x => x.name === container);
    if (!c) throw new Error(`container ${container} not found in Pod ${podName(run)}`);
    return requestOf(c.requests, r, run, c.name);
  }
  if (pod.containers?.length) {
    let total = 0;
    for (const c of pod.containers) {
      total += requestOf(c.requests, r, run, c.name);
    }
    return total;
  }
  return requestOf(pod.requests, r, run);
}

/** A request of the run's pod (or of its container) in milli-units; a missing one fails the metric. */
function requestOf(requests: ResourceObservation | undefined, r: 'cpu' | 'memory', run: PodRun, container?: string): number {
  const v = amountOf(requests, r);
  if (v === undefined) {
    throw new Error(`missing request for ${r} in ${container === undefined ? '' : `container ${container} of `}Pod ${podName(run)}`);
  }
  return milliOf(v);
}

/** The number of pods of the runs with a sample (not NaN). */
function countWithSamples(samples: number[], runs: PodRun[]): number {
  let n = 0;
  for (let i = 0; i < samples.length; i++) if (!Number.isNaN(samples[i])) n += runs[i].count;
  return n;
}

/** metrics.GetResourceUtilizationRatio: integer percent of the requests of the pods that have a sample. */
function getResourceUtilizationRatio(samples: number[], requests: number[], runs: PodRun[], targetUtilization: number):
{ ratio: number; utilization: number; rawAverage: number } {
  let metricsTotal = 0;
  let requestsTotal = 0;
  let entries = 0;
  for (let i = 0; i < samples.length; i++) {
    if (Number.isNaN(samples[i])) continue;
    const n = runs[i].count;
    metricsTotal += samples[i] * n;
    requestsTotal += requests[i] * n;
    entries += n;
  }
  if (requestsTotal === 0) throw new Error('no metrics returned matched known pods');
  const utilization = Math.trunc((metricsTotal * 100) / requestsTotal);
  return { ratio: utilization / targetUtilization, utilization, rawAverage: Math.trunc(metricsTotal / entries) };
}

/** metrics.GetMetricUsageRatio: the integer average over the samples. */
function getMetricUsageRatio(samples: number[], runs: PodRun[], targetUsage: number): { ratio: number; usage: number } {
  let total = 0;
  let count = 0;
  for (let i = 0; i < samples.length; i++) {
    if (Number.isNaN(samples[i])) continue;
    total += samples[i] * runs[i].count;
    count += runs[i].count;
  }
  const usage = Math.trunc(total / count);
  return { ratio: usage / targetUsage, usage };
}

/**
 * The samples of the pods the calculator uses: ignored and unready pods'
 * removed (removeMetricsForPods). A copy only when something is removed or
 * may be filled in later (missing pods): most syncs have neither.
 */
function usableSamples(samples: number[], g: PodGroups): number[] {
  if (!g.unready.length && !g.ignored.length && !g.missing.length) return samples;
  const metrics = samples.slice();
  for (const i of g.ignored) metrics[i] = NaN;
  for (const i of g.unready) metrics[i] = NaN;
  return metrics;
}

/** GetResourceReplicas (Utilization targets). */
export function getResourceReplicas(
  currentReplicas: number, targetUtilization: number, resource: string, container: string | undefined,
  s: CalculatorSettings, runs: PodRun[], samples: number[], now: number,
): { replicas: number; utilization: number; rawAverage: number } {
  if (runs.length === 0) throw new Error('no pods returned by selector while calculating replica count');
  const g = groupPods(runs, samples, resource, s, now);
  const metrics = usableSamples(samples, g);
  if (countWithSamples(metrics, runs) === 0) throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  const requests = calculateRequests(runs, container, resource);
  const { ratio, utilization, rawAverage } = getResourceUtilizationRatio(metrics, requests, runs, targetUtilization);
  const t = s.tolerances;
  const scaleUpWithUnready = g.unready.length > 0 && ratio > 1.0;
  if (!scaleUpWithUnready && g.missing.length === 0) {
    if (isWithin(t, ratio)) return { replicas: currentReplicas, utilization, rawAverage };
    return { replicas: Math.ceil(ratio * g.readyPodCount), utilization, rawAverage };
  }
  // on a scale-down, missing pods count as using max(100%, target) of their request; on a scale-up, as 0
  const fallback = Math.max(100, targetUtilization);
  for (const i of g.missing) {
    if (ratio < 1.0) metrics[i] = Math.trunc((requests[i] * fallback) / 100);
    else if (ratio > 1.0) metrics[i] = 0;
  }
  if (scaleUpWithUnready) for (const i of g.unready) metrics[i] = 0;
  const newRatio = getResourceUtilizationRatio(metrics, requests, runs, targetUtilization).ratio;
  return { replicas: rebalanced(currentReplicas, ratio, newRatio, countWithSamples(metrics, runs), t), utilization, rawAverage };
}

/** calcPlainMetricReplicas (AverageValue of Resource and ContainerResource; Pods metrics, where `resource` is empty). */
export function calcPlainMetricReplicas(
  samples: number[], currentReplicas: number, targetUsage: number, s: CalculatorSettings,
  runs: PodRun[], resource: string, now: number,
): { replicas: number; usage: number } {
  if (runs.length === 0) throw new Error('no pods returned by selector while calculating replica count');
  const g = groupPods(runs, samples, resource, s, now);
  const metrics = usableSamples(samples, g);
  if (countWithSamples(metrics, runs) === 0) throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  const { ratio, usage } = getMetricUsageRatio(metrics, runs, targetUsage);
  const t = s.tolerances;
  const scaleUpWithUnready = g.unready.length > 0 && ratio > 1.0;
  if (!scaleUpWithUnready && g.missing.length === 0) {
    if (isWithin(t, ratio)) return { replicas: currentReplicas, usage };
    return { replicas: Math.ceil(ratio * g.readyPodCount), usage };
  }
  // on a scale-down, missing pods count as using exactly the target; on a scale-up, as 0
  for (const i of g.missing) {
    if (ratio < 1.0) metrics[i] = targetUsage;
    else if (ratio > 1.0) metrics[i] = 0;
  }
  if (scaleUpWithUnready) for (const i of g.unready) metrics[i] = 0;
  const newRatio = getMetricUsageRatio(metrics, runs, targetUsage).ratio;
  return { replicas: rebalanced(currentReplicas, ratio, newRatio, countWithSamples(metrics, runs), t), usage };
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

/** getUsageRatioReplicaCount (Object and External `Value` targets): the ratio times the ready pods; from zero replicas, the ratio alone. */
export function getUsageRatioReplicaCount(currentReplicas: number, ratio: number, t: Tolerances, runs: PodRun[]): number {
  if (currentReplicas === 0) return Math.ceil(ratio);
  if (isWithin(t, ratio)) return currentReplicas;
  if (runs.length === 0) throw new Error('unable to calculate ready pods: no pods returned by selector while calculating replica count');
  let ready = 0;
  for (const { pod, count } of runs) if ((pod.phase ?? 'Running') === 'Running' && (pod.ready ?? true)) ready += count;
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

/* ---------------------------------------------------------------- horizontal.go normalization */

/** stabilizeRecommendation: the highest recommendation within the window (no `behavior`); records this one, reusing an expired slot. */
export function stabilizeRecommendation(memory: ControllerMemory, now: number, windowSeconds: number, prenormalized: number): number {
  const recs = (memory.recommendations ??= []);
  let max = prenormalized;
  let oldIndex = -1;
  const cutoff = now - windowSeconds;
  for (let i = 0; i < recs.length; i++) {
    const rec = recs[i];
    if (rec.timestamp < cutoff) oldIndex = i;
    else if (rec.recommendation > max) max = rec.recommendation;
  }
  record(recs, oldIndex, prenormalized, now);
  return max;
}

/** Stores a recommendation in the expired slot `oldIndex` (updated in place), or appends it. */
function record(recs: Recommendation[], oldIndex: number, recommendation: number, timestamp: number): void {
  if (oldIndex < 0) {
    recs.push({ recommendation, timestamp });
    return;
  }
  recs[oldIndex].recommendation = recommendation;
  recs[oldIndex].timestamp = timestamp;
}

/** Go's `int32(math.Max(scaleUpLimitFactor*float64(currentReplicas), scaleUpLimitMinimum))`. */
export function calculateScaleUpLimit(currentReplicas: number): number {
  return Math.trunc(Math.max(2.0 * currentReplicas, 4.0));
}

/** convertDesiredReplicasWithRules: [minReplicas, min(maxReplicas, max(2 × current, 4))]; returns the count and the condition reason. */
export function convertDesiredReplicasWithRules(current: number, desired: number, min: number, max: number): [number, string] {
  const scaleUpLimit = calculateScaleUpLimit(current);
  const [maximum, limiting] = max > scaleUpLimit ? [scaleUpLimit, 'ScaleUpLimit'] : [max, 'TooManyReplicas'];
  if (desired < min) return [min, 'TooFewReplicas'];
  if (desired > maximum) return [maximum, limiting];
  return [desired, 'DesiredWithinRange'];
}

/** The arguments of the behavior path (NormalizationArg). */
export interface NormalizationArgs {
  readonly currentReplicas: number;
  readonly desiredReplicas: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly scaleUp: ScalingRulesSpec;
  readonly scaleDown: ScalingRulesSpec;
}

/**
 * stabilizeRecommendationWithBehaviors: the recommendation kept between the
 * lowest recommendation of the scale-up window and the highest of the
 * scale-down window, starting from the current count; records this one.
 */
export function stabilizeRecommendationWithBehaviors(memory: ControllerMemory, now: number, a: NormalizationArgs): [number, string] {
  const recs = (memory.recommendations ??= []);
  let up = a.desiredReplicas;
  let down = a.desiredReplicas;
  const upCutoff = now - a.scaleUp.stabilizationWindowSeconds;
  const downCutoff = now - a.scaleDown.stabilizationWindowSeconds;
  let oldIndex = -1;
  for (let i = 0; i < recs.length; i++) {
    const rec = recs[i];
    if (rec.timestamp > upCutoff && rec.recommendation < up) up = rec.recommendation;
    if (rec.timestamp > downCutoff && rec.recommendation > down) down = rec.recommendation;
    if (rec.timestamp < upCutoff && rec.timestamp < downCutoff) oldIndex = i;
  }
  let recommendation = a.currentReplicas;
  if (recommendation < up) recommendation = up;
  if (recommendation > down) recommendation = down;
  record(recs, oldIndex, a.desiredReplicas, now);
  return [recommendation, a.desiredReplicas >= a.currentReplicas ? 'ScaleUpStabilized' : 'ScaleDownStabilized'];
}

/** getReplicasChangePerPeriod: replicas changed by events younger than the period. */
export function getReplicasChangePerPeriod(now: number, periodSeconds: number, events: ScaleEvent[]): number {
  const cutoff = now - periodSeconds;
  return events.reduce((n, e) => (e.timestamp > cutoff ? n + e.replicaChange : n), 0);
}

/** calculateScaleUpLimitWithScalingRules. */
export function calculateScaleUpLimitWithScalingRules(now: number, current: number, upEvents: ScaleEvent[], downEvents: ScaleEvent[],
  rules: ScalingRulesSpec): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const min = rules.selectPolicy === 'Min';
  let result = min ? MAX_INT32 : MIN_INT32;
  for (const p of rules.policies) {
    const start = current - getReplicasChangePerPeriod(now, p.periodSeconds, upEvents) + getReplicasChangePerPeriod(now, p.periodSeconds, downEvents);
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = min ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/** calculateScaleDownLimitWithBehaviors. */
export function calculateScaleDownLimitWithBehaviors(now: number, current: number, upEvents: ScaleEvent[], downEvents: ScaleEvent[],
  rules: ScalingRulesSpec): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const min = rules.selectPolicy === 'Min';
  let result = min ? MIN_INT32 : MAX_INT32;
  for (const p of rules.policies) {
    const start = current - getReplicasChangePerPeriod(now, p.periodSeconds, upEvents) + getReplicasChangePerPeriod(now, p.periodSeconds, downEvents);
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = min ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

/** convertDesiredReplicasWithBehaviorRate: the policies' rate limits, then min/max; returns the count and the condition reason. */
export function convertDesiredReplicasWithBehaviorRate(memory: ControllerMemory, now: number, a: NormalizationArgs): [number, string] {
  if (a.desiredReplicas > a.currentReplicas) {
    let limit = calculateScaleUpLimitWithScalingRules(now, a.currentReplicas, memory.scaleUpEvents, memory.scaleDownEvents, a.scaleUp);
    if (limit < a.currentReplicas) limit = a.currentReplicas;
    const [maximum, reason] = a.maxReplicas > limit ? [limit, 'ScaleUpLimit'] : [a.maxReplicas, 'TooManyReplicas'];
    if (a.desiredReplicas > maximum) return [maximum, reason];
  } else if (a.desiredReplicas < a.currentReplicas) {
    let limit = calculateScaleDownLimitWithBehaviors(now, a.currentReplicas, memory.scaleUpEvents, memory.scaleDownEvents, a.scaleDown);
    if (limit > a.currentReplicas) limit = a.currentReplicas;
    const [minimum, reason] = a.minReplicas < limit ? [limit, 'ScaleDownLimit'] : [a.minReplicas, 'TooFewReplicas'];
    if (a.desiredReplicas < minimum) return [minimum, reason];
  }
  return [a.desiredReplicas, 'DesiredWithinRange'];
}

/** storeScaleEvent: kept only with `behavior`; events older than the direction's longest period are marked outdated, and the last one is reused. */
export function storeScaleEvent(
  memory: ControllerMemory, behavior: { scaleUp: ScalingRulesSpec; scaleDown: ScalingRulesSpec } | undefined,
  now: number, prev: number, next: number,
): void {
  if (!behavior) return;
  const up = next > prev;
  const events = up ? memory.scaleUpEvents : memory.scaleDownEvents;
  const longest = Math.max(0, ...(up ? behavior.scaleUp : behavior.scaleDown).policies.map(p => p.periodSeconds));
  const cutoff = now - longest;
  let oldIndex = -1;
  events.forEach((e, i) => {
    if (e.timestamp < cutoff) e.outdated = true;
    if (e.outdated) oldIndex = i;
  });
  const event = { replicaChange: up ? next - prev : prev - next, timestamp: now, outdated: false };
  if (oldIndex >= 0) events[oldIndex] = event;
  else events.push(event);
}
