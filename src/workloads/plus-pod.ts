import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { keysSorted } from '../core/manifests';
import { PodSettings } from '../core/pod-settings';
import { parseAmounts, ResourceAmounts } from '../core/resources';
import { restrictPodSecurity } from '../policy/pod-security';

/*
 * The library's cdk8s-plus Deployments (ScalableFlaskApp, OpportunisticFiller): what cdk8s-plus 27 expresses is
 * given to it, so `deployment.addContainer`, `deployment.scheduling`, `deployment.connections` and the rest work on
 * them; what it cannot express (seccompProfile, capabilities drop ALL, topologySpreadConstraints, priorityClassName,
 * nodeSelector, k8s volume sources, several imagePullSecrets, an affinity as written) is patched into the rendering.
 * The checks read the rendered manifest, patches included.
 */

const POD_SPEC = '/spec/template/spec';
const MEBIBYTE = 1024 * 1024;

/**
 * cpu and memory as cdk8s-plus resources with requests == limits. cdk8s-plus renders memory in Mi, so a memory amount
 * must be a whole number of mebibytes.
 */
export function plusResources(amounts: ResourceAmounts | undefined, where: string): kplus.ContainerResources {
  const parsed = parseAmounts(amounts, where);
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
export function plusTolerations(tolerations: readonly k8s.Toleration[] | undefined, where: string): kplus.NodeTaintQuery[] {
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

/** The Deployment props PodSettings give: the user's ServiceAccount, with its token mounted. */
export function plusServiceAccount(scope: Construct, s: PodSettings): Pick<kplus.DeploymentProps, 'serviceAccount' | 'automountServiceAccountToken'> {
  if (s.serviceAccountName === undefined) return { automountServiceAccountToken: false };
  return { serviceAccount: kplus.ServiceAccount.fromServiceAccountName(scope, 'ServiceAccount', s.serviceAccountName),
    automountServiceAccountToken: true };
}

/**
 * Finishes a library Deployment built with cdk8s-plus: the PodSettings on the pod and its first (main) container, the
 * sidecars and init containers added, Pod Security "restricted" (`restrictPodSecurity`), the construct's own `podSpec`
 * fields patched in. The Deployment selects its pods by the construct's explicit labels; the pods keep cdk8s-plus's
 * `cdk8s.io/metadata.addr` label, by which its network policies, Services and scheduling rules select them.
 */
export function finishPlusDeployment(scope: Construct, deployment: kplus.Deployment, s: PodSettings, tolerations: kplus.NodeTaintQuery[],
  podSpec: Pick<k8s.PodSpec, 'priorityClassName' | 'topologySpreadConstraints'> = {}): void {
  const main = deployment.containers[0];
  for (const [key, value] of Object.entries(s.podLabels ?? {})) deployment.podMetadata.addLabel(key, value);
  for (const [key, value] of Object.entries(s.podAnnotations ?? {})) deployment.podMetadata.addAnnotation(key, value);
  addEnvSources(scope, main, s);
  if (tolerations.length) deployment.scheduling.tolerate(kplus.Node.tainted(...tolerations));
  for (const props of s.sidecars ?? []) deployment.addContainer(props);
  for (const props of s.initContainers ?? []) deployment.addInitContainer(props);
  restrictPodSecurity(deployment);
  const obj = ApiObject.of(deployment);
  // The L1 Deployment under cdk8s-plus's converts its JSON, patches included, as it converts its props: values go in L1 form.
  const spread = [...(podSpec.topologySpreadConstraints ?? []), ...(s.topologySpreadConstraints ?? [])];
  const fields: Record<string, unknown> = {
    ...(podSpec.priorityClassName !== undefined ? { priorityClassName: podSpec.priorityClassName } : {}),
    ...(s.nodeSelector ? { nodeSelector: s.nodeSelector } : {}),
    ...(s.affinity ? { affinity: s.affinity } : {}),
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
