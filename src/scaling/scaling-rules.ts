import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Problems } from '../core/problems';

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

/** The API server's bounds (pkg/apis/autoscaling/validation). */
export const MAX_PERIOD_SECONDS = 1800;
/** The API server's bound on `stabilizationWindowSeconds`. */
export const MAX_WINDOW_SECONDS = 3600;

/**
 * What the API server fills in for `behavior.scaleUp` (autoscaling/v2
 * defaults): no window; +4 pods or +100% per 15 s, whichever is more.
 */
export const KUBERNETES_SCALE_UP: Required<ScalingRules> = {
  stabilizationWindow: Duration.seconds(0),
  policies: [
    { type: ScalingPolicyType.PODS, value: 4, period: Duration.seconds(15) },
    { type: ScalingPolicyType.PERCENT, value: 100, period: Duration.seconds(15) },
  ],
  selectPolicy: SelectPolicy.MAX,
};

/**
 * What the API server and controller use for `behavior.scaleDown`: a 5 min
 * window (the controller-manager's default); down to any count per 15 s.
 */
export const KUBERNETES_SCALE_DOWN: Required<ScalingRules> = {
  stabilizationWindow: Duration.minutes(5),
  policies: [{ type: ScalingPolicyType.PERCENT, value: 100, period: Duration.seconds(15) }],
  selectPolicy: SelectPolicy.MAX,
};

/**
 * Merges user scaling rules over defaults and records in `problems` what the
 * API server would refuse (window 0..3600 s, at least one policy, values > 0,
 * periods 1..1800 s).
 */
export function scalingRules(user: ScalingRules | undefined, defaults: Required<ScalingRules>, field: string,
  problems: Problems): Required<ScalingRules> {
  const rules: Required<ScalingRules> = {
    stabilizationWindow: user?.stabilizationWindow ?? defaults.stabilizationWindow,
    policies: user?.policies ?? defaults.policies,
    selectPolicy: user?.selectPolicy ?? defaults.selectPolicy,
  };
  const window = rules.stabilizationWindow.toMilliseconds() / 1000;
  if (!Number.isInteger(window) || window < 0 || window > MAX_WINDOW_SECONDS) {
    problems.add(`${field}.stabilizationWindow must be a whole number of seconds from 0 to ${MAX_WINDOW_SECONDS}, got ${window}s`);
  }
  if (rules.policies.length === 0) {
    problems.add(`${field}.policies is empty; the API server requires at least one policy (use selectPolicy: Disabled to stop scaling in this `
      + `direction)`);
  }
  rules.policies.forEach((p, i) => {
    const period = p.period.toMilliseconds() / 1000;
    if (!Number.isInteger(period) || period < 1 || period > MAX_PERIOD_SECONDS) {
      problems.add(`${field}.policies[${i}].period must be a whole number of seconds from 1 to ${MAX_PERIOD_SECONDS}, got ${period}s`);
    }
    if (!Number.isInteger(p.value) || p.value < 1) {
      problems.add(`${field}.policies[${i}].value must be a whole number >= 1, got ${p.value}`);
    }
  });
  return rules;
}

/** Renders one scaling direction of `spec.behavior`. */
export function renderRules(r: Required<ScalingRules>): k8s.HpaScalingRulesV2 {
  return {
    stabilizationWindowSeconds: r.stabilizationWindow.toSeconds(),
    selectPolicy: r.selectPolicy,
    policies: r.policies.map(p => ({ type: p.type, value: p.value, periodSeconds: p.period.toSeconds() })),
  };
}
