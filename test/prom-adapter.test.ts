import { Duration, Testing } from 'cdk8s';
import { parse as parseYaml } from 'yaml';
import { MetricsApi, MetricsServer, PromAdapter, PromAdapterProps } from '../src';
import { fillTemplate } from '../src/core/promql';
import { danglingBindings, expectSchemaValid, newChart, objectOf, objectsOf, promtoolCheck, testWithPromtool, synthApp, thrown } from './helpers';

const URL = 'http://prometheus-k8s.monitoring.svc:9090/';
const CA = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUY2E=\n-----END CERTIFICATE-----\n';

function make(props: Partial<PromAdapterProps> = {}) {
  const { app, chart } = newChart();
  const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: URL, ...props });
  return { app, chart, adapter };
}

function config(out: any[]): any {
  return parseYaml(objectOf(out, 'ConfigMap', 'adapter-config').data['config.yaml']);
}

function container(out: any[], name = 'prometheus-adapter'): any {
  return objectOf(out, 'Deployment', name).spec.template.spec.containers[0];
}

function apiServices(out: any[]): string[] {
  return objectsOf(out, 'APIService').map(a => a.metadata.name).sort();
}

describe('PromAdapter', () => {
  test('all rule kinds: snapshot, schema (ServiceMonitor against its CRD), RBAC completeness', () => {
    const { chart, adapter } = make({ serviceMonitorLabels: { release: 'prometheus' } });
    adapter.addCounterRate({ counter: 'http_requests_total', labelMatchers: 'job="sample"' });
    adapter.addExternalMetric({ metricName: 'queue_depth', seriesQuery: 'queue_depth{queue!=""}', metricsQuery: 'sum by (queue) '
      + '(<<.Series>>{<<.LabelMatchers>>})' });
    adapter.enableResourceMetrics();
    const out = Testing.synth(chart);
    expect(out).toMatchSnapshot();
    expectSchemaValid(out);
    expect(danglingBindings(out)).toEqual([]);
    expect(apiServices(out)).toEqual(['v1beta1.custom.metrics.k8s.io', 'v1beta1.external.metrics.k8s.io', 'v1beta1.metrics.k8s.io',
      'v1beta2.custom.metrics.k8s.io']);
  });

  test('deployment is hardened as kube-prometheus: args, probes, securityContext, volumes', () => {
    const { chart, adapter } = make();
    adapter.addCounterRate({ counter: 'http_requests_total' });
    const out = Testing.synth(chart);
    const d = objectOf(out, 'Deployment', 'prometheus-adapter');
    expect(d.metadata.namespace).toBe('monitoring');
    expect(d.spec.replicas).toBe(2);
    const c = container(out);
    expect(c.image).toBe('registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0');
    expect(c.args.slice(0, 5)).toEqual([
      '--cert-dir=/var/run/serving-cert', '--config=/etc/adapter/config.yaml', '--metrics-relist-interval=1m',
      `--prometheus-url=${URL}`, '--secure-port=6443',
    ]);
    expect(c.args[5]).toMatch(/^--tls-cipher-suites=TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,/);
    expect(c.startupProbe).toEqual({ httpGet: { path: '/livez', port: 'https', scheme: 'HTTPS' }, periodSeconds: 10, failureThreshold: 18 });
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/livez');
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true,
      runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.resources.requests).toEqual(c.resources.limits);
    expect(c.volumeMounts.map((m: any) => m.mountPath)).toEqual(['/tmp', '/var/run/serving-cert', '/etc/adapter']);
    expect(d.spec.template.spec.volumes.map((v: any) => Object.keys(v).filter(k => k !== 'name')[0])).toEqual(['emptyDir', 'emptyDir', 'configMap']);
    expect(d.spec.template.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
    const svc = objectOf(out, 'Service', 'prometheus-adapter');
    expect(svc.spec.ports).toEqual([{ name: 'https', port: 443, protocol: 'TCP', targetPort: 'https' }]);
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
    expect(objectOf(out, 'PodDisruptionBudget').spec.minAvailable).toBe(1);
    const np = objectOf(out, 'NetworkPolicy');
    expect(np.spec.ingress).toEqual([{ ports: [{ port: 6443, protocol: 'TCP' }] }]);
    expect(np.spec.podSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
  });

  test('the config checksum changes when a rule is added after construction', () => {
    const a = make();
    a.adapter.addCounterRate({ counter: 'a_total' });
    const b = make();
    b.adapter.addCounterRate({ counter: 'a_total' });
    b.adapter.addCounterRate({ counter: 'b_total' });
    const sum = (x: any) => objectOf(Testing.synth(x.chart), 'Deployment').spec.template.metadata.annotations['checksum/config'];
    expect(sum(a)).not.toBe(sum(b));
    expect(config(Testing.synth(b.chart)).rules).toHaveLength(2);
  });

  test('ServiceMonitor selects the Service and carries the Prometheus selector labels', () => {
    const { chart, adapter } = make({ serviceMonitorLabels: { release: 'prometheus' } });
    adapter.addCounterRate({ counter: 'x_total' });
    const out = Testing.synth(chart);
    const sm = objectOf(out, 'ServiceMonitor');
    expect(sm.metadata.labels.release).toBe('prometheus');
    const svc = objectOf(out, 'Service');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels[k]).toBe(v);
    expect(sm.spec.endpoints[0].port).toBe(svc.spec.ports[0].name);
    const off = make({ serviceMonitor: false });
    off.adapter.addCounterRate({ counter: 'x_total' });
    expect(objectsOf(Testing.synth(off.chart), 'ServiceMonitor')).toHaveLength(0);
  });

  describe('APIServices only for the APIs that have rules', () => {
    test.each<[string, (a: PromAdapter) => void, string[]]>([
      ['custom', a => a.addCounterRate({ counter: 'x_total' }), ['v1beta1.custom.metrics.k8s.io', 'v1beta2.custom.metrics.k8s.io']],
      ['external', a => a.addExternalMetric({ metricName: 'q', seriesQuery: 'q', metricsQuery: 'sum(q)' }), ['v1beta1.external.metrics.k8s.io']],
      ['resource', a => a.enableResourceMetrics(), ['v1beta1.metrics.k8s.io']],
    ])('%s', (_n, add, names) => {
      const { chart, adapter } = make();
      add(adapter);
      const out = Testing.synth(chart);
      expect(apiServices(out)).toEqual(names);
      for (const s of objectsOf(out, 'APIService')) {
        expect(s.spec).toMatchObject({ groupPriorityMinimum: 100, insecureSkipTLSVerify: true, service: { name: 'prometheus-adapter',
          namespace: 'monitoring', port: 443 } });
      }
      expect(danglingBindings(out)).toEqual([]);
      expectSchemaValid(out);
    });

    test('v1beta2 custom outranks v1beta1', () => {
      const { chart, adapter } = make();
      adapter.addCounterRate({ counter: 'x_total' });
      const out = Testing.synth(chart);
      expect(objectOf(out, 'APIService', 'v1beta2.custom.metrics.k8s.io').spec.versionPriority).toBe(200);
      expect(objectOf(out, 'APIService', 'v1beta1.custom.metrics.k8s.io').spec.versionPriority).toBe(100);
    });
  });

  test('RBAC: resource reader, auth-delegator, auth-reader in kube-system, and HPA controller read access per API', () => {
    const { chart, adapter } = make();
    adapter.addCounterRate({ counter: 'x_total' });
    adapter.addExternalMetric({ metricName: 'q', seriesQuery: 'q', metricsQuery: 'sum(q)' });
    const out = Testing.synth(chart);
    const sa = [{ kind: 'ServiceAccount', name: 'prometheus-adapter', namespace: 'monitoring' }];
    const hpa = [{ kind: 'ServiceAccount', name: 'horizontal-pod-autoscaler', namespace: 'kube-system' }];
    expect(objectOf(out, 'ClusterRole', 'prometheus-adapter').rules).toEqual([{ apiGroups: [''], resources: ['namespaces', 'nodes', 'pods',
      'services'], verbs: ['get', 'list', 'watch'] }]);
    expect(objectOf(out, 'ClusterRoleBinding', 'prometheus-adapter')).toMatchObject({ roleRef: { kind: 'ClusterRole', name: 'prometheus-adapter' },
      subjects: sa });
    expect(objectOf(out, 'ClusterRoleBinding', 'prometheus-adapter:system:auth-delegator')).toMatchObject({ roleRef: { kind: 'ClusterRole',
      name: 'system:auth-delegator' }, subjects: sa });
    expect(objectOf(out, 'RoleBinding', 'prometheus-adapter-auth-reader')).toMatchObject({ metadata: { namespace: 'kube-system' },
      roleRef: { kind: 'Role', name: 'extension-apiserver-authentication-reader' }, subjects: sa });
    expect(objectOf(out, 'ClusterRole', 'custom-metrics-server-resources').rules).toEqual([{ apiGroups: ['custom.metrics.k8s.io'], resources: ['*'],
      verbs: ['get', 'list', 'watch'] }]);
    expect(objectOf(out, 'ClusterRole', 'external-metrics-server-resources').rules).toEqual([{ apiGroups: ['external.metrics.k8s.io'],
      resources: ['*'], verbs: ['get', 'list', 'watch'] }]);
    expect(objectOf(out, 'ClusterRoleBinding',
      'hpa-controller-custom-metrics')).toMatchObject({ roleRef: { name: 'custom-metrics-server-resources' }, subjects: hpa });
    expect(objectOf(out, 'ClusterRoleBinding',
      'hpa-controller-external-metrics')).toMatchObject({ roleRef: { name: 'external-metrics-server-resources' }, subjects: hpa });
    expect(objectsOf(out, 'ClusterRole', 'system:aggregated-metrics-reader')).toHaveLength(0);
    expect(objectOf(out, 'ServiceAccount').automountServiceAccountToken).toBe(false);
  });

  test('danglingBindings catches a binding to an undefined role (the upstream defect)', () => {
    expect(danglingBindings([{ kind: 'ClusterRoleBinding', metadata: { name: 'hpa-controller-custom-metrics' }, roleRef: { kind: 'ClusterRole',
      name: 'custom-metrics-server-resources' } }]))
      .toEqual(['ClusterRoleBinding hpa-controller-custom-metrics -> ClusterRole/custom-metrics-server-resources']);
  });

  test('rules render deterministically with handles naming the served metric', () => {
    const { chart, adapter } = make();
    const rps = adapter.addCounterRate({ counter: 'http_requests_total', window: Duration.minutes(1) });
    const custom = adapter.addCustomMetric({
      metricName: 'queue_length', seriesQuery: 'worker_queue_length{namespace!="",service!=""}',
      resourceOverrides: { service: { resource: 'service' }, namespace: { resource: 'namespace' } },
      seriesFilters: [{ isNot: '.*_bucket$' }],
      metricsQuery: 'max by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})',
    });
    const ext = adapter.addExternalMetric({ metricName: 'sqs_depth', seriesQuery: '{__name__="aws_sqs_messages"}',
      metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})', namespaced: true });
    expect([rps.metricName, rps.api, rps.resources]).toEqual(['http_requests_per_second', MetricsApi.CUSTOM, ['namespace', 'pod']]);
    expect([custom.metricName, custom.resources]).toEqual(['queue_length', ['service', 'namespace']]);
    expect([ext.metricName, ext.api]).toEqual(['sqs_depth', MetricsApi.EXTERNAL]);
    expect(adapter.servedMetrics).toEqual([rps, custom, ext]);
    const cfg = config(Testing.synth(chart));
    expect(cfg.rules[0]).toEqual({
      seriesQuery: 'http_requests_total{namespace!="",pod!=""}',
      resources: { overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } } },
      name: { matches: '^http_requests_total$', as: 'http_requests_per_second' },
      metricsQuery: 'sum by (<<.GroupBy>>) (rate(<<.Series>>{<<.LabelMatchers>>}[1m]))',
    });
    expect(cfg.rules[1].resources.overrides).toEqual({ namespace: { resource: 'namespace' }, service: { resource: 'service' } });
    expect(cfg.rules[1].seriesFilters).toEqual([{ isNot: '.*_bucket$' }]);
    expect(cfg.externalRules[0]).toEqual({
      seriesQuery: '{__name__="aws_sqs_messages"}', resources: { overrides: { namespace: { resource: 'namespace' } } },
      name: { matches: '^(.*)$', as: 'sqs_depth' }, metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})',
    });
    expect(Testing.synth(chart)).toEqual(Testing.synth(chart));
  });

  test('external rules are cluster-wide by default', () => {
    const { chart, adapter } = make();
    adapter.addExternalMetric({ metricName: 'q', seriesQuery: 'q', metricsQuery: 'sum(q)' });
    expect(config(Testing.synth(chart)).externalRules[0].resources).toEqual({ namespaced: false });
  });

  test('resource rules as upstream v0.12.0', () => {
    const { chart, adapter } = make();
    adapter.enableResourceMetrics();
    const rr = config(Testing.synth(chart)).resourceRules;
    expect(rr.window).toBe('5m');
    expect(rr.cpu.containerLabel).toBe('container');
    expect(rr.cpu.containerQuery).toContain('container_cpu_usage_seconds_total');
    expect(rr.memory.nodeQuery).toContain('node_memory_working_set_bytes');
    expect(Object.keys(rr.cpu.resources.overrides)).toEqual(['namespace', 'node', 'pod']);
  });

  testWithPromtool('every query in the config is valid PromQL for promtool once its template is filled', () => {
    const { chart, adapter } = make();
    adapter.addCounterRate({ counter: 'http_requests_total' });
    adapter.addExternalMetric({ metricName: 'q', seriesQuery: 'q{a!=""}', metricsQuery: 'sum by (a) (<<.Series>>{<<.LabelMatchers>>})' });
    adapter.enableResourceMetrics();
    const cfg = config(Testing.synth(chart));
    const exprs: Record<string, string> = {};
    [...cfg.rules, ...cfg.externalRules].forEach((r: any, i: number) => {
      exprs[`series_${i}`] = r.seriesQuery;
      exprs[`query_${i}`] = fillTemplate(r.metricsQuery);
    });
    for (const res of ['cpu', 'memory']) {
      exprs[`${res}_container`] = fillTemplate(cfg.resourceRules[res].containerQuery);
      exprs[`${res}_node`] = fillTemplate(cfg.resourceRules[res].nodeQuery);
    }
    const r = promtoolCheck(exprs);
    expect(r.output).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  testWithPromtool('promtool rejects what the in-process grammar rejects', () => {
    expect(promtoolCheck({ bad: 'sum(rate(x[2m]) by (a' }).code).not.toBe(0);
  });

  test('tls: Secret-mounted serving cert and caBundle, no insecureSkipTLSVerify', () => {
    const { chart, adapter } = make({ tls: { secretName: 'adapter-serving', caBundle: CA } });
    adapter.addCounterRate({ counter: 'x_total' });
    const out = Testing.synth(chart);
    const c = container(out);
    expect(c.args).toContain('--tls-cert-file=/var/run/serving-cert/tls.crt');
    expect(c.args).toContain('--tls-private-key-file=/var/run/serving-cert/tls.key');
    expect(c.args.some((a: string) => a.startsWith('--cert-dir'))).toBe(false);
    const vol = objectOf(out, 'Deployment').spec.template.spec.volumes.find((v: any) => v.name === 'volume-serving-cert');
    expect(vol.secret.secretName).toBe('adapter-serving');
    for (const s of objectsOf(out, 'APIService')) {
      expect(s.spec.insecureSkipTLSVerify).toBeUndefined();
      expect(Buffer.from(s.spec.caBundle, 'base64').toString()).toBe(CA);
    }
    expect(JSON.stringify(out)).not.toMatch(/PRIVATE KEY/);
    expectSchemaValid(out);
    // base64 input is accepted as is
    const b64 = make({ tls: { secretName: 's', caBundle: Buffer.from(CA).toString('base64') } });
    b64.adapter.addCounterRate({ counter: 'x_total' });
    expect(objectsOf(Testing.synth(b64.chart), 'APIService')[0].spec.caBundle).toBe(Buffer.from(CA).toString('base64'));
  });

  test('every prop has its effect', () => {
    const { chart, adapter } = make({
      namespace: 'metrics', name: 'adapter', imageRegistry: 'mirror.example.com', version: 'v0.11.2', replicas: 1,
      metricsRelistInterval: Duration.seconds(30), resources: { cpu: '500m', memory: '512Mi' },
      priorityClassName: 'system-cluster-critical', args: ['--prometheus-auth-incluster'],
    });
    adapter.addCounterRate({ counter: 'x_total' });
    const out = Testing.synth(chart);
    const d = objectOf(out, 'Deployment', 'adapter');
    expect(d.metadata.namespace).toBe('metrics');
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(d.spec.template.spec.affinity).toBeUndefined();
    expect(d.spec.template.spec.priorityClassName).toBe('system-cluster-critical');
    expect(objectsOf(out, 'PodDisruptionBudget')).toHaveLength(0);
    const c = container(out, 'adapter');
    expect(c.image).toBe('mirror.example.com/prometheus-adapter/prometheus-adapter:v0.11.2');
    expect(c.args).toContain('--metrics-relist-interval=30s');
    expect(c.args[c.args.length - 1]).toBe('--prometheus-auth-incluster');
    expect(c.resources).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '500m', memory: '512Mi' } });
    expect(objectOf(out, 'APIService', 'v1beta1.custom.metrics.k8s.io').spec.service).toEqual({ name: 'adapter', namespace: 'metrics', port: 443 });
    expectSchemaValid(out);
  });

  describe('refused input', () => {
    const adapterError = (props: Partial<PromAdapterProps>) => thrown(() => make(props));
    test.each<[string, Partial<PromAdapterProps>, string]>([
      ['a relative prometheusUrl', { prometheusUrl: 'prometheus:9090' }, 'PromAdapter "adapter": prometheusUrl "prometheus:9090" must use http or '
        + 'https'],
      ['a non-URL', { prometheusUrl: 'not a url' }, 'prometheusUrl "not a url" is not a URL'],
      ['zero replicas', { replicas: 0 }, 'replicas must be a whole number >= 1, got 0'],
      ['a private key in caBundle', { tls: { secretName: 's', caBundle: '-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE '
        + 'KEY-----' } }, 'tls.caBundle contains a private key'],
      ['a caBundle that is no certificate', { tls: { secretName: 's', caBundle: 'aGVsbG8=' } }, 'tls.caBundle must be a PEM CA certificate'],
      ['a managed flag', { args: ['--config=/x'] }, 'args entry "--config=/x" overrides --config'],
      ['a sub-second relist', { metricsRelistInterval: Duration.millis(500) }, 'metricsRelistInterval must be at least 1s'],
    ])('%s', (_n, props, message) => {
      expect(adapterError(props)).toContain(message);
    });

    test('invalid PromQL names the rule and carries the parser message', () => {
      const { adapter } = make();
      expect(thrown(() => adapter.addCustomMetric({ metricName: 'rps', seriesQuery: 'x{pod!=""}',
        metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m]) by (<<.GroupBy>>' })))
        .toMatch(/^PromAdapter "adapter": custom metric "rps": metricsQuery is not valid PromQL once its template is filled \(".*"\): PromQL syntax error at column \d+/);
      expect(thrown(() => adapter.addExternalMetric({ metricName: 'q', seriesQuery: 'q', metricsQuery: 'sum(q' })))
        .toContain('external metric "q": metricsQuery is not valid PromQL');
      expect(thrown(() => adapter.addExternalMetric({ metricName: 'q', seriesQuery: 'q{', metricsQuery: 'sum(q)' })))
        .toContain('external metric "q": seriesQuery is not a valid PromQL series selector');
      expect(thrown(() => adapter.enableResourceMetrics({ cpu: { containerQuery: 'sum by (<<.GroupBy>>) (x', nodeQuery: 'sum by (<<.GroupBy>>) '
        + '(y)' } })))
        .toContain('resource metric cpu: containerQuery is not valid PromQL');
    });

    test('custom rules must use <<.LabelMatchers>> and <<.GroupBy>>', () => {
      const { adapter } = make();
      expect(thrown(() => adapter.addCustomMetric({ metricName: 'rps', seriesQuery: 'x', metricsQuery: 'sum(rate(<<.Series>>[2m]))' })))
        .toContain('custom metric "rps": metricsQuery must use <<.LabelMatchers>>');
      expect(thrown(() => adapter.addCustomMetric({ metricName: 'rps', seriesQuery: 'x',
        metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m]))' })))
        .toContain('custom metric "rps": metricsQuery must use <<.GroupBy>>');
    });

    test('unsupported template actions, duplicates, bad names, bad filters', () => {
      const { adapter } = make();
      expect(thrown(() => adapter.addExternalMetric({ metricName: 'q', seriesQuery: 'q', metricsQuery: 'sum(<<range .GroupBySlice>>x<<end>>)' })))
        .toContain('unsupported template action <<range .GroupBySlice>>');
      adapter.addCounterRate({ counter: 'x_total' });
      expect(thrown(() => adapter.addCounterRate({ counter: 'x_total' }))).toContain('custom metric "x_per_second" is defined twice');
      expect(thrown(() => adapter.addExternalMetric({ metricName: 'bad/name', seriesQuery: 'q', metricsQuery: 'sum(q)' }))).toContain('metricName '
        + 'must be a metric name');
      expect(thrown(() => adapter.addExternalMetric({ metricName: 'q', seriesQuery: 'q', metricsQuery: 'sum(q)',
        seriesFilters: [{}] }))).toContain('each seriesFilters entry sets exactly one of is / isNot');
      expect(thrown(() => adapter.addExternalMetric({ metricName: 'q', seriesQuery: 'q', metricsQuery: 'sum(q)',
        seriesNameMatches: '(' }))).toContain('seriesNameMatches: invalid regular expression "("');
      expect(thrown(() => adapter.addCounterRate({ counter: 'bad-name' }))).toContain('counter "bad-name" is not a Prometheus metric name');
      adapter.enableResourceMetrics();
      expect(thrown(() => adapter.enableResourceMetrics())).toContain('enableResourceMetrics was already called');
    });

    test('an adapter without rules fails the synth', () => {
      const { chart } = make();
      expect(() => Testing.synth(chart)).toThrow('PromAdapter "adapter": the adapter has no rules, so it serves no metrics API');
    });

    test('a MetricsServer and a PromAdapter serving resource metrics are refused, naming both', () => {
      const { app, chart, adapter } = make();
      adapter.enableResourceMetrics();
      new MetricsServer(chart, 'metrics');
      expect(() => synthApp(app)).toThrow(/APIService v1beta1\.metrics\.k8s\.io is served by both PromAdapter "adapter" \(test\/adapter\) and MetricsServer "metrics" \(test\/metrics\)/);
    });

    test('a MetricsServer next to an adapter without resource metrics is fine', () => {
      const { app, chart, adapter } = make();
      adapter.addCounterRate({ counter: 'x_total' });
      new MetricsServer(chart, 'metrics');
      expect(() => synthApp(app)).not.toThrow();
    });
  });
});
