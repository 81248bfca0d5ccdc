import { ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { finishConstruct } from '../core/app-checks';
import { registerAutoscalerHpa, registerCustomTarget } from './autoscaler-checks';
import { describe, isDnsLabel, isDnsSubdomain } from '../core/assertions';
import { podSpecOf } from '../core/manifests';
import { Problems } from '../core/problems';
import { oncePerRendering, renderedJson } from '../core/render-pass';
import { AutoscalerTarget, resolveTarget, ResolvedTarget } from './scale-target';
import { downscalerImplementation, registerSchedule } from './kube-downscaler';
import { MetricSourceType, ScalingMetric } from './scaling-metric';
import { DOWNSCALER_EXCLUDE_ANNOTATION, ScalingSchedule } from './scaling-schedule';
import { KUBERNETES_SCALE_DOWN, KUBERNETES_SCALE_UP, renderRules, ScalingRules, scalingRules } from './scaling-rules';

/** Props of {@link Autoscaler}. */
export interface AutoscalerProps {
  /**
   * What to scale: a cdk8s-plus `Deployment` or `StatefulSet` (marked as
   * autoscaled, so it renders no `spec.replicas`), an `ApiObject` of kind
   * Deployment, StatefulSet or ReplicaSet (or of a custom resource), or
   * `ScaleTarget.custom(...)`.
   */
  readonly target: AutoscalerTarget;
  /** Most replicas. */
  readonly maxReplicas: number;
  /**
   * Fewest replicas. 0 only with `scaleToZero`.
   * @default 1, or 0 with scaleToZero
   */
  readonly minReplicas?: number;
  /** What to scale on; at least one. The HPA takes the largest replica count they propose. */
  readonly metrics: ScalingMetric[];
  /**
   * Scale-up behavior, always rendered.
   * @default - Kubernetes' own: no stabilization; +4 pods or +100% per 15 s, whichever is more
   */
  readonly scaleUp?: ScalingRules;
  /**
   * Scale-down behavior, always rendered.
   * @default - Kubernetes' own: 5 min stabilization; down to any count per 15 s
   */
  readonly scaleDown?: ScalingRules;
  /**
   * Allow `minReplicas: 0`. Needs the HPAScaleToZero feature gate (alpha, off
   * by default on most clusters) and at least one Object or External metric,
   * which is what wakes the workload up.
   * @default false
   */
  readonly scaleToZero?: boolean;
  /**
   * Name of the HorizontalPodAutoscaler.
   * @default - the target's name
   */
  readonly name?: string;
  /**
   * Namespace of the HorizontalPodAutoscaler; it must be the target's.
   * @default - the target's namespace, else the chart's
   */
  readonly namespace?: string;
  /**
   * Labels of the HorizontalPodAutoscaler.
   * @default - none
   */
  readonly labels?: Record<string, string>;
  /**
   * Off-hours: a lower floor at night and on weekends, applied by the app's kube-downscaler to the HPA (the target is
   * excluded from the downscaler, so the two never fight).
   * @default - none: the floor is minReplicas at all times
   */
  readonly schedule?: ScalingSchedule;
}

/** The checked, defaulted autoscaling settings. */
export interface AutoscalingSpec {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly metrics: ScalingMetric[];
  readonly scaleUp: Required<ScalingRules>;
  readonly scaleDown: Required<ScalingRules>;
}

/** A library construct that renders an Autoscaler for its own workload. */
export interface AutoscalerHost {
  /** How messages name the host: `ScalableFlaskApp "web"`. */
  readonly where: string;
  /** The host's behavior defaults. */
  readonly defaults: { readonly scaleUp: Required<ScalingRules>; readonly scaleDown: Required<ScalingRules> };
  /**
   * What {@link checkAutoscaling} made of these props among the host's own checks, when nothing it read can have changed
   * since; the Autoscaler then does not check them again.
   * @default - checked again
   */
  readonly checked?: AutoscalingSpec;
}

/**
 * An autoscaling/v2 HorizontalPodAutoscaler for anything with a scale
 * subresource, checked at synth: metrics tied to the adapter rules that
 * serve them, requests present where a Utilization target needs them, no
 * fixed replica count on the target, one autoscaler per target (KEDA
 * included), and the API server's own rules. Behavior is always explicit.
 */
export class Autoscaler extends Construct {
  /** The HorizontalPodAutoscaler (an `ApiObject`, so `addJsonPatch` works; patches are checked too). */
  public readonly hpa: ApiObject;
  /** Name of the HorizontalPodAutoscaler. */
  public readonly name: string;
  /** Fewest replicas. */
  public readonly minReplicas: number;
  /** Most replicas. */
  public readonly maxReplicas: number;
  /**
   * The object of this app that renders the target (for the simulator's pod requests).
   * @internal
   */
  public readonly _targetObject?: ApiObject;
  /**
   * The metrics (for the alerts and the dashboard).
   * @internal
   */
  public readonly _metrics: readonly ScalingMetric[];
  /**
   * The off-hours schedule.
   * @default - none
   */
  public readonly schedule?: ScalingSchedule;

  /**
   * @param host a library construct that renders this Autoscaler for its own
   * workload (see {@link hostedAutoscaler}); not for apps.
   */
  constructor(scope: Construct, id: string, props: AutoscalerProps, host?: AutoscalerHost) {
    super(scope, id);
    const problems = new Problems(host?.where ?? describe(this));

    const target = resolveTarget(props.target);
    if (Array.isArray(target)) target.forEach(p => problems.add(p));
    const spec = host?.checked
      ?? checkAutoscaling(this, props, host?.defaults ?? { scaleUp: KUBERNETES_SCALE_UP, scaleDown: KUBERNETES_SCALE_DOWN }, problems);
    const resolved = Array.isArray(target) ? undefined : target;
    this.name = props.name ?? resolved?.name ?? id;
    const namespace = resolved ? this.checkPlacement(props, resolved, problems) : undefined;
    props.schedule?._problems(spec.minReplicas).forEach(p => problems.add(p));
    problems.throwIfAny();

    this._targetObject = resolved!.object;
    this._metrics = spec.metrics;
    this.minReplicas = spec.minReplicas;
    this.maxReplicas = spec.maxReplicas;
    this.hpa = this.renderHpa(resolved!, namespace, props.labels, spec);
    registerAutoscalerHpa(this.hpa);
    this.schedule = props.schedule;
    if (props.schedule) this.applySchedule(props.schedule, resolved!, problems.where);
    this.registerChecks(resolved!, spec, problems.where);
    finishConstruct(this);
  }

  /**
   * The schedule on the HPA, as the app's downscaler reads it, and the target excluded from the downscaler: the HPA's floor
   * moves, the target's replicas stay the HPA's.
   */
  private applySchedule(schedule: ScalingSchedule, target: ResolvedTarget, where: string): void {
    const implementation = downscalerImplementation(this);
    for (const [key, value] of Object.entries(schedule._annotations(implementation))) this.hpa.metadata.addAnnotation(key, value);
    target.object?.metadata.addAnnotation(DOWNSCALER_EXCLUDE_ANNOTATION, 'true');
    registerSchedule(where, this.hpa, schedule, implementation);
  }

  /** The HPA's name and namespace, which must be the target's; returns the namespace to render. */
  private checkPlacement(props: AutoscalerProps, target: ResolvedTarget, problems: Problems): string | undefined {
    if (!isDnsSubdomain(this.name)) problems.add(`name "${this.name}" is not a valid object name (lower-case letters, digits, '-' and '.')`);
    if (props.namespace !== undefined && !isDnsLabel(props.namespace)) {
      problems.add(`namespace "${props.namespace}" is not a valid DNS label`);
    }
    const namespace = props.namespace ?? target.namespace;
    const effective = namespace ?? Chart.of(this).namespace;
    if (target.namespace !== undefined && effective !== target.namespace) {
      problems.add(`namespace "${effective}" is not the target's ("${target.namespace}"); an HPA scales only objects of its own namespace`);
    }
    if (target.namespace === undefined && target.object && effective !== undefined) {
      problems.add(`the target ${target.kind} "${target.name}" has no namespace, but the HPA would be in "${effective}"; set the target's namespace`);
    }
    return namespace;
  }

  private renderHpa(target: ResolvedTarget, namespace: string | undefined, labels: Record<string, string> | undefined,
    spec: AutoscalingSpec): ApiObject {
    return new k8s.KubeHorizontalPodAutoscalerV2(this, 'Resource', {
      metadata: { name: this.name, ...(namespace !== undefined ? { namespace } : {}), ...(labels ? { labels: { ...labels } } : {}) },
      spec: {
        scaleTargetRef: { apiVersion: target.apiVersion, kind: target.kind, name: target.name },
        minReplicas: spec.minReplicas,
        maxReplicas: spec.maxReplicas,
        metrics: spec.metrics.map(m => m._render()),
        behavior: { scaleUp: renderRules(spec.scaleUp), scaleDown: renderRules(spec.scaleDown) },
      },
    });
  }

  /** What can change after construction (the target's pod template, other objects of the app) is checked at synth. */
  private registerChecks(target: ResolvedTarget, spec: AutoscalingSpec, where: string): void {
    if (target.custom) registerCustomTarget(this, where, target);
    const object = target.object;
    if (!object || target.custom) return;
    const targetProblems = oncePerRendering((json: any): string[] => {
      const out: string[] = [];
      if (json.spec?.replicas !== undefined) {
        out.push(`${where}: target ${target.kind} "${target.name}" renders spec.replicas (${json.spec.replicas}); remove it: `
          + 'the HPA owns the replica count, and GitOps would reset it on every sync');
      }
      const pod = podSpecOf(json)?.spec;
      spec.metrics.forEach((m, i) => out.push(...m._podProblems(pod, `metrics[${i}]`).map(p => `${where}: ${p}`)));
      return out;
    });
    this.node.addValidation({ validate: () => targetProblems(renderedJson(object)) });
  }
}

/**
 * An Autoscaler rendered by a library construct for its own workload: its
 * messages name the host, and the host's behavior defaults apply. The host
 * checks the same props with {@link checkAutoscaling} among its own first.
 */
export function hostedAutoscaler(scope: Construct, id: string, props: AutoscalerProps, host: AutoscalerHost): Autoscaler {
  return new Autoscaler(scope, id, props, host);
}

/**
 * Checks min/max, metrics and behavior against the API server's rules and
 * the controller's needs; records what is wrong in `problems`.
 */
export function checkAutoscaling(
  scope: IConstruct, props: Omit<AutoscalerProps, 'target'>, defaults: AutoscalerHost['defaults'], problems: Problems,
): AutoscalingSpec {
  const max = props.maxReplicas;
  const min = props.minReplicas ?? (props.scaleToZero ? 0 : 1);
  const metrics = props.metrics ?? [];
  if (!Number.isInteger(max) || max < 1) problems.add(`maxReplicas must be a whole number >= 1, got ${max}`);
  if (!Number.isInteger(min) || min < 0) problems.add(`minReplicas must be a whole number >= 0, got ${min}`);
  if (max < min) problems.add(`maxReplicas (${max}) is below minReplicas (${min}); raise maxReplicas or lower minReplicas`);
  if (min === 0 && !props.scaleToZero) {
    problems.add('minReplicas 0 needs scaleToZero: true, and the cluster needs the HPAScaleToZero feature gate (alpha, off by default on most '
      + 'clusters); set scaleToZero: true if yours enables it, or minReplicas to 1 or more');
  }
  if (props.scaleToZero && min > 0) problems.add(`scaleToZero needs minReplicas 0, got ${min}; drop minReplicas or scaleToZero`);
  if (min === 0 && !metrics.some(m => m.type === MetricSourceType.OBJECT || m.type === MetricSourceType.EXTERNAL)) {
    problems.add('minReplicas 0 needs at least one Object or External metric (the API server refuses scale-to-zero otherwise: '
      + 'with no pods, only such a metric can say when to wake up); add one, or set minReplicas to 1 or more');
  }
  if (metrics.length === 0) problems.add('metrics is empty; give at least one ScalingMetric (e.g. ScalingMetric.resource("cpu", { '
    + 'averageUtilization: 70 }))');
  metrics.forEach((m, i) => m._problems(scope, `metrics[${i}]`).forEach(p => problems.add(p)));
  return {
    minReplicas: min,
    maxReplicas: max,
    metrics,
    scaleUp: scalingRules(props.scaleUp, defaults.scaleUp, 'scaleUp', problems),
    scaleDown: scalingRules(props.scaleDown, defaults.scaleDown, 'scaleDown', problems),
  };
}
