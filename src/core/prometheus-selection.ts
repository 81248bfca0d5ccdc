import { ApiObject, Chart } from 'cdk8s';
import { IConstruct } from 'constructs';
import { AppContext, AppSlot } from './app-context';
import { describe } from './assertions';
import { appConstructs, renderedJson } from './render-pass';

/** A Prometheus the app's metrics pipeline reads from and whose selectors pick the app's ServiceMonitors and PrometheusRules. */
export interface IPrometheus {
  /** The Prometheus HTTP API URL, e.g. `http://prometheus-k8s.monitoring.svc:9090/`. */
  readonly url: string;
  /**
   * Labels a ServiceMonitor or a PodMonitor needs to be selected (`serviceMonitorSelector` and `podMonitorSelector`
   * matchLabels); empty selects all.
   */
  readonly serviceMonitorLabels: Record<string, string>;
  /** Labels a PrometheusRule needs to be selected (`ruleSelector.matchLabels`); empty selects all. */
  readonly ruleLabels: Record<string, string>;
}

interface Selector {
  readonly who: string;
  readonly prometheus: IPrometheus;
  /** Namespaces it discovers objects in; undefined: all. */
  readonly namespaces?: readonly string[];
}

/** The Prometheus instances of the app; once there is one, every ServiceMonitor and PrometheusRule must be selected (checked at synth). */
const PROMETHEUS_SELECTION = new AppSlot<Selector[]>('Prometheus selectors', root => {
  const list: Selector[] = [];
  root.node.addValidation({ validate: () => unselected(root, list) });
  return list;
});

function registry(scope: IConstruct): Selector[] {
  return AppContext.of(scope).get(PROMETHEUS_SELECTION);
}

/**
 * Records a Prometheus of the app (or one elsewhere that the app relies
 * on). Once an app has one, every ServiceMonitor and PrometheusRule it
 * renders must be selected by one of them, or the synth fails.
 */
export function registerPrometheus(scope: IConstruct, who: string, prometheus: IPrometheus, namespaces?: readonly string[]): void {
  registry(scope).push({ who, prometheus, namespaces });
}

function unselected(root: IConstruct, selectors: Selector[]): string[] {
  const out: string[] = [];
  for (const c of appConstructs(root)) {
    if (!ApiObject.isApiObject(c) || !c.apiVersion.startsWith('monitoring.coreos.com/')) continue;
    const kind = c.kind;
    if (kind !== 'ServiceMonitor' && kind !== 'PodMonitor' && kind !== 'PrometheusRule') continue;
    const json = renderedJson(c);
    const labels: Record<string, string> = json.metadata?.labels ?? {};
    const namespace = json.metadata?.namespace ?? Chart.of(c).namespace ?? 'default';
    const wanted = (s: Selector) => (kind === 'PrometheusRule' ? s.prometheus.ruleLabels : s.prometheus.serviceMonitorLabels);
    const selects = (s: Selector) => (!s.namespaces || s.namespaces.includes(namespace))
      && Object.entries(wanted(s)).every(([k, v]) => labels[k] === v);
    if (selectors.some(selects)) continue;
    const why = selectors.map(s => {
      const missing = Object.entries(wanted(s)).filter(([k, v]) => labels[k] !== v).map(([k, v]) => `${k}=${v}`);
      const ns = s.namespaces && !s.namespaces.includes(namespace) ? `namespace ${namespace} is not one of ${s.namespaces.join(', ')}` : '';
      return `${s.who} needs ${[missing.length ? `the labels ${missing.join(', ')}` : '', ns].filter(Boolean).join(' and ')}`;
    });
    out.push(`${kind} ${namespace}/${json.metadata?.name} (${owner(c)}) is selected by no Prometheus of this app: ${why.join('; ')}. `
      + 'Add the labels to it (serviceMonitorLabels / ruleLabels props), or widen the Prometheus selector');
  }
  return out;
}

function owner(c: IConstruct): string {
  for (let s = c.node.scope; s; s = s.node.scope) {
    if (s.constructor.name !== 'Chart' && s.constructor.name !== 'App' && !Chart.isChart(s)) return `${describe(s)}`;
  }
  return c.node.path;
}
