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
