import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { keysSorted } from '../core/manifests';
import { PodSettings } from '../core/pod-settings';
import { Problems } from '../core/problems';
import { ParsedAmounts } from '../core/resources';
import { restrictPodSecurity } from '../policy/pod-security';

/*
 * The library's cdk8s-plus Deployments (ScalableFlaskApp, OpportunisticFiller): what cdk8s-plus 27 expresses is
 * given to it, so `deployment.addContainer`, `deployment.scheduling`, `deployment.connections` and the rest work on
 * them (the tolerations and affinity props become its scheduling rules, beside the user's); what it cannot express
 * (seccompProfile, capabilities drop ALL, topologySpreadConstraints, priorityClassName, nodeSelector, k8s volume sources,
 * several imagePullSecrets) is patched into the rendering.
 * The checks read the rendered manifest, patches included.
 */

const POD_SPEC = '/spec/template/spec';
const MEBIBYTE = 1024 * 1024;

/**
 * Parsed cpu and memory as cdk8s-plus resources with requests == limits. cdk8s-plus renders memory in Mi, so a memory
 * amount must be a whole number of mebibytes.
 */
export function plusResources(parsed: ParsedAmounts, where: string): kplus.ContainerResources {
  const millis = parsed.cpu.times(1000).toNumber();
  if (!Number.isInteger(millis)) {
    throw new Error(`${where}: resources.cpu "${parsed.cpu}" is finer than a millicore; Kubernetes cpu has millicore precision`);
  }
  const mebibytes = parsed.memory.toNumber() / MEBIBYTE;
  if (!Number.isInteger(mebibytes)) {
    throw new Error(`${where}: resources.memory "${parsed.memory}" is not a whole number of mebibytes, which cdk8s-plus renders memory in; use `
      + `e.g. "${Math.ceil(mebibytes)}Mi"`);
  }
  const cpu = millis % 1000 === 0 ? kplus.Cpu.units(millis / 1000) : kplus.Cpu.millis(millis);
  const memory = Size.mebibytes(mebibytes);
  return { cpu: { request: cpu, limit: cpu }, memory: { request: memory, limit: memory } };
}

/**
 * The tolerations as cdk8s-plus taint queries (so `deployment.scheduling.tolerate` adds to them); refuses what a query
 * cannot say: a toleration of every key limited to one effect or time.
 */
function plusTolerations(tolerations: readonly k8s.Toleration[] | undefined, where: string): kplus.NodeTaintQuery[] {
  return (tolerations ?? []).map((t, i) => {
    const options: kplus.NodeTaintQueryOptions = {
      effect: t.effect as kplus.TaintEffect | undefined,
      evictAfter: t.tolerationSeconds !== undefined ? Duration.seconds(t.tolerationSeconds) : undefined,
    };
    if (t.key === undefined || t.key === '') {
      if (t.operator !== 'Exists' || t.effect !== undefined || t.tolerationSeconds !== undefined) {
        throw new Error(`${where}: tolerations[${i}] has no key: only { operator: "Exists" } (every taint) can go without one; add a key`);
      }
      return kplus.NodeTaintQuery.any();
    }
    return t.operator === 'Exists' ? kplus.NodeTaintQuery.exists(t.key, options) : kplus.NodeTaintQuery.is(t.key, t.value ?? '', options);
  });
}

/** One rule of an affinity as cdk8s-plus's scheduling takes it. */
export interface PlusAffinityRule {
  /** `attract` (node affinity), `colocate` (pod affinity) or `separate` (pod anti-affinity). */
  readonly method: 'attract' | 'colocate' | 'separate';
  /** The weight of a preferred rule; a required rule has none. */
  readonly weight?: number;
  /** The node labels of a node affinity term. */
  readonly nodeLabels?: kplus.NodeLabelQuery[];
  /** The pod affinity term. */
  readonly podTerm?: k8s.PodAffinityTerm;
}

const NODE_OPERATORS: Record<string, (key: string, values: string[]) => kplus.NodeLabelQuery> = {
  In: kplus.NodeLabelQuery.in, NotIn: kplus.NodeLabelQuery.notIn, Gt: kplus.NodeLabelQuery.gt, Lt: kplus.NodeLabelQuery.lt,
  Exists: key => kplus.NodeLabelQuery.exists(key), DoesNotExist: key => kplus.NodeLabelQuery.doesNotExist(key),
};
const POD_OPERATORS: Record<string, (key: string, values: string[]) => kplus.LabelExpression> = {
  In: kplus.LabelExpression.in, NotIn: kplus.LabelExpression.notIn,
  Exists: key => kplus.LabelExpression.exists(key), DoesNotExist: key => kplus.LabelExpression.doesNotExist(key),
};

/**
 * An affinity as rules of cdk8s-plus's scheduling (`attract`, `colocate`, `separate`), so it adds to what
 * `deployment.scheduling` says instead of replacing it; records in `problems` what those rules cannot say: node fields,
 * a pod term without a label selector, a weight outside 1..100, an unknown operator.
 */
function plusAffinity(affinity: k8s.Affinity | undefined, problems: Problems): PlusAffinityRule[] {
  const rules: PlusAffinityRule[] = [];
  const weightOf = (weight: number, field: string) => {
    if (!Number.isInteger(weight) || weight < 1 || weight > 100) problems.add(`${field}.weight must be a whole number from 1 to 100, got ${weight}`);
    return weight;
  };
  const nodeTerm = (term: k8s.NodeSelectorTerm, field: string): kplus.NodeLabelQuery[] => {
    if (term.matchFields?.length) {
      problems.add(`${field}.matchFields cannot be given to cdk8s-plus's scheduling; use matchExpressions on node labels`);
    }
    if (!term.matchExpressions?.length) problems.add(`${field} needs matchExpressions`);
    return (term.matchExpressions ?? []).flatMap((e, i) => {
      const make = NODE_OPERATORS[e.operator];
      if (!make) problems.add(`${field}.matchExpressions[${i}].operator "${e.operator}" is not one of ${Object.keys(NODE_OPERATORS).join(', ')}`);
      return make ? [make(e.key, e.values ?? [])] : [];
    });
  };
  const podTerm = (term: k8s.PodAffinityTerm, field: string): k8s.PodAffinityTerm => {
    if (!term.labelSelector) problems.add(`${field} needs a labelSelector (without one the term selects no pods)`);
    for (const [name, selector] of [['labelSelector', term.labelSelector], ['namespaceSelector', term.namespaceSelector]] as const) {
      (selector?.matchExpressions ?? []).forEach((e, i) => POD_OPERATORS[e.operator]
        || problems.add(`${field}.${name}.matchExpressions[${i}].operator "${e.operator}" is not one of ${Object.keys(POD_OPERATORS).join(', ')}`));
    }
    return term;
  };
  const node = affinity?.nodeAffinity;
  (node?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []).forEach((t, i) => rules.push({ method: 'attract',
    nodeLabels: nodeTerm(t, `affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[${i}]`) }));
  (node?.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((p, i) => {
    const field = `affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
    rules.push({ method: 'attract', weight: weightOf(p.weight, field), nodeLabels: nodeTerm(p.preference, `${field}.preference`) });
  });
  for (const [kind, method] of [['podAffinity', 'colocate'], ['podAntiAffinity', 'separate']] as const) {
    const pods = affinity?.[kind];
    (pods?.requiredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) => rules.push({ method,
      podTerm: podTerm(t, `affinity.${kind}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`) }));
    (pods?.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((p, i) => {
      const field = `affinity.${kind}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      rules.push({ method, weight: weightOf(p.weight, field), podTerm: podTerm(p.podAffinityTerm, `${field}.podAffinityTerm`) });
    });
  }
  return rules;
}

/**
 * The pods of one pod affinity term, for cdk8s-plus's `colocate`/`separate`: its label selector, and its namespaces by
 * name and by label selector as written (cdk8s-plus's `Namespaces.select` would add an empty namespace selector, which
 * selects every namespace).
 */
class AffinityTermPods extends Construct implements kplus.IPodSelector {
  constructor(scope: Construct, id: string, private readonly term: k8s.PodAffinityTerm) {
    super(scope, id);
  }

  public toPodSelectorConfig(): kplus.PodSelectorConfig {
    const { labelSelector, namespaceSelector, namespaces } = this.term;
    return {
      labelSelector: plusLabelSelector(labelSelector!),
      namespaces: namespaces || namespaceSelector
        ? { names: namespaces, labelSelector: namespaceSelector ? plusLabelSelector(namespaceSelector) : undefined } : undefined,
    };
  }
}

function plusLabelSelector(selector: k8s.LabelSelector): kplus.LabelSelector {
  return kplus.LabelSelector.of({
    labels: selector.matchLabels,
    expressions: (selector.matchExpressions ?? []).map(e => POD_OPERATORS[e.operator](e.key, e.values ?? [])),
  });
}

/** Gives the checked affinity rules to the Deployment's cdk8s-plus scheduling. */
function applyAffinity(scope: Construct, deployment: kplus.Deployment, rules: readonly PlusAffinityRule[]): void {
  rules.forEach((rule, i) => {
    const options = rule.weight !== undefined ? { weight: rule.weight } : {};
    if (rule.method === 'attract') {
      deployment.scheduling.attract(kplus.Node.labeled(...rule.nodeLabels!), options);
      return;
    }
    const pods = new AffinityTermPods(scope, `Affinity${i}`, rule.podTerm!);
    deployment.scheduling[rule.method](pods, { ...options, topology: kplus.Topology.custom(rule.podTerm!.topologyKey) });
  });
}

/** The scheduling settings as cdk8s-plus takes them, checked with the props ({@link plusTolerations}, {@link plusAffinity}). */
export interface PlusScheduling {
  /** The tolerations. */
  readonly tolerations: kplus.NodeTaintQuery[];
  /** The affinity's rules. */
  readonly affinity: PlusAffinityRule[];
}

/** Checks the scheduling settings (tolerations, affinity) and turns them into cdk8s-plus's, recording problems. */
export function plusScheduling(s: PodSettings, problems: Problems): PlusScheduling {
  return { tolerations: problems.check(() => plusTolerations(s.tolerations, problems.where)) ?? [], affinity: plusAffinity(s.affinity, problems) };
}

/** The Deployment props PodSettings give: the user's ServiceAccount, with its token mounted. */
export function plusServiceAccount(scope: Construct, s: PodSettings): Pick<kplus.DeploymentProps, 'serviceAccount' | 'automountServiceAccountToken'> {
  if (s.serviceAccountName === undefined) return { automountServiceAccountToken: false };
  return { serviceAccount: kplus.ServiceAccount.fromServiceAccountName(scope, 'ServiceAccount', s.serviceAccountName),
    automountServiceAccountToken: true };
}

/**
 * Finishes a library Deployment built with cdk8s-plus: the PodSettings on the pod and its first (main) container, the
 * sidecars and init containers added, Pod Security "restricted" (`restrictPodSecurity`), the construct's own `podSpec`
 * fields patched in. The Deployment selects its pods by the construct's explicit labels. The pods keep cdk8s-plus's
 * `cdk8s.io/metadata.addr` label, by which its network policies, Services and scheduling rules select them, with the
 * Deployment's name as its value instead of a hash of the construct path: a Deployment's name is unique in its
 * namespace, and every selector cdk8s-plus makes from it is scoped to that namespace.
 */
export function finishPlusDeployment(scope: Construct, deployment: kplus.Deployment, s: PodSettings, scheduling: PlusScheduling,
  podSpec: Pick<k8s.PodSpec, 'priorityClassName' | 'topologySpreadConstraints'> = {}): void {
  const main = deployment.containers[0];
  for (const [key, value] of Object.entries(s.podLabels ?? {})) deployment.podMetadata.addLabel(key, value);
  for (const [key, value] of Object.entries(s.podAnnotations ?? {})) deployment.podMetadata.addAnnotation(key, value);
  deployment.podMetadata.addLabel(kplus.Pod.ADDRESS_LABEL, deployment.name);
  addEnvSources(scope, main, s);
  if (scheduling.tolerations.length) deployment.scheduling.tolerate(kplus.Node.tainted(...scheduling.tolerations));
  applyAffinity(scope, deployment, scheduling.affinity);
  for (const props of s.sidecars ?? []) deployment.addContainer(props);
  for (const props of s.initContainers ?? []) deployment.addInitContainer(props);
  restrictPodSecurity(deployment);
  const obj = ApiObject.of(deployment);
  // The L1 Deployment under cdk8s-plus's converts its JSON, patches included, as it converts its props: values go in L1 form.
  const spread = [...(podSpec.topologySpreadConstraints ?? []), ...(s.topologySpreadConstraints ?? [])];
  const fields: Record<string, unknown> = {
    ...(podSpec.priorityClassName !== undefined ? { priorityClassName: podSpec.priorityClassName } : {}),
    ...(s.nodeSelector ? { nodeSelector: s.nodeSelector } : {}),
    ...(spread.length ? { topologySpreadConstraints: spread } : {}),
    ...(s.imagePullSecrets ? { imagePullSecrets: s.imagePullSecrets.map(name => ({ name })) } : {}),
  };
  for (const [field, value] of Object.entries(fields)) obj.addJsonPatch(JsonPatch.add(`${POD_SPEC}/${field}`, keysSorted(value)));
  // The construct's own volume and mount come first, so these append to lists that are there.
  for (const v of s.volumes ?? []) {
    obj.addJsonPatch(JsonPatch.add(`${POD_SPEC}/volumes/-`, keysSorted(v.volume)));
    obj.addJsonPatch(JsonPatch.add(`${POD_SPEC}/containers/0/volumeMounts/-`, {
      name: v.volume.name, mountPath: v.mountPath, readOnly: v.readOnly ?? true, ...(v.subPath ? { subPath: v.subPath } : {}),
    }));
  }
}

/** envFrom and envFromKeys on the main container, through cdk8s-plus's Env (references to Secrets and ConfigMaps by name). */
function addEnvSources(scope: Construct, main: kplus.Container, s: PodSettings): void {
  const secrets = new Map<string, kplus.ISecret>();
  const configMaps = new Map<string, kplus.IConfigMap>();
  const secret = (name: string) => secrets.get(name) ?? secrets.set(name, kplus.Secret.fromSecretName(scope, `Secret-${name}`, name)).get(name)!;
  const configMap = (name: string) => configMaps.get(name)
    ?? configMaps.set(name, kplus.ConfigMap.fromConfigMapName(scope, `ConfigMap-${name}`, name)).get(name)!;
  for (const e of s.envFrom ?? []) {
    main.env.copyFrom(e.secretName !== undefined ? new kplus.EnvFrom(undefined, e.prefix, secret(e.secretName))
      : kplus.Env.fromConfigMap(configMap(e.configMapName!), e.prefix));
  }
  for (const [name, e] of Object.entries(s.envFromKeys ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const options = e.optional ? { optional: true } : {};
    main.env.addVariable(name, e.secretName !== undefined
      ? kplus.EnvValue.fromSecretValue({ secret: secret(e.secretName), key: e.key }, options)
      : kplus.EnvValue.fromConfigMap(configMap(e.configMapName!), e.key, options));
  }
}

/** Plain environment variables in name order. */
export function plusEnv(env: Record<string, string> | undefined): Record<string, kplus.EnvValue> {
  return Object.fromEntries(Object.entries(env ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => [name,
    kplus.EnvValue.fromValue(value)]));
}
