import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { finishConstruct, renderOnce } from '../core/app-checks';
import { podSecurityLabels } from '../core/labels';
import { assertDnsLabel, assertDnsSubdomain, assertInteger, describe } from '../core/assertions';
import { Problems } from '../core/problems';
import { amountText, CpuAmount, MemoryAmount, parseQuantity, Quantity } from '../core/quantity';
import { parseAmounts, ParsedAmounts, ResourceAmounts, toK8sQuantity } from '../core/resources';

/**
 * Pod Security Standards level, applied through the namespace's
 * `pod-security.kubernetes.io/{enforce,audit,warn}` labels.
 */
export enum PodSecurityLevel {
  /** Heavily restricted: the level every workload of this library meets. */
  RESTRICTED = 'restricted',
  /** Prevents known privilege escalations. */
  BASELINE = 'baseline',
  /** Unrestricted. */
  PRIVILEGED = 'privileged',
}

/**
 * Scopes a ResourceQuota can be limited to. `BestEffort` is not offered: a
 * BestEffort quota cannot track cpu and memory.
 */
export enum QuotaScope {
  /** Pods with `activeDeadlineSeconds` set (Jobs). */
  TERMINATING = 'Terminating',
  /** Pods without `activeDeadlineSeconds`. */
  NOT_TERMINATING = 'NotTerminating',
  /** Pods that are not BestEffort (have some request or limit). */
  NOT_BEST_EFFORT = 'NotBestEffort',
}

/**
 * Optional bounds of a single container's resources.
 */
export interface ContainerBounds {
  /**
   * CPU bound: `Cpu` or a quantity.
   * @default - no bound
   */
  readonly cpu?: CpuAmount;
  /**
   * Memory bound: `Size` or a quantity.
   * @default - no bound
   */
  readonly memory?: MemoryAmount;
}

/**
 * Props of {@link ResourceQuotaPolicy}.
 */
export interface ResourceQuotaPolicyProps {
  /**
   * The namespace the quota and limit range govern. Must be a DNS label.
   */
  readonly namespace: string;

  /**
   * Render the Namespace object too. Set false when the namespace is created elsewhere.
   * @default true
   */
  readonly createNamespace?: boolean;

  /**
   * Extra labels of the Namespace (only when `createNamespace` is true).
   * @default - none
   */
  readonly namespaceLabels?: Record<string, string>;

  /**
   * Pod Security Standards level enforced, audited and warned on in the
   * namespace (only when `createNamespace` is true). `undefined` renders no
   * Pod Security labels.
   * @default PodSecurityLevel.RESTRICTED
   */
  readonly podSecurity?: PodSecurityLevel;

  /**
   * Name of the ResourceQuota and of the LimitRange.
   * @default "requests-equal-limits"
   */
  readonly name?: string;

  /**
   * Total cpu and memory of all pods in the namespace. Rendered as both
   * `requests.*` and `limits.*` of the quota's `hard`, so requests and limits
   * share one budget.
   */
  readonly quota: ResourceAmounts;

  /**
   * Maximum number of pods in the namespace.
   * @default - no limit
   */
  readonly pods?: number;

  /**
   * Maximum number of Services in the namespace.
   * @default - no limit
   */
  readonly services?: number;

  /**
   * Further object counts, keyed as in a ResourceQuota's `hard`:
   * `{ 'count/deployments.apps': 20, 'services.loadbalancers': 0, persistentvolumeclaims: 5 }`.
   * @default - none
   */
  readonly objectCounts?: Record<string, number>;

  /**
   * Limit the quota to pods in these scopes.
   * @default - all pods
   */
  readonly scopes?: QuotaScope[];

  /**
   * Limit the quota to pods of these PriorityClasses (a `scopeSelector` on `PriorityClass`).
   * @default - pods of every priority
   */
  readonly priorityClassNames?: string[];

  /**
   * Resources given to a container that sets none: the LimitRange's
   * `default` and `defaultRequest` (equal, so such a container is Guaranteed).
   * @default { cpu: "100m", memory: "128Mi" }
   */
  readonly containerDefault?: ResourceAmounts;

  /**
   * Smallest resources one container may request.
   * @default - no minimum
   */
  readonly containerMin?: ContainerBounds;

  /**
   * Largest resources one container may have. Must not exceed the quota.
   * @default - no maximum
   */
  readonly containerMax?: ContainerBounds;
}

const DEFAULT_CONTAINER: ResourceAmounts = { cpu: '100m', memory: '128Mi' };

/**
 * A ResourceQuota and a LimitRange for one namespace that make the API server
 * itself enforce requests == limits: the quota counts requests and limits
 * against the same budget, the LimitRange fills equal defaults into
 * containers that set none, and `maxLimitRequestRatio: 1` rejects any pod
 * whose limits differ from its requests.
 */
export class ResourceQuotaPolicy extends Construct {
  /** The governed namespace. */
  public readonly namespace: string;
  /** The Namespace object, when created. */
  public readonly namespaceObject?: ApiObject;
  /** The ResourceQuota. */
  public readonly resourceQuota: ApiObject;
  /** The LimitRange. */
  public readonly limitRange: ApiObject;

  constructor(scope: Construct, id: string, props: ResourceQuotaPolicyProps) {
    super(scope, id);
    const where = describe(this);
    const problems = new Problems(where);
    problems.check(() => assertDnsLabel(props.namespace, where, 'namespace'));
    const name = props.name ?? 'requests-equal-limits';
    problems.check(() => assertDnsSubdomain(name, where, 'name'));
    this.namespace = props.namespace;

    const quota = problems.check(() => parseAmounts(props.quota, where, 'quota'));
    const def = problems.check(() => parseAmounts(props.containerDefault ?? DEFAULT_CONTAINER, where, 'containerDefault'));
    const min = problems.check(() => parseBounds(props.containerMin, where, 'containerMin')) ?? {};
    const max = problems.check(() => parseBounds(props.containerMax, where, 'containerMax')) ?? {};
    if (quota && def) checkBounds(quota, def, min, max, problems);
    const counts = checkCounts(props, problems);
    for (const pc of props.priorityClassNames ?? []) {
      problems.check(() => assertDnsSubdomain(pc, where, 'priorityClassNames entry'));
    }
    if (props.priorityClassNames && props.priorityClassNames.length === 0) {
      problems.add('priorityClassNames is empty; omit it to cover pods of every priority');
    }
    if (!(props.createNamespace ?? true) && (props.namespaceLabels || props.podSecurity)) {
      problems.add('namespaceLabels and podSecurity need createNamespace: true; label the namespace where it is created');
    }
    problems.throwIfAny();
    this.namespaceObject = this.renderNamespace(props);
    this.resourceQuota = this.renderQuota(props, name, quota!, counts);
    this.limitRange = this.renderLimitRange(props, name, def!, min, max);
    if (this.namespaceObject) {
      this.resourceQuota.addDependency(this.namespaceObject);
      this.limitRange.addDependency(this.namespaceObject);
    }
    finishConstruct(this);
  }

  private renderNamespace(props: ResourceQuotaPolicyProps): ApiObject | undefined {
    if (!(props.createNamespace ?? true)) return undefined;
    const level = 'podSecurity' in props ? props.podSecurity : PodSecurityLevel.RESTRICTED;
    const labels = { ...(level ? podSecurityLabels(level) : {}), ...(props.namespaceLabels ?? {}) };
    return renderOnce(this, 'Namespace', props.namespace, { labels }, () => new k8s.KubeNamespace(this, 'Namespace', {
      metadata: { name: props.namespace, labels },
    }));
  }

  private renderQuota(props: ResourceQuotaPolicyProps, name: string, quota: ParsedAmounts, counts: Record<string, number>): ApiObject {

    const hard: Record<string, k8s.Quantity> = {
      'requests.cpu': toK8sQuantity(quota.cpu),
      'limits.cpu': toK8sQuantity(quota.cpu),
      'requests.memory': toK8sQuantity(quota.memory),
      'limits.memory': toK8sQuantity(quota.memory),
    };
    for (const key of Object.keys(counts).sort()) {
      hard[key] = k8s.Quantity.fromString(String(counts[key]));
    }
    return new k8s.KubeResourceQuota(this, 'ResourceQuota', {
      metadata: { name, namespace: props.namespace },
      spec: {
        hard,
        scopes: props.scopes && props.scopes.length ? [...props.scopes] : undefined,
        scopeSelector: props.priorityClassNames ? {
          matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: [...props.priorityClassNames] }],
        } : undefined,
      },
    });
  }

  private renderLimitRange(props: ResourceQuotaPolicyProps, name: string, def: ParsedAmounts, min: Bounds, max: Bounds): ApiObject {
    const defaults = { cpu: toK8sQuantity(def.cpu), memory: toK8sQuantity(def.memory) };
    return new k8s.KubeLimitRange(this, 'LimitRange', {
      metadata: { name, namespace: props.namespace },
      spec: {
        limits: [{
          type: 'Container',
          default: defaults,
          defaultRequest: { ...defaults },
          min: boundsList(min),
          max: boundsList(max),
          maxLimitRequestRatio: { cpu: k8s.Quantity.fromString('1'), memory: k8s.Quantity.fromString('1') },
        }],
      },
    });
  }
}

/** Container bounds against each other, the default and the quota. */
function checkBounds(quota: ParsedAmounts, def: ParsedAmounts, min: Bounds, max: Bounds, problems: Problems): void {
  for (const r of ['cpu', 'memory'] as const) {
    if (min[r] && max[r] && min[r]!.compare(max[r]!) > 0) {
      problems.add(`containerMin.${r} (${min[r]}) is above containerMax.${r} (${max[r]}); lower the minimum or raise the maximum`);
    }
    if (max[r] && def[r].compare(max[r]!) > 0) {
      problems.add(`containerDefault.${r} (${def[r]}) is above containerMax.${r} (${max[r]}); a container without resources would be rejected. `
        + `Lower the default or raise the maximum`);
    }
    if (min[r] && def[r].compare(min[r]!) < 0) {
      problems.add(`containerDefault.${r} (${def[r]}) is below containerMin.${r} (${min[r]}); a container without resources would be rejected. `
        + `Raise the default or lower the minimum`);
    }
    if (max[r] && max[r]!.compare(quota[r]) > 0) {
      problems.add(`containerMax.${r} (${max[r]}) is larger than the namespace quota ${r} (${quota[r]}); no pod that size could ever start. Lower `
        + `containerMax.${r} or raise quota.${r}`);
    }
    if (def[r].compare(quota[r]) > 0) {
      problems.add(`containerDefault.${r} (${def[r]}) is larger than the namespace quota ${r} (${quota[r]}); lower the default or raise quota.${r}`);
    }
  }
}

/** The object counts of the quota: `objectCounts`, `pods` and `services`. */
function checkCounts(props: ResourceQuotaPolicyProps, problems: Problems): Record<string, number> {
  const where = problems.where;
  for (const [key, value] of Object.entries(props.objectCounts ?? {})) {
    if (/^(requests|limits)\.(cpu|memory)$|^(cpu|memory)$/.test(key)) {
      problems.add(`objectCounts.${key} is set by quota; remove it from objectCounts`);
    }
    problems.check(() => assertInteger(value, where, `objectCounts["${key}"]`, 0));
  }
  const counts: Record<string, number> = { ...(props.objectCounts ?? {}) };
  for (const key of ['pods', 'services'] as const) {
    if (props[key] === undefined) continue;
    problems.check(() => assertInteger(props[key]!, where, key, 0));
    counts[key] = props[key]!;
  }
  return counts;
}

type Bounds = { cpu?: Quantity; memory?: Quantity };

function parseBounds(bounds: ContainerBounds | undefined, where: string, field: string): Bounds {
  const out: { cpu?: Quantity; memory?: Quantity } = {};
  for (const r of ['cpu', 'memory'] as const) {
    const v = bounds?.[r];
    if (v === undefined) continue;
    const parsed = parseQuantity(v, `${where}: ${field}.${r}`);
    if (!parsed.isPositive) {
      throw new Error(`${where}: ${field}.${r} must be greater than zero, got "${amountText(v)}"`);
    }
    out[r] = parsed;
  }
  return out;
}

function boundsList(b: Bounds): Record<string, k8s.Quantity> | undefined {
  const out: Record<string, k8s.Quantity> = {};
  if (b.cpu) out.cpu = toK8sQuantity(b.cpu);
  if (b.memory) out.memory = toK8sQuantity(b.memory);
  return Object.keys(out).length ? out : undefined;
}
