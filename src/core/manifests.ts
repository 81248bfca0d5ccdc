/** Reading manifests (rendered JSON): where the pod spec is, how messages name an object. */

/** Kinds that carry a pod spec, and where it sits in the object. */
export const POD_SPEC_PATHS: Record<string, readonly string[]> = {
  Pod: ['spec'],
  PodTemplate: ['template', 'spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** The kinds that carry a pod template. */
export const POD_KINDS: readonly string[] = Object.keys(POD_SPEC_PATHS);

/**
 * Returns the pod spec of a manifest of a covered kind, with its JSON path;
 * `undefined` for other kinds.
 */
export function podSpecOf(manifest: any): { spec: any; path: string } | undefined {
  const path = POD_SPEC_PATHS[manifest?.kind];
  if (!path) return undefined;
  let node = manifest;
  for (const key of path) {
    node = node?.[key];
  }
  return node ? { spec: node, path: path.join('.') } : undefined;
}

/** `namespace/name` or `name`. */
export function objectRef(manifest: any): string {
  const md = manifest?.metadata ?? {};
  const name = md.name ?? '<unnamed>';
  return md.namespace ? `${md.namespace}/${name}` : name;
}


/** A value with its object keys in order, as cdk8s renders objects (for a JSON patch value, which applies after rendering). */
export function keysSorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(keysSorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map(k => [k, keysSorted((value as Record<string, unknown>)[k])]));
}
