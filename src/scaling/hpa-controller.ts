import { ApiObject, Duration } from 'cdk8s';
import { Autoscaler } from './autoscaler';
import { Quantity } from '../core/quantity';
import { MetricSourceType, MetricTargetType } from './scaling-metric';
import { ScalingPolicyType, SelectPolicy } from './scaling-rules';
import {
  Amount, calcPlainMetricReplicas, CalculatorSettings, getPerPodMetricReplicas, getResourceReplicas, getUsageRatioReplicaCount, MAX_INT32,
  milliOf, ObservedPods, PodObservation, PodTable, Tolerances,
} from './replica-calculator';

/**
 * The Kubernetes HPA controller's decisions, replayed: a port of
 * `pkg/controller/podautoscaler/horizontal.go` (reconcileAutoscaler, the
 * per-metric dispatch and the normalization paths), Kubernetes 1.33+
 * (per-direction tolerances), over the replica calculator of
 * `replica-calculator.ts`. Function names below follow the Go functions they port.
 */

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
  readonly type: MetricSourceType;
  /** What the target is compared with: percent of requests, a per-pod average, or the total. */
  readonly targetType: MetricTargetType;
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
export interface MetricSpec {
  readonly type: MetricSourceType;
  readonly name: string;
  readonly container?: string;
  readonly targetType: MetricTargetType;
  /** Utilization in percent, else milli-units. */
  readonly target: number;
  /** The target as the HPA status shows it: percent, or base units. */
  readonly statusTarget: number;
}

/** The reasons a sync can give, in the order the controller gives them (one of the first three alone, or the others in this order). */
const REASON_ORDER = [
  'ScalingDisabled', 'FailedGetResourceMetric', 'FailedGetContainerResourceMetric', 'FailedGetPodsMetric', 'FailedGetObjectMetric',
  'FailedGetExternalMetric', 'FailedComputeMetricsReplicas', 'ScaleUpStabilized', 'ScaleDownStabilized', 'ScaleUpLimit', 'ScaleDownLimit',
  'TooManyReplicas', 'TooFewReplicas',
];

/** Each set of reasons as a list, made once: lists are shared and read-only. */
const REASON_LISTS = new Map<number, readonly string[]>([[0, []]]);

/**
 * The condition reasons and events of one sync, gathered as a set of bits,
 * so that a sync builds no list: `list()` returns the set's one shared list.
 */
class ReasonSet {
  private bits = 0;

  public add(reason: string): void {
    const i = REASON_ORDER.indexOf(reason);
    if (i < 0) throw new Error(`HpaController: unknown reason ${reason}`);
    this.bits |= 1 << i;
  }

  public clear(): void {
    this.bits = 0;
  }

  /** The reasons in the order the controller gives them (read-only, shared by every sync with the same reasons). */
  public list(): readonly string[] {
    let list = REASON_LISTS.get(this.bits);
    if (!list) {
      list = REASON_ORDER.filter((_, i) => this.bits & (1 << i));
      REASON_LISTS.set(this.bits, list);
    }
    return list;
  }
}

/**
 * One sync's outcome, written in place by the controller that owns it (so a
 * sync allocates nothing): what `decide` turns into an HpaDecision, and what
 * the simulator reads without one.
 * @internal
 */
export class SyncRecord {
  public time = 0;
  public currentReplicas = 0;
  /** What the metrics asked for (the current count when they gave none). */
  public desiredReplicas = 0;
  public replicas = 0;
  /** Whether the metrics were computed (not when scaling is disabled or the count is out of range). */
  public computed = false;
  /** Per metric, in spec order: the value the HPA status shows, and the proposal (stale when the metric failed). */
  public readonly current: Float64Array;
  public readonly proposal: Float64Array;
  /** Why each metric failed; undefined when it was computed. */
  public readonly errors: (string | undefined)[];
  /** Condition reasons and events (see HpaDecision.reasons). */
  public readonly reasons = new ReasonSet();

  constructor(public readonly metrics: readonly MetricSpec[]) {
    this.current = new Float64Array(metrics.length);
    this.proposal = new Float64Array(metrics.length);
    this.errors = metrics.map(() => undefined);
  }
}

/** A scaling direction's rules, with the API's defaults filled in. */
export interface ScalingRulesSpec {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: SelectPolicy;
  readonly policies: Policy[];
  readonly tolerance?: number;
}

/** A scaling policy. */
export interface Policy {
  type: ScalingPolicyType;
  value: number;
  periodSeconds: number;
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

const MIN_INT32 = -2147483648;

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
  public readonly metricNames: { readonly name: string; readonly type: MetricSourceType; readonly targetType: MetricTargetType }[];
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
  private readonly settings: CalculatorSettings;
  private readonly record: SyncRecord;

  /**
   * @param hpa an Autoscaler, an HPA `ApiObject` (L1, cdk8s-plus's, plain), or an autoscaling/v2 HPA manifest (rendered YAML, parsed).
   */
  constructor(hpa: HpaSource, options: HpaControllerOptions = {}) {
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
    this.settings = {
      tolerances: this.tolerances, cpuInitializationPeriod: this.cpuInitializationPeriod,
      initialReadinessDelay: this.initialReadinessDelay, metricWindow: this.metricWindow,
    };
    this.record = new SyncRecord(this.metrics);
  }

  /**
   * The settings the replica calculator reads (the flags, and the tolerances in force).
   * @internal
   */
  public get _calculatorSettings(): CalculatorSettings {
    return this.settings;
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
  public decide(o: Observation): HpaDecision {
    const values = this.metrics.map(m => o.metrics?.[m.name]);
    const r = this._sync(o.time, o.specReplicas, o.statusReplicas ?? o.specReplicas, new ObservedPods(o.pods, o.specReplicas), values);
    const metrics: MetricOutcome[] = [];
    if (r.computed) {
      for (let i = 0; i < this.metrics.length; i++) {
        const { name, type, targetType, statusTarget: target } = this.metrics[i];
        const error = r.errors[i];
        metrics.push(error === undefined ? { name, type, targetType, target, current: r.current[i], proposal: r.proposal[i] }
          : { name, type, targetType, target, error });
      }
    }
    return this.lastDecision = {
      time: r.time, currentReplicas: r.currentReplicas, desiredReplicas: r.desiredReplicas, replicas: r.replicas, metrics,
      reasons: [...r.reasons.list()],
    };
  }

  /**
   * One sync (reconcileAutoscaler) over pods in a table and the Object and External metrics' values (in spec order),
   * written into the record this controller reuses: what `decide` and the simulator read.
   * @internal
   */
  public _sync(now: number, current: number, statusReplicas: number, pods: PodTable, values: readonly (Amount | Amount[] | undefined)[],
    minReplicas = this.minReplicas): SyncRecord {
    const r = this.record;
    const reasons = r.reasons;
    reasons.clear();
    r.time = now;
    r.currentReplicas = current;
    r.computed = false;
    // recordInitialRecommendation
    if (!this.memory.recommendations) this.memory.recommendations = [{ recommendation: current, timestamp: now }];
    const min = minReplicas;
    let desired = 0;
    let metricDesired = current;
    let rescale = true;
    if (current === 0 && min !== 0) {
      rescale = false;
      reasons.add('ScalingDisabled');
    } else if (current > this.maxReplicas) {
      desired = this.maxReplicas;
      reasons.add('TooManyReplicas');
    } else if (current < min) {
      desired = min;
      reasons.add('TooFewReplicas');
    } else {
      r.computed = true;
      const proposed = this.computeReplicasForMetrics(now, current, statusReplicas, pods, values);
      if (proposed === -1) {
        reasons.add('FailedComputeMetricsReplicas');
        r.desiredReplicas = r.replicas = current;
        return r;
      }
      metricDesired = proposed;
      if (metricDesired > desired) desired = metricDesired;
      desired = this.behavior
        ? this.normalizeDesiredReplicasWithBehaviors(now, current, desired, min, reasons)
        : this.normalizeDesiredReplicas(now, current, desired, min, reasons);
      rescale = desired !== current;
    }
    if (rescale) storeScaleEvent(this.memory, this.behavior, now, current, desired);
    r.desiredReplicas = metricDesired;
    r.replicas = rescale ? desired : current;
    return r;
  }

  /** computeReplicasForMetrics: the largest proposal; -1 when every metric failed, or one failed and the rest would scale down. */
  private computeReplicasForMetrics(now: number, specReplicas: number, statusReplicas: number, pods: PodTable,
    values: readonly (Amount | Amount[] | undefined)[]): number {
    const r = this.record;
    let replicas = 0;
    let invalid = 0;
    for (let i = 0; i < this.metrics.length; i++) {
      const m = this.metrics[i];
      computeReplicasForMetric(this.settings, m, pods, values, now, specReplicas, statusReplicas, r, i);
      if (r.errors[i] !== undefined) {
        if (invalid === 0) r.reasons.add(failedReason(m.type));
        invalid++;
      } else if (replicas === 0 || r.proposal[i] > replicas) {
        replicas = r.proposal[i];
      }
    }
    if (invalid >= this.metrics.length || (invalid > 0 && replicas < specReplicas)) return -1;
    return replicas;
  }

  /** normalizeDesiredReplicas: the path without `spec.behavior`. */
  private normalizeDesiredReplicas(now: number, current: number, prenormalized: number, min: number, reasons: ReasonSet): number {
    const stabilized = stabilizeRecommendation(this.memory, now, this.downscaleWindow, prenormalized);
    if (stabilized !== prenormalized) reasons.add('ScaleDownStabilized');
    const [desired, condition] = convertDesiredReplicasWithRules(current, stabilized, min, this.maxReplicas);
    if (desired !== stabilized) reasons.add(condition);
    return desired;
  }

  /** normalizeDesiredReplicasWithBehaviors: per-direction windows, then the policies' rate limits. */
  private normalizeDesiredReplicasWithBehaviors(now: number, current: number, prenormalized: number, min: number, reasons: ReasonSet): number {
    const { scaleUp, scaleDown } = this.behavior!;
    const stabilized = stabilizedWithBehaviors(this.memory, now, current, prenormalized, scaleUp.stabilizationWindowSeconds,
      scaleDown.stabilizationWindowSeconds);
    if (stabilized !== prenormalized) reasons.add(stabilizedReason(current, prenormalized));
    return rateLimited(this.memory, now, current, stabilized, min, this.maxReplicas, scaleUp, scaleDown, reasons);
  }
}

function failedReason(type: MetricSourceType): string {
  return `FailedGet${type}Metric`;
}

function hpaJson(hpa: HpaSource): any {
  if (hpa instanceof Autoscaler) return hpa.hpa.toJson();
  if (ApiObject.isApiObject(hpa)) return hpa.toJson();
  const manifest = hpa as HpaManifest | undefined;
  if (manifest?.kind === 'HorizontalPodAutoscaler' || manifest?.spec?.scaleTargetRef) return manifest;
  throw new Error('HpaController: pass an Autoscaler, a rendered HorizontalPodAutoscaler ApiObject, or its autoscaling/v2 JSON');
}

/**
 * An autoscaling/v2 HorizontalPodAutoscaler as rendered YAML holds it
 * (quantities as strings or numbers): what {@link HpaController} and
 * `simulate` read of it.
 */
export interface HpaManifest {
  /**
   * `autoscaling/v2`.
   * @default - not checked
   */
  readonly apiVersion?: string;
  /**
   * `HorizontalPodAutoscaler`.
   * @default - not checked (a spec with a scaleTargetRef is taken as one)
   */
  readonly kind?: string;
  /**
   * Name and namespace, for messages.
   * @default - "default/hpa"
   */
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  /** The HPA's spec: scaleTargetRef, minReplicas, maxReplicas, metrics, behavior. */
  readonly spec: {
    readonly scaleTargetRef: { readonly apiVersion?: string; readonly kind: string; readonly name: string };
    readonly minReplicas?: number;
    readonly maxReplicas: number;
    readonly metrics?: readonly { readonly type: string; readonly [source: string]: unknown }[];
    readonly behavior?: { readonly scaleUp?: object; readonly scaleDown?: object };
  };
}

/** What an HPA controller or a simulation can be made from. */
export type HpaSource = Autoscaler | ApiObject | HpaManifest;

const SOURCE_TYPES: readonly string[] = Object.values(MetricSourceType);

function parseMetric(m: any, where: string): MetricSpec {
  const type: MetricSourceType = m?.type;
  const source = SOURCE_TYPES.includes(type) ? m[type.charAt(0).toLowerCase() + type.slice(1)] : undefined;
  if (!source) throw new Error(`${where}: unknown metric type "${type}"`);
  const t = source.target ?? {};
  const name = type === MetricSourceType.RESOURCE || type === MetricSourceType.CONTAINER_RESOURCE ? source.name : source.metric?.name;
  // The fields the controller branches on (computeStatusFor*Metric), whatever target.type says, except for Object.
  let found: [MetricSpec['targetType'], number] | undefined;
  if (type === MetricSourceType.RESOURCE || type === MetricSourceType.CONTAINER_RESOURCE) {
    if (t.averageValue !== undefined) found = [MetricTargetType.AVERAGE_VALUE, milliOf(t.averageValue)];
    else if (t.averageUtilization !== undefined) found = [MetricTargetType.UTILIZATION, t.averageUtilization];
  } else if (type === MetricSourceType.PODS) {
    if (t.averageValue !== undefined) found = [MetricTargetType.AVERAGE_VALUE, milliOf(t.averageValue)];
  } else if (type === MetricSourceType.OBJECT) {
    if (t.type === MetricTargetType.VALUE && t.value !== undefined) found = [MetricTargetType.VALUE, milliOf(t.value)];
    else if (t.type === MetricTargetType.AVERAGE_VALUE && t.averageValue !== undefined) {
      found = [MetricTargetType.AVERAGE_VALUE, milliOf(t.averageValue)];
    }
  } else if (t.averageValue !== undefined) {
    found = [MetricTargetType.AVERAGE_VALUE, milliOf(t.averageValue)];
  } else if (t.value !== undefined) {
    found = [MetricTargetType.VALUE, milliOf(t.value)];
  }
  if (!found) throw new Error(`${where}: ${type} metric "${name}" has no target the controller uses`);
  const [targetType, target] = found;
  const statusTarget = targetType === MetricTargetType.UTILIZATION ? target : target / 1000;
  return { type, name, container: source.container, targetType, target, statusTarget };
}

/** API defaulting of `spec.behavior` (SetDefaults_HorizontalPodAutoscalerBehavior) and maybeInitScaleDownStabilizationWindow. */
function behaviorWithDefaults(behavior: any, downscaleWindow: number): { scaleUp: ScalingRulesSpec; scaleDown: ScalingRulesSpec } {
  const rules = (r: any, window: number, policies: ScalingRulesSpec['policies']): ScalingRulesSpec => ({
    stabilizationWindowSeconds: r?.stabilizationWindowSeconds ?? window,
    selectPolicy: r?.selectPolicy ?? SelectPolicy.MAX,
    policies: (r?.policies ?? policies).map((p: Policy) => ({ type: p.type, value: p.value, periodSeconds: p.periodSeconds })),
    tolerance: r?.tolerance !== undefined ? Quantity.parse(r.tolerance).toNumber() : undefined,
  });
  return {
    scaleUp: rules(behavior.scaleUp, 0, [{ type: ScalingPolicyType.PODS, value: 4, periodSeconds: 15 },
      { type: ScalingPolicyType.PERCENT, value: 100, periodSeconds: 15 }]),
    scaleDown: rules(behavior.scaleDown, downscaleWindow, [{ type: ScalingPolicyType.PERCENT, value: 100, periodSeconds: 15 }]),
  };
}

/** The proposal and status value of metric `i` into `r`, or why it failed (computeStatusFor*Metric). */
function computeReplicasForMetric(
  s: CalculatorSettings, m: MetricSpec, t: PodTable, values: readonly (Amount | Amount[] | undefined)[], now: number, specReplicas: number,
  statusReplicas: number, r: SyncRecord, i: number,
): void {
  let proposal: number;
  let current: number;
  try {
    switch (m.type) {
      case MetricSourceType.RESOURCE:
      case MetricSourceType.CONTAINER_RESOURCE:
        t.readSamples(m.name, m.container, true);
        if (m.targetType === MetricTargetType.UTILIZATION) {
          proposal = getResourceReplicas(t, specReplicas, m.target, m.name, m.container, s, now);
          current = t.utilization;
        } else {
          proposal = calcPlainMetricReplicas(t, specReplicas, m.target, m.name, s, now);
          current = t.usage / 1000;
        }
        break;
      case MetricSourceType.PODS:
        t.readSamples(m.name, undefined, false);
        proposal = calcPlainMetricReplicas(t, specReplicas, m.target, '', s, now);
        current = t.usage / 1000;
        break;
      default: {
        // Object and External
        const value = values[i];
        if (value === undefined || (Array.isArray(value) && value.length === 0)) throw new Error(`unable to get `
          + `${m.type === MetricSourceType.EXTERNAL ? 'external ' : ''}metric ${m.name}: no value`);
        const usage = Array.isArray(value) ? value.reduce((sum: number, v) => sum + milliOf(v), 0) : milliOf(value);
        if (m.targetType === MetricTargetType.AVERAGE_VALUE) {
          const perPod = getPerPodMetricReplicas(statusReplicas, m.target, usage, s.tolerances);
          proposal = perPod.replicas;
          current = perPod.usage / 1000;
        } else {
          current = usage / 1000;
          proposal = getUsageRatioReplicaCount(specReplicas, usage / m.target, s.tolerances, t);
        }
      }
    }
  } catch (e) {
    r.errors[i] = (e as Error).message;
    return;
  }
  r.errors[i] = undefined;
  r.current[i] = current;
  r.proposal[i] = proposal;
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
  const recommendation = stabilizedWithBehaviors(memory, now, a.currentReplicas, a.desiredReplicas, a.scaleUp.stabilizationWindowSeconds,
    a.scaleDown.stabilizationWindowSeconds);
  return [recommendation, stabilizedReason(a.currentReplicas, a.desiredReplicas)];
}

/** stabilizeRecommendationWithBehaviors' recommendation, from the windows' lengths. */
function stabilizedWithBehaviors(memory: ControllerMemory, now: number, current: number, desired: number, upWindow: number,
  downWindow: number): number {
  const recs = (memory.recommendations ??= []);
  let up = desired;
  let down = desired;
  const upCutoff = now - upWindow;
  const downCutoff = now - downWindow;
  let oldIndex = -1;
  for (let i = 0; i < recs.length; i++) {
    const rec = recs[i];
    if (rec.timestamp > upCutoff && rec.recommendation < up) up = rec.recommendation;
    if (rec.timestamp > downCutoff && rec.recommendation > down) down = rec.recommendation;
    if (rec.timestamp < upCutoff && rec.timestamp < downCutoff) oldIndex = i;
  }
  let recommendation = current;
  if (recommendation < up) recommendation = up;
  if (recommendation > down) recommendation = down;
  record(recs, oldIndex, desired, now);
  return recommendation;
}

/** The condition reason when stabilization changed the recommendation. */
function stabilizedReason(current: number, desired: number): string {
  return desired >= current ? 'ScaleUpStabilized' : 'ScaleDownStabilized';
}

/** getReplicasChangePerPeriod: replicas changed by events younger than the period. */
export function getReplicasChangePerPeriod(now: number, periodSeconds: number, events: ScaleEvent[]): number {
  const cutoff = now - periodSeconds;
  let n = 0;
  for (let i = 0; i < events.length; i++) if (events[i].timestamp > cutoff) n += events[i].replicaChange;
  return n;
}

/** calculateScaleUpLimitWithScalingRules. */
export function calculateScaleUpLimitWithScalingRules(now: number, current: number, upEvents: ScaleEvent[], downEvents: ScaleEvent[],
  rules: ScalingRulesSpec): number {
  if (rules.selectPolicy === SelectPolicy.DISABLED) return current;
  const min = rules.selectPolicy === SelectPolicy.MIN;
  let result = min ? MAX_INT32 : MIN_INT32;
  for (let i = 0; i < rules.policies.length; i++) {
    const p = rules.policies[i];
    const start = current - getReplicasChangePerPeriod(now, p.periodSeconds, upEvents) + getReplicasChangePerPeriod(now, p.periodSeconds, downEvents);
    const proposed = p.type === ScalingPolicyType.PODS ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = min ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/** calculateScaleDownLimitWithBehaviors. */
export function calculateScaleDownLimitWithBehaviors(now: number, current: number, upEvents: ScaleEvent[], downEvents: ScaleEvent[],
  rules: ScalingRulesSpec): number {
  if (rules.selectPolicy === SelectPolicy.DISABLED) return current;
  const min = rules.selectPolicy === SelectPolicy.MIN;
  let result = min ? MIN_INT32 : MAX_INT32;
  for (let i = 0; i < rules.policies.length; i++) {
    const p = rules.policies[i];
    const start = current - getReplicasChangePerPeriod(now, p.periodSeconds, upEvents) + getReplicasChangePerPeriod(now, p.periodSeconds, downEvents);
    const proposed = p.type === ScalingPolicyType.PODS ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = min ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

/** convertDesiredReplicasWithBehaviorRate: the policies' rate limits, then min/max; returns the count and the condition reason. */
export function convertDesiredReplicasWithBehaviorRate(memory: ControllerMemory, now: number, a: NormalizationArgs): [number, string] {
  const reasons = new ReasonSet();
  const replicas = rateLimited(memory, now, a.currentReplicas, a.desiredReplicas, a.minReplicas, a.maxReplicas, a.scaleUp, a.scaleDown, reasons);
  return [replicas, reasons.list()[0] ?? 'DesiredWithinRange'];
}

/** convertDesiredReplicasWithBehaviorRate's count; adds the condition reason to `reasons` when it limits the count. */
function rateLimited(memory: ControllerMemory, now: number, current: number, desired: number, min: number, max: number,
  scaleUp: ScalingRulesSpec, scaleDown: ScalingRulesSpec, reasons: ReasonSet): number {
  if (desired > current) {
    let limit = calculateScaleUpLimitWithScalingRules(now, current, memory.scaleUpEvents, memory.scaleDownEvents, scaleUp);
    if (limit < current) limit = current;
    const maximum = max > limit ? limit : max;
    if (desired > maximum) {
      reasons.add(max > limit ? 'ScaleUpLimit' : 'TooManyReplicas');
      return maximum;
    }
  } else if (desired < current) {
    let limit = calculateScaleDownLimitWithBehaviors(now, current, memory.scaleUpEvents, memory.scaleDownEvents, scaleDown);
    if (limit > current) limit = current;
    const minimum = min < limit ? limit : min;
    if (desired < minimum) {
      reasons.add(min < limit ? 'ScaleDownLimit' : 'TooFewReplicas');
      return minimum;
    }
  }
  return desired;
}

/** storeScaleEvent: kept only with `behavior`; events older than the direction's longest period are marked outdated, and the last one is reused. */
export function storeScaleEvent(
  memory: ControllerMemory, behavior: { scaleUp: ScalingRulesSpec; scaleDown: ScalingRulesSpec } | undefined,
  now: number, prev: number, next: number,
): void {
  if (!behavior) return;
  const up = next > prev;
  const events = up ? memory.scaleUpEvents : memory.scaleDownEvents;
  let longest = 0;
  const policies = (up ? behavior.scaleUp : behavior.scaleDown).policies;
  for (let i = 0; i < policies.length; i++) if (policies[i].periodSeconds > longest) longest = policies[i].periodSeconds;
  const cutoff = now - longest;
  let oldIndex = -1;
  for (let i = 0; i < events.length; i++) {
    if (events[i].timestamp < cutoff) events[i].outdated = true;
    if (events[i].outdated) oldIndex = i;
  }
  const event = { replicaChange: up ? next - prev : prev - next, timestamp: now, outdated: false };
  if (oldIndex >= 0) events[oldIndex] = event;
  else events.push(event);
}
