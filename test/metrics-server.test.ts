import * as path from 'path';
import { Duration, Testing, Yaml } from 'cdk8s';
import { KubeletAddressType, KUBELET_INSECURE_TLS_ANNOTATION, MetricsServer, MetricsServerProps, SAFE_TO_EVICT_ANNOTATION } from '../src';
import { expectSchemaValid, newChart, objectOf, synthApp, thrown } from './helpers';

const FIXTURES = path.join(__dirname, 'fixtures', 'metrics-server');
const upstream = Yaml.load(path.join(FIXTURES, 'components.yaml'));
const upstreamHa = Yaml.load(path.join(FIXTURES, 'high-availability-1.21+.yaml'));

function render(props?: MetricsServerProps): any[] {
  const { chart } = newChart();
  new MetricsServer(chart, 'metrics', props);
  return Testing.synth(chart);
}

function container(out: any[]): any {
  return objectOf(out, 'Deployment', 'metrics-server').spec.template.spec.containers[0];
}

/** Upstream sets requests only; we set equal limits. Everything else must match. */
function withoutResources(objs: any[]): any[] {
  return JSON.parse(JSON.stringify(objs), (k, v) => (k === 'resources' ? undefined : v));
}

const error = (props: MetricsServerProps): string => thrown(() => render(props));

describe('MetricsServer', () => {
  test('defaults: snapshot and schema', () => {
    const out = render();
    expect(out).toMatchSnapshot();
    expectSchemaValid(out);
  });

  test('parity with upstream v0.9.0 components.yaml: same objects, names, RBAC, args, probes, securityContext', () => {
    const out = render();
    const key = (o: any) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    expect(out.map(key).sort()).toEqual(upstream.map(key).sort());
    // beyond requests == limits, one addition: the lone pod stays put when cluster-autoscaler drains nodes
    const template = objectOf(out, 'Deployment').spec.template.metadata;
    expect(template.annotations).toEqual({ [SAFE_TO_EVICT_ANNOTATION]: 'false' });
    delete template.annotations;
    const byKey = new Map(withoutResources(upstream).map((o: any) => [key(o), o]));
    for (const o of withoutResources(out)) {
      expect(o).toEqual(byKey.get(key(o)));
    }
  });

  test('parity with upstream high-availability-1.21+.yaml', () => {
    const out = render({ highAvailability: true });
    const key = (o: any) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    expect(out.map(key).sort()).toEqual(upstreamHa.map(key).sort());
    const byKey = new Map(withoutResources(upstreamHa).map((o: any) => [key(o), o]));
    for (const o of withoutResources(out)) {
      expect(o).toEqual(byKey.get(key(o)));
    }
    expectSchemaValid(out);
    expect(objectOf(out, 'PodDisruptionBudget').apiVersion).toBe('policy/v1');
  });

  test('resources are requests == limits, upstream requests or more', () => {
    const r = container(render()).resources;
    expect(r.requests).toEqual(r.limits);
    expect(r.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    expect(container(render({ resources: { cpu: '200m', memory: '400Mi' } })).resources)
      .toEqual({ requests: { cpu: '200m', memory: '400Mi' }, limits: { cpu: '200m', memory: '400Mi' } });
  });

  test('every prop has its effect', () => {
    const out = render({
      namespace: 'metrics', version: 'v0.8.1', imageRegistry: 'mirror.example.com/k8s/',
      metricResolution: Duration.seconds(30), kubeletInsecureTls: true,
      kubeletPreferredAddressTypes: [KubeletAddressType.HOSTNAME, KubeletAddressType.INTERNAL_IP],
      priorityClassName: 'platform-critical', args: ['--kubelet-certificate-authority=/ca/ca.crt', '--v=2'],
    });
    expectSchemaValid(out);
    const c = container(out);
    expect(c.image).toBe('mirror.example.com/k8s/metrics-server/metrics-server:v0.8.1');
    expect(c.args).toEqual([
      '--cert-dir=/tmp', '--secure-port=10250', '--kubelet-preferred-address-types=Hostname,InternalIP',
      '--kubelet-use-node-status-port', '--metric-resolution=30s', '--kubelet-insecure-tls',
      '--kubelet-certificate-authority=/ca/ca.crt', '--v=2',
    ]);
    const d = objectOf(out, 'Deployment', 'metrics-server');
    expect(d.metadata.namespace).toBe('metrics');
    expect(d.metadata.annotations[KUBELET_INSECURE_TLS_ANNOTATION]).toMatch(/lack IP SANs/);
    expect(d.spec.template.spec.priorityClassName).toBe('platform-critical');
    expect(objectOf(out, 'APIService').spec.service).toEqual({ name: 'metrics-server', namespace: 'metrics' });
    for (const b of [objectOf(out, 'ClusterRoleBinding', 'system:metrics-server'), objectOf(out, 'RoleBinding')]) {
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'metrics-server', namespace: 'metrics' }]);
    }
    expect(objectOf(out, 'RoleBinding').metadata.namespace).toBe('kube-system');
    expect(container(render({ image: 'example.com/ms:dev' })).image).toBe('example.com/ms:dev');
  });

  test('12s passes with the default timeout; a shorter timeout permits a shorter resolution', () => {
    expect(container(render({ metricResolution: Duration.seconds(12) })).args).toContain('--metric-resolution=12s');
    expect(container(render({ metricResolution: Duration.seconds(10),
      args: ['--kubelet-request-timeout=5s'] })).args).toContain('--metric-resolution=10s');
  });

  test('no --kubelet-insecure-tls and no annotation by default', () => {
    const out = render();
    expect(container(out).args).not.toContain('--kubelet-insecure-tls');
    expect(objectOf(out, 'Deployment').metadata.annotations).toBeUndefined();
  });

  test.each<[string, MetricsServerProps, string]>([
    ['resolution below 10s', { metricResolution: Duration.seconds(5) }, 'MetricsServer "metrics": metricResolution 5s is below 10s, which '
      + 'metrics-server refuses to start with; use 15s'],
    ['fractional resolution', { metricResolution: Duration.millis(15500) }, 'MetricsServer "metrics": metricResolution must be a whole number of '
      + 'seconds, got 15.5s'],
    ['10s with the default 10s kubelet timeout', { metricResolution: Duration.seconds(10) }, 'metricResolution 10s is too short for the kubelet '
      + 'request timeout (10s)'],
    ['a resolution shorter than a custom timeout',
      { metricResolution: Duration.seconds(20), args: ['--kubelet-request-timeout=30s'] }, 'metricResolution 20s is too short for the '
        + 'kubelet request timeout (30s)'],
    ['a managed flag in args', { args: ['--metric-resolution=5s'] }, 'MetricsServer "metrics": args entry "--metric-resolution=5s" overrides '
      + '--metric-resolution, which this construct sets; use the matching prop instead'],
    ['a non-flag arg', { args: ['verbose'] }, 'args entry "verbose" is not a flag'],
    ['bad namespace', { namespace: 'Kube_System' }, 'namespace "Kube_System" is not a valid DNS label'],
    ['unequal-free resources', { resources: { cpu: '100m', memory: 'lots' } }, 'MetricsServer "metrics": resources.memory: invalid quantity "lots"'],
    ['no address types', { kubeletPreferredAddressTypes: [] }, 'kubeletPreferredAddressTypes must list at least one address type'],
  ])('refuses %s', (_n, props, message) => {
    expect(error(props)).toContain(message);
  });

  test('two MetricsServers in one app both claim v1beta1.metrics.k8s.io: refused naming both', () => {
    const { app, chart } = newChart();
    new MetricsServer(chart, 'a');
    new MetricsServer(chart, 'b', { namespace: 'other' });
    expect(() => synthApp(app)).toThrow(/APIService v1beta1\.metrics\.k8s\.io is served by both MetricsServer "a" \(test\/a\) and MetricsServer "b" \(test\/b\)/);
  });
});
