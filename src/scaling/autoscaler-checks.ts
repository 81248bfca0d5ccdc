import { ApiObject, Chart } from 'cdk8s';
import { IConstruct } from 'constructs';
import { podSpecOf } from '../core/manifests';
import { AppContext, AppSlot } from '../core/app-context';
import { registerAppCheck } from '../core/app-checks';
import { Quantity } from '../core/quantity';
import { appConstructs, oncePerRendering, renderedJson } from '../core/render-pass';
import { closest, ServedMetrics, servedMetrics } from '../metrics/api-services';
import { quotaTakesPod } from '../policy/pod-admission';
import { groupOf, noScaleSubresource, ResolvedTarget } from './scale-target';
import { resourcePodProblems } from './scaling-metric';
import { MAX_PERIOD_SECONDS, MAX_WINDOW_SECONDS } from './scaling-rules';

/** A custom-resource target of an Autoscaler, checked against the app's CRDs. */
interface CustomTarget {
  readonly where: string;
  readonly target: ResolvedTarget;
}

interface Registry {
  readonly customTargets: CustomTarget[];
  /** The HPAs of Autoscalers, whose target checks the Autoscaler makes itself (naming the construct). */
  readonly autoscalerHpas: Set<ApiObject>;
}

/**
 * The checks that look at the whole app's autoscaling, registered once per
 * app that uses any construct of this library:
 * - every HorizontalPodAutoscaler, from any construct or raw L1 object, as
 *   rendered (JSON patches included), against the API server's rules, its
 *   target in the app (no spec.replicas, requests for Utilization targets,
 *   a kind with a scale subresource) and the metrics the app's adapters serve;
 * - one autoscaler per target: two HPAs, or an HPA and a KEDA ScaledObject
 *   (KEDA makes its own HPA), on one workload would fight;
 * - custom-resource targets whose CRD the app renders declare the scale subresource.
 */
const AUTOSCALING = new AppSlot<Registry>('the app-wide autoscaling checks', root => {
  const reg: Registry = { customTargets: [], autoscalerHpas: new Set() };
  root.node.addValidation({ validate: () => appProblems(root, reg) });
  return reg;
});

function registry(scope: IConstruct): Registry {
  return AppContext.of(scope).get(AUTOSCALING);
}

registerAppCheck(registry);

/** Records the HPA of an Autoscaler: its target checks are the Autoscaler's own. */
export function registerAutoscalerHpa(hpa: ApiObject): void {
  registry(hpa).autoscalerHpas.add(hpa);
}

/** Checks a custom-resource target against the CRDs of the app at synth. */
export function registerCustomTarget(scope: IConstruct, where: string, target: ResolvedTarget): void {
  registry(scope).customTargets.push({ where, target });
}

/** An object as rendered, with its namespace (the chart's when it sets none) and `namespace/name`. */
interface Rendered {
  readonly ref: string;
  readonly namespace: string;
  readonly json: any;
  readonly object: ApiObject;
}

function appProblems(root: IConstruct, reg: Registry): string[] {
  const hpas: Rendered[] = [];
  const scaledObjects: Rendered[] = [];
  const crds: any[] = [];
  const quotas: Rendered[] = [];
  const workloads: ApiObject[] = [];
  const byKey = new Map<string, Rendered>();
  for (const c of appConstructs(root)) {
    if (!ApiObject.isApiObject(c)) continue;
    if (c.kind === 'HorizontalPodAutoscaler') hpas.push(rendered(c));
    else if (c.kind === 'ScaledObject' && groupOf(c.apiVersion) === 'keda.sh') scaledObjects.push(rendered(c));
    else if (c.kind === 'CustomResourceDefinition') crds.push(renderedJson(c));
    else if (c.kind === 'ResourceQuota') quotas.push(rendered(c));
    else if (c.kind in SURGE_KINDS) workloads.push(c);
  }
  const served = servedMetrics(root);
  const targetOf = (h: Rendered) => {
    if (!byKey.size) workloads.forEach(w => {
      const r = rendered(w);
      byKey.set(targetKey(r.namespace, { kind: w.kind, name: r.json.metadata?.name }), r);
    });
    return byKey.get(targetKey(h.namespace, h.json.spec?.scaleTargetRef));
  };
  return [
    ...hpas.flatMap(h => [
      ...hpaSpecProblems(h.json),
      ...metricNameProblems(h.json, served),
      ...(reg.autoscalerHpas.has(h.object) ? [] : targetProblems(h.json, targetOf(h))),
    ].map(p => `HorizontalPodAutoscaler ${h.ref}: ${p}`)),
    ...sharedTargets(hpas, scaledObjects),
    ...reg.customTargets.flatMap(t => crdProblems(t, crds)),
    ...(quotas.length ? quotaProblems(quotas, hpas, workloads) : []),
  ];
}

/**
 * What the HPA's target, as the app renders it, would break: a kind
 * without a scale subresource, a fixed replica count, Utilization targets
 * without requests. (An Autoscaler's target gets the same checks from the
 * Autoscaler, named after it.)
 */
function targetProblems(hpa: any, target: Rendered | undefined): string[] {
  const ref = hpa.spec?.scaleTargetRef ?? {};
  const out: string[] = [];
  const instead = ref.kind && ref.apiVersion ? noScaleSubresource(ref.apiVersion, ref.kind) : undefined;
  if (instead) out.push(`spec.scaleTargetRef is a ${ref.kind} (${ref.apiVersion}), which has no scale subresource; ${instead}`);
  if (!target) return out;
  if (target.json.spec?.replicas !== undefined) {
    out.push(`target ${target.object.kind} ${target.ref} renders spec.replicas (${target.json.spec.replicas}); remove it: the HPA owns the replica `
      + 'count, and GitOps would reset it on every sync');
  }
  const pod = podSpecOf(target.json)?.spec;
  ((hpa.spec?.metrics ?? []) as any[]).forEach((m, i) => {
    const source = m?.type === 'Resource' ? m.resource : m?.type === 'ContainerResource' ? m.containerResource : undefined;
    if (!source) return;
    const subject = `spec.metrics[${i}] (${m.type} metric "${source.name}"${source.container ? ` of container "${source.container}"` : ''})`;
    out.push(...resourcePodProblems(pod, source.name, source.container, source.target?.type === 'Utilization', subject));
  });
  return out;
}

/** The API group and served name an HPA metric asks for. */
function metricAsked(m: any): { group: string; name: string } | undefined {
  switch (m?.type) {
    case 'Resource': return { group: 'metrics.k8s.io', name: m.resource?.name };
    case 'ContainerResource': return { group: 'metrics.k8s.io', name: m.containerResource?.name };
    case 'Pods': return { group: 'custom.metrics.k8s.io', name: m.pods?.metric?.name };
    case 'Object': return { group: 'custom.metrics.k8s.io', name: m.object?.metric?.name };
    case 'External': return { group: 'external.metrics.k8s.io', name: m.external?.metric?.name };
    default: return undefined;
  }
}

/**
 * Metrics of an API group whose server the app renders (one APIService per
 * group and version in a cluster, so no other installation can serve it)
 * must be metrics that server serves.
 */
function metricNameProblems(hpa: any, served: ServedMetrics): string[] {
  return ((hpa.spec?.metrics ?? []) as any[]).flatMap((m, i) => {
    const asked = metricAsked(m);
    const server = asked && served.get(asked.group);
    if (!asked || !server) return [];
    const names = server.names();
    if (names.includes(asked.name)) return [];
    const guess = closest(asked.name, names);
    return [`spec.metrics[${i}] (${m.type} metric "${asked.name}") asks ${asked.group} for "${asked.name}", but the app's ${server.who} serves `
      + `that API (only one APIService per group in a cluster) and serves ${names.length ? names.map(n => `"${n}"`).join(', ') : 'no metric'}`
      + `${guess ? `; did you mean "${guess}"?` : ''} Use a metric it serves, or add a rule that serves "${asked.name}"`];
  });
}

/** Workload kinds whose pods a quota counts, and whether a rolling update adds pods (maxSurge). */
const SURGE_KINDS: Record<string, boolean> = { Deployment: true, StatefulSet: false, ReplicaSet: false, ReplicationController: false };

/** The pods an autoscaled workload holds at its minimum, while a rollout adds its surge pods. */
interface MinimumPods {
  readonly what: string;
  readonly pods: number;
  readonly surge: number;
  readonly requests: Record<'cpu' | 'memory', Quantity>;
  readonly limits: Record<'cpu' | 'memory', Quantity>;
  /** The workload as rendered, for the quotas' scopes. */
  readonly manifest: any;
}

/**
 * Quota headroom: in each namespace with a ResourceQuota, the autoscaled
 * workloads' `minReplicas` pods, plus the extra pods of a rolling update,
 * must fit the quota's cpu, memory and pod counts; otherwise the HPA's floor
 * cannot even be reached. (A `maxReplicas` beyond the quota is allowed: a
 * quota as a cap is a legitimate design.)
 */
function quotaProblems(quotas: Rendered[], hpas: Rendered[], workloads: ApiObject[]): string[] {
  const byKey = new Map(workloads.map(w => [targetKey(w.metadata.namespace ?? 'default', { kind: w.kind, name: w.name }), w]));
  const byNamespace = new Map<string, MinimumPods[]>();
  for (const h of hpas) {
    const ns = h.namespace;
    if (!quotas.some(q => q.namespace === ns)) continue;
    const target = byKey.get(targetKey(ns, h.json.spec?.scaleTargetRef));
    if (!target) continue;
    const min = minimumPods(target, h.json.spec?.minReplicas ?? 1);
    if (min) byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), min]);
  }
  const out: string[] = [];
  for (const q of quotas) {
    const counted = (byNamespace.get(q.namespace) ?? []).filter(m => quotaTakesPod(q.json, m.manifest));
    if (!counted.length) continue;
    const needs = {
      pods: counted.reduce((n, m) => n + m.pods + m.surge, 0),
      requests: sumOf(counted, 'requests'),
      limits: sumOf(counted, 'limits'),
    };
    const over = overQuota(q.json.spec?.hard ?? {}, needs);
    if (over.length) {
      const list = counted.map(m => `${m.what}: ${m.pods} pods${m.surge ? ` + ${m.surge} surge` : ''}`).join(', ');
      out.push(`ResourceQuota ${q.ref} is too small for the autoscaled workloads' minimum (${list}): ${over.join('; ')}. `
        + 'Raise the quota, or lower minReplicas (or maxSurge); otherwise pods are refused (FailedCreate) before the HPA even reaches its floor');
    }
  }
  return out;
}

function minimumPods(target: ApiObject, minReplicas: number): MinimumPods | undefined {
  const json = renderedJson(target);
  const pod = podSpecOf(json)?.spec;
  if (!pod) return undefined;
  const strategy = json.spec?.strategy;
  const surge = SURGE_KINDS[target.kind] && strategy?.type !== 'Recreate' ? surgePods(strategy?.rollingUpdate?.maxSurge ?? '25%', minReplicas) : 0;
  return {
    what: `${target.kind} ${target.name}`,
    pods: minReplicas,
    surge,
    requests: podAmounts(pod, 'requests'),
    limits: podAmounts(pod, 'limits'),
    manifest: json,
  };
}

/** Pods a rolling update adds: maxSurge as a number, or a percentage of the replicas rounded up. */
function surgePods(maxSurge: number | string, replicas: number): number {
  if (typeof maxSurge === 'number') return maxSurge;
  const pct = /^(\d+)%$/.exec(maxSurge);
  return pct ? Math.ceil((replicas * Number(pct[1])) / 100) : Number(maxSurge) || 0;
}

/** What a pod counts against a quota: its containers and sidecars, or its largest init container if that is more. */
function podAmounts(pod: any, field: 'requests' | 'limits'): Record<'cpu' | 'memory', Quantity> {
  const of = (c: any, r: string) => Quantity.parse(c?.resources?.[field]?.[r] ?? 0);
  const running = [...(pod.containers ?? []), ...(pod.initContainers ?? []).filter((c: any) => c.restartPolicy === 'Always')];
  const init = (pod.initContainers ?? []).filter((c: any) => c.restartPolicy !== 'Always');
  const amount = (r: 'cpu' | 'memory') => {
    const sum = running.reduce((q: Quantity, c: any) => q.plus(of(c, r)), Quantity.parse(0));
    return init.reduce((q: Quantity, c: any) => (of(c, r).compare(q) > 0 ? of(c, r) : q), sum);
  };
  return { cpu: amount('cpu'), memory: amount('memory') };
}

function sumOf(list: MinimumPods[], field: 'requests' | 'limits'): Record<'cpu' | 'memory', Quantity> {
  const total = (r: 'cpu' | 'memory') => list.reduce((q, m) => q.plus(m[field][r].times(m.pods + m.surge)), Quantity.parse(0));
  return { cpu: total('cpu'), memory: total('memory') };
}

function overQuota(hard: Record<string, unknown>, needs: { pods: number; requests: Record<'cpu' | 'memory',
  Quantity>; limits: Record<'cpu' | 'memory', Quantity> }): string[] {
  const out: string[] = [];
  const check = (key: string, need: Quantity) => {
    const limit = hard[key];
    if (limit !== undefined && need.compare(Quantity.parse(limit as string)) > 0) out.push(`${key} needs ${need.toCanonicalString()}, the quota `
      + `allows ${limit}`);
  };
  for (const r of ['cpu', 'memory'] as const) {
    check(r, needs.requests[r]);
    check(`requests.${r}`, needs.requests[r]);
    check(`limits.${r}`, needs.limits[r]);
  }
  check('pods', Quantity.parse(needs.pods));
  return out;
}

function rendered(c: ApiObject): Rendered {
  const json = renderedJson(c);
  const namespace = json.metadata?.namespace ?? Chart.of(c).namespace ?? 'default';
  return { ref: `${namespace}/${json.metadata?.name}`, namespace, json, object: c };
}

/** `Deployment ns/name`, what an autoscaler's `scaleTargetRef` points at. */
function targetKey(namespace: string, ref: any, defaultKind?: string): string {
  return `${ref?.kind ?? defaultKind} ${namespace}/${ref?.name}`;
}

function sharedTargets(hpas: Rendered[], scaledObjects: Rendered[]): string[] {
  const byTarget = new Map<string, string[]>();
  const add = (key: string, who: string) => {
    const list = byTarget.get(key);
    if (list) list.push(who);
    else byTarget.set(key, [who]);
  };
  for (const h of hpas) add(targetKey(h.namespace, h.json.spec?.scaleTargetRef), h.ref);
  for (const s of scaledObjects) add(targetKey(s.namespace, s.json.spec?.scaleTargetRef, 'Deployment'), `KEDA ScaledObject ${s.ref}`);
  return [...byTarget.entries()].filter(([, who]) => who.length > 1).map(([target, who]) => {
    if (who.some(w => w.startsWith('KEDA'))) {
      const named = who.map(w => (w.startsWith('KEDA') ? w : `HorizontalPodAutoscaler ${w}`));
      return `${named.join(' and ')} all target ${target}; KEDA creates its own HPA for a ScaledObject, so they would fight over the replica count. `
        + 'Keep one autoscaler: move the metrics into the ScaledObject\'s triggers, or drop the ScaledObject';
    }
    return `HorizontalPodAutoscalers ${who.join(' and ')} all target ${target}; a workload must have exactly one HPA (put all metrics in one)`;
  });
}

/**
 * What the API server refuses in an autoscaling/v2 HPA spec (as rendered,
 * so a JSON patch cannot slip past the construct's checks).
 */
const hpaSpecProblems = oncePerRendering((hpa: any): string[] => {
  const spec = hpa?.spec ?? {};
  const out: string[] = [];
  const min = spec.minReplicas ?? 1;
  const max = spec.maxReplicas;
  if (!Number.isInteger(max) || max < 1) out.push(`spec.maxReplicas must be a whole number >= 1, got ${max}`);
  if (!Number.isInteger(min) || min < 0) out.push(`spec.minReplicas must be a whole number >= 0, got ${min}`);
  if (Number.isInteger(max) && Number.isInteger(min) && max < min) {
    out.push(`spec.maxReplicas (${max}) is below spec.minReplicas (${min}); raise maxReplicas or lower minReplicas`);
  }
  const metrics: any[] = spec.metrics ?? [];
  if (min === 0 && !metrics.some(m => m?.type === 'Object' || m?.type === 'External')) {
    out.push('spec.minReplicas 0 needs at least one Object or External metric (the API server refuses scale-to-zero otherwise)');
  }
  if (!spec.scaleTargetRef?.kind || !spec.scaleTargetRef?.name) out.push('spec.scaleTargetRef needs kind and name');
  for (const dir of ['scaleUp', 'scaleDown'] as const) {
    const rules = spec.behavior?.[dir];
    if (!rules) continue;
    const window = rules.stabilizationWindowSeconds;
    if (window !== undefined && (!Number.isInteger(window) || window < 0 || window > MAX_WINDOW_SECONDS)) {
      out.push(`spec.behavior.${dir}.stabilizationWindowSeconds must be from 0 to ${MAX_WINDOW_SECONDS}, got ${window}`);
    }
    if (Array.isArray(rules.policies) && rules.policies.length === 0) {
      out.push(`spec.behavior.${dir}.policies is empty; the API server requires at least one policy (use selectPolicy: Disabled to stop scaling in `
        + `this direction)`);
    }
    (rules.policies ?? []).forEach((p: any, i: number) => {
      if (!Number.isInteger(p?.value) || p.value < 1) out.push(`spec.behavior.${dir}.policies[${i}].value must be a whole number >= 1, got `
        + `${p?.value}`);
      if (!Number.isInteger(p?.periodSeconds) || p.periodSeconds < 1 || p.periodSeconds > MAX_PERIOD_SECONDS) {
        out.push(`spec.behavior.${dir}.policies[${i}].periodSeconds must be from 1 to ${MAX_PERIOD_SECONDS}, got ${p?.periodSeconds}`);
      }
    });
  }
  return out;
});

/** A custom target against the app's CRD of its kind, if the app renders one. */
function crdProblems({ where, target }: CustomTarget, crds: any[]): string[] {
  const group = groupOf(target.apiVersion);
  const version = target.apiVersion.split('/').pop();
  const crd = crds.find(c => c.spec?.group === group && c.spec?.names?.kind === target.kind);
  if (!crd) return [];
  const crdName = crd.metadata?.name;
  const served = (crd.spec.versions ?? []).find((v: any) => v.name === version);
  if (!served || served.served === false) {
    return [`${where}: target ${target.kind} "${target.name}" is ${target.apiVersion}, but CRD ${crdName} does not serve version ${version}; use a `
      + `served version`];
  }
  const scale = served.subresources?.scale;
  if (!scale) {
    return [`${where}: target ${target.kind} "${target.name}" cannot be scaled: version ${version} of CRD ${crdName} declares no subresources.scale; `
      + 'add subresources.scale (specReplicasPath, statusReplicasPath, labelSelectorPath) to it'];
  }
  const replicas = target.object ? valueAt(renderedJson(target.object), scale.specReplicasPath) : undefined;
  return replicas !== undefined
    ? [`${where}: target ${target.kind} "${target.name}" sets ${scale.specReplicasPath} (${replicas}), the replica count the HPA owns; remove it, `
      + `or GitOps and the HPA will fight`]
    : [];
}

/** The value at a CRD JSONPath such as `.spec.replicas`. */
function valueAt(json: any, jsonPath: string | undefined): unknown {
  if (!jsonPath) return undefined;
  return jsonPath.replace(/^\./, '').split('.').reduce((node, key) => node?.[key], json);
}
