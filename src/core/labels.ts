/** The pod annotation that keeps cluster-autoscaler from evicting the pod when it removes its node. */
export const SAFE_TO_EVICT_ANNOTATION = 'cluster-autoscaler.kubernetes.io/safe-to-evict';

/**
 * The pod annotation that keeps a lone pod (no replica to take over, so no
 * PodDisruptionBudget can help) where it is when cluster-autoscaler removes
 * nodes: for the servers of the metrics APIs, whose eviction stops every HPA
 * on their metrics for a minute or more.
 */
export function notEvictable(): Record<string, string> {
  return { [SAFE_TO_EVICT_ANNOTATION]: 'false' };
}

/**
 * The recommended Kubernetes labels (app.kubernetes.io/*) for one component.
 */
export function standardLabels(name: string, component: string, version?: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': component,
    ...(version ? { 'app.kubernetes.io/version': version } : {}),
    'app.kubernetes.io/managed-by': 'cdk8s-autoscaling',
  };
}

/**
 * Pod Security Standards labels that enforce, audit and warn on `level`
 * (`restricted`, `baseline` or `privileged`) in a namespace.
 */
export function podSecurityLabels(level: string): Record<string, string> {
  return Object.fromEntries(['enforce', 'audit', 'warn'].map(mode => [`pod-security.kubernetes.io/${mode}`, level]));
}

/**
 * The subset of labels that selects a workload's pods. It must never change
 * over the workload's life (selectors are immutable), so it holds no version.
 */
export function selectorLabels(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': component,
  };
}
