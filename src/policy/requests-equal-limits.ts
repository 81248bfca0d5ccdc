import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { objectRef, POD_KINDS, POD_SPEC_PATHS, podSpecOf } from '../core/manifests';
import { Quantity } from '../core/quantity';
import { AppContext, AppSlot } from '../core/app-context';
import { registerAppChecks } from '../core/app-checks';
import { appConstructs, oncePerRendering, renderedJson } from '../core/render-pass';

/**
 * Options of the requests == limits policy.
 */
export interface RequestsEqualLimitsOptions {
  /**
   * Permit containers to omit the cpu limit (the cpu request is still
   * required, and a cpu limit that is set must equal the request). For
   * clusters that run without CFS quotas.
   *
   * @default false
   */
  readonly allowMissingCpuLimit?: boolean;
}

/**
 * One breach of the requests == limits rule.
 */
export interface PolicyViolation {
  /** Kind of the object, e.g. `Deployment`. */
  readonly kind: string;
  /** `namespace/name`, or `name` for an object without a namespace. */
  readonly object: string;
  /** Container name; init containers are marked `(init)` in the message. */
  readonly container: string;
  /** `cpu` or `memory`. */
  readonly resource: string;
  /** JSON path of the container's `resources`, e.g. `spec.template.spec.containers[0].resources`. */
  readonly path: string;
  /** One line naming kind, object, container, resource and both values, with the fix. */
  readonly message: string;
}

/** The kinds whose pod templates the policy inspects. */
export const POLICY_KINDS: readonly string[] = POD_KINDS;

const RESOURCES = ['cpu', 'memory'] as const;

function quantityOrError(value: unknown): Quantity | string {
  try {
    return Quantity.parse(value as string);
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Checks one Kubernetes manifest (plain JSON, as rendered) against the rule:
 * every container and init container has cpu and memory requests, and limits
 * equal to them (compared as quantities, so `"1"` equals `"1000m"`).
 *
 * @returns one violation per container and resource that breaks the rule.
 */
export function checkRequestsEqualLimits(manifest: any, options: RequestsEqualLimitsOptions = {}): PolicyViolation[] {
  const pod = podSpecOf(manifest);
  if (!pod) return [];
  const kind: string = manifest.kind;
  const object = objectRef(manifest);
  const out: PolicyViolation[] = [];

  for (const list of ['initContainers', 'containers'] as const) {
    const containers: any[] = Array.isArray(pod.spec[list]) ? pod.spec[list] : [];
    containers.forEach((c, i) => {
      const label = `container "${c?.name}"${list === 'initContainers' ? ' (init)' : ''}`;
      const path = `${pod.path}.${list}[${i}].resources`;
      const requests = c?.resources?.requests ?? {};
      const limits = c?.resources?.limits ?? {};
      for (const resource of RESOURCES) {
        const report = (problem: string) => out.push({
          kind, object, container: c?.name, resource, path,
          message: `${kind} ${object}, ${label}: ${problem}`,
        });
        const req = requests[resource];
        const lim = limits[resource];
        const limitOptional = resource === 'cpu' && options.allowMissingCpuLimit;
        if (req === undefined && lim === undefined) {
          report(`${resource} request and limit are missing (set resources.requests.${resource} and resources.limits.${resource} to the same value)`);
          continue;
        }
        if (req === undefined) {
          report(`${resource} request is missing, limit is ${lim} (set resources.requests.${resource} to ${lim})`);
          continue;
        }
        if (lim === undefined) {
          if (!limitOptional) {
            report(`${resource} limit is missing, request is ${req} (set resources.limits.${resource} to ${req})`);
          }
          continue;
        }
        const rq = quantityOrError(req);
        const lq = quantityOrError(lim);
        if (typeof rq === 'string' || typeof lq === 'string') {
          report(`${resource}: ${typeof rq === 'string' ? rq : lq}`);
          continue;
        }
        if (!rq.equals(lq)) {
          report(`${resource} limit ${lim} != request ${req} (set both to the same value)`);
        }
      }
    });
  }
  return out;
}

/** Formats violations as one error text, one line each. */
export function formatViolations(violations: readonly PolicyViolation[]): string {
  return [
    `requests == limits policy: ${violations.length} violation${violations.length === 1 ? '' : 's'} (every container needs cpu and memory requests, `
      + `and limits equal to them):`,
    ...violations.map(v => `  - ${v.message}`),
  ].join('\n');
}

/** The scopes of the app that enforce the policy, with their options. */
const POLICY_SCOPES = new AppSlot('scopes that enforce requests == limits', () => new Map<IConstruct, RequestsEqualLimitsOptions>());

function policyOf(c: IConstruct): RequestsEqualLimitsOptions | undefined {
  return AppContext.of(c).get(POLICY_SCOPES).get(c);
}

/**
 * Enforces the requests == limits rule on every `ApiObject` under `scope`
 * (raw L1 objects, cdk8s-plus workloads and JSON patches alike: it inspects
 * the rendered JSON). A breach fails the synth with one error listing every
 * violation; nothing is written.
 *
 * When scopes nest (an app-wide call and a construct's own), each object is
 * checked once, by the innermost scope that enforces the policy.
 *
 * Calling it again on the same scope replaces the options.
 */
export function enforceRequestsEqualLimits(scope: IConstruct, options: RequestsEqualLimitsOptions = {}): void {
  const registered = policyOf(scope) !== undefined;
  registerAppChecks(scope);
  AppContext.of(scope).get(POLICY_SCOPES).set(scope, { ...options });
  if (registered) return;

  scope.node.addValidation({
    validate: () => {
      const scopes = AppContext.of(scope).get(POLICY_SCOPES);
      const opts = scopes.get(scope)!;
      const violations: PolicyViolation[] = [];
      for (const c of appConstructs(scope)) {
        if (!ApiObject.isApiObject(c) || !(c.kind in POD_SPEC_PATHS) || nearestPolicyScope(c, scopes) !== scope) continue;
        violations.push(...checkerFor(opts)(renderedJson(c)));
      }
      return violations.length ? [formatViolations(violations)] : [];
    },
  });
}

/** The check under each scope's options (replaced when the policy is enforced again), once per rendering. */
const checkers = new WeakMap<RequestsEqualLimitsOptions, (json: any) => PolicyViolation[]>();

function checkerFor(options: RequestsEqualLimitsOptions): (json: any) => PolicyViolation[] {
  let check = checkers.get(options);
  if (!check) checkers.set(options, check = oncePerRendering(json => checkRequestsEqualLimits(json, options)));
  return check;
}

function nearestPolicyScope(c: IConstruct, scopes: Map<IConstruct, RequestsEqualLimitsOptions>): IConstruct | undefined {
  for (let s: IConstruct | undefined = c; s; s = s.node.scope) {
    if (scopes.has(s)) return s;
  }
  return undefined;
}
