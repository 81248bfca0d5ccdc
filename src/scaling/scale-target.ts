import { ApiObject } from 'cdk8s';
import { IScalable } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { isDnsLabel, isDnsSubdomain } from '../core/assertions';

/** A reference to an object with a scale subresource, by name. */
export interface ScaleTargetReference {
  /** API version, e.g. `apps/v1` or `example.com/v1alpha1`. */
  readonly apiVersion: string;
  /** Kind, e.g. `Deployment` or a custom resource's kind. */
  readonly kind: string;
  /** Name of the object. */
  readonly name: string;
  /**
   * Namespace of the object; an HPA can only scale objects of its own namespace.
   * @default - the autoscaler's namespace
   */
  readonly namespace?: string;
}

/** What an {@link Autoscaler} can scale. */
export type AutoscalerTarget = IScalable | ApiObject | ScaleTarget;

/** The built-in kinds with a scale subresource, and their API version. */
const SCALABLE_BUILTINS: Record<string, string> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  ReplicationController: 'v1',
};

/** API groups of Kubernetes itself: their kinds other than the above have no scale subresource. */
const BUILTIN_GROUPS = new Set([
  '', 'apps', 'batch', 'autoscaling', 'policy', 'networking.k8s.io', 'rbac.authorization.k8s.io', 'storage.k8s.io',
  'scheduling.k8s.io', 'apiextensions.k8s.io', 'apiregistration.k8s.io', 'admissionregistration.k8s.io', 'node.k8s.io',
  'certificates.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io', 'events.k8s.io', 'flowcontrol.apiserver.k8s.io',
  'resource.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io', 'metrics.k8s.io',
]);

/** The API group of an apiVersion (`""` for the core group). */
export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/**
 * An object an {@link Autoscaler} scales when it is neither a cdk8s-plus
 * workload nor an `ApiObject` of this app: typically a custom resource whose
 * CRD declares the scale subresource.
 */
export class ScaleTarget {
  /**
   * A custom resource (or any object with a scale subresource) by reference.
   * When the app renders the CustomResourceDefinition of its kind, the synth
   * checks that the version declares `subresources.scale`.
   */
  public static custom(ref: ScaleTargetReference): ScaleTarget {
    return new ScaleTarget(ref);
  }

  /** API version of the target. */
  public readonly apiVersion: string;
  /** Kind of the target. */
  public readonly kind: string;
  /** Name of the target. */
  public readonly name: string;
  /**
   * Namespace of the target.
   * @default - the autoscaler's namespace
   */
  public readonly namespace?: string;

  private constructor(ref: ScaleTargetReference) {
    this.apiVersion = ref?.apiVersion;
    this.kind = ref?.kind;
    this.name = ref?.name;
    this.namespace = ref?.namespace;
  }
}

/** A target as the Autoscaler uses it. */
export interface ResolvedTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  /** The target's namespace, when it is known (`undefined`: the HPA's). */
  readonly namespace?: string;
  /** The object of this app that renders the target, when there is one. */
  readonly object?: ApiObject;
  /** Whether the target is not a built-in workload (its scale subresource comes from a CRD). */
  readonly custom: boolean;
}

function isScalable(x: any): x is IScalable {
  return x && typeof x.markHasAutoscaler === 'function' && typeof x.toScalingTarget === 'function';
}

/**
 * Resolves an Autoscaler's `target` (marking a cdk8s-plus workload as
 * autoscaled, so it renders no `spec.replicas`); returns the problems
 * instead when the target cannot be scaled.
 */
export function resolveTarget(target: AutoscalerTarget | undefined): ResolvedTarget | string[] {
  if (target instanceof ScaleTarget) {
    return checkReference({ ...target, custom: !(target.kind in SCALABLE_BUILTINS) }, 'target');
  }
  if (target && ApiObject.isApiObject(target)) {
    const obj = target as ApiObject;
    return checkReference({
      apiVersion: obj.apiVersion, kind: obj.kind, name: obj.name, namespace: obj.metadata.namespace,
      object: obj, custom: !(obj.kind in SCALABLE_BUILTINS),
    }, `target (${obj.kind} "${obj.node.path}")`);
  }
  if (isScalable(target)) {
    const ref = target.toScalingTarget();
    if (ref.replicas !== undefined) {
      return [`target ${ref.kind} "${ref.name}" sets replicas: ${ref.replicas}; remove it: the HPA owns the replica count, and a fixed one in Git `
        + `would fight it on every sync`];
    }
    target.markHasAutoscaler();
    const object = ApiObject.of(target as any);
    return { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, namespace: object.metadata.namespace, object, custom: false };
  }
  const object = target !== undefined && Construct.isConstruct(target) ? apiObjectOf(target) : undefined;
  if (object) {
    const refused = checkReference({
      apiVersion: object.apiVersion, kind: object.kind, name: object.name, namespace: object.metadata.namespace, object, custom: false,
    }, `target (cdk8s-plus ${object.kind} "${(object.node.scope ?? object).node.path}")`);
    if (Array.isArray(refused)) return refused;
  }
  return ['target is required: a cdk8s-plus Deployment or StatefulSet, an ApiObject of kind Deployment, StatefulSet or ReplicaSet, or '
    + 'ScaleTarget.custom({ apiVersion, kind, name })'];
}

/**
 * For a kind of Kubernetes itself that has no scale subresource (a
 * DaemonSet, a Job, a CronJob, a Pod...): what an HPA can scale instead;
 * `undefined` for scalable kinds and custom resources.
 */
export function noScaleSubresource(apiVersion: string, kind: string): string | undefined {
  if (kind in SCALABLE_BUILTINS || !BUILTIN_GROUPS.has(groupOf(apiVersion))) return undefined;
  return `an HPA can scale ${Object.keys(SCALABLE_BUILTINS).join(', ')} or a custom resource whose CRD declares subresources.scale`;
}

/** The ApiObject a construct renders (a cdk8s-plus workload's), if it has one. */
function apiObjectOf(c: Construct): ApiObject | undefined {
  try {
    return ApiObject.of(c);
  } catch {
    return undefined;
  }
}

function checkReference(t: ResolvedTarget, field: string): ResolvedTarget | string[] {
  const problems: string[] = [];
  if (!t.apiVersion || !t.kind) problems.push(`${field} needs apiVersion and kind`);
  if (!isDnsSubdomain(t.name)) problems.push(`${field} name "${t.name}" is not a valid object name`);
  if (t.namespace !== undefined && !isDnsLabel(t.namespace)) problems.push(`${field} namespace "${t.namespace}" is not a valid DNS label`);
  const instead = t.apiVersion && t.kind ? noScaleSubresource(t.apiVersion, t.kind) : undefined;
  if (instead) problems.push(`${field} is a ${t.kind} (${t.apiVersion}), which has no scale subresource; ${instead}`);
  return problems.length ? problems : t;
}
