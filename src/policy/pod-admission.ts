import { ApiObject, Chart } from 'cdk8s';
import { IConstruct } from 'constructs';
import { AppContext, AppSlot } from '../core/app-context';
import { registerAppCheck } from '../core/app-checks';
import { objectRef, podSpecOf, POD_SPEC_PATHS } from '../core/manifests';
import { Quantity } from '../core/quantity';
import { appConstructs, renderedJson } from '../core/render-pass';

/*
 * What the API server's admission does to the pods of a namespace, checked at
 * synth for every pod template of the app in a namespace whose LimitRanges or
 * ResourceQuotas the app renders; a pod that fails is refused, so its
 * workload would never get one:
 * - LimitRanger (plugin/pkg/admission/limitranger): the LimitRange's own API
 *   defaults, each container's missing limits and requests filled from
 *   `default` and `defaultRequest`, then the Container and Pod items' `min`,
 *   `max` and `maxLimitRequestRatio`;
 * - then ResourceQuota (pkg/quota/v1/evaluator/core/pods.go): a quota on
 *   cpu or memory that applies to the pod (by its scopes) needs every
 *   container to state that request or limit.
 */

/** One constraint of a LimitRange that a pod template breaks. */
export interface LimitRangeViolation {
  /** The LimitRange, `namespace/name`. */
  readonly limitRange: string;
  /**
   * The container, when the constraint is a Container item's.
   * @default - a Pod item's constraint, on the pod's sum
   */
  readonly container?: string;
  /** JSON path of the resources in the manifest, e.g. `spec.template.spec.containers[0].resources`. */
  readonly field: string;
  /** What the API server answers, in its words. */
  readonly message: string;
  /** How to fix it. */
  readonly fix: string;
}

type Resources = Map<string, Quantity>;

/** A LimitRange item with the API's defaults filled in (SetDefaults_LimitRangeItem). */
interface LimitItem {
  readonly type: string;
  readonly min: Resources;
  readonly max: Resources;
  readonly defaultLimit: Resources;
  readonly defaultRequest: Resources;
  readonly maxLimitRequestRatio: Resources;
}

/** One container after defaulting: its requests and limits, where they sit, and which limits a LimitRange filled in. */
interface ContainerResources {
  readonly name: string;
  readonly init: boolean;
  readonly path: string;
  readonly requests: Resources;
  readonly limits: Resources;
  /** The LimitRange (`namespace/name`) each filled-in limit came from. */
  readonly filledLimits: Map<string, string>;
}

/** A LimitRange as admission reads it. */
interface Range {
  readonly ref: string;
  readonly items: readonly LimitItem[];
}

/** A resource list as quantities; a value that is no quantity is left out (the object's validation refuses it, not LimitRanger). */
function resources(list: Record<string, unknown> | undefined): Resources {
  const out: Resources = new Map();
  for (const [name, value] of Object.entries(list ?? {})) {
    if (Quantity.isValid(value as string)) out.set(name, Quantity.parse(value as string));
  }
  return out;
}

/**
 * The items of a LimitRange, as the API server stores them: a Container item
 * without `default` takes `max`, and without `defaultRequest` takes
 * `default`, then `min`.
 */
function limitItems(limitRange: any): LimitItem[] {
  return ((limitRange?.spec?.limits ?? []) as any[]).map(item => {
    const min = resources(item?.min);
    const max = resources(item?.max);
    const defaultLimit = resources(item?.default);
    const defaultRequest = resources(item?.defaultRequest);
    if (item?.type === 'Container') {
      for (const [name, q] of max) if (!defaultLimit.has(name)) defaultLimit.set(name, q);
      for (const [name, q] of defaultLimit) if (!defaultRequest.has(name)) defaultRequest.set(name, q);
      for (const [name, q] of min) if (!defaultRequest.has(name)) defaultRequest.set(name, q);
    }
    return { type: item?.type, min, max, defaultLimit, defaultRequest, maxLimitRequestRatio: resources(item?.maxLimitRequestRatio) };
  });
}

/**
 * Each container's requests and limits as admission sees them: a request
 * the pod leaves out takes its limit (API defaulting), then LimitRanger fills
 * the rest from the namespace's Container items, the first that has one.
 */
function defaulted(spec: any, path: string, ranges: readonly Range[]): ContainerResources[] {
  const out: ContainerResources[] = [];
  for (const [list, init] of [['containers', false], ['initContainers', true]] as const) {
    ((spec?.[list] ?? []) as any[]).forEach((c, i) => {
      const limits = resources(c?.resources?.limits);
      const requests = resources(c?.resources?.requests);
      const filledLimits = new Map<string, string>();
      for (const [name, q] of limits) if (!requests.has(name)) requests.set(name, q);
      for (const { ref, items } of ranges) {
        for (const item of items.filter(x => x.type === 'Container')) {
          for (const [name, q] of item.defaultLimit) {
            if (!limits.has(name)) {
              limits.set(name, q);
              filledLimits.set(name, ref);
            }
          }
          for (const [name, q] of item.defaultRequest) if (!requests.has(name)) requests.set(name, q);
        }
      }
      out.push({ name: c?.name, init, path: `${path}.${list}[${i}].resources`, requests, limits, filledLimits });
    });
  }
  return out;
}

/** A constraint broken: the API server's message and the fix. */
type Broken = [message: string, fix: string];

function minBroken(kind: string, name: string, min: Quantity, requests: Resources, limits: Resources): Broken | undefined {
  const req = requests.get(name);
  const lim = limits.get(name);
  const raise = `raise resources.requests.${name} and resources.limits.${name} to at least ${min}`;
  if (!req) return [`minimum ${name} usage per ${kind} is ${min}.  No request is specified.`, raise];
  if (req.milliValue() < min.milliValue()) return [`minimum ${name} usage per ${kind} is ${min}, but request is ${req}.`, raise];
  if (lim && lim.milliValue() < min.milliValue()) return [`minimum ${name} usage per ${kind} is ${min}, but limit is ${lim}.`, raise];
  return undefined;
}

function maxBroken(kind: string, name: string, max: Quantity, requests: Resources, limits: Resources): Broken | undefined {
  const req = requests.get(name);
  const lim = limits.get(name);
  const lower = `lower resources.requests.${name} and resources.limits.${name} to at most ${max}`;
  if (!lim) return [`maximum ${name} usage per ${kind} is ${max}.  No limit is specified.`, `set resources.limits.${name}, at most ${max}`];
  if (lim.milliValue() > max.milliValue()) return [`maximum ${name} usage per ${kind} is ${max}, but limit is ${lim}.`, lower];
  if (req && req.milliValue() > max.milliValue()) return [`maximum ${name} usage per ${kind} is ${max}, but request is ${req}.`, lower];
  return undefined;
}

function ratioBroken(kind: string, name: string, ratio: Quantity, requests: Resources, limits: Resources): Broken | undefined {
  const req = requests.get(name);
  const lim = limits.get(name);
  const equal = ratio.equals(1);
  const fix = equal ? `set resources.limits.${name} equal to resources.requests.${name}`
    : `set resources.limits.${name} to at most ${ratio.toDecimalString()} times resources.requests.${name}`;
  const head = `${name} max limit to request ratio per ${kind} is ${ratio}`;
  if (!req || req.milliValue() === BigInt(0)) return [`${head}, but no request is specified or request is 0.`, `set resources.requests.${name}`];
  if (!lim || lim.milliValue() === BigInt(0)) return [`${head}, but no limit is specified or limit is 0.`, `set resources.limits.${name}`];
  if (lim.milliValue() * BigInt(1000) > ratio.milliValue() * req.milliValue()) {
    const observed = Number(lim.milliValue()) / Number(req.milliValue());
    return [`${head}, but provided ratio is ${observed.toFixed(6)}.`, fix];
  }
  return undefined;
}

const CONSTRAINTS = [['min', minBroken], ['max', maxBroken], ['maxLimitRequestRatio', ratioBroken]] as const;

/** The pod's requests and limits for a Pod item: containers summed (a resource only if every container has it), init containers' maximum. */
function podTotals(containers: readonly ContainerResources[]): { requests: Resources; limits: Resources } {
  const total = (pick: (c: ContainerResources) => Resources): Resources => {
    const regular = containers.filter(c => !c.init).map(pick);
    const out: Resources = new Map();
    for (const name of new Set(regular.flatMap(r => [...r.keys()]))) {
      if (regular.every(r => r.has(name))) out.set(name, regular.reduce((sum, r) => sum.plus(r.get(name)!), Quantity.parse('0')));
    }
    for (const init of containers.filter(c => c.init).map(pick)) {
      for (const [name, q] of init) if (!out.has(name) || q.compare(out.get(name)!) > 0) out.set(name, q);
    }
    return out;
  };
  return { requests: total(c => c.requests), limits: total(c => c.limits) };
}

/**
 * The constraints of `limitRanges` (LimitRange manifests, as rendered) that
 * the pod template of `manifest` (Pod, Deployment, StatefulSet, DaemonSet,
 * ReplicaSet, ReplicationController, Job, CronJob, PodTemplate) breaks, as
 * LimitRanger admission evaluates them after filling in its defaults; a
 * request above its limit after defaulting, which the pod's validation
 * refuses, counts too. Empty for other kinds.
 */
export function checkLimitRanges(manifest: any, limitRanges: readonly any[]): LimitRangeViolation[] {
  const admitted = admit(manifest, limitRanges);
  return admitted ? limitRangeViolations(admitted) : [];
}

/** A pod template as admission sees it: its spec, the namespace's LimitRanges, and its containers after their defaults. */
interface Admitted {
  readonly pod: { readonly spec: any; readonly path: string };
  readonly ranges: readonly Range[];
  readonly containers: readonly ContainerResources[];
}

/** The pod template of `manifest` after LimitRanger's defaults; undefined for kinds without one. */
function admit(manifest: any, limitRanges: readonly any[]): Admitted | undefined {
  const pod = podSpecOf(manifest);
  if (!pod) return undefined;
  const ranges: Range[] = limitRanges.map(lr => ({ ref: objectRef(lr), items: limitItems(lr) }));
  return { pod, ranges, containers: defaulted(pod.spec, pod.path, ranges) };
}

function limitRangeViolations({ pod, ranges, containers }: Admitted): LimitRangeViolation[] {
  const out: LimitRangeViolation[] = [];
  for (const c of containers) {
    for (const [name, from] of c.filledLimits) {
      const req = c.requests.get(name);
      const lim = c.limits.get(name)!;
      if (req && req.compare(lim) > 0) {
        out.push({ limitRange: from, container: c.name, field: `${c.path}.requests.${name}`,
          message: `Invalid value: "${req}": must be less than or equal to ${name} limit of ${lim} (the limit the LimitRange fills in)`,
          fix: `set resources.limits.${name}, at least ${req}` });
      }
    }
  }
  for (const { ref, items } of ranges) {
    for (const item of items) {
      if (item.type === 'Container') {
        for (const c of containers) {
          for (const [field, broken] of CONSTRAINTS) {
            for (const [name, bound] of item[field]) {
              const found = broken('Container', name, bound, c.requests, c.limits);
              if (found) out.push({ limitRange: ref, container: c.name, field: c.path, message: found[0], fix: found[1] });
            }
          }
        }
      } else if (item.type === 'Pod') {
        const totals = podTotals(containers);
        for (const [field, broken] of CONSTRAINTS) {
          for (const [name, bound] of item[field]) {
            const found = broken('Pod', name, bound, totals.requests, totals.limits);
            if (found) {
              const [message, fix] = found;
              out.push({ limitRange: ref, field: `${pod.path}.containers[*].resources`, message, fix: `${fix} (summed over the pod)` });
            }
          }
        }
      }
    }
  }
  return out;
}

/** A ResourceQuota that a pod template cannot be admitted under. */
export interface QuotaViolation {
  /** The ResourceQuota, `namespace/name`. */
  readonly quota: string;
  /** What the API server answers, in its words. */
  readonly message: string;
  /** How to fix it. */
  readonly fix: string;
}

/** The quota resources whose presence admission demands of every container, and what each container must state. */
const STATED: Record<string, [side: 'requests' | 'limits', resource: string]> = {
  'cpu': ['requests', 'cpu'], 'requests.cpu': ['requests', 'cpu'], 'limits.cpu': ['limits', 'cpu'],
  'memory': ['requests', 'memory'], 'requests.memory': ['requests', 'memory'], 'limits.memory': ['limits', 'memory'],
};

/** Whether the pod falls under one scope of a quota (podMatchesScopeFunc); the global default PriorityClass is not known here. */
function inScope(scopeName: string, operator: string, values: readonly string[], spec: any, containers: readonly ContainerResources[]): boolean {
  const compute = (r: Resources) => r.has('cpu') || r.has('memory');
  const bestEffort = containers.every(c => !compute(c.requests) && !compute(c.limits)); // the BestEffort QoS class
  const priorityClass: string = spec?.priorityClassName ?? '';
  const affinityTerms = ['podAffinity', 'podAntiAffinity'].flatMap(kind => {
    const a = spec?.affinity?.[kind] ?? {};
    return [...(a.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(a.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w: any) => w?.podAffinityTerm)];
  });
  const exists = (present: boolean) => (operator === 'DoesNotExist' ? !present : present);
  switch (scopeName) {
    case 'Terminating': return spec?.activeDeadlineSeconds !== undefined;
    case 'NotTerminating': return spec?.activeDeadlineSeconds === undefined;
    case 'BestEffort': return bestEffort;
    case 'NotBestEffort': return !bestEffort;
    case 'CrossNamespacePodAffinity': return exists(affinityTerms.some(t => (t?.namespaces ?? []).length > 0 || t?.namespaceSelector !== undefined));
    case 'PriorityClass':
      if (operator === 'In') return values.includes(priorityClass);
      if (operator === 'NotIn') return !values.includes(priorityClass);
      return exists(priorityClass !== '');
    default: return false;
  }
}

/**
 * The ResourceQuotas (manifests, as rendered) that refuse the pods of
 * `manifest`'s template because a container does not state a request or
 * limit a quota on cpu or memory counts, after the LimitRanges
 * (`limitRanges`) have filled in their defaults. Quotas whose scopes the pod
 * is outside do not count.
 */
export function checkQuotaConstraints(manifest: any, quotas: readonly any[], limitRanges: readonly any[] = []): QuotaViolation[] {
  const admitted = admit(manifest, limitRanges);
  return admitted ? quotaViolations(admitted, quotas) : [];
}

/**
 * Whether a ResourceQuota (manifest, as rendered) counts the pods of
 * `manifest`'s template: every one of its `scopes` and `scopeSelector`
 * expressions takes them, after the LimitRanges' defaults.
 */
export function quotaTakesPod(quota: any, manifest: any, limitRanges: readonly any[] = []): boolean {
  const admitted = admit(manifest, limitRanges);
  return admitted !== undefined && takes(quota, admitted);
}

function takes(quota: any, { pod, containers }: Admitted): boolean {
  const spec = quota?.spec ?? {};
  const scopes = [...((spec.scopes ?? []) as string[]).map(name => ({ scopeName: name, operator: 'Exists', values: [] })),
    ...((spec.scopeSelector?.matchExpressions ?? []) as any[])];
  return scopes.every(sc => inScope(sc.scopeName, sc.operator, sc.values ?? [], pod.spec, containers));
}

function quotaViolations(admitted: Admitted, quotas: readonly any[]): QuotaViolation[] {
  const { containers } = admitted;
  const out: QuotaViolation[] = [];
  for (const quota of quotas) {
    if (!takes(quota, admitted)) continue;
    const spec = quota?.spec ?? {};
    const missing = Object.keys(spec.hard ?? {}).filter(key => key in STATED).sort().flatMap(key => {
      const [side, resource] = STATED[key];
      const names = containers.filter(c => !c[side].has(resource)).map(c => c.name);
      return names.length ? [{ key, side, resource, names }] : [];
    });
    if (!missing.length) continue;
    out.push({
      quota: objectRef(quota),
      message: `failed quota: ${quota.metadata?.name}: must specify ${missing.map(m => `${m.key} for: ${m.names.join(',')}`).join('; ')}`,
      fix: `set ${[...new Set(missing.map(m => `resources.${m.side}.${m.resource}`))].join(' and ')} on every container (or add a LimitRange `
        + 'with defaults to the namespace)',
    });
  }
  return out;
}

/**
 * Every pod template of the app in a namespace whose LimitRanges or
 * ResourceQuotas the app renders (a ResourceQuotaPolicy's, or objects of the
 * user's): a refusal fails the synth, since the API server would refuse every
 * pod of it.
 */
const POD_ADMISSION = new AppSlot('the pod admission check (LimitRanges, ResourceQuotas)', root => {
  root.node.addValidation({ validate: () => admissionProblems(root) });
  return true;
});

registerAppCheck(scope => AppContext.of(scope).get(POD_ADMISSION));

function namespaceOf(obj: ApiObject, json: any): string {
  return json.metadata?.namespace ?? Chart.of(obj).namespace ?? 'default';
}

/** The app's objects of one kind (core v1) by namespace, each with its namespace set, in name order. */
type ByNamespace = Map<string, any[]>;

function admissionProblems(root: IConstruct): string[] {
  const limitRanges: ByNamespace = new Map();
  const quotas: ByNamespace = new Map();
  const pods: ApiObject[] = [];
  for (const c of appConstructs(root)) {
    if (!ApiObject.isApiObject(c)) continue;
    const into = c.apiVersion !== 'v1' ? undefined : c.kind === 'LimitRange' ? limitRanges : c.kind === 'ResourceQuota' ? quotas : undefined;
    if (into) {
      const json = renderedJson(c);
      const namespace = namespaceOf(c, json);
      into.set(namespace, [...(into.get(namespace) ?? []), { ...json, metadata: { ...json.metadata, namespace } }]);
    } else if (c.kind in POD_SPEC_PATHS) {
      pods.push(c);
    }
  }
  if (!limitRanges.size && !quotas.size) return [];
  for (const list of [...limitRanges.values(), ...quotas.values()]) {
    list.sort((a, b) => String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
  }
  const errors: string[] = [];
  for (const obj of pods) {
    const json = renderedJson(obj);
    const namespace = namespaceOf(obj, json);
    const ranges = limitRanges.get(namespace) ?? [];
    const namespaceQuotas = quotas.get(namespace) ?? [];
    if (!ranges.length && !namespaceQuotas.length) continue;
    const subject = `${json.kind} ${objectRef({ metadata: { ...json.metadata, namespace } })}`;
    const admitted = admit(json, ranges);
    if (!admitted) continue;
    for (const v of limitRangeViolations(admitted)) {
      errors.push(`${subject}${v.container !== undefined ? `, container "${v.container}"` : ''}: ${v.field}: ${v.message} `
        + `(LimitRange ${v.limitRange}: the API server refuses every pod of it); ${v.fix}`);
    }
    for (const v of quotaViolations(admitted, namespaceQuotas)) {
      errors.push(`${subject}: ${v.message} (ResourceQuota ${v.quota}: the API server refuses every pod of it); ${v.fix}`);
    }
  }
  return errors;
}
