import { ApiObject, Chart, Duration, Lazy } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { checkCreateNamespace, finishConstruct, renderNamespace } from '../core/app-checks';
import { Autoscaler } from '../scaling/autoscaler';
import { PrometheusRule } from '../imports/monitoring.coreos.com';
import { KSM_JOB } from '../core/ksm-labels';
import { standardLabels } from '../core/labels';
import { assertDnsLabel, assertDnsSubdomain, describe } from '../core/assertions';
import { OpportunisticFiller } from '../workloads/opportunistic-filler';
import { Problems } from '../core/problems';
import { IPrometheus } from '../core/prometheus-selection';
import { promqlSyntaxError } from '../core/promql';
import { renderedJson } from '../core/render-pass';
import { goDuration } from '../core/pod-spec';

/** How long a condition must hold before each alert fires. */
export interface AutoscalingAlertDurations {
  /**
   * An HPA at maxReplicas.
   * @default Duration.minutes(15)
   */
  readonly maxedOut?: Duration;
  /**
   * An HPA whose desired and current replicas disagree (kube-prometheus's KubeHpaReplicasMismatch).
   * @default Duration.minutes(15)
   */
  readonly replicasMismatch?: Duration;
  /**
   * An HPA unable to compute its metrics (ScalingActive false).
   * @default Duration.minutes(10)
   */
  readonly metricsUnavailable?: Duration;
  /**
   * An APIService of this app unavailable.
   * @default Duration.minutes(5)
   */
  readonly apiServiceDown?: Duration;
  /**
   * The series an HPA's adapter metric reads absent from Prometheus.
   * @default Duration.minutes(10)
   */
  readonly metricAbsent?: Duration;
  /**
   * No free filler slot beyond the reserve: the cluster is full and paying workloads are next.
   * @default Duration.minutes(10)
   */
  readonly fillerCapacityExhausted?: Duration;
}

/** Props of {@link AutoscalingAlerts}. */
export interface AutoscalingAlertsProps {
  /**
   * Name of the PrometheusRule.
   * @default "autoscaling-alerts"
   */
  readonly name?: string;
  /**
   * Namespace of the PrometheusRule.
   * @default "monitoring"
   */
  readonly namespace?: string;
  /**
   * Render the Namespace too, labelled for Pod Security "restricted" (shared with the other constructs of the app that create
   * it). Set it when nothing else creates the namespace.
   * @default false
   */
  readonly createNamespace?: boolean;
  /**
   * The Prometheus that loads the rules: the PrometheusRule gets the labels its ruleSelector requires.
   * @default - no selector labels
   */
  readonly prometheus?: IPrometheus;
  /**
   * Labels of every alert (routing in Alertmanager).
   * @default { severity: "warning" }
   */
  readonly alertLabels?: Record<string, string>;
  /**
   * How long each condition must hold.
   * @default - see AutoscalingAlertDurations
   */
  readonly durations?: AutoscalingAlertDurations;
}

/** One alerting rule of the PrometheusRule. */
export interface AlertRule {
  /** The alert's name. */
  readonly alert: string;
  /** Its PromQL. */
  readonly expr: string;
  /** How long the expression must hold, e.g. `15m`. */
  readonly for: string;
  /** Its labels. */
  readonly labels: Record<string, string>;
  /** `summary` and `description`. */
  readonly annotations: { readonly summary: string; readonly description: string };
}

/** An HPA of the app: its namespace and name. */
interface HpaRef {
  readonly namespace: string;
  readonly name: string;
}

const DEFAULT_FOR = { maxedOut: 15, replicasMismatch: 15, metricsUnavailable: 10, apiServiceDown: 5, metricAbsent: 10, fillerCapacityExhausted: 10 };

/**
 * A PrometheusRule of alerts generated from what the app renders: its
 * HPAs at maxReplicas, with desired and current replicas disagreeing, or
 * unable to compute their metrics; its APIServices unavailable; the series
 * its HPAs' adapter metrics read absent; its fillers out of free slots.
 * Every expression is checked by the Prometheus grammar at synth.
 */
export class AutoscalingAlerts extends Construct {
  /** The PrometheusRule. */
  public readonly rule: ApiObject;
  private readonly durations: Record<keyof typeof DEFAULT_FOR, string>;
  private readonly alertLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: AutoscalingAlertsProps = {}) {
    super(scope, id);
    const where = describe(this);
    const problems = new Problems(where);
    const name = props.name ?? 'autoscaling-alerts';
    const namespace = props.namespace ?? 'monitoring';
    problems.check(() => assertDnsSubdomain(name, where, 'name'));
    problems.check(() => assertDnsLabel(namespace, where, 'namespace'));
    this.durations = Object.fromEntries(Object.entries(DEFAULT_FOR).map(([k, minutes]) => {
      const d = props.durations?.[k as keyof AutoscalingAlertDurations] ?? Duration.minutes(minutes);
      return [k, problems.check(() => goDuration(d, where, `durations.${k}`)) ?? ''];
    })) as Record<keyof typeof DEFAULT_FOR, string>;
    this.alertLabels = { ...(props.alertLabels ?? { severity: 'warning' }) };
    checkCreateNamespace(props.createNamespace, namespace, problems);
    problems.throwIfAny();

    // The rules depend on the whole app (HPAs, APIServices, fillers may come later): a plain ApiObject whose spec is
    // resolved at synth (the generated PrometheusRule class converts its props when constructed, before a Lazy resolves).
    this.rule = new ApiObject(this, 'Resource', {
      ...PrometheusRule.GVK,
      metadata: { name, namespace, labels: { ...standardLabels(name, 'alerts'), ...(props.prometheus?.ruleLabels ?? {}) } },
      spec: Lazy.any({ produce: () => ({ groups: [{ name: 'autoscaling', rules: this.rules().map(r => ({ ...r,
        annotations: { ...r.annotations } })) }] }) }),
    });
    this.node.addValidation({ validate: () => this.rules().flatMap(r => {
      const error = promqlSyntaxError(r.expr);
      return error ? [`${where}: alert ${r.alert}: expression is not valid PromQL: ${error}`] : [];
    }) });
    if (props.createNamespace) renderNamespace(this, namespace);
    finishConstruct(this);
  }

  /** The rules, from what the app renders now. */
  public rules(): AlertRule[] {
    const root = this.node.root;
    const hpas = appHpas(root);
    const apiServices = root.node.findAll().filter(c => ApiObject.isApiObject(c) && c.kind === 'APIService').map(c => (c as ApiObject).name).sort();
    return [
      ...(hpas.length ? this.hpaRules(hpas) : []),
      ...(apiServices.length ? [this.apiServiceRule(apiServices)] : []),
      ...this.metricAbsentRules(root),
      ...this.fillerRules(root),
    ];
  }

  private alert(alert: string, expr: string, forKey: keyof typeof DEFAULT_FOR, summary: string, description: string, labels: Record<string,
    string> = {}): AlertRule {
    return { alert, expr, for: this.durations[forKey], labels: { ...this.alertLabels, ...labels }, annotations: { summary, description } };
  }

  private hpaRules(hpas: HpaRef[]): AlertRule[] {
    const hpa = '{{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }}';
    const m = (metric: string, extra = '') => (sel: string) => `kube_horizontalpodautoscaler_${metric}{${sel}${extra}}`;
    const current = m('status_current_replicas');
    const max = m('spec_max_replicas');
    const min = m('spec_min_replicas');
    return [
      this.alert('AutoscalerMaxedOut', perNamespace(hpas, sel => `(${current(sel)} == ${max(sel)}) and on (namespace, horizontalpodautoscaler) `
        + `(${max(sel)} != ${min(sel)})`),
        'maxedOut', 'An HPA has run at maxReplicas for a while',
        `HPA ${hpa} has run at its maximum of {{ $value }} replicas for ${this.durations.maxedOut}: the load needs more, or a quota caps it. Raise `
          + `maxReplicas or check the quota.`),
      this.alert('AutoscalerReplicasMismatch', perNamespace(hpas, sel => `(${m('status_desired_replicas')(sel)} != ${current(sel)}) and `
        + `(${current(sel)} > ${min(sel)})`
        + ` and (${current(sel)} < ${max(sel)}) and changes(${current(sel)}[15m]) == 0`),
        'replicasMismatch', 'An HPA has not reached its desired replicas',
        `HPA ${hpa} has not matched its desired replicas for ${this.durations.replicasMismatch}: pods cannot be created or scheduled (quota, `
          + `capacity, image).`),
      this.alert('AutoscalerMetricsUnavailable', perNamespace(hpas,
        sel => `${m('status_condition', ',condition="ScalingActive",status="false"')(sel)} == 1`),
        'metricsUnavailable', 'An HPA cannot compute its metrics',
        `HPA ${hpa} has been unable to compute its metrics for ${this.durations.metricsUnavailable}; it does not scale. Check kubectl describe hpa `
          + `and the metrics APIs.`),
    ];
  }

  private apiServiceRule(names: string[]): AlertRule {
    return this.alert('AutoscalingApiServiceDown',
      `max by (name) (aggregator_unavailable_apiservice{job="apiserver",name=~${promRegexOf(names)}}) == 1`,
      'apiServiceDown', 'A metrics APIService is unavailable',
      `APIService {{ $labels.name }} has been unavailable for ${this.durations.apiServiceDown}: the HPAs that read it cannot scale, and kubectl top `
        + `fails.`);
  }

  /** The series each adapter metric of the app's HPAs reads, absent. */
  private metricAbsentRules(root: IConstruct): AlertRule[] {
    const seen = new Map<string, string>();
    for (const a of root.node.findAll()) {
      if (!(a instanceof Autoscaler)) continue;
      for (const m of a._metrics) {
        const metric = m._adapterMetric;
        if (metric?.adapter && metric.seriesQuery && !seen.has(metric.metricName)) seen.set(metric.metricName, metric.seriesQuery);
      }
    }
    return [...seen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([metric, series]) => this.alert('AutoscalingMetricAbsent',
      `absent(${series})`,
      'metricAbsent', 'The series an HPA scales on is absent',
      `No series ${series} in Prometheus for ${this.durations.metricAbsent}: the adapter cannot serve ${metric}, and the HPAs on it do not scale. `
        + `Check the scrape.`,
      { metric }));
  }

  private fillerRules(root: IConstruct): AlertRule[] {
    const fillers = root.node.findAll().filter((c): c is OpportunisticFiller => c instanceof OpportunisticFiller);
    return fillers.map(f => this.alert('FillerCapacityExhausted',
      `${f.query} < 1`, 'fillerCapacityExhausted', 'No free capacity beyond the reserve',
      `Filler ${f.name} has had no free slot beyond its reserve for ${this.durations.fillerCapacityExhausted}: the cluster is full, `
      + 'and the next paying pods will use the reserve, then wait for new nodes.', { filler: f.name }));
  }
}

/** The HPAs the app renders, as rendered (raw ones included). */
export function appHpas(root: IConstruct): HpaRef[] {
  return root.node.findAll()
    .filter(c => ApiObject.isApiObject(c) && c.kind === 'HorizontalPodAutoscaler')
    .map(c => {
      const json = renderedJson(c as ApiObject);
      return { namespace: json.metadata?.namespace ?? Chart.of(c).namespace ?? 'default', name: json.metadata?.name };
    })
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

/** A regex that matches `text` literally. */
function regexEscape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A PromQL double-quoted string literal of a regex matching exactly one of `values` (backslashes doubled for the string). */
function promRegexOf(values: string[]): string {
  return `"${values.map(regexEscape).join('|').replace(/\\/g, '\\\\')}"`;
}

/** The KSM matchers of the app's HPAs of one namespace. */
export function hpaMatchers(namespace: string, names: string[]): string {
  return `${KSM_JOB},namespace="${namespace}",horizontalpodautoscaler=~${promRegexOf(names)}`;
}

/** `expr` for each namespace's HPAs, joined with `or` (so an HPA of another app with a same name elsewhere is not matched). */
function perNamespace(hpas: HpaRef[], expr: (matchers: string) => string): string {
  const byNamespace = new Map<string, string[]>();
  for (const h of hpas) byNamespace.set(h.namespace, [...(byNamespace.get(h.namespace) ?? []), h.name]);
  const parts = [...byNamespace.entries()].map(([ns, names]) => expr(hpaMatchers(ns, names)));
  return parts.length === 1 ? parts[0] : parts.map(p => `(${p})`).join(' or ');
}
