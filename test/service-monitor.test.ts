import { ApiObject, Chart, Duration, JsonPatch, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { PodMonitor, PrometheusInstance, ServiceMonitor } from '../src';
import { expectSchemaValid, newChart, objectOf, synthApp, thrown } from './helpers';

const RESOURCES = { cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(100) },
  memory: { request: Size.mebibytes(64), limit: Size.mebibytes(64) } };

/** A cdk8s-plus Deployment in "shop" with an http and a metrics port, and its Service. */
function shopApi(chart: Chart): { api: kplus.Deployment; service: kplus.Service } {
  const api = new kplus.Deployment(chart, 'api', {
    metadata: { name: 'api', namespace: 'shop' },
    containers: [{ name: 'api', image: 'api:1', ports: [{ number: 8080, name: 'http' }, { number: 9090, name: 'metrics' }], resources: RESOURCES }],
  });
  const service = api.exposeViaService({ name: 'api', ports: [{ port: 80, targetPort: 8080, name: 'http' }, { port: 9090, name: 'metrics' }] });
  return { api, service };
}

describe('ServiceMonitor', () => {
  test('selects a cdk8s-plus Service by its labels (given one when it has none), in its namespace; schema-valid', () => {
    const { chart } = newChart();
    const { service } = shopApi(chart);
    new ServiceMonitor(chart, 'api-monitor', { service, port: 'metrics', interval: Duration.seconds(15), labels: { release: 'prometheus' } });
    const out = Testing.synth(chart);
    expectSchemaValid(out);
    expect(objectOf(out, 'ServiceMonitor')).toEqual({
      apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor',
      metadata: { name: 'api', namespace: 'shop', labels: { release: 'prometheus' } },
      spec: { selector: { matchLabels: { 'app.kubernetes.io/name': 'api' } }, endpoints: [{ port: 'metrics', path: '/metrics', interval: '15s' }] },
    });
    expect(objectOf(out, 'Service').metadata.labels).toEqual({ 'app.kubernetes.io/name': 'api' });
  });

  test('a port the Service does not name, or selected labels patched away: refused at synth with the fix', () => {
    const { app, chart } = newChart();
    const { service } = shopApi(chart);
    new ServiceMonitor(chart, 'api-monitor', { service, port: 'metric' });
    ApiObject.of(service).addJsonPatch(JsonPatch.remove('/metadata/labels'));
    const msg = thrown(() => synthApp(app));
    expect(msg).toContain('ServiceMonitor "api-monitor": port "metric" is not a named port of Service shop/api (it has "http", "metrics"); name '
      + 'the port, or scrape one of those');
    expect(msg).toContain('ServiceMonitor "api-monitor": selects Service shop/api by app.kubernetes.io/name=api, which it no longer carries');
  });

  test('once the app has a Prometheus, it must select the ServiceMonitor', () => {
    const { app, chart } = newChart();
    const { service } = shopApi(chart);
    new PrometheusInstance(chart, 'prometheus', { serviceMonitorLabels: { release: 'prometheus' } });
    new ServiceMonitor(chart, 'api-monitor', { service, port: 'metrics' });
    expect(thrown(() => synthApp(app))).toContain('ServiceMonitor shop/api (ServiceMonitor "api-monitor") is selected by no Prometheus of this app');
  });

  test('bad props, all at once', () => {
    const { chart } = newChart();
    const notAService = new k8s.KubeConfigMap(chart, 'cm', { metadata: { name: 'cm' } });
    expect(thrown(() => new ServiceMonitor(chart, 'm', { service: notAService, port: 'Metrics Port', path: 'metrics' }))).toBe([
      'ServiceMonitor "m": service must be a cdk8s-plus Service or an ApiObject of kind Service',
      'ServiceMonitor "m": port "Metrics Port" must be the name of one of the Service\'s ports (a named port: lower-case letters, digits and \'-\')',
      'ServiceMonitor "m": path "metrics" must start with "/"',
    ].join('\n'));
  });
});

describe('PodMonitor', () => {
  test("selects a cdk8s-plus Deployment's pods by its selector, in its namespace, scraping a named container port; schema-valid", () => {
    const { chart } = newChart();
    const { api } = shopApi(chart);
    new PodMonitor(chart, 'api-pods', { workload: api, port: 'metrics', labels: { release: 'prometheus' } });
    const out = Testing.synth(chart);
    expectSchemaValid(out);
    const monitor = objectOf(out, 'PodMonitor');
    expect(monitor.metadata).toEqual({ name: 'api', namespace: 'shop', labels: { release: 'prometheus' } });
    expect(monitor.spec.selector.matchLabels).toEqual(objectOf(out, 'Deployment').spec.selector.matchLabels);
    expect(monitor.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
  });

  test('an L1 workload without the named port: refused at synth; a Job: refused at construction', () => {
    const { app, chart } = newChart();
    const labels = { app: 'worker' };
    const worker = new k8s.KubeDeployment(chart, 'worker', {
      metadata: { name: 'worker', namespace: 'shop' },
      spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'w', image: 'w:1' }] } } },
    });
    new PodMonitor(chart, 'worker-pods', { workload: worker, port: 'metrics' });
    expect(thrown(() => synthApp(app))).toContain('PodMonitor "worker-pods": port "metrics" is not a named port of the pods of Deployment '
      + 'shop/worker (it has none)');
    const job = new kplus.Job(chart, 'job', { containers: [{ image: 'j:1', resources: RESOURCES }] });
    expect(thrown(() => new PodMonitor(chart, 'job-pods', { workload: job as any, port: 'metrics' })))
      .toBe('PodMonitor "job-pods": workload must be a cdk8s-plus Deployment, StatefulSet or DaemonSet, or an ApiObject of such a kind');
  });

  test('a Prometheus of the app selects PodMonitors by its serviceMonitorLabels (podMonitorSelector)', () => {
    const { app, chart } = newChart();
    const { api } = shopApi(chart);
    new PrometheusInstance(chart, 'prometheus', { serviceMonitorLabels: { release: 'prometheus' } });
    new PodMonitor(chart, 'api-pods', { workload: api, port: 'metrics' });
    expect(thrown(() => synthApp(app))).toContain('PodMonitor shop/api (PodMonitor "api-pods") is selected by no Prometheus of this app: '
      + 'PrometheusInstance "prometheus" needs the labels release=prometheus');
    const spec = synthApp(newAppWithPrometheus()).find(o => o.kind === 'Prometheus').spec;
    expect(spec.podMonitorSelector).toEqual({ matchLabels: { release: 'prometheus' } });
  });
});

function newAppWithPrometheus() {
  const { app, chart } = newChart();
  new PrometheusInstance(chart, 'prometheus', { serviceMonitorLabels: { release: 'prometheus' } });
  return app;
}
