import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { assertInteger } from './assertions';

/**
 * The container securityContext of Pod Security "restricted": non-root,
 * read-only root filesystem, no privilege escalation, all capabilities
 * dropped, seccomp RuntimeDefault.
 */
export function restrictedSecurityContext(runAsUser?: number): k8s.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    ...(runAsUser !== undefined ? { runAsUser } : {}),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * An image reference: `image` when given, else `<registry>/<repository>:<tag>`.
 * `registry` replaces the default registry (a mirror), keeping the image path.
 */
export function imageRef(defaultRegistry: string, repository: string, tag: string, registry?: string, image?: string): string {
  if (image) return image;
  const reg = (registry ?? defaultRegistry).replace(/\/+$/, '');
  return `${reg}/${repository}:${tag}`;
}

/**
 * Appends `extra` to the `managed` args, refusing any extra arg that sets a
 * flag the construct manages (`--metric-resolution=5s` when a prop sets it).
 */
export function mergeArgs(managed: string[], extra: string[] | undefined, where: string): string[] {
  const flagOf = (a: string) => a.split('=')[0];
  const owned = new Set(managed.map(flagOf));
  for (const a of extra ?? []) {
    if (!a.startsWith('-')) {
      throw new Error(`${where}: args entry "${a}" is not a flag; pass flags as "--name=value"`);
    }
    if (owned.has(flagOf(a))) {
      throw new Error(`${where}: args entry "${a}" overrides ${flagOf(a)}, which this construct sets; use the matching prop instead`);
    }
  }
  return [...managed, ...(extra ?? [])];
}

/**
 * A duration as a Go duration flag value: `15s`, `1m`, `2h`, `1m30s`.
 */
export function goDuration(d: Duration, where: string, field: string): string {
  const total = d.toMilliseconds() / 1000;
  if (!Number.isInteger(total) || total < 0) {
    throw new Error(`${where}: ${field} must be a whole number of seconds, got ${total}s`);
  }
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const out = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
  return out || '0s';
}

/** An HTTP(S) GET probe on a named port (HTTPS, as the metrics servers serve). */
export function httpProbe(path: string, port: string, timing: Omit<k8s.Probe, 'httpGet'>, scheme: 'HTTP' | 'HTTPS' = 'HTTPS'): k8s.Probe {
  return { httpGet: { path, port: k8s.IntOrString.fromString(port), ...(scheme === 'HTTPS' ? { scheme } : {}) }, ...timing };
}

/** Environment variables in name order, or undefined when there are none. */
export function envVars(env: Record<string, string> | undefined): k8s.EnvVar[] | undefined {
  const entries = Object.entries(env ?? {});
  return entries.length ? entries.sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => ({ name, value })) : undefined;
}

/** The pod securityContext of Pod Security "restricted", running as `uid`. */
export function restrictedPodSecurityContext(uid: number, fsGroup = false): k8s.PodSecurityContext {
  return { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, ...(fsGroup ? { fsGroup: uid } : {}), seccompProfile: { type: 'RuntimeDefault' } };
}

/** A duration as whole seconds, at least `min`; `field` names it in the error. */
export function wholeSeconds(d: Duration, where: string, field: string, min: number): number {
  const s = d.toMilliseconds() / 1000;
  assertInteger(s, where, `${field} (in seconds)`, min);
  return s;
}
