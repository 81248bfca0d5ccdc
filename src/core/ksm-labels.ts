import { IConstruct } from 'constructs';
import { AppContext, AppSlot } from './app-context';
import { describe } from './assertions';

/** The matcher that selects the series of the KubeStateMetrics of this library (its ServiceMonitor's jobLabel). */
export const KSM_JOB = 'job="kube-state-metrics"';

/** A label kube-state-metrics must export for a construct of the app. */
interface LabelNeed {
  readonly owner: IConstruct;
  readonly resource: string;
  readonly label: string;
  /** The construct relies on a kube-state-metrics installed elsewhere. */
  readonly external: boolean;
}

interface Registry {
  readonly needs: LabelNeed[];
  readonly exporters: IConstruct[];
}

/** The labels the app's constructs need kube-state-metrics to export, and the KubeStateMetrics that export them; checked at synth. */
const KSM_LABELS = new AppSlot<Registry>('kube-state-metrics labels', root => {
  const reg: Registry = { needs: [], exporters: [] };
  root.node.addValidation({ validate: () => problems(reg) });
  return reg;
});

function registry(scope: IConstruct): Registry {
  return AppContext.of(scope).get(KSM_LABELS);
}

/**
 * Records that `owner` needs kube-state-metrics to export `label` of
 * `resource` (e.g. the filler's pod label in `kube_pod_labels`). A
 * KubeStateMetrics of the app adds it to its `--metric-labels-allowlist`;
 * with none in the app, the synth fails unless `external` says the
 * cluster's kube-state-metrics, installed elsewhere, exports it.
 */
export function requireKsmLabel(owner: IConstruct, resource: string, label: string, external: boolean): void {
  registry(owner).needs.push({ owner, resource, label, external });
}

/** Records a kube-state-metrics this app renders (it exports every label the app needs). */
export function registerKsm(ksm: IConstruct): void {
  registry(ksm).exporters.push(ksm);
}

/** The `--metric-labels-allowlist` value: `extra` plus every label the app needs, per resource, sorted; empty when there is none. */
export function metricLabelsAllowlist(scope: IConstruct, extra: Record<string, string[]>): string {
  const byResource = new Map<string, Set<string>>();
  const add = (resource: string, label: string) => byResource.set(resource, (byResource.get(resource) ?? new Set()).add(label));
  for (const [resource, labels] of Object.entries(extra)) labels.forEach(l => add(resource, l));
  for (const need of registry(scope).needs) add(need.resource, need.label);
  return [...byResource.keys()].sort().map(resource => {
    // a full wildcard only counts as the first entry
    const labels = [...byResource.get(resource)!].sort((a, b) => (a === '*' ? -1 : b === '*' ? 1 : a.localeCompare(b)));
    return `${resource}=[${labels.join(',')}]`;
  }).join(',');
}

/** The flag a kube-state-metrics installed elsewhere needs for the labels `owner` needs. */
function allowlistFlagFor(resource: string, label: string): string {
  return `--metric-labels-allowlist=${resource}=[${label}]`;
}

function problems(reg: Registry): string[] {
  if (reg.exporters.length) return [];
  return reg.needs.filter(n => !n.external).map(n =>
    `${describe(n.owner)}: kube-state-metrics must export the ${n.resource} label ${n.label} (${allowlistFlagFor(n.resource, n.label)}), `
    + 'but this app renders no KubeStateMetrics. Add one (it exports the label by itself), or set externalKubeStateMetrics: true '
    + 'if the cluster\'s kube-state-metrics, installed elsewhere, runs with that flag');
}
