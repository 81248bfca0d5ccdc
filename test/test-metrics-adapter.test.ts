import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, JsonPatch, Testing, Yaml } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Autoscaler, PromAdapter, ScalingMetric, simulate, TestMetricsAdapter, TestMetricsAdapterProps } from '../src';
import { danglingBindings, expectSchemaValid, newChart, objectOf, objectsOf, synthApp, thrown } from './helpers';

const upstream = Yaml.load(path.join(__dirname, 'fixtures', 'kind', 'testing-adapter.yaml'));
const IMAGE = 'kubernetes-sigs/k8s-test-metrics-adapter-amd64:latest';

function render(props: Partial<TestMetricsAdapterProps> = {}): any[] {
  const { chart } = newChart();
  new TestMetricsAdapter(chart, 'test-adapter', { image: IMAGE, ...props });
  return Testing.synth(chart);
}

const key = (o: any) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe('TestMetricsAdapter', () => {
  test('snapshot; schema-valid; every binding names a role that exists or is built in', () => {
    const out = render();
    expect(out).toMatchSnapshot();
    expectSchemaValid(out);
    expect(danglingBindings(out)).toEqual([]);
  });

  test("parity with upstream's testing-adapter.yaml: the same objects and names, the same APIServices and RBAC subjects", () => {
    const out = render();
    expect(out.map(key).sort()).toEqual(upstream.map(key).sort());
    for (const kind of ['APIService', 'ClusterRoleBinding', 'RoleBinding', 'Service', 'ServiceAccount']) {
      for (const theirs of objectsOf(upstream, kind)) {
        const ours = out.find(o => key(o) === key(theirs));
        expect({ k: key(ours), spec: ours.spec, roleRef: ours.roleRef, subjects: ours.subjects })
          .toEqual({ k: key(theirs), spec: theirs.spec, roleRef: theirs.roleRef, subjects: theirs.subjects });
      }
    }
    // the same rules, but the HPA controller only reads the custom metrics API (upstream grants every verb)
    expect(objectOf(out, 'ClusterRole', 'custom-metrics-resource-reader').rules).toEqual(objectOf(upstream, 'ClusterRole',
      'custom-metrics-resource-reader').rules);
    expect(objectOf(out, 'ClusterRole', 'custom-metrics-server-resources').rules).toEqual([{ apiGroups: ['custom.metrics.k8s.io'],
      resources: ['*'], verbs: ['get', 'list', 'watch'] }]);
    const [theirs, ours] = [objectOf(upstream, 'Deployment'), objectOf(out, 'Deployment')];
    const c = ours.spec.template.spec.containers[0];
    const u = theirs.spec.template.spec.containers[0];
    expect({ args: c.args, ports: c.ports, volumeMounts: c.volumeMounts, pull: c.imagePullPolicy })
      .toEqual({ args: u.args, ports: u.ports, volumeMounts: u.volumeMounts, pull: u.imagePullPolicy });
    expect(ours.spec.template.spec.volumes).toEqual(theirs.spec.template.spec.volumes);
    expect(c.image).toBe(IMAGE);
  });

  test('requests == limits, Pod Security "restricted" in its own restricted namespace, probes', () => {
    const { app, chart } = newChart();
    new TestMetricsAdapter(chart, 'test-adapter', { image: IMAGE, resources: { cpu: '50m', memory: '64Mi' } });
    const out = synthApp(app); // the Pod Security check runs: the namespace is labelled restricted
    const c = objectOf(out, 'Deployment').spec.template.spec.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '50m', memory: '64Mi' } });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
    expect(objectOf(out, 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  test('customMetric: a handle ScalingMetric.object takes; a typo is caught against the names the adapter serves', () => {
    const { app, chart } = newChart();
    const adapter = new TestMetricsAdapter(chart, 'test-adapter', { image: IMAGE });
    const metric = adapter.customMetric('test-metric');
    expect(adapter.customMetric('test-metric')).toBe(metric);
    const nginx = new k8s.KubeDeployment(chart, 'nginx', { metadata: { name: 'nginx', namespace: 'default' }, spec: {
      selector: { matchLabels: { app: 'nginx' } }, template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx',
        image: 'nginx', resources: { requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('64Mi') },
          limits: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('64Mi') } } }] } } } });
    const hpa = new Autoscaler(chart, 'nginx-hpa', { target: nginx, maxReplicas: 5,
      metrics: [ScalingMetric.object(metric, { apiVersion: 'v1', kind: 'Service', name: 'nginx' }, { value: '300m' })] });
    expect(() => synthApp(app)).not.toThrow();
    hpa.hpa.addJsonPatch(JsonPatch.replace('/spec/metrics/0/object/metric/name', 'test-metrc'));
    expect(thrown(() => synthApp(app))).toContain('asks custom.metrics.k8s.io for "test-metrc", but the app\'s TestMetricsAdapter "test-adapter" '
      + 'serves that API (only one APIService per group in a cluster) and serves "test-metric"; did you mean "test-metric"?');
  });

  test('refuses a missing image, and sharing the app with a PromAdapter or KEDA that serve the same APIs', () => {
    expect(thrown(() => render({ image: '' }))).toContain('TestMetricsAdapter "test-adapter": image is required: upstream publishes none');
    const { app, chart } = newChart();
    new TestMetricsAdapter(chart, 'test-adapter', { image: IMAGE });
    new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' }).addCounterRate({ counter: 'http_requests_total' });
    expect(thrown(() => synthApp(app))).toContain('APIService v1beta1.custom.metrics.k8s.io is served by both TestMetricsAdapter "test-adapter"');
    const keda = newChart();
    new TestMetricsAdapter(keda.chart, 'test-adapter', { image: IMAGE });
    new ApiObject(keda.chart, 'so', { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'worker', namespace: 'jobs' } });
    expect(thrown(() => synthApp(keda.app))).toContain('TestMetricsAdapter "test-adapter": the app has KEDA ScaledObjects (ScaledObject '
      + 'jobs/worker), and KEDA serves v1beta1.external.metrics.k8s.io');
  });
});

describe('the kind trial (examples/kind), simulated', () => {
  const root = path.join(__dirname, '..');
  const hpa = Yaml.load(path.join(root, 'examples', 'kind', 'dist', 'trial.k8s.yaml'))
    .find((o: any) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'nginx');
  const scenario = JSON.parse(fs.readFileSync(path.join(root, 'docs', 'scenarios', 'kind-test-metric.json'), 'utf8'));
  /** The syncs at which the replica count changed, as [time, from, to]. */
  const changes = (window?: number) => {
    const spec = window === undefined ? hpa : { ...hpa, spec: { ...hpa.spec, behavior: { ...hpa.spec.behavior,
      scaleDown: { ...hpa.spec.behavior.scaleDown, stabilizationWindowSeconds: window } } } };
    return simulate(spec, scenario).steps.filter(s => s.replicas !== s.currentReplicas).map(s => [s.time, s.currentReplicas, s.replicas]);
  };

  test('up at the first sync after 400m is written; after 100m, held until 300 s have passed since the last sync that saw 400m, then down', () => {
    // 400m at 60 s: the sync at 60 s sees it. 100m at 600 s: the last sync that saw 400m was at 585 s.
    expect(changes()).toEqual([[60, 1, 2], [885, 2, 1]]);
  });

  test('a 60 s scale-down window: down 60 s after the last sync that saw 400m', () => {
    expect(changes(60)).toEqual([[60, 1, 2], [645, 2, 1]]);
  });

  test("the example's HPA asks the test adapter for the metric it writes, on the Service it describes", () => {
    const trial = Yaml.load(path.join(root, 'examples', 'kind', 'dist', 'trial.k8s.yaml'));
    expect(hpa.spec.metrics).toEqual([{ type: 'Object', object: { metric: { name: 'test-metric' },
      describedObject: { apiVersion: 'v1', kind: 'Service', name: 'nginx' }, target: { type: 'AverageValue', averageValue: '300m' } } }]);
    expect(objectOf(trial, 'Service', 'nginx').metadata.namespace).toBe('default');
    expect(objectOf(trial, 'Deployment', 'metrics-server').spec.template.spec.containers[0].args).toContain('--kubelet-insecure-tls');
    expectSchemaValid(trial);
    const cluster = Yaml.load(path.join(root, 'examples', 'kind', 'dist', 'kind-cluster.k8s.yaml'));
    expect(cluster).toEqual([expect.objectContaining({ kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4' })]);
    expect(cluster[0].nodes.map((n: any) => n.role)).toEqual(['control-plane', 'worker', 'worker']);
  });
});
