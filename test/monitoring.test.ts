import * as path from 'path';
import { ApiObject, App, Chart, Duration, Size, Testing, Yaml } from 'cdk8s';
import {
  AutoscalingAlerts, CapacityDashboard, KubeStateMetrics, OpportunisticFiller, PromAdapter, PrometheusInstance, ScalableFlaskApp, ScalingMetric,
} from '../src';
import { promqlSyntaxError } from '../src/core/promql';
import {
  danglingBindings, expectSchemaValid, newChart, objectOf, objectsOf, promtoolAlertTest, promtoolCheck, synthApp, testWithPromtool, thrown,
} from './helpers';

const FIXTURES = path.join(__dirname, 'fixtures', 'kube-state-metrics');
const upstream = ['service-account', 'cluster-role', 'cluster-role-binding', 'deployment', 'service'].flatMap(f => Yaml.load(path.join(FIXTURES,
  `${f}.yaml`)));
const FILLER_FLAG = '--metric-labels-allowlist=pods=[cdk8s-autoscaling.io/opportunistic-filler]';

/** An app with the whole loop: KSM, Prometheus, adapter, a web app on a Pods metric, a filler, alerts and the dashboard. */
function loop() {
  const app = Testing.app();
  const monitoring = new Chart(app, 'monitoring');
  const release = { release: 'prometheus' };
  const ksm = new KubeStateMetrics(monitoring, 'ksm', { serviceMonitorLabels: release });
  const prometheus = new PrometheusInstance(monitoring, 'prometheus', { serviceMonitorLabels: release, ruleLabels: release });
  const adapter = new PromAdapter(monitoring, 'adapter', { prometheus, serviceMonitorLabels: release });
  const apps = new Chart(app, 'apps');
  const rps = adapter.addCounterRate({ counter: 'http_requests_total' });
  new ScalableFlaskApp(apps, 'web', {
    namespace: 'shop', image: 'x', resources: { cpu: '500m', memory: '256Mi' }, maxReplicas: 8, metrics: [ScalingMetric.pods(rps, '5')],
    metricsScraping: { serviceMonitorLabels: release },
  });
  const filler = new OpportunisticFiller(apps, 'miner', { image: 'x', adapter, resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 50,
    reserve: { cpu: '4' }, ruleLabels: release });
  const alerts = new AutoscalingAlerts(monitoring, 'alerts', { prometheus });
  const dashboard = new CapacityDashboard(monitoring, 'dashboard');
  return { app, monitoring, apps, ksm, prometheus, adapter, filler, alerts, dashboard };
}

describe('KubeStateMetrics', () => {
  test('parity with upstream v2.20.0 examples/standard: objects, names, RBAC, ports, probes, securityContext', () => {
    const { chart } = newChart();
    new KubeStateMetrics(chart, 'ksm');
    const out = Testing.synth(chart);
    expect(out).toMatchSnapshot();
    const key = (o: any) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const ours = out.filter(o => o.kind !== 'ServiceMonitor');
    expect(ours.map(key).sort()).toEqual(upstream.map(key).sort());
    // upstream sets no container resources; we set requests == limits
    const withoutResources = (o: any) => {
      const copy = JSON.parse(JSON.stringify(o));
      for (const c of copy.spec?.template?.spec?.containers ?? []) delete c.resources;
      return copy;
    };
    const byKey = new Map(upstream.map((o: any) => [key(o), o]));
    for (const o of ours) expect(withoutResources(o)).toEqual(byKey.get(key(o)));
    const c = objectOf(out, 'Deployment').spec.template.spec.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '250Mi' }, limits: { cpu: '100m', memory: '250Mi' } });
    expectSchemaValid(out);
  });

  test('the ServiceMonitor keeps the exported objects\' labels and gives job="kube-state-metrics"', () => {
    const { chart } = newChart();
    new KubeStateMetrics(chart, 'ksm', { serviceMonitorLabels: { release: 'prometheus' } });
    const sm = objectOf(Testing.synth(chart), 'ServiceMonitor');
    expect(sm.metadata.labels.release).toBe('prometheus');
    expect(sm.spec.jobLabel).toBe('app.kubernetes.io/name');
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'http-metrics', honorLabels: true, relabelings: [{ action: 'labeldrop',
      regex: '(pod|service|endpoint|namespace)' }] });
  });

  test('--metric-labels-allowlist: every filler\'s pod label, from any chart, plus metricLabelsAllowlist', () => {
    const { app, ksm } = loop();
    new KubeStateMetrics(new Chart(app, 'other'), 'ksm2', { namespace: 'monitoring', metricLabelsAllowlist: { pods: ['team', '*'],
      nodes: ['node.kubernetes.io/instance-type'] } });
    const args = (c: KubeStateMetrics) => (ApiObject.of(c.deployment) as ApiObject).toJson().spec.template.spec.containers[0].args;
    expect(args(ksm)).toEqual([FILLER_FLAG]);
    expect(args(app.node.findChild('other').node.findChild('ksm2') as KubeStateMetrics))
      .toEqual(['--metric-labels-allowlist=nodes=[node.kubernetes.io/instance-type],pods=[*,cdk8s-autoscaling.io/opportunistic-filler,team]']);
  });

  test('a filler in an app without kube-state-metrics fails the synth, naming the flag; externalKubeStateMetrics is the explicit way out', () => {
    const { app, chart } = newChart();
    const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
    new OpportunisticFiller(chart, 'miner', { image: 'x', adapter, resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 5 });
    expect(thrown(() => synthApp(app))).toContain(`OpportunisticFiller "miner": kube-state-metrics must export the pods label `
      + `cdk8s-autoscaling.io/opportunistic-filler (${FILLER_FLAG}), `
      + 'but this app renders no KubeStateMetrics. Add one (it exports the label by itself), or set externalKubeStateMetrics: true');
    const ok = newChart();
    const adapter2 = new PromAdapter(ok.chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
    new OpportunisticFiller(ok.chart, 'miner', { image: 'x', adapter: adapter2, resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 5,
      externalKubeStateMetrics: true });
    expect(() => synthApp(ok.app)).not.toThrow();
  });

  test('refuses props that would break it, all at once', () => {
    const msg = thrown(() => new KubeStateMetrics(newChart().chart, 'ksm', {
      args: ['--metric-labels-allowlist=pods=[a]'], metricLabelsAllowlist: { Pods: ['a'], nodes: [] }, resources: { cpu: '1', memory: '0' },
    }));
    expect(msg.split('\n')).toEqual([
      'KubeStateMetrics "ksm": metricLabelsAllowlist: "Pods" is not a plural resource name such as "pods"',
      'KubeStateMetrics "ksm": metricLabelsAllowlist.nodes is empty; omit it',
      'KubeStateMetrics "ksm": resources.memory must be greater than zero, got "0"',
      'KubeStateMetrics "ksm": args entry "--metric-labels-allowlist=pods=[a]" overrides --metric-labels-allowlist, which this construct sets; use '
        + 'the matching prop instead',
    ]);
  });
});

describe('createNamespace on the monitoring constructs', () => {
  test('each creates its namespace when asked: one Namespace, labelled restricted, shared by every construct in it', () => {
    const { app, chart } = newChart();
    const release = { release: 'prometheus' };
    new KubeStateMetrics(chart, 'ksm', { namespace: 'monitoring', createNamespace: true, serviceMonitorLabels: release });
    const prometheus = new PrometheusInstance(chart, 'prometheus', {
      createNamespace: true, serviceMonitorLabels: release, ruleLabels: release,
    });
    const adapter = new PromAdapter(chart, 'adapter', { prometheus, createNamespace: true, serviceMonitorLabels: release });
    adapter.addCounterRate({ counter: 'x_total' });
    new AutoscalingAlerts(chart, 'alerts', { prometheus, createNamespace: true });
    new CapacityDashboard(chart, 'dashboard', { createNamespace: true });
    const out = synthApp(app);
    expect(objectsOf(out, 'Namespace')).toEqual([{
      apiVersion: 'v1', kind: 'Namespace',
      metadata: { name: 'monitoring', labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted' } },
    }]);
    expectSchemaValid(out);
  });

  test('without createNamespace, none is rendered; a namespace every cluster has is refused', () => {
    const { chart } = newChart();
    new PrometheusInstance(chart, 'prometheus');
    expect(objectsOf(Testing.synth(chart), 'Namespace')).toEqual([]);
    expect(thrown(() => new KubeStateMetrics(newChart().chart, 'ksm', { createNamespace: true }))).toBe('KubeStateMetrics "ksm": createNamespace: '
      + 'namespace "kube-system" exists in every cluster and must not be owned by the app (pruning it would break the cluster); '
      + 'drop createNamespace, or choose another namespace');
  });
});

describe('PrometheusInstance storage', () => {
  test('a volume claim per replica of the size and class asked for; schema-valid against the CRD', () => {
    const { chart } = newChart();
    new PrometheusInstance(chart, 'prometheus', { storage: { size: Size.gibibytes(50), storageClassName: 'fast-ssd' } });
    const out = Testing.synth(chart);
    expectSchemaValid(out);
    expect(objectOf(out, 'Prometheus').spec.storage).toEqual({
      volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast-ssd', resources: { requests: { storage: '50Gi' } } } },
    });
  });

  test('without storage, the Prometheus keeps its samples in an emptyDir (no storage field)', () => {
    const { chart } = newChart();
    new PrometheusInstance(chart, 'prometheus');
    expect(objectOf(Testing.synth(chart), 'Prometheus').spec.storage).toBeUndefined();
  });
});

describe('PrometheusInstance', () => {
  test('the Prometheus, its ServiceAccount, least-privilege RBAC, Service, PDB when replicated; schema-valid against the CRD', () => {
    const { chart } = newChart();
    const p = new PrometheusInstance(chart, 'prometheus', { serviceMonitorLabels: { release: 'prometheus' }, retention: Duration.days(7) });
    const out = Testing.synth(chart);
    expect(out).toMatchSnapshot();
    expectSchemaValid(out);
    expect(danglingBindings(out)).toEqual([]);
    expect(p.url).toBe('http://prometheus-k8s.monitoring.svc:9090/');
    const spec = objectOf(out, 'Prometheus').spec;
    expect(spec).toMatchObject({
      replicas: 2, retention: '168h', serviceAccountName: 'prometheus-k8s', serviceDiscoveryRole: 'EndpointSlice',
      serviceMonitorSelector: { matchLabels: { release: 'prometheus' } }, ruleSelector: { matchLabels: {} },
      resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '1', memory: '2Gi' } },
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    });
    const rules = objectOf(out, 'ClusterRole').rules;
    expect(rules.flatMap((r: any) => r.resources ?? [])).not.toContain('secrets');
    expect(rules.flatMap((r: any) => r.verbs)).not.toContain('*');
    expect(objectsOf(out, 'PodDisruptionBudget')).toHaveLength(1);
    const single = newChart();
    new PrometheusInstance(single.chart, 'p', { replicas: 1, scrapeApiServer: false });
    expect(objectsOf(Testing.synth(single.chart), 'PodDisruptionBudget')).toHaveLength(0);
  });

  test('every ServiceMonitor and PrometheusRule of the app must be selected by one of its Prometheus, naming the object and missing labels',
    () => {
    const { app, apps } = loop();
    new ScalableFlaskApp(apps, 'unscraped', { namespace: 'shop', image: 'x', resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 3,
      metricsScraping: {} });
    expect(thrown(() => synthApp(app))).toContain('ServiceMonitor shop/unscraped (ScalableFlaskApp "unscraped") is selected by no Prometheus of '
      + 'this app: '
      + 'PrometheusInstance "prometheus" needs the labels release=prometheus. Add the labels to it');
  });

  test('an external Prometheus is declared explicitly; PromAdapter derives its URL from the instance', () => {
    const { app, chart } = newChart();
    const prom = PrometheusInstance.external(chart, { url: 'http://thanos-query.monitoring.svc:9090/', serviceMonitorLabels: { team: 'infra' } });
    const adapter = new PromAdapter(chart, 'adapter', { prometheus: prom, serviceMonitorLabels: { team: 'infra' } });
    adapter.addCounterRate({ counter: 'http_requests_total' });
    expect(adapter.prometheusUrl).toBe('http://thanos-query.monitoring.svc:9090/');
    expect(objectOf(synthApp(app), 'Deployment',
      'prometheus-adapter').spec.template.spec.containers[0].args).toContain('--prometheus-url=http://thanos-query.monitoring.svc:9090/');
    expect(thrown(() => new PromAdapter(newChart().chart, 'a', { prometheus: prom, prometheusUrl: 'http://x:9090/' })))
      .toContain('set prometheus or prometheusUrl, not both');
    expect(thrown(() => new PromAdapter(newChart().chart, 'a', {}))).toContain('prometheus (a PrometheusInstance) or prometheusUrl is required');
  });
});

describe('AutoscalingAlerts', () => {
  const { app, alerts, filler } = loop();
  const out = synthApp(app);
  const rule = objectOf(out, 'PrometheusRule', 'autoscaling-alerts');
  // the filler's metric comes from its own recording rules, which Prometheus evaluates beside the alerts
  const fillerRules = objectOf(out, 'PrometheusRule', 'miner-filler-slots').spec.groups.map((g: any) => ({ ...g, interval: '1m' }));
  const groups = rule.spec.groups;
  const named = (alert: string) => groups[0].rules.filter((r: any) => r.alert === alert);

  test('generated from what the app renders, selected by the Prometheus, schema-valid; every expression is valid PromQL', () => {
    expect(rule.metadata.labels.release).toBe('prometheus');
    expect(groups[0].rules.map((r: any) => r.alert)).toEqual([
      'AutoscalerMaxedOut', 'AutoscalerReplicasMismatch', 'AutoscalerMetricsUnavailable', 'AutoscalingApiServiceDown',
      'AutoscalingMetricAbsent', 'AutoscalingMetricAbsent', 'FillerCapacityExhausted',
    ]);
    expect(named('AutoscalingMetricAbsent').map((r: any) => r.expr)).toEqual(['absent(http_requests_total{namespace!="",pod!=""})',
      `absent(${filler.query})`]);
    // a regex in a double-quoted PromQL string: each backslash doubled
    const names = ['v1beta1.custom.metrics.k8s.io', 'v1beta1.external.metrics.k8s.io', 'v1beta2.custom.metrics.k8s.io'].map(n => n.replace(/\./g, '\\\\.'));
    expect(named('AutoscalingApiServiceDown')[0].expr).toContain(`name=~"${names.join('|')}"`);
    for (const r of alerts.rules()) expect(promqlSyntaxError(r.expr)).toBeUndefined();
    expectSchemaValid([rule]);
  });

  /** An expected alert: its labels, and its annotations with the labels (and value) filled in as Prometheus templates them. */
  const fires = (alert: string, labels: Record<string, string>, value?: string) => {
    const rule = named(alert).find((r: any) => Object.entries(r.labels).every(([k, v]) => labels[k] === undefined || labels[k] === v));
    const fill = (text: string) => text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, k) => labels[k] ?? '').replace(/\{\{ \$value \}\}/g, value ?? '');
    return { exp_labels: { severity: 'warning', ...labels }, exp_annotations: Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k,
      fill(v as string)])) };
  };

  testWithPromtool('promtool test rules: each alert fires on its condition, after its for, and only for the app\'s HPAs', () => {
    const ksm = 'job="kube-state-metrics"';
    const hpa = (name: string, ns: string) => `namespace="${ns}",horizontalpodautoscaler="${name}",${ksm}`;
    const r = promtoolAlertTest([...fillerRules, ...groups], [{
      interval: '1m',
      input_series: [
        // web at max (8) for 20 minutes; an HPA of another app, also at max, is not ours
        { series: `kube_horizontalpodautoscaler_status_current_replicas{${hpa('web', 'shop')}}`, values: '8x20' },
        { series: `kube_horizontalpodautoscaler_status_desired_replicas{${hpa('web', 'shop')}}`, values: '8x20' },
        { series: `kube_horizontalpodautoscaler_spec_max_replicas{${hpa('web', 'shop')}}`, values: '8x20' },
        { series: `kube_horizontalpodautoscaler_spec_min_replicas{${hpa('web', 'shop')}}`, values: '2x20' },
        { series: `kube_horizontalpodautoscaler_status_current_replicas{${hpa('other', 'shop')}}`, values: '3x20' },
        { series: `kube_horizontalpodautoscaler_spec_max_replicas{${hpa('other', 'shop')}}`, values: '3x20' },
        { series: `kube_horizontalpodautoscaler_spec_min_replicas{${hpa('other', 'shop')}}`, values: '1x20' },
        // the filler wants 30 but has 20, stuck
        { series: `kube_horizontalpodautoscaler_status_current_replicas{${hpa('miner', 'filler')}}`, values: '20x20' },
        { series: `kube_horizontalpodautoscaler_status_desired_replicas{${hpa('miner', 'filler')}}`, values: '30x20' },
        { series: `kube_horizontalpodautoscaler_spec_max_replicas{${hpa('miner', 'filler')}}`, values: '50x20' },
        { series: `kube_horizontalpodautoscaler_spec_min_replicas{${hpa('miner', 'filler')}}`, values: '1x20' },
        { series: `kube_horizontalpodautoscaler_status_condition{${hpa('web', 'shop')},condition="ScalingActive",status="false"}`, values: '1x20' },
        { series: 'aggregator_unavailable_apiservice{job="apiserver",name="v1beta1.custom.metrics.k8s.io"}', values: '0x5 1x15' },
        { series: 'aggregator_unavailable_apiservice{job="apiserver",name="v1beta1.metrics.k8s.io"}', values: '1x20' },
        { series: 'kube_node_status_allocatable{resource="cpu",node="n1"}', values: '4x20' },
      ],
      alert_rule_test: [
        { eval_time: '10m', alertname: 'AutoscalerMaxedOut', exp_alerts: [] },
        { eval_time: '16m', alertname: 'AutoscalerMaxedOut', exp_alerts: [fires('AutoscalerMaxedOut', { namespace: 'shop',
          horizontalpodautoscaler: 'web', job: 'kube-state-metrics' }, '8')] },
        { eval_time: '16m', alertname: 'AutoscalerReplicasMismatch', exp_alerts: [fires('AutoscalerReplicasMismatch', { namespace: 'filler',
          horizontalpodautoscaler: 'miner', job: 'kube-state-metrics' })] },
        { eval_time: '11m', alertname: 'AutoscalerMetricsUnavailable', exp_alerts: [fires('AutoscalerMetricsUnavailable', { namespace: 'shop',
          horizontalpodautoscaler: 'web', job: 'kube-state-metrics', condition: 'ScalingActive', status: 'false' })] },
        // metrics.k8s.io is not an APIService of this app (no MetricsServer here)
        { eval_time: '12m', alertname: 'AutoscalingApiServiceDown', exp_alerts: [fires('AutoscalingApiServiceDown',
          { name: 'v1beta1.custom.metrics.k8s.io' })] },
        { eval_time: '11m', alertname: 'AutoscalingMetricAbsent', exp_alerts: [fires('AutoscalingMetricAbsent',
          { metric: 'http_requests_per_second' })] },
        { eval_time: '11m', alertname: 'FillerCapacityExhausted', exp_alerts: [fires('FillerCapacityExhausted', { filler: 'miner' })] },
      ],
    }]);
    expect(r.output).toContain('SUCCESS');
  });
});

describe('CapacityDashboard', () => {
  const { app, dashboard } = loop();
  const out = synthApp(app);
  const cm = objectOf(out, 'ConfigMap', 'autoscaling-capacity');
  const model = JSON.parse(cm.data['autoscaling-capacity.json']);

  test('a ConfigMap the Grafana sidecar loads, holding a JSON model with the fields Grafana needs', () => {
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(model).toMatchObject({ title: 'Autoscaling capacity', uid: 'autoscaling-capacity', schemaVersion: 39 });
    expect(model.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(model.__inputs).toBeUndefined();
    expect(model.templating.list[0]).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
    const ids = model.panels.map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of model.panels) {
      expect(p).toEqual(expect.objectContaining({ type: expect.any(String), title: expect.any(String),
        gridPos: expect.objectContaining({ w: expect.any(Number), h: expect.any(Number) }) }));
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      for (const t of p.targets ?? []) {
        expect(t).toEqual(expect.objectContaining({ refId: expect.stringMatching(/^[A-Z]$/), expr: expect.any(String),
          datasource: { type: 'prometheus', uid: '${datasource}' } }));
      }
    }
    expect(model.panels.map((p: any) => p.title)).toEqual([
      'Cluster capacity', 'Cluster cpu', 'Cluster memory', 'Fillers', 'Filler miner: replicas and free slots', 'Autoscalers',
      'filler/miner: replicas', 'filler/miner: metrics against their targets', 'shop/web: replicas', 'shop/web: metrics against their targets',
    ]);
  });

  test('the filler panel reads the filler\'s own slots query, so names cannot disagree', () => {
    const fillerPanel = model.panels.find((p: any) => p.title.startsWith('Filler miner'));
    const filler = app.node.findAll().find(c => c instanceof OpportunisticFiller) as OpportunisticFiller;
    expect(fillerPanel.targets[1].expr).toBe(filler.query);
  });

  testWithPromtool('every panel query is valid PromQL for promtool', () => {
    const r = promtoolCheck(Object.fromEntries(dashboard.targets().map((t, i) => [`panel_${i}`, t.expr])));
    expect(r.output).toContain('SUCCESS');
  });

  testWithPromtool('promtool test rules: the capacity queries split allocatable into paying, filler and free', () => {
    const [allocatable, paying, fillers, free] = dashboard.targets().slice(0, 4);
    const ksm = 'job="kube-state-metrics"';
    const pod = (name: string, cpu: number, phase: string, filler: boolean) => [
      { series: `kube_pod_container_resource_requests{${ksm},namespace="a",pod="${name}",container="c",node="n1",resource="cpu"}`,
        values: `${cpu}x3` },
      { series: `kube_pod_status_phase{${ksm},namespace="a",pod="${name}",phase="${phase}"}`, values: '1x3' },
      ...(filler ? [{ series: `kube_pod_labels{${ksm},namespace="a",pod="${name}",label_cdk8s_autoscaling_io_opportunistic_filler="true"}`,
        values: '1x3' }] : []),
    ];
    const rules = [allocatable, paying, fillers, free].map((t, i) => ({ record: `panel:${i}`, expr: t.expr }));
    const r = promtoolAlertTest([{ name: 'panels', rules }], [{
      interval: '1m',
      input_series: [
        { series: `kube_node_status_allocatable{${ksm},node="n1",resource="cpu"}`, values: '10x3' },
        ...pod('web', 2, 'Running', false), ...pod('filler-1', 3, 'Running', true), ...pod('done', 4, 'Succeeded', false),
      ],
      promql_expr_test: [0, 1, 2, 3].map((i, n) => ({ expr: `panel:${i}`, eval_time: '1m', exp_samples: [{ labels: `panel:${i}`, value: [10, 2, 3,
        5][n] }] })),
    }]);
    expect(r.output).toContain('SUCCESS');
  });
});

describe('the whole loop', () => {
  test('every object is schema-valid; no binding names a missing role; requests == limits everywhere', () => {
    const { app } = loop();
    const out = synthApp(app);
    expectSchemaValid(out);
    expect(danglingBindings(out)).toEqual([]);
    expect(objectsOf(out, 'Deployment').map(d => d.metadata.name).sort()).toEqual(['kube-state-metrics', 'miner', 'prometheus-adapter', 'web']);
  });

  test('dashboard and alerts are deterministic', () => {
    const render = () => {
      const { app: a } = loop();
      return JSON.stringify(synthApp(a as App));
    };
    expect(render()).toBe(render());
  });
});
