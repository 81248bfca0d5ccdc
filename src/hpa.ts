import { ApiObject, Chart, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';
import { assertDnsSubdomain, assertInteger } from './names';
import { objectRef, podSpecOf } from './policy';
import { AdapterMetric, MetricsApi } from './prom-adapter';
import { ensureRenderPass, MemoizedKubeHorizontalPodAutoscalerV2, renderedJson } from './render-cache';
import { parseQuantity } from './quantity';

/** How a scaling policy counts change. */
export enum ScalingPolicyType {
  /** An absolute number of pods. */
  PODS = 'Pods',
  /** A percentage of the current pods. */
  PERCENT = 'Percent',
}

/** Which policy wins when several apply. */
export enum SelectPolicy {
  /** The policy that allows the largest change. */
  MAX = 'Max',
  /** The policy that allows the smallest change. */
  MIN = 'Min',
  /** No scaling in this direction. */
  DISABLED = 'Disabled',
}

/** One rate limit of an HPA scaling direction. */
export interface ScalingPolicy {
  /** `Pods` or `Percent`. */
  readonly type: ScalingPolicyType;
  /** Pods, or percent of current pods, per period. Must be > 0. */
  readonly value: number;
  /** The period the value applies to, 1 s to 30 min. */
  readonly period: Duration;
}

/** Behavior of one scaling direction. */
export interface ScalingRules {
  /**
   * How long past recommendations are considered (0 s to 1 h).
   * @default - the construct's default for the direction
   */
  readonly stabilizationWindow?: Duration;
  /**
   * Rate limits; at least one.
   * @default - the construct's default for the direction
   */
  readonly policies?: ScalingPolicy[];
  /**
   * Which policy wins.
   * @default SelectPolicy.MAX
   */
  readonly selectPolicy?: SelectPolicy;
}

/** A metric target: exactly one of value or averageValue, as a quantity. */
export interface QuantityTarget {
  /**
   * Target for the metric's total value (divided across ready pods by the controller).
   * @default - not set
   */
  readonly value?: string;
  /**
   * Target value per pod (the metric's total divided by current replicas).
   * @default - not set
   */
  readonly averageValue?: string;
}

/** The object an Object metric describes. */
export interface DescribedObject {
  /** API version, e.g. `v1` or `networking.k8s.io/v1`. */
  readonly apiVersion: string;
  /** Kind, e.g. `Service`, `Ingress`. */
  readonly kind: string;
  /** Name, in the HPA's namespace. */
  readonly name: string;
}

/**
 * A Pods, Object or External metric for an HPA, built from a PromAdapter
 * handle (or {@link AdapterMetric.servedElsewhere}) so the name matches the
 * adapter's rule.
 */
export class ScalingMetric {
  /**
   * A per-pod custom metric (`type: Pods`), averaged across pods.
   * @param averageValue target per pod, a quantity such as `"500m"`.
   */
  public static pods(metric: AdapterMetric, averageValue: string, selector?: Record<string, string>): ScalingMetric {
    return new ScalingMetric('Pods', metric, { averageValue }, undefined, selector);
  }

  /** A custom metric describing one object (`type: Object`). */
  public static object(metric: AdapterMetric, describedObject: DescribedObject, target: QuantityTarget): ScalingMetric {
    return new ScalingMetric('Object', metric, target, describedObject);
  }

  /** An external metric (`type: External`). */
  public static external(metric: AdapterMetric, target: QuantityTarget, selector?: Record<string, string>): ScalingMetric {
    return new ScalingMetric('External', metric, target, undefined, selector);
  }

  private constructor(
    /** `Pods`, `Object` or `External`. */
    public readonly type: 'Pods' | 'Object' | 'External',
    /** The metric. */
    public readonly metric: AdapterMetric,
    /** The target. */
    public readonly target: QuantityTarget,
    /** For Object metrics, the object. */
    public readonly describedObject?: DescribedObject,
    /** Label selector passed to the metrics API. */
    public readonly selector?: Record<string, string>,
  ) {}
}

/** The autoscaling part of a workload's props. */
export interface AutoscalingSpec {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpuUtilization?: number;
  readonly memoryUtilization?: number;
  readonly metrics?: ScalingMetric[];
  readonly scaleUp: Required<ScalingRules>;
  readonly scaleDown: Required<ScalingRules>;
}

const MAX_PERIOD_S = 1800;
const MAX_WINDOW_S = 3600;

/**
 * Merges user scaling rules over defaults and checks them against the API
 * server's rules (window 0..3600 s, at least one policy, values > 0, periods
 * 1..1800 s).
 */
export function scalingRules(user: ScalingRules | undefined, defaults: Required<ScalingRules>, where: string, field: string): Required<ScalingRules> {
  const rules: Required<ScalingRules> = {
    stabilizationWindow: user?.stabilizationWindow ?? defaults.stabilizationWindow,
    policies: user?.policies ?? defaults.policies,
    selectPolicy: user?.selectPolicy ?? defaults.selectPolicy,
  };
  const window = rules.stabilizationWindow.toMilliseconds() / 1000;
  if (!Number.isInteger(window) || window < 0 || window > MAX_WINDOW_S) {
    throw new Error(`${where}: ${field}.stabilizationWindow must be a whole number of seconds from 0 to ${MAX_WINDOW_S}, got ${window}s`);
  }
  if (rules.policies.length === 0) {
    throw new Error(`${where}: ${field}.policies is empty; the API server requires at least one policy (use selectPolicy: Disabled to stop scaling in this direction)`);
  }
  rules.policies.forEach((p, i) => {
    const period = p.period.toMilliseconds() / 1000;
    if (!Number.isInteger(period) || period < 1 || period > MAX_PERIOD_S) {
      throw new Error(`${where}: ${field}.policies[${i}].period must be a whole number of seconds from 1 to ${MAX_PERIOD_S}, got ${period}s`);
    }
    assertInteger(p.value, where, `${field}.policies[${i}].value`, 1);
  });
  return rules;
}

/**
 * Checks the autoscaling spec against the API server's validation and the
 * controller's needs. `scope` is where the HPA is rendered (for the
 * same-app check of adapter handles).
 */
export function checkAutoscaling(scope: IConstruct, spec: AutoscalingSpec, where: string): void {
  assertInteger(spec.maxReplicas, where, 'maxReplicas', 1);
  assertInteger(spec.minReplicas, where, 'minReplicas', 0);
  if (spec.maxReplicas < spec.minReplicas) {
    throw new Error(`${where}: maxReplicas (${spec.maxReplicas}) is below minReplicas (${spec.minReplicas}); raise maxReplicas or lower minReplicas`);
  }
  if (spec.cpuUtilization !== undefined) assertInteger(spec.cpuUtilization, where, 'cpuUtilization', 1);
  if (spec.memoryUtilization !== undefined) assertInteger(spec.memoryUtilization, where, 'memoryUtilization', 1);
  const metrics = spec.metrics ?? [];
  if (spec.minReplicas === 0 && !metrics.some(m => m.type === 'Object' || m.type === 'External')) {
    throw new Error(`${where}: minReplicas 0 needs at least one Object or External metric (the API server refuses scale-to-zero otherwise; it also needs the HPAScaleToZero feature gate); set minReplicas to 1 or more`);
  }
  if (spec.cpuUtilization === undefined && spec.memoryUtilization === undefined && metrics.length === 0) {
    throw new Error(`${where}: no scaling metric; set cpuUtilization, memoryUtilization or metrics`);
  }
  metrics.forEach((m, i) => checkMetric(scope, m, where, `metrics[${i}]`));
}

function checkMetric(scope: IConstruct, m: ScalingMetric, where: string, field: string): void {
  const name = m.metric.metricName;
  const wantApi = m.type === 'External' ? MetricsApi.EXTERNAL : MetricsApi.CUSTOM;
  if (m.metric.api !== wantApi) {
    throw new Error(`${where}: ${field} (${m.type} metric "${name}") needs a metric of ${wantApi}, but "${name}" is served by ${m.metric.api}; use ScalingMetric.${m.metric.api === MetricsApi.EXTERNAL ? 'external' : 'pods or ScalingMetric.object'}`);
  }
  const adapter = m.metric.adapter;
  if (adapter && adapter.node.root !== scope.node.root) {
    throw new Error(`${where}: ${field} (${m.type} metric "${name}") is served by PromAdapter "${adapter.node.id}" of another app; add the rule to an adapter in this app, or use AdapterMetric.servedElsewhere(...) if another installation serves it`);
  }
  if (adapter && m.type === 'Pods' && !m.metric.resources.includes('pod')) {
    throw new Error(`${where}: ${field} (Pods metric "${name}") is not associated with pods by its adapter rule (resources: ${m.metric.resources.join(', ') || 'none'}); add a pod override to the rule`);
  }
  if (adapter && m.type === 'Object') {
    const resource = m.describedObject!.kind.toLowerCase();
    if (!m.metric.resources.includes(resource)) {
      throw new Error(`${where}: ${field} (Object metric "${name}") describes a ${m.describedObject!.kind}, but its adapter rule reports it for ${m.metric.resources.join(', ') || 'nothing'}; add a "${resource}" override to the rule`);
    }
  }
  const t = m.target;
  const set = [t.value !== undefined, t.averageValue !== undefined].filter(Boolean).length;
  if (set !== 1) {
    throw new Error(`${where}: ${field} (${m.type} metric "${name}") needs exactly one of value or averageValue`);
  }
  if (m.type === 'Pods' && t.averageValue === undefined) {
    throw new Error(`${where}: ${field} (Pods metric "${name}") needs averageValue`);
  }
  const text = (t.value ?? t.averageValue)!;
  const q = parseQuantity(text, `${where}: ${field} (${m.type} metric "${name}") target`);
  if (!q.isPositive) {
    throw new Error(`${where}: ${field} (${m.type} metric "${name}") target must be positive, got "${text}"`);
  }
  if (m.describedObject) assertDnsSubdomain(m.describedObject.name, where, `${field}.describedObject.name`);
}

/** Renders the `spec.metrics` list of an autoscaling/v2 HPA. */
function renderMetrics(spec: AutoscalingSpec): k8s.MetricSpecV2[] {
  const out: k8s.MetricSpecV2[] = [];
  const resource = (name: string, averageUtilization: number): k8s.MetricSpecV2 => ({
    type: 'Resource', resource: { name, target: { type: 'Utilization', averageUtilization } },
  });
  if (spec.cpuUtilization !== undefined) out.push(resource('cpu', spec.cpuUtilization));
  if (spec.memoryUtilization !== undefined) out.push(resource('memory', spec.memoryUtilization));
  for (const m of spec.metrics ?? []) {
    const target: k8s.MetricTargetV2 = m.target.averageValue !== undefined
      ? { type: 'AverageValue', averageValue: k8s.Quantity.fromString(m.target.averageValue) }
      : { type: 'Value', value: k8s.Quantity.fromString(m.target.value!) };
    const metric = { name: m.metric.metricName, ...(m.selector ? { selector: { matchLabels: { ...m.selector } } } : {}) };
    if (m.type === 'Pods') out.push({ type: 'Pods', pods: { metric, target } });
    if (m.type === 'External') out.push({ type: 'External', external: { metric, target } });
    if (m.type === 'Object') out.push({ type: 'Object', object: { metric, target, describedObject: { ...m.describedObject! } } });
  }
  return out;
}

/** Renders one scaling direction of `spec.behavior`. */
function renderRules(r: Required<ScalingRules>): k8s.HpaScalingRulesV2 {
  return {
    stabilizationWindowSeconds: r.stabilizationWindow.toSeconds(),
    selectPolicy: r.selectPolicy,
    policies: r.policies.map(p => ({ type: p.type, value: p.value, periodSeconds: p.period.toSeconds() })),
  };
}

/**
 * Renders an autoscaling/v2 HorizontalPodAutoscaler for a Deployment (from
 * the L1 class: cdk8s-plus-27's HPA renders invalid policies for
 * minReplicas 0 and takes only numeric targets).
 */
export function renderHpa(scope: IConstruct, id: string, metadata: k8s.ObjectMeta, target: string, spec: AutoscalingSpec): ApiObject {
  const hpa = new MemoizedKubeHorizontalPodAutoscalerV2(scope as any, id, {
    metadata,
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      metrics: renderMetrics(spec),
      behavior: { scaleUp: renderRules(spec.scaleUp), scaleDown: renderRules(spec.scaleDown) },
    },
  });
  const namespace = metadata.namespace ?? Chart.of(hpa).namespace ?? 'default';
  hpaTargets(scope).known.set(hpa, { hpa: objectRef({ metadata: { name: metadata.name, namespace } }), target: `Deployment ${namespace}/${target}` });
  return hpa;
}

/**
 * Fails the synth unless every container and restartable init container
 * (sidecar) of `workload`'s pod template requests each resource that a
 * Utilization metric scales on: otherwise the HPA reports `<unknown>` and
 * does nothing ("missing request for cpu in container ...").
 */
export function utilizationRequestErrors(workload: ApiObject, spec: AutoscalingSpec, where: string): string[] {
  const resources = [
    ...(spec.cpuUtilization !== undefined ? ['cpu'] : []),
    ...(spec.memoryUtilization !== undefined ? ['memory'] : []),
  ];
  if (!resources.length) return [];
  const pod = podSpecOf(renderedJson(workload))?.spec ?? {};
  const containers = [
    ...(pod.initContainers ?? []).filter((c: any) => c.restartPolicy === 'Always'),
    ...(pod.containers ?? []),
  ];
  const errors: string[] = [];
  for (const c of containers) {
    for (const r of resources) {
      if (c.resources?.requests?.[r] === undefined) {
        errors.push(`${where}: ${r}Utilization needs a ${r} request on every container of the pod, sidecars included, but container "${c.name}" has none; the HPA would show <unknown> and never scale. Set resources.requests.${r} on it, or scale on a Pods metric instead`);
      }
    }
  }
  return errors;
}

const HPA_TARGETS = Symbol.for('cdk8s-autoscaling.HpaTargets');

interface HpaTargets {
  /** HPAs this library rendered, with their target; other HPAs are rendered to read theirs. */
  readonly known: Map<ApiObject, { hpa: string; target: string }>;
}

/**
 * The app's HPA registry. The first call registers (once per app) a
 * validation that fails when two HorizontalPodAutoscalers of the app, from
 * any construct or raw L1 object, target the same workload: the controllers
 * would fight (AmbiguousSelector).
 */
function hpaTargets(scope: IConstruct): HpaTargets {
  const root = scope.node.root as any;
  if (root[HPA_TARGETS]) return root[HPA_TARGETS];
  const registry: HpaTargets = { known: new Map() };
  Object.defineProperty(root, HPA_TARGETS, { value: registry, enumerable: false });
  ensureRenderPass(root);
  root.node.addValidation({
    validate: () => {
      const byTarget = new Map<string, string[]>();
      for (const c of (root as IConstruct).node.findAll()) {
        if (!ApiObject.isApiObject(c) || c.kind !== 'HorizontalPodAutoscaler') continue;
        let entry = registry.known.get(c);
        if (!entry) {
          const json = renderedJson(c);
          const ns = json.metadata?.namespace ?? Chart.of(c).namespace ?? 'default';
          const ref = json.spec?.scaleTargetRef ?? {};
          entry = { hpa: objectRef({ metadata: { ...json.metadata, namespace: ns } }), target: `${ref.kind} ${ns}/${ref.name}` };
        }
        byTarget.set(entry.target, [...(byTarget.get(entry.target) ?? []), entry.hpa]);
      }
      return [...byTarget.entries()].filter(([, hpas]) => hpas.length > 1).map(([target, hpas]) =>
        `HorizontalPodAutoscalers ${hpas.join(' and ')} all target ${target}; a workload must have exactly one HPA (put all metrics in one)`);
    },
  });
  return registry;
}
