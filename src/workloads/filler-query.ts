import { Quantity } from '../core/quantity';

/** The inputs of the filler-slots query. */
export interface FillerQueryOptions {
  /** cpu requested by one filler pod. */
  readonly cpu: Quantity;
  /** memory requested by one filler pod. */
  readonly memory: Quantity;
  /** Filler pods kept free cluster-wide (the reserve, in whole filler pods). */
  readonly reservePods: number;
  /**
   * The kube-state-metrics label of the pod label only filler pods carry,
   * e.g. `label_cdk8s_autoscaling_io_opportunistic_filler`.
   */
  readonly fillerLabel: string;
  /**
   * Extra label matchers for every kube-state-metrics series, e.g. `job="kube-state-metrics"`.
   * @default - none
   */
  readonly ksmMatchers?: string;
}

/**
 * The kube-state-metrics label name for a pod label (`kube_pod_labels`
 * exports `app.kubernetes.io/name` as `label_app_kubernetes_io_name`).
 */
export function ksmLabelName(podLabel: string): string {
  return `label_${podLabel.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/**
 * PromQL for the number of filler pods that fit in the cluster right now.
 *
 * Node by node: free = allocatable − requests of every non-filler pod on the
 * node that has not finished (Pending pods bound to it included), floored to
 * whole filler pods; the smaller of the cpu and memory counts; never below
 * zero. Summed over schedulable nodes, minus the filler pods that unbound
 * Pending non-filler pods need (rounded up), minus the reserve, never below
 * zero. Filler pods are excluded by their label consistently, so the result
 * does not depend on how many fillers run: an HPA with an `AverageValue`
 * target of 1 lands on it in one step.
 *
 * Inputs are kube-state-metrics series: `kube_node_status_allocatable`,
 * `kube_node_spec_unschedulable`, `kube_pod_container_resource_requests`,
 * `kube_pod_status_phase` and `kube_pod_labels` (the filler label must be in
 * kube-state-metrics' `--metric-labels-allowlist`).
 */
export function fillerSlotsQuery(o: FillerQueryOptions): string {
  const m = o.ksmMatchers ? `,${o.ksmMatchers}` : '';
  const fillers = `max by (namespace, pod) (kube_pod_labels{${o.fillerLabel}!=""${m}})`;
  const active = `max by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running|Unknown"${m}} == 1)`;
  const pending = `max by (namespace, pod) (kube_pod_status_phase{phase="Pending"${m}} == 1)`;
  const unschedulable = `(max by (node) (kube_node_spec_unschedulable${o.ksmMatchers ? `{${o.ksmMatchers}}` : ''}) == 1)`;

  // Requests of non-filler pods, by node (bound pods) or cluster-wide (unbound Pending pods).
  const requests = (resource: string, nodeMatcher: string, phase: string) =>
    `(sum by (namespace, pod, node) (max by (namespace, pod, container, node) `
      + `(kube_pod_container_resource_requests{resource="${resource}",${nodeMatcher}${m}})) `
    + `* on (namespace, pod) group_left () ${phase} unless on (namespace, pod) ${fillers})`;

  // Amounts are turned into whole units (millicores, bytes) before dividing,
  // so float error never moves a floor or ceil: floor((0.3 - 0.1) / 0.1) is 1 in floats.
  const units = (expr: string, scale: number) => `round(${expr} * ${scale})`;
  const slotsOn = (resource: string, per: Quantity, scale: number) => {
    const alloc = `(max by (node) (kube_node_status_allocatable{resource="${resource}"${m}}) unless on (node) ${unschedulable})`;
    const used = `(sum by (node) ${requests(resource, 'node!=""', active)} or on (node) ${alloc} * 0)`;
    return `clamp_min(floor(${units(`(${alloc} - on (node) ${used})`, scale)} / ${per.times(scale).toDecimalString()}), 0)`;
  };
  const cpuSlots = slotsOn('cpu', o.cpu, 1000);
  const memSlots = slotsOn('memory', o.memory, 1);
  const perNode = `((${cpuSlots} <= on (node) ${memSlots}) or on (node) ${memSlots})`;

  const pendingPods = (resource: string, per: Quantity, scale: number) =>
    `(ceil(${units(`sum(${requests(resource, 'node=""', pending)})`, scale)} / ${per.times(scale).toDecimalString()}) or vector(0))`;
  const pendingCpu = pendingPods('cpu', o.cpu, 1000);
  const pendingMem = pendingPods('memory', o.memory, 1);
  const pendingNeed = `((${pendingCpu} >= ${pendingMem}) or ${pendingMem})`;

  return `clamp_min((sum(${perNode}) or vector(0)) - ${pendingNeed} - ${o.reservePods}, 0)`;
}
