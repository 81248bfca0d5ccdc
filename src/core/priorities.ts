/**
 * Pod priority facts the constructs, the checks and the simulator share.
 */

/** cluster-autoscaler's default `--expendable-pods-priority-cutoff`: pods below it never make it add nodes. */
export const DEFAULT_EXPENDABLE_CUTOFF = -10;

/** The PriorityClasses every cluster has, with their values. */
export const SYSTEM_PRIORITY_CLASSES: Readonly<Record<string, number>> = {
  'system-cluster-critical': 2000000000,
  'system-node-critical': 2000001000,
};

/**
 * The value of the PriorityClass `name`: a system one, or one of `objects`
 * (rendered manifests); undefined when neither has it.
 */
export function priorityClassValue(name: string, objects: readonly any[]): number | undefined {
  if (SYSTEM_PRIORITY_CLASSES[name] !== undefined) return SYSTEM_PRIORITY_CLASSES[name];
  return objects.find(o => o?.kind === 'PriorityClass' && o.metadata?.name === name)?.value;
}
