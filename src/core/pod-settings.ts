import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { isDnsLabel, isDnsSubdomain } from './assertions';
import { Problems } from './problems';
import { amountText } from './quantity';

/** Environment variables from a whole Secret or ConfigMap (`envFrom`). */
export interface EnvFromSource {
  /**
   * The Secret whose keys become variables.
   * @default - not a Secret
   */
  readonly secretName?: string;
  /**
   * The ConfigMap whose keys become variables.
   * @default - not a ConfigMap
   */
  readonly configMapName?: string;
  /**
   * Prefix of the variable names.
   * @default - none
   */
  readonly prefix?: string;
}

/** One environment variable from a key of a Secret or ConfigMap (`valueFrom`). */
export interface EnvKeySource {
  /**
   * The Secret holding the key.
   * @default - not a Secret
   */
  readonly secretName?: string;
  /**
   * The ConfigMap holding the key.
   * @default - not a ConfigMap
   */
  readonly configMapName?: string;
  /** The key. */
  readonly key: string;
  /**
   * Start the pod even when the key is missing.
   * @default false
   */
  readonly optional?: boolean;
}

/** An extra volume and where the construct's main container mounts it. */
export interface ExtraVolume {
  /** The volume (name and source), e.g. `{ name: "certs", secret: { secretName: "certs" } }`. */
  readonly volume: k8s.Volume;
  /** Where the main container mounts it. */
  readonly mountPath: string;
  /**
   * Mount it read-only.
   * @default true
   */
  readonly readOnly?: boolean;
  /**
   * A path inside the volume to mount.
   * @default - the whole volume
   */
  readonly subPath?: string;
}

/**
 * Everyday pod settings, the same on every workload construct. All of it
 * stays inside the construct's checks: requests == limits, Pod Security
 * "restricted", the HPA's request checks; settings that would break the
 * construct (a selector label, a volume or container name it uses) are
 * refused.
 */
export interface PodSettings {
  /**
   * Node labels the pods must run on.
   * @default - none
   */
  readonly nodeSelector?: Record<string, string>;
  /**
   * Taints the pods tolerate.
   * @default - none
   */
  readonly tolerations?: k8s.Toleration[];
  /**
   * Affinity, merged with the construct's own (its anti-affinity terms are kept, yours are added). On the cdk8s-plus
   * Deployments (ScalableFlaskApp, OpportunisticFiller) it becomes rules of `deployment.scheduling`, beside any you add
   * there; node `matchFields` and pod terms without a `labelSelector`, which those rules cannot say, are refused.
   * @default - the construct's own
   */
  readonly affinity?: k8s.Affinity;
  /**
   * Topology spread constraints, where the construct does not set its own.
   * @default - none
   */
  readonly topologySpreadConstraints?: k8s.TopologySpreadConstraint[];
  /**
   * Secrets with registry credentials, by name.
   * @default - none
   */
  readonly imagePullSecrets?: string[];
  /**
   * Annotations of the pods.
   * @default - none
   */
  readonly podAnnotations?: Record<string, string>;
  /**
   * Extra labels of the pods; the construct's own (its selector among them) cannot be changed.
   * @default - none
   */
  readonly podLabels?: Record<string, string>;
  /**
   * A ServiceAccount of yours for the pods (with its token mounted), where the construct renders none.
   * @default - none, and no token mounted
   */
  readonly serviceAccountName?: string;
  /**
   * Variables from whole Secrets and ConfigMaps, in the main container.
   * @default - none
   */
  readonly envFrom?: EnvFromSource[];
  /**
   * Variables from single keys of Secrets and ConfigMaps, by variable name, in the main container.
   * @default - none
   */
  readonly envFromKeys?: Record<string, EnvKeySource>;
  /**
   * Extra volumes, mounted in the main container.
   * @default - none
   */
  readonly volumes?: ExtraVolume[];
  /**
   * Extra containers (log shippers, proxies), as cdk8s-plus renders them. Each needs a name and cpu and memory
   * requests equal to limits; every capability is dropped (Pod Security "restricted"). A native sidecar
   * (`restartPolicy: Always`), which cdk8s-plus 27 cannot express, is an init container with that field patched in.
   * @default - none
   */
  readonly sidecars?: kplus.ContainerProps[];
  /**
   * Extra init containers, checked like the sidecars.
   * @default - none
   */
  readonly initContainers?: kplus.ContainerProps[];
}

/** What a construct owns in its pod, which the settings may not change. */
export interface OwnedPodParts {
  /** The pod template's labels (the selector among them). */
  readonly labels: Record<string, string>;
  /** Names of its volumes. */
  readonly volumes: readonly string[];
  /** Mount paths of its main container. */
  readonly mountPaths: readonly string[];
  /** Names of its containers. */
  readonly containers: readonly string[];
  /** It sets its own topology spread constraints. */
  readonly topologySpread: boolean;
  /** It renders its own ServiceAccount. */
  readonly serviceAccount: boolean;
}

/** The settings that place pods (for pods without the construct's containers, e.g. buffer pods). */
export type SchedulingSettings = Pick<PodSettings,
  'nodeSelector' | 'tolerations' | 'affinity' | 'topologySpreadConstraints' | 'imagePullSecrets' | 'podAnnotations' | 'podLabels'>;

/** Records what in `s` the construct cannot take. */
export function checkPodSettings(s: PodSettings, owned: OwnedPodParts, problems: Problems): void {
  for (const key of Object.keys(s.podLabels ?? {})) {
    if (key in owned.labels) problems.add(`podLabels.${key}: the construct sets this pod label itself (its selector or its own labels); use another `
      + `key`);
  }
  if (s.topologySpreadConstraints && owned.topologySpread) {
    problems.add('topologySpreadConstraints: the construct spreads its pods itself; remove them');
  }
  if (s.serviceAccountName !== undefined) {
    if (owned.serviceAccount) problems.add('serviceAccountName: the construct renders its own ServiceAccount (its RBAC is bound to it); remove it');
    else if (!isDnsSubdomain(s.serviceAccountName)) problems.add(`serviceAccountName "${s.serviceAccountName}" is not a valid name`);
  }
  (s.imagePullSecrets ?? []).forEach((n, i) => isDnsSubdomain(n) || problems.add(`imagePullSecrets[${i}] "${n}" is not a valid Secret name`));
  (s.envFrom ?? []).forEach((e, i) => oneSource(e, `envFrom[${i}]`, problems));
  for (const [name, e] of Object.entries(s.envFromKeys ?? {})) {
    if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name)) problems.add(`envFromKeys: "${name}" is not a valid variable name`);
    oneSource(e, `envFromKeys.${name}`, problems);
  }
  checkVolumes(s.volumes ?? [], owned, problems);
  const names = new Set(owned.containers);
  for (const [field, list] of [['sidecars', s.sidecars], ['initContainers', s.initContainers]] as const) {
    (list ?? []).forEach((c, i) => {
      if (c.name === undefined) problems.add(`${field}[${i}] needs a name`);
      else if (!isDnsLabel(c.name)) problems.add(`${field}[${i}].name "${c.name}" is not a valid container name`);
      else if (names.has(c.name)) problems.add(`${field}[${i}].name "${c.name}" is already a container of the pod; use another name`);
      if (c.name !== undefined) names.add(c.name);
      const who = `${field}[${i}] ("${c.name}")`;
      if (!guaranteed(c.resources)) {
        problems.add(`${who}: resources must set cpu and memory, each with request equal to limit (Guaranteed QoS), e.g. { cpu: { request: `
          + 'Cpu.millis(100), limit: Cpu.millis(100) }, memory: { request: Size.mebibytes(64), limit: Size.mebibytes(64) } }; without them '
          + 'cdk8s-plus renders requests below limits');
      }
      restrictedProblems(c.securityContext, who).forEach(p => problems.add(p));
    });
  }
}

/** Whether cdk8s-plus resources set cpu and memory with requests equal to limits. */
function guaranteed(r: kplus.ContainerResources | undefined): boolean {
  const same = (a: { request?: kplus.Cpu | Size; limit?: kplus.Cpu | Size } | undefined) =>
    a?.request !== undefined && a.limit !== undefined && amountText(a.request) === amountText(a.limit);
  return same(r?.cpu) && same(r?.memory);
}

function oneSource(e: { secretName?: string; configMapName?: string }, field: string, problems: Problems): void {
  const set = [e.secretName, e.configMapName].filter(v => v !== undefined);
  if (set.length !== 1) problems.add(`${field} needs exactly one of secretName or configMapName`);
  else if (!isDnsSubdomain(set[0])) problems.add(`${field}: "${set[0]}" is not a valid name`);
}

function checkVolumes(volumes: ExtraVolume[], owned: OwnedPodParts, problems: Problems): void {
  const names = new Set(owned.volumes);
  const paths = new Set(owned.mountPaths);
  volumes.forEach((v, i) => {
    const name = v.volume?.name;
    if (!isDnsLabel(name)) problems.add(`volumes[${i}].volume.name "${name}" is not a valid volume name`);
    else if (names.has(name)) problems.add(`volumes[${i}].volume.name "${name}" is a volume the construct uses; use another name`);
    names.add(name);
    if (!v.mountPath?.startsWith('/')) problems.add(`volumes[${i}].mountPath "${v.mountPath}" must be an absolute path`);
    else if (paths.has(v.mountPath)) problems.add(`volumes[${i}].mountPath ${v.mountPath} is already mounted in the container; use another path`);
    paths.add(v.mountPath);
    if (v.volume?.hostPath) problems.add(`volumes[${i}] ("${name}") is a hostPath volume, which Pod Security "restricted" forbids`);
  });
}

/**
 * What breaks Pod Security "restricted" in a cdk8s-plus container's securityContext (its defaults meet it; every capability is
 * dropped for it).
 */
function restrictedProblems(sc: kplus.ContainerSecurityContextProps | undefined, who: string): string[] {
  if (!sc) return [];
  const out: string[] = [];
  if (sc.privileged) out.push(`${who}: privileged is forbidden by Pod Security "restricted"`);
  if (sc.allowPrivilegeEscalation) out.push(`${who}: allowPrivilegeEscalation must be false (Pod Security "restricted")`);
  if (sc.ensureNonRoot === false || sc.user === 0) out.push(`${who}: must run as non-root (Pod Security "restricted")`);
  if (sc.capabilities?.add?.length) {
    out.push(`${who}: capabilities.add is refused by Pod Security "restricted": it allows only NET_BIND_SERVICE, and cdk8s-plus spells that `
      + '"CAP_NET_BIND_SERVICE", which admission does not accept; remove it');
  }
  return out;
}

/** The main container with the settings' env and mounts added. */
export function withContainerSettings(container: k8s.Container, s: PodSettings): k8s.Container {
  const env = Object.entries(s.envFromKeys ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([name, e]) => ({
    name,
    valueFrom: e.secretName !== undefined
      ? { secretKeyRef: { name: e.secretName, key: e.key, ...(e.optional ? { optional: true } : {}) } }
      : { configMapKeyRef: { name: e.configMapName!, key: e.key, ...(e.optional ? { optional: true } : {}) } },
  }));
  const envFrom = (s.envFrom ?? []).map(e => ({
    ...(e.prefix ? { prefix: e.prefix } : {}),
    ...(e.secretName !== undefined ? { secretRef: { name: e.secretName } } : { configMapRef: { name: e.configMapName! } }),
  }));
  const mounts = (s.volumes ?? []).map(v => ({ name: v.volume.name, mountPath: v.mountPath, readOnly: v.readOnly ?? true,
    ...(v.subPath ? { subPath: v.subPath } : {}) }));
  return {
    ...container,
    ...(env.length ? { env: [...(container.env ?? []), ...env] } : {}),
    ...(envFrom.length ? { envFrom: [...(container.envFrom ?? []), ...envFrom] } : {}),
    ...(mounts.length ? { volumeMounts: [...(container.volumeMounts ?? []), ...mounts] } : {}),
  };
}

/**
 * The sidecars and init containers of `s` as L1 containers, with the volumes they mount, every capability dropped.
 * cdk8s-plus renders a container only inside its own workloads, through `_toKube()`; this is the one place the library
 * calls it, for its L1 workloads (the pod-settings tests render every construct's sidecars, so a change shows there).
 */
function extraContainers(s: PodSettings): { containers: k8s.Container[]; initContainers: k8s.Container[]; volumes: k8s.Volume[] } {
  const render = (props: kplus.ContainerProps) => new kplus.Container(props);
  const sidecars = (s.sidecars ?? []).map(render);
  const inits = (s.initContainers ?? []).map(render);
  const volumes = new Map<string, k8s.Volume>();
  for (const mount of [...sidecars, ...inits].flatMap(c => c.mounts)) volumes.set(mount.volume.name, mount.volume._toKube());
  const l1 = (c: kplus.Container): k8s.Container => {
    const kube = c._toKube();
    return { ...kube, securityContext: { ...kube.securityContext, capabilities: { ...kube.securityContext?.capabilities, drop: ['ALL'] } } };
  };
  return { containers: sidecars.map(l1), initContainers: inits.map(l1), volumes: [...volumes.values()] };
}

/**
 * The pod template with the settings applied (the main container's env and mounts are {@link withContainerSettings}; the
 * extra containers come from {@link extraContainers}).
 */
export function withPodSettings(template: k8s.PodTemplateSpec, s: PodSettings): k8s.PodTemplateSpec {
  const spec = template.spec!;
  const extra = extraContainers(s);
  const volumes = [...(s.volumes ?? []).map(v => v.volume), ...extra.volumes];
  return {
    metadata: {
      ...template.metadata,
      labels: { ...(s.podLabels ?? {}), ...(template.metadata?.labels ?? {}) },
      ...(s.podAnnotations ? { annotations: { ...(template.metadata?.annotations ?? {}), ...s.podAnnotations } } : {}),
    },
    spec: {
      ...spec,
      ...(s.nodeSelector ? { nodeSelector: { ...(spec.nodeSelector ?? {}), ...s.nodeSelector } } : {}),
      ...(s.tolerations ? { tolerations: [...(spec.tolerations ?? []), ...s.tolerations] } : {}),
      ...(s.affinity ? { affinity: mergeAffinity(spec.affinity, s.affinity) } : {}),
      ...(s.topologySpreadConstraints ? { topologySpreadConstraints: [...(spec.topologySpreadConstraints ?? []),
        ...s.topologySpreadConstraints] } : {}),
      ...(s.imagePullSecrets ? { imagePullSecrets: s.imagePullSecrets.map(name => ({ name })) } : {}),
      ...(s.serviceAccountName ? { serviceAccountName: s.serviceAccountName, automountServiceAccountToken: true } : {}),
      ...(volumes.length ? { volumes: [...(spec.volumes ?? []), ...volumes] } : {}),
      ...(extra.containers.length ? { containers: [...spec.containers, ...extra.containers] } : {}),
      ...(extra.initContainers.length ? { initContainers: [...(spec.initContainers ?? []), ...extra.initContainers] } : {}),
    },
  };
}

/** The construct's affinity with the user's: node affinity and pod affinity from the user, anti-affinity terms of both. */
function mergeAffinity(own: k8s.Affinity | undefined, user: k8s.Affinity): k8s.Affinity {
  const anti = [own?.podAntiAffinity, user.podAntiAffinity].filter((a): a is k8s.PodAntiAffinity => !!a);
  return {
    ...(user.nodeAffinity ? { nodeAffinity: user.nodeAffinity } : {}),
    ...(user.podAffinity ? { podAffinity: user.podAffinity } : {}),
    ...(anti.length ? {
      podAntiAffinity: {
        ...(anti.some(a => a.requiredDuringSchedulingIgnoredDuringExecution)
          ? { requiredDuringSchedulingIgnoredDuringExecution: anti.flatMap(a => a.requiredDuringSchedulingIgnoredDuringExecution ?? []) } : {}),
        ...(anti.some(a => a.preferredDuringSchedulingIgnoredDuringExecution)
          ? { preferredDuringSchedulingIgnoredDuringExecution: anti.flatMap(a => a.preferredDuringSchedulingIgnoredDuringExecution ?? []) } : {}),
      },
    } : {}),
  };
}
