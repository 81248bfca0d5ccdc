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

/** One recording rule: the series `record` holds what `expr` computes. */
export interface RecordingRule {
  /** The recorded series' name. */
  readonly record: string;
  /** The PromQL it records. */
  readonly expr: string;
}

/**
 * The number of filler pods that fit in the cluster right now, as recording
 * rules a reviewer can read step by step; the last one records
 * `<prefix>:slots`, the filler's metric. Prometheus evaluates a group's rules
 * in order at one timestamp, so each step reads the steps before it as of
 * the same evaluation.
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
export function fillerSlotsRules(o: FillerQueryOptions, prefix: string): RecordingRule[] {
  const m = o.ksmMatchers ? `,${o.ksmMatchers}` : '';
  const fillers = `max by (namespace, pod) (kube_pod_labels{${o.fillerLabel}!=""${m}})`;
  const active = `max by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running|Unknown"${m}} == 1)`;
  const pending = `max by (namespace, pod) (kube_pod_status_phase{phase="Pending"${m}} == 1)`;
  const unschedulable = `(max by (node) (kube_node_spec_unschedulable${o.ksmMatchers ? `{${o.ksmMatchers}}` : ''}) == 1)`;
  // Requests of non-filler pods, per pod, on a node (bound pods) or nowhere yet (unbound Pending pods).
  const requests = (resource: string, nodeMatcher: string, phase: string) =>
    `sum by (namespace, pod, node) (max by (namespace, pod, container, node) `
      + `(kube_pod_container_resource_requests{resource="${resource}",${nodeMatcher}${m}})) `
    + `* on (namespace, pod) group_left () ${phase} unless on (namespace, pod) ${fillers}`;
  // Amounts are turned into whole units (millicores, bytes) before dividing,
  // so float error never moves a floor or ceil: floor((0.3 - 0.1) / 0.1) is 1 in floats.
  const resources = [
    { resource: 'cpu', unit: 'millicores', scale: 1000, per: o.cpu.times(1000).toDecimalString() },
    { resource: 'memory', unit: 'bytes', scale: 1, per: o.memory.toDecimalString() },
  ];
  const perResource = resources.flatMap(({ resource, unit, scale, per }) => {
    const alloc = `max by (node) (kube_node_status_allocatable{resource="${resource}"${m}}) unless on (node) ${unschedulable}`;
    return [
      { record: `${prefix}:allocatable_${unit}:schedulable_nodes`, expr: `round((${alloc}) * ${scale})` },
      {
        record: `${prefix}:requested_${unit}:non_filler_by_node`,
        expr: `round(sum by (node) (${requests(resource, 'node!=""', active)}) * ${scale})`,
      },
      {
        record: `${prefix}:slots_by_${resource}:by_node`,
        expr: `clamp_min(floor((${prefix}:allocatable_${unit}:schedulable_nodes - on (node) (${prefix}:requested_${unit}:non_filler_by_node `
          + `or on (node) ${prefix}:allocatable_${unit}:schedulable_nodes * 0)) / ${per}), 0)`,
      },
      {
        record: `${prefix}:pending_slots_by_${resource}`,
        expr: `ceil(round(sum(${requests(resource, 'node=""', pending)}) * ${scale}) / ${per}) or vector(0)`,
      },
    ];
  });
  return [
    ...perResource,
    {
      record: `${prefix}:slots:by_node`,
      expr: `(${prefix}:slots_by_cpu:by_node <= on (node) ${prefix}:slots_by_memory:by_node) or on (node) ${prefix}:slots_by_memory:by_node`,
    },
    {
      record: `${prefix}:pending_slots`,
      expr: `(${prefix}:pending_slots_by_cpu >= ${prefix}:pending_slots_by_memory) or ${prefix}:pending_slots_by_memory`,
    },
    {
      record: `${prefix}:slots`,
      expr: `clamp_min((sum(${prefix}:slots:by_node) or vector(0)) - ${prefix}:pending_slots - ${o.reservePods}, 0)`,
    },
  ];
}
