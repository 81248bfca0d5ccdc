import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Yaml } from 'cdk8s';
import { parse as parseYaml } from 'yaml';
import { checkRequestsEqualLimits } from '../src';
import { buildApp } from '../src/main';
import { danglingBindings, expectSchemaValid, objectOf, objectsOf } from './helpers';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const CHARTS = ['cluster-autoscaler', 'filler', 'flask', 'metrics', 'monitoring', 'sample'];

function synthTo(dir: string): void {
  buildApp({ outdir: dir }).synth();
}

function tmpdir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function readDir(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).sort().map(f => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
}

describe('reference stack (src/main.ts)', () => {
  const out = tmpdir('stack-');
  synthTo(out);
  const files = readDir(out);
  const byChart: Record<string, any[]> = Object.fromEntries(CHARTS.map(c => [c, Yaml.load(path.join(out, `${c}.k8s.yaml`))]));
  const all = Object.values(byChart).flat();

  test('one file per chart, with stable names', () => {
    expect(Object.keys(files)).toEqual(CHARTS.map(c => `${c}.k8s.yaml`));
  });

  test('synthesizing twice gives byte-identical output', () => {
    const again = tmpdir('stack-again-');
    synthTo(again);
    expect(readDir(again)).toEqual(files);
  });

  test('every object validates against the Kubernetes schemas (ServiceMonitors against their CRD)', () => {
    expectSchemaValid(all);
    expect(objectsOf(all, 'ServiceMonitor').length).toBeGreaterThanOrEqual(2);
  });

  test('every pod template has requests == limits; no binding names a missing role', () => {
    expect(all.flatMap(o => checkRequestsEqualLimits(o))).toEqual([]);
    expect(danglingBindings(all)).toEqual([]);
    expect(objectsOf(all, 'Deployment').length).toBe(8);
  });

  test('no HPA target sets spec.replicas', () => {
    const targets = new Set(objectsOf(all, 'HorizontalPodAutoscaler').map(h => `${h.metadata.namespace}/${h.spec.scaleTargetRef.name}`));
    expect(targets.size).toBe(3);
    for (const d of objectsOf(all, 'Deployment')) {
      if (targets.has(`${d.metadata.namespace}/${d.metadata.name}`)) expect(d.spec.replicas).toBeUndefined();
    }
  });

  test('metrics: metrics-server at 15 s', () => {
    const c = objectOf(byChart.metrics, 'Deployment', 'metrics-server').spec.template.spec.containers[0];
    expect(c.args).toContain('--metric-resolution=15s');
    expect(objectOf(byChart.metrics, 'APIService').metadata.name).toBe('v1beta1.metrics.k8s.io');
  });

  test('flask: NodePort 30050, 3..10 replicas on 50% cpu and memory, Pods and Percent scale-down policies, under a quota', () => {
    const svc = objectOf(byChart.flask, 'Service', 'web');
    expect(svc.metadata.namespace).toBe('flask-ns');
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.ports[0].nodePort).toBe(30050);
    const c = objectOf(byChart.flask, 'Deployment', 'web').spec.template.spec.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: '400m', memory: '256Mi' }, limits: { cpu: '400m', memory: '256Mi' } });
    const hpa = objectOf(byChart.flask, 'HorizontalPodAutoscaler', 'web').spec;
    expect([hpa.minReplicas, hpa.maxReplicas]).toEqual([3, 10]);
    expect(hpa.metrics.map((m: any) => [m.resource.name, m.resource.target.averageUtilization])).toEqual([['cpu', 50], ['memory', 80]]);
    expect(hpa.behavior.scaleUp.stabilizationWindowSeconds).toBe(30);
    expect(hpa.behavior.scaleDown.policies.map((p: any) => p.type)).toEqual(['Pods', 'Percent']);
    expect(objectOf(byChart.flask, 'ResourceQuota').metadata.namespace).toBe('flask-ns');
    expect(objectOf(byChart.flask, 'LimitRange').spec.limits[0].maxLimitRequestRatio).toEqual({ cpu: '1', memory: '1' });
  });

  test('sample: 2..30 replicas on requests per second per pod, target 500m, served by the adapter', () => {
    const hpa = objectOf(byChart.sample, 'HorizontalPodAutoscaler', 'sample-app').spec;
    expect([hpa.minReplicas, hpa.maxReplicas]).toEqual([2, 30]);
    expect(hpa.metrics).toEqual([{ type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue',
      averageValue: '500m' } } }]);
    const cfg = parseYaml(objectOf(byChart.monitoring, 'ConfigMap', 'adapter-config').data['config.yaml']);
    expect(cfg.rules.map((r: any) => r.name.as)).toContain('http_requests_per_second');
    expect(objectOf(byChart.sample, 'ServiceMonitor').metadata.labels.release).toBe('prometheus');
  });

  test('filler: 1 cpu per replica, 15..150, 30 cpu kept free, buffer pods, quota-capped namespace', () => {
    const d = objectOf(byChart.filler, 'Deployment', 'miner');
    expect(d.spec.template.spec.containers[0].resources.requests.cpu).toBe('1');
    const hpa = objectOf(byChart.filler, 'HorizontalPodAutoscaler', 'miner').spec;
    expect([hpa.minReplicas, hpa.maxReplicas]).toEqual([15, 150]);
    const cfg = parseYaml(objectOf(byChart.monitoring, 'ConfigMap', 'adapter-config').data['config.yaml']);
    const rule = cfg.externalRules.find((r: any) => r.name.as === hpa.metrics[0].external.metric.name);
    expect(rule.metricsQuery).toBe('max(miner_filler:slots)');
    const recorded = objectOf(byChart.filler, 'PrometheusRule', 'miner-filler-slots').spec.groups[0].rules;
    expect(recorded[recorded.length - 1]).toEqual({ record: 'miner_filler:slots', expr: expect.stringMatching(/ - 30, 0\)$/) });
    expect(objectOf(byChart.filler, 'Deployment', 'miner-buffer').spec.replicas).toBe(4);
    expect(objectOf(byChart.filler, 'Namespace', 'filler')).toBeDefined();
    expect(objectOf(byChart.filler, 'ResourceQuota').spec.hard['requests.cpu']).toBe('150');
  });

  test('monitoring: kube-state-metrics exports the filler label; the adapter reads the Prometheus it renders; alerts and dashboard cover the app',
    () => {
    const m = byChart.monitoring;
    expect(objectOf(m, 'Deployment', 'kube-state-metrics').spec.template.spec.containers[0].args)
      .toEqual(['--metric-labels-allowlist=pods=[cdk8s-autoscaling.io/opportunistic-filler]']);
    const prometheus = objectOf(m, 'Prometheus', 'k8s');
    expect(prometheus.spec.serviceMonitorSelector).toEqual({ matchLabels: { release: 'prometheus' } });
    expect(objectOf(m, 'Service', 'prometheus-k8s').metadata.namespace).toBe('monitoring');
    expect(objectOf(m, 'Deployment',
      'prometheus-adapter').spec.template.spec.containers[0].args).toContain('--prometheus-url=http://prometheus-k8s.monitoring.svc:9090/');
    for (const sm of objectsOf(all, 'ServiceMonitor')) expect(sm.metadata.labels.release).toBe('prometheus');
    const alerts = objectOf(m, 'PrometheusRule', 'autoscaling-alerts').spec.groups[0].rules.map((r: any) => r.alert);
    expect(new Set(alerts)).toEqual(new Set(['AutoscalerMaxedOut', 'AutoscalerReplicasMismatch', 'AutoscalerMetricsUnavailable',
      'AutoscalingApiServiceDown', 'AutoscalingMetricAbsent', 'FillerCapacityExhausted']));
    const dashboard = JSON.parse(objectOf(m, 'ConfigMap', 'autoscaling-capacity').data['autoscaling-capacity.json']);
    expect(dashboard.panels.filter((p: any) => p.title.endsWith(': replicas')).map((p: any) => p.title))
      .toEqual(['filler/miner: replicas', 'flask-ns/web: replicas', 'sample/sample-app: replicas']);
  });

  test('the adapter serves custom and external metrics only (metrics-server serves resource metrics)', () => {
    expect(objectsOf(byChart.monitoring, 'APIService').map(a => a.metadata.name).sort())
      .toEqual(['v1beta1.custom.metrics.k8s.io', 'v1beta1.external.metrics.k8s.io', 'v1beta2.custom.metrics.k8s.io']);
  });

  test('cluster-autoscaler: 1.33.6 for AWS by tags, spot first, its cutoff between the filler and the buffer pods', () => {
    const d = objectOf(byChart['cluster-autoscaler'], 'Deployment', 'cluster-autoscaler');
    const c = d.spec.template.spec.containers[0];
    expect(c.image).toBe('registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.6');
    expect(c.command).toEqual(expect.arrayContaining(['--expander=priority,least-waste', '--expendable-pods-priority-cutoff=-10',
      '--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/prod']));
    expect(objectOf(byChart['cluster-autoscaler'], 'ConfigMap', 'cluster-autoscaler-priority-expander').data.priorities)
      .toBe('50:\n  - ".*spot.*"\n10:\n  - ".*"\n');
    const value = (name: string) => objectOf(all, 'PriorityClass', name).value;
    expect(value('opportunistic-filler')).toBeLessThan(-10);
    expect(value('overprovisioning')).toBe(-10);
  });
});

describe('dist/ (committed for GitOps)', () => {
  test('holds exactly what the code renders', () => {
    const out = tmpdir('dist-check-');
    synthTo(out);
    expect(readDir(DIST)).toEqual(readDir(out));
  });

  test('every object in dist/ validates against the Kubernetes schemas and CRDs', () => {
    const objs = fs.readdirSync(DIST).flatMap(f => Yaml.load(path.join(DIST, f)));
    expect(objs.length).toBeGreaterThanOrEqual(40);
    expectSchemaValid(objs);
  });
});

describe('the cdk8s-cli validation plugin', () => {
  function appWith(chartBody: string): { dir: string; run: () => cp.SpawnSyncReturns<string> } {
    const dir = tmpdir('plugin-app-');
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    fs.writeFileSync(path.join(dir, 'cdk8s.yaml'), [
      'app: node main.js',
      'validations:',
      `  - package: ${ROOT}`,
      `    version: ${version}`,
      '    class: RequestsEqualLimitsValidation',
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(dir, 'main.js'), `
const { App, Chart } = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'cdk8s'))});
const { k8s } = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'cdk8s-plus-27'))});
const app = new App();
const chart = new Chart(app, 'plain');
${chartBody}
app.synth();
`);
    const cli = path.join(ROOT, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');
    return { dir, run: () => cp.spawnSync(process.execPath, [cli, 'synth', '--no-check-upgrade'], { cwd: dir, encoding: 'utf8',
      env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false', FORCE_COLOR: '0' } }) };
  }

  const deployment = (resources: string) => `
new k8s.KubeDeployment(chart, 'web', { metadata: { name: 'web', namespace: 'shop' }, spec: {
  selector: { matchLabels: { app: 'web' } },
  template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx', resources: ${resources} }] } } } });`;

  test('a violation in a plain cdk8s app fails cdk8s synth with exit 2 and a report', () => {
    const r = appWith(deployment(`{ requests: { cpu: k8s.Quantity.fromString('500m'), memory: k8s.Quantity.fromString('512Mi') },
      limits: { cpu: k8s.Quantity.fromString('1'), memory: k8s.Quantity.fromString('512Mi') } }`)).run();
    const output = `${r.stdout}${r.stderr}`;
    expect(r.status).toBe(2);
    expect(output).toContain('requests-equal-limits (1 occurrences)');
    expect(output).toContain('spec.template.spec.containers[0].resources: Deployment shop/web, container "web": cpu limit 1 != request 500m (set '
      + 'both to the same value)');
    expect(output).toContain('Resource Name: web');
  });

  test('a compliant app passes', () => {
    const r = appWith(deployment(`{ requests: { cpu: k8s.Quantity.fromString('1'), memory: k8s.Quantity.fromString('1Gi') },
      limits: { cpu: k8s.Quantity.fromString('1000m'), memory: k8s.Quantity.fromString('1024Mi') } }`)).run();
    expect(`${r.stdout}${r.stderr}`).toContain('Status');
    expect(r.status).toBe(0);
  });
});

describe('the npm package', () => {
  test('npm pack ships lib/**/*.js, lib/**/*.d.ts, README, LICENSE, the docs the README links to, and nothing else', () => {
    const r = cp.spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const files: string[] = JSON.parse(r.stdout)[0].files.map((f: any) => f.path).sort();
    const unexpected = files.filter(f => !(/^lib\/.+\.(js|d\.ts)$/.test(f) || /^docs\/[a-z0-9-]+\.(md|svg)$/.test(f)
      || ['README.md', 'LICENSE', 'package.json', 'CONTRIBUTING.md'].includes(f)));
    expect(unexpected).toEqual([]);
    const linked = [...fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').matchAll(/\]\(((?:docs\/)?[^)#:]+\.(?:md|svg))/g)].map(m => m[1]);
    expect(linked).toContain('docs/constructs.md');
    expect(linked.filter(l => !files.includes(l))).toEqual([]);
    expect(files).toContain('lib/index.js');
    expect(files).toContain('lib/index.d.ts');
    expect(files).toContain('lib/imports/monitoring.coreos.com.js');
    expect(files).toContain('README.md');
    expect(files).toContain('LICENSE');
    expect(files).not.toContain('lib/main.js');
  });
});
