import { ApiObject, Chart, Duration } from 'cdk8s';
import {
  AdapterMetric, Autoscaler, DownscalerImplementation, KubeDownscaler, MetricsApi, OpportunisticFiller, PromAdapter, ResourceQuotaPolicy,
  ScalableFlaskApp, ScalingMetric, ScalingSchedule,
} from '../src';
import { simulate } from '../src';
import { danglingBindings, expectSchemaValid, newChart, objectOf, synthApp, thrown } from './helpers';

const WEEKDAYS = 'Mon-Fri 07:30-20:30 Europe/Berlin';

/** A ScalableFlaskApp "web" in "shop" with the given schedule. */
function web(chart: Chart, schedule?: ScalingSchedule): ScalableFlaskApp {
  return new ScalableFlaskApp(chart, 'web', { namespace: 'shop', image: 'web:1', resources: { cpu: '250m', memory: '256Mi' }, minReplicas: 3,
    maxReplicas: 20, schedule });
}

describe('KubeDownscaler', () => {
  test('the Go rewrite: snapshot, schema-valid, RBAC for HPAs only, its namespace and kube-system left alone, restricted', () => {
    const { app, chart } = newChart();
    new KubeDownscaler(chart, 'downscaler', { defaultTimezone: 'Europe/Berlin', excludeNamespaces: ['ops'] });
    const out = synthApp(app); // runs the Pod Security check: its namespace is labelled restricted
    expect(out).toMatchSnapshot();
    expectSchemaValid(out);
    expect(danglingBindings(out)).toEqual([]);
    expect(objectOf(out, 'ClusterRole').rules).toEqual([
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
      { apiGroups: [''], resources: ['events'], verbs: ['get', 'create', 'update'] },
      { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['get', 'list', 'update'] },
    ]);
    const c = objectOf(out, 'Deployment').spec.template.spec.containers[0];
    expect(c.image).toBe('ghcr.io/caas-team/gokubedownscaler:1.3.4');
    expect(c.args).toEqual(['--include-resources=horizontalpodautoscalers', '--interval=30s']);
    expect(c.resources.requests).toEqual(c.resources.limits);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 8081 });
    expect(objectOf(out, 'ConfigMap').data).toEqual({ EXCLUDE_NAMESPACES: 'kube-downscaler,kube-system,ops', DEFAULT_TIMEZONE: 'Europe/Berlin' });
  });

  test('bad props, all at once', () => {
    expect(thrown(() => new KubeDownscaler(newChart().chart, 'd', { defaultTimezone: 'CEST', interval: Duration.millis(1500),
      namespace: 'kube-system' }))).toBe([
      'KubeDownscaler "d": defaultTimezone "CEST" is not an IANA time zone (e.g. Europe/Berlin)',
      'KubeDownscaler "d": interval must be a whole number of seconds, got 1.5s',
      'KubeDownscaler "d": createNamespace: namespace "kube-system" exists in every cluster and must not be owned by the app (pruning it would '
        + 'break the cluster); drop createNamespace, or choose another namespace',
    ].join('\n'));
  });
});

describe('ScalingSchedule', () => {
  test('annotates the HPA (not the target) with the Go rewrite\'s names, and excludes the target from the downscaler', () => {
    const { app, chart } = newChart();
    new KubeDownscaler(chart, 'downscaler');
    web(chart, ScalingSchedule.uptime(WEEKDAYS, { offHoursMinReplicas: 1 }));
    const out = synthApp(app);
    expect(objectOf(out, 'HorizontalPodAutoscaler', 'web').metadata.annotations).toEqual({
      'downscaler/uptime': WEEKDAYS, 'downscaler/downscale-replicas': '1',
    });
    expect(objectOf(out, 'HorizontalPodAutoscaler', 'web').spec.minReplicas).toBe(3);
    expect(objectOf(out, 'Deployment', 'web').metadata.annotations).toEqual({ 'downscaler/exclude': 'true' });
    expectSchemaValid(out);
  });

  test("a downtime schedule, applied by the Python fork installed elsewhere: its annotation name", () => {
    const { app, chart } = newChart();
    KubeDownscaler.external(chart, {
      implementation: DownscalerImplementation.PYTHON, includeResources: ['deployments', 'horizontalpodautoscalers'],
    });
    const target = new ApiObject(chart, 'api', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'shop' } });
    new Autoscaler(chart, 'api-hpa', {
      target, minReplicas: 2, maxReplicas: 5,
      metrics: [ScalingMetric.external(AdapterMetric.servedElsewhere(MetricsApi.EXTERNAL, 'queue'), { averageValue: '10' })],
      schedule: ScalingSchedule.downtime('Sat-Sun 00:00-24:00 UTC', { offHoursMinReplicas: 1 }),
    });
    const hpa = objectOf(synthApp(app), 'HorizontalPodAutoscaler', 'api');
    expect(hpa.metadata.annotations).toEqual({ 'downscaler/downtime': 'Sat-Sun 00:00-24:00 UTC', 'downscaler/downtime-replicas': '1' });
  });

  test('the OpportunisticFiller takes a schedule too; a target also scaled by a KEDA ScaledObject is refused', () => {
    const { app, chart } = newChart();
    new KubeDownscaler(chart, 'downscaler');
    const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
    const filler = new OpportunisticFiller(chart, 'miner', { image: 'miner:1', adapter, resources: { cpu: '1', memory: '1Gi' }, minReplicas: 5,
      maxReplicas: 50, externalKubeStateMetrics: true, schedule: ScalingSchedule.downtime('Sat-Sun 00:00-24:00 UTC', { offHoursMinReplicas: 1 }) });
    expect(objectOf(synthApp(app), 'HorizontalPodAutoscaler', 'miner').metadata.annotations).toEqual({
      'downscaler/downtime': 'Sat-Sun 00:00-24:00 UTC', 'downscaler/downscale-replicas': '1' });
    new ApiObject(chart, 'cron', { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'miner-cron',
      namespace: filler.deployment.metadata.namespace }, spec: { scaleTargetRef: { name: filler.deployment.name } } });
    const ns = filler.deployment.metadata.namespace;
    expect(thrown(() => synthApp(app))).toContain(`KEDA ScaledObject ${ns}/miner-cron all target Deployment ${ns}/miner`);
  });

  test('isOffHours: outside the uptime, inside the downtime, in the zone of the spec', () => {
    const uptime = ScalingSchedule.uptime(WEEKDAYS, { offHoursMinReplicas: 1 });
    expect(uptime.isOffHours(Date.parse('2026-03-30T05:29:00Z'))).toBe(true);
    expect(uptime.isOffHours(Date.parse('2026-03-30T05:30:00Z'))).toBe(false);
    expect(uptime.isOffHours(new Date('2026-03-28T12:00:00Z'))).toBe(true); // Saturday
    const weekend = ScalingSchedule.downtime('Sat-Sun 00:00-24:00 UTC', { offHoursMinReplicas: 1 });
    expect(weekend.isOffHours(Date.parse('2026-03-28T12:00:00Z'))).toBe(true);
    expect(weekend.isOffHours(Date.parse('2026-03-30T12:00:00Z'))).toBe(false);
  });

  describe('refused, with the fix', () => {
    test.each<[string, () => unknown, string[]]>([
      ['a spec the downscaler cannot parse, a floor of 0', () => web(newChart().chart, ScalingSchedule.uptime('Mon-Fri 7:30-20:30 CET+1',
        { offHoursMinReplicas: 0 })), [
        'ScalableFlaskApp "web": schedule: "CET+1" in "Mon-Fri 7:30-20:30 CET+1" is not an IANA time zone (e.g. Europe/Berlin, UTC)',
        'ScalableFlaskApp "web": schedule: offHoursMinReplicas must be a whole number >= 1 (an HPA\'s minReplicas cannot be 0; the downscaler '
          + 'refuses it), got 0',
      ]],
      ['an off-hours floor not below minReplicas', () => web(newChart().chart, ScalingSchedule.uptime(WEEKDAYS, { offHoursMinReplicas: 3 })), [
        'ScalableFlaskApp "web": schedule: offHoursMinReplicas (3) must be below minReplicas (3), or off hours change nothing; lower it, or raise '
          + 'minReplicas',
      ]],
    ])('%s', (_name, make, lines) => {
      expect(thrown(make)).toBe(lines.join('\n'));
    });

    test('no downscaler in the app', () => {
      const { app, chart } = newChart();
      web(chart, ScalingSchedule.uptime(WEEKDAYS, { offHoursMinReplicas: 1 }));
      expect(thrown(() => synthApp(app))).toContain('ScalableFlaskApp "web": schedule needs a kube-downscaler to apply it; add a KubeDownscaler '
        + 'to the app, or declare the one installed elsewhere with KubeDownscaler.external(scope, { includeResources: [...] })');
    });

    test('a downscaler that does not handle HPAs, or leaves the namespace alone; a spec without a zone and no default zone', () => {
      const { app, chart } = newChart();
      KubeDownscaler.external(chart, { includeResources: ['deployments'], excludeNamespaces: ['shop'] });
      web(chart, ScalingSchedule.uptime('Mon-Fri 07:30-20:30', { offHoursMinReplicas: 1 }));
      const msg = thrown(() => synthApp(app));
      expect(msg).toContain('ScalableFlaskApp "web": schedule: the kube-downscaler installed elsewhere handles deployments, not '
        + 'horizontalpodautoscalers; add it to its --include-resources');
      expect(msg).toContain('ScalableFlaskApp "web": schedule: the kube-downscaler installed elsewhere leaves namespace shop alone');
      expect(msg).toContain('ScalableFlaskApp "web": schedule "Mon-Fri 07:30-20:30" names no time zone and the kube-downscaler installed '
        + 'elsewhere has no defaultTimezone');
    });

    test('annotation names of another downscaler (declared after the autoscaler); two downscalers', () => {
      const { app, chart } = newChart();
      web(chart, ScalingSchedule.uptime(WEEKDAYS, { offHoursMinReplicas: 1 }));
      KubeDownscaler.external(chart, { implementation: DownscalerImplementation.PYTHON, includeResources: ['horizontalpodautoscalers'] });
      expect(thrown(() => synthApp(app))).toContain('schedule carries the go downscaler\'s annotation names, but the kube-downscaler installed '
        + 'elsewhere is the python one; declare the downscaler before the autoscalers that use it');
      new KubeDownscaler(chart, 'downscaler');
      expect(thrown(() => synthApp(app))).toContain('the app has 2 kube-downscalers');
    });

    test("a quota must still fit the daytime floor", () => {
      const { app, chart } = newChart();
      new KubeDownscaler(chart, 'downscaler');
      new ResourceQuotaPolicy(chart, 'quota', { namespace: 'shop', quota: { cpu: '900m', memory: '2Gi' } });
      web(chart, ScalingSchedule.uptime(WEEKDAYS, { offHoursMinReplicas: 1 }));
      // the daytime floor (3 pods, and a rolling update's surge pod), not the off-hours one
      expect(thrown(() => synthApp(app))).toContain('is too small for the autoscaled workloads\' minimum (Deployment web: 3 pods + 1 surge)');
    });
  });
});

describe('off hours in the simulator', () => {
  /** The reference-like web app with an uptime schedule, and a KubeDownscaler running every 30 s. */
  function scheduled(): ScalableFlaskApp {
    const { chart } = newChart();
    new KubeDownscaler(chart, 'downscaler', { interval: Duration.seconds(30) });
    return web(chart, ScalingSchedule.uptime(WEEKDAYS, { offHoursMinReplicas: 1 }));
  }
  const quiet = { cpu: 0.1 };

  test('the floor rises at the first downscaler run at 07:30 Berlin time, on both sides of the daylight-saving change', () => {
    // Friday 27 March 2026 00:00 CET; the clocks go forward on Sunday 29 March
    const start = '2026-03-27T00:00:00+01:00';
    const r = simulate(scheduled().autoscaler, { start, duration: 4 * 24 * 3600, initialReplicas: 3, load: quiet });
    const raised = r.steps.filter((s, i) => i > 0 && s.minReplicas === 3 && r.steps[i - 1].minReplicas === 1).map(s => s.time);
    const at = (iso: string) => (Date.parse(iso) - Date.parse(start)) / 1000;
    expect(raised).toEqual([at('2026-03-27T06:30:00Z'), at('2026-03-30T05:30:00Z')]); // 07:30 CET, then 07:30 CEST
    const lowered = r.steps.filter((s, i) => i > 0 && s.minReplicas === 1 && r.steps[i - 1].minReplicas === 3).map(s => s.time);
    expect(lowered).toEqual([at('2026-03-27T19:30:00Z'), at('2026-03-30T18:30:00Z')]); // 20:30 CET, then 20:30 CEST
    expect(r.steps[0].minReplicas).toBe(1); // midnight: off hours
  });

  test('the downscaler runs every interval: a floor change waits for its next run, then the HPA sync', () => {
    const start = '2026-03-27T07:29:50+01:00';
    const every = (interval: number) => simulate(scheduled().autoscaler, { start, duration: 600, initialReplicas: 1, load: quiet,
      downscaler: { interval } }).steps.find(s => s.minReplicas === 3)!.time;
    expect(every(30)).toBe(30); // runs at 0 s (07:29:50) and 30 s (07:30:20): the sync at 30 s sees it
    expect(every(120)).toBe(120);
  });

  test('off hours save pod-hours; the summary counts them', () => {
    const load = { cpu: 0.2 };
    const base = { start: '2026-03-28T00:00:00+01:00', duration: 24 * 3600, initialReplicas: 3, load }; // a Saturday
    const withSchedule = simulate(scheduled().autoscaler, base);
    const { chart } = newChart();
    const without = simulate(web(chart).autoscaler, base);
    // a Saturday at the floor of 3, against 2 pods (0.2 cores at 70% of 250m needs 2) after the first five minutes
    expect(without.summary.podHours).toBe(72);
    expect(withSchedule.summary.podHours).toBeCloseTo(48.08, 2);
  });

  test('a rendered HPA carries its schedule in annotations; without start the simulation is refused', () => {
    const { app, chart } = newChart();
    new KubeDownscaler(chart, 'downscaler');
    web(chart, ScalingSchedule.uptime(WEEKDAYS, { offHoursMinReplicas: 1 }));
    const out = synthApp(app);
    const hpa = objectOf(out, 'HorizontalPodAutoscaler', 'web');
    const podSpec = objectOf(out, 'Deployment', 'web').spec.template.spec;
    const r = simulate(hpa, { start: '2026-03-28T12:00:00Z', duration: 600, initialReplicas: 3, podSpec, load: quiet });
    expect(r.steps[0].minReplicas).toBe(1);
    expect(thrown(() => simulate(hpa, { duration: 600, initialReplicas: 3, podSpec, load: quiet }))).toBe('scenario: HPA shop/web has an '
      + 'off-hours schedule ("Mon-Fri 07:30-20:30 Europe/Berlin"); give start, the wall-clock time of the scenario\'s start (ISO 8601, e.g. '
      + '2026-03-23T00:00:00+01:00)');
  });
});
