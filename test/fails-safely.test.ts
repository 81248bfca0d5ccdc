import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, Chart, Duration, JsonPatch, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import {
  AdapterMetric, Autoscaler, MetricsApi, MetricsServer, OpportunisticFiller, PromAdapter, QuotaScope, ResourceQuotaPolicy, ScalableFlaskApp,
  ScalingMetric,
} from '../src';
import { problemLines } from '../src/tooling/safe-synth';
import { PLUGIN_RECOMMENDATION } from '../src/policy/validation-plugin';
import { expectSchemaValid, newChart, objectsOf, synthApp, thrown } from './helpers';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'lib', 'cli.js');

describe('several problems in one error, one line each', () => {
  test.each<[string, () => unknown, string[]]>([
    ['ScalableFlaskApp', () => new ScalableFlaskApp(newChart().chart, 'web', {
      image: '', resources: { cpu: '1', memory: '0' }, port: 0, minReplicas: 5, maxReplicas: 2,
    }), [
      'ScalableFlaskApp "web": image is required',
      'ScalableFlaskApp "web": port must be a whole number between 1 and 65535, got 0',
      'ScalableFlaskApp "web": maxReplicas (2) is below minReplicas (5); raise maxReplicas or lower minReplicas',
      'ScalableFlaskApp "web": resources.memory must be greater than zero, got "0"',
    ]],
    ['OpportunisticFiller', () => {
      const { chart } = newChart();
      const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
      return new OpportunisticFiller(chart, 'miner', { image: 'x', adapter, resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 0, priority: 5 });
    }, [
      'OpportunisticFiller "miner": priority 5 is not below cluster-autoscaler\'s expendable cutoff (-10)',
      'OpportunisticFiller "miner": maxReplicas must be a whole number >= 1, got 0',
      'OpportunisticFiller "miner": maxReplicas (0) is below minReplicas (1); raise maxReplicas or lower minReplicas',
    ]],
    ['MetricsServer', () => new MetricsServer(newChart().chart, 'ms', {
      namespace: 'Kube_System', metricResolution: Duration.seconds(5), kubeletPreferredAddressTypes: [],
    }), [
      'MetricsServer "ms": namespace "Kube_System" is not a valid DNS label',
      'MetricsServer "ms": metricResolution 5s is below 10s',
      'MetricsServer "ms": kubeletPreferredAddressTypes must list at least one address type, each once',
    ]],
    ['PromAdapter', () => new PromAdapter(newChart().chart, 'adapter', { prometheusUrl: 'ftp://x', replicas: 0, resources: { cpu: 'x',
      memory: '1Gi' } }), [
      'PromAdapter "adapter": prometheusUrl "ftp://x" must use http or https',
      'PromAdapter "adapter": replicas must be a whole number >= 1, got 0',
      'PromAdapter "adapter": resources.cpu: invalid quantity "x"',
    ]],
    ['ResourceQuotaPolicy', () => new ResourceQuotaPolicy(newChart().chart, 'q', {
      namespace: 'shop', quota: { cpu: '1', memory: '1Gi' }, containerMax: { cpu: '2', memory: '2Gi' }, pods: -1,
    }), [
      'ResourceQuotaPolicy "q": containerMax.cpu (2) is larger than the namespace quota cpu (1)',
      'ResourceQuotaPolicy "q": containerMax.memory (2Gi) is larger than the namespace quota memory (1Gi)',
      'ResourceQuotaPolicy "q": pods must be a whole number >= 0, got -1',
    ]],
  ])('%s', (_name, make, expected) => {
    const lines = thrown(make).split('\n');
    expect(lines).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(lines[i]).toContain(e));
  });
});

describe('namespaces and names across the app', () => {
  test('a Chart namespace that is not a DNS label is refused', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { namespace: 'Shop_1' });
    new MetricsServer(chart, 'ms');
    expect(thrown(() => app.synth())).toContain('Chart "c": namespace "Shop_1" is not a valid DNS label');
  });

  test('cluster-scoped objects carry no namespace, even in a Chart that has one', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { namespace: 'shop' });
    new MetricsServer(chart, 'ms');
    const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
    adapter.addCounterRate({ counter: 'http_requests_total' });
    new OpportunisticFiller(chart, 'miner', { image: 'x', adapter, resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 5, buffer: { replicas: 1,
      cpu: '1', memory: '1Gi' }, externalKubeStateMetrics: true });
    new ResourceQuotaPolicy(chart, 'q', { namespace: 'team', quota: { cpu: '4', memory: '4Gi' } });
    const out = Testing.synth(chart);
    const clusterScoped = out.filter(o => ['ClusterRole', 'ClusterRoleBinding', 'APIService', 'PriorityClass', 'Namespace'].includes(o.kind));
    expect(new Set(clusterScoped.map(o => o.kind)).size).toBe(5);
    expect(clusterScoped.filter(o => o.metadata.namespace !== undefined).map(o => `${o.kind} ${o.metadata.name}`)).toEqual([]);
    expect(out.find(o => o.kind === 'Deployment' && o.metadata.name === 'miner').metadata.namespace).toBe('filler');
    expectSchemaValid(out);
  });

  test('a cluster-scoped object of the user\'s with the Chart\'s namespace is refused, with the fix', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { namespace: 'shop' });
    new MetricsServer(chart, 'ms');
    new k8s.KubeClusterRole(chart, 'reader', { metadata: { name: 'reader' } });
    expect(thrown(() => app.synth())).toContain('ClusterRole "reader" (c/reader) is cluster-scoped but carries namespace "shop" (its Chart\'s); '
      + 'create it in a Chart without a namespace, or remove the field with addJsonPatch(JsonPatch.remove("/metadata/namespace"))');
  });

  test('two objects of one kind, namespace and name are refused, naming both constructs', () => {
    const { app, chart } = newChart();
    new ScalableFlaskApp(chart, 'web', { image: 'x', namespace: 'shop', resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 3 });
    new k8s.KubeService(chart, 'svc', { metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ port: 80 }] } });
    expect(thrown(() => synthApp(app))).toContain('two objects are v1 Service shop/web: ScalableFlaskApp "web" (test/web/Service) and test/svc; '
      + 'the second would overwrite the first when applied. Rename one');
  });

  test('two fillers share their PriorityClass (rendered once); different priorities under one name are refused', () => {
    const { app, chart } = newChart();
    const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
    const base = { image: 'x', adapter, resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 5, buffer: { replicas: 1, cpu: '1', memory: '1Gi' },
      externalKubeStateMetrics: true };
    new OpportunisticFiller(chart, 'a', base);
    new OpportunisticFiller(chart, 'b', { ...base, namespace: 'batch' });
    const out = synthApp(app);
    expect(objectsOf(out, 'PriorityClass').map(p => p.metadata.name).sort()).toEqual(['opportunistic-filler', 'overprovisioning']);
    expect(thrown(() => new OpportunisticFiller(chart, 'c', { ...base, namespace: 'other', priority: -50 })))
      .toContain('OpportunisticFiller "c": PriorityClass "opportunistic-filler" is also rendered by OpportunisticFiller "a" (test/a) with other '
        + 'settings '
        + '({"value":-100,"preemptionPolicy":"Never"} there, {"value":-50,"preemptionPolicy":"Never"} here); use the same settings in both, or '
          + 'another name in one');
  });
});

describe('quota headroom', () => {
  function app(quota: { cpu: string; memory: string; pods?: number }, minReplicas: number, maxReplicas = 10) {
    const { app: a, chart } = newChart();
    new ResourceQuotaPolicy(chart, 'q', { namespace: 'shop', quota: { cpu: quota.cpu, memory: quota.memory }, pods: quota.pods });
    new ScalableFlaskApp(chart, 'web', { image: 'x', namespace: 'shop', resources: { cpu: '500m', memory: '512Mi' }, minReplicas, maxReplicas });
    return a;
  }

  test('minReplicas pods plus the rolling update\'s surge must fit the quota', () => {
    // 4 pods + ceil(25% of 4) = 5 pods of 500m / 512Mi: 2500m and 2560Mi.
    expect(thrown(() => synthApp(app({ cpu: '2', memory: '2Gi', pods: 4 }, 4)))).toContain(
      'ResourceQuota shop/requests-equal-limits is too small for the autoscaled workloads\' minimum (Deployment web: 4 pods + 1 surge): '
      + 'requests.cpu needs 2500m, the quota allows 2; limits.cpu needs 2500m, the quota allows 2; '
      + 'requests.memory needs 2560Mi, the quota allows 2Gi; limits.memory needs 2560Mi, the quota allows 2Gi; pods needs 5, the quota allows 4. '
      + 'Raise the quota, or lower minReplicas (or maxSurge)');
  });

  test('a maxReplicas beyond the quota is allowed (a quota as a cap)', () => {
    expect(() => synthApp(app({ cpu: '3', memory: '3Gi', pods: 5 }, 4, 50))).not.toThrow();
  });

  test('a quota scoped to a PriorityClass counts only pods of that class', () => {
    const { app: a, chart } = newChart();
    const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
    new OpportunisticFiller(chart, 'miner', { image: 'x', adapter, resources: { cpu: '1', memory: '1Gi' }, minReplicas: 6, maxReplicas: 50,
      quota: { cpu: '5', memory: '50Gi' }, externalKubeStateMetrics: true });
    expect(thrown(() => synthApp(a))).toContain('ResourceQuota filler/miner-cap is too small for the autoscaled workloads\' minimum (Deployment '
      + 'miner: 6 pods): requests.cpu needs 6');
  });

  test('every scope of a quota is read: a NotTerminating quota counts a Deployment\'s pods, a Terminating one does not', () => {
    const scoped = (scope: QuotaScope) => {
      const { app: a, chart } = newChart();
      new ResourceQuotaPolicy(chart, 'q', { namespace: 'shop', quota: { cpu: '2', memory: '2Gi' }, scopes: [scope] });
      new ScalableFlaskApp(chart, 'web', { image: 'x', namespace: 'shop', resources: { cpu: '500m', memory: '512Mi' }, minReplicas: 4,
        maxReplicas: 10 });
      return a;
    };
    expect(thrown(() => synthApp(scoped(QuotaScope.NOT_TERMINATING)))).toContain('ResourceQuota shop/requests-equal-limits is too small');
    expect(() => synthApp(scoped(QuotaScope.TERMINATING))).not.toThrow();
  });
});

describe('an HPA changed by a JSON patch is still checked', () => {
  test('a patched minReplicas above maxReplicas is refused at synth', () => {
    const { app, chart } = newChart();
    const web = new ScalableFlaskApp(chart, 'web', { image: 'x', namespace: 'shop', resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 3 });
    web.hpa.addJsonPatch(JsonPatch.replace('/spec/minReplicas', 7));
    expect(thrown(() => synthApp(app))).toContain('HorizontalPodAutoscaler shop/web: spec.maxReplicas (3) is below spec.minReplicas (7)');
  });

  test('a raw L1 HPA with zero minReplicas and no Object/External metric is refused', () => {
    const { app, chart } = newChart();
    const q = AdapterMetric.servedElsewhere(MetricsApi.EXTERNAL, 'q');
    const target = new ApiObject(chart, 'd', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } });
    new Autoscaler(chart, 'ok', { target, maxReplicas: 2, metrics: [ScalingMetric.external(q, { value: '1' })] });
    new k8s.KubeHorizontalPodAutoscalerV2(chart, 'raw', {
      metadata: { name: 'raw' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'other' }, minReplicas: 0, maxReplicas: 3 },
    });
    expect(thrown(() => synthApp(app))).toContain(
      'HorizontalPodAutoscaler default/raw: spec.minReplicas 0 needs at least one Object or External metric');
  });
});

describe('the validation plugin\'s report', () => {
  test('says what requests == limits buys and that cpu limits throttle', () => {
    expect(PLUGIN_RECOMMENDATION).toContain('Guaranteed QoS');
    expect(PLUGIN_RECOMMENDATION).toContain('no memory overcommit');
    expect(PLUGIN_RECOMMENDATION).toContain('predictable scheduling');
    expect(PLUGIN_RECOMMENDATION).toContain('a cpu limit throttles the container');
    expect(PLUGIN_RECOMMENDATION).not.toMatch(/never throttled/);
  });
});

describe('cdk8s-autoscaling synth (npm run synth) fails safely', () => {
  /** A scratch cdk8s project whose app is `appJs`, with a committed-looking dist/. */
  function project(appJs: string, extraConfig = ''): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'safe-synth-'));
    fs.writeFileSync(path.join(dir, 'cdk8s.yaml'), `language: typescript\napp: node app.js\noutput: dist\n${extraConfig}`);
    fs.writeFileSync(path.join(dir, 'app.js'), appJs);
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'dist', 'old.k8s.yaml'), 'kind: ConfigMap\n');
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    return dir;
  }
  const run = (dir: string) => cp.spawnSync(process.execPath, [CLI, 'synth'], { cwd: dir, encoding: 'utf8' });
  const lib = JSON.stringify(path.join(ROOT, 'lib'));

  test('a failing app leaves dist/ exactly as it was, exits 1 and prints every problem as a plain line', () => {
    const dir = project(`
      const { App, Chart } = require('cdk8s');
      const { ScalableFlaskApp } = require(${lib});
      const app = new App();
      new ScalableFlaskApp(new Chart(app, 'c'), 'web', { image: 'x', resources: { cpu: '1', memory: '1Gi' }, minReplicas: 5, maxReplicas: 2,
        port: 0 });
      app.synth();
    `);
    const r = run(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('synth failed; dist/ was left as it was:\n'
      + '  ScalableFlaskApp "web": port must be a whole number between 1 and 65535, got 0\n'
      + '  ScalableFlaskApp "web": maxReplicas (2) is below minReplicas (5); raise maxReplicas or lower minReplicas\n'
      + '  at app.js:5\n');
    expect(fs.readdirSync(path.join(dir, 'dist'))).toEqual(['old.k8s.yaml']);
    expect(fs.readdirSync(dir).sort()).toEqual(['app.js', 'cdk8s.yaml', 'dist', 'node_modules']);
  });

  test('a validation failure at synth is printed without the stack trace', () => {
    const dir = project(`
      const { App, Chart } = require('cdk8s');
      const { k8s } = require('cdk8s-plus-27');
      const { enforceRequestsEqualLimits } = require(${lib});
      const app = new App();
      new k8s.KubeDeployment(new Chart(app, 'c'), 'd', { metadata: { name: 'd' }, spec: { selector: {},
        template: { spec: { containers: [{ name: 'app', image: 'x' }] } } } });
      enforceRequestsEqualLimits(app);
      app.synth();
    `);
    const r = run(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('  requests == limits policy: 2 violations');
    expect(r.stderr).toContain('  - Deployment d, container "app": cpu request and limit are missing');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(fs.readdirSync(path.join(dir, 'dist'))).toEqual(['old.k8s.yaml']);
  });

  test('a successful render replaces dist/ whole', () => {
    const dir = project(`require('fs').writeFileSync(require('path').join(process.env.CDK8S_OUTDIR, 'new.k8s.yaml'), 'kind: ConfigMap\\n');`);
    const r = run(dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('synth: dist/ holds 1 file rendered by "node app.js"\n');
    expect(fs.readdirSync(path.join(dir, 'dist'))).toEqual(['new.k8s.yaml']);
    expect(fs.readdirSync(dir).sort()).toEqual(['app.js', 'cdk8s.yaml', 'dist', 'node_modules']);
  });

  test('an app that writes nothing leaves dist/ as it was', () => {
    const dir = project('');
    const r = run(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('synth: the app wrote no manifests; dist/ was left as it was\n');
    expect(fs.readdirSync(path.join(dir, 'dist'))).toEqual(['old.k8s.yaml']);
  });

  /** The README's validations block, with the package at this checkout. */
  const VALIDATIONS = `validations:\n  - package: ${ROOT}\n    version: 0.1.0\n    class: RequestsEqualLimitsValidation\n`
    + '    properties:\n      allowMissingCpuLimit: false\n';
  const deploymentApp = (resources: string) => `
      const { App, Chart } = require('cdk8s');
      const { k8s } = require('cdk8s-plus-27');
      const app = new App();
      new k8s.KubeDeployment(new Chart(app, 'c'), 'd', { metadata: { name: 'd' }, spec: { selector: {},
        template: { spec: { containers: [{ name: 'app', image: 'x', ${resources} }] } } } });
      app.synth();
    `;

  test('with validations in cdk8s.yaml: the plugins run through cdk8s-cli, a failure leaves dist/ as it was, a pass replaces it', () => {
    const failing = project(deploymentApp(''), VALIDATIONS);
    const r = run(failing);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('requests-equal-limits (2 occurrences)');
    expect(r.stderr).toBe('synth failed; dist/ was left as it was:\n  Validation failed. See above reports for details\n');
    expect(fs.readdirSync(path.join(failing, 'dist'))).toEqual(['old.k8s.yaml']);

    const amounts = "{ cpu: k8s.Quantity.fromString('1'), memory: k8s.Quantity.fromString('1Gi') }";
    const passing = project(deploymentApp(`resources: { requests: ${amounts}, limits: ${amounts} }`), VALIDATIONS);
    const ok = run(passing);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('Validations ended succesfully');
    expect(fs.readdirSync(path.join(passing, 'dist'))).toContain('c.k8s.yaml');
  });

  test("an error thrown by the app's own code: its message and the line of the app that threw, no stack", () => {
    const dir = project(`
      const { App, Chart } = require('cdk8s');
      const { ScalableFlaskApp } = require(${lib});
      const app = new App();
      const settings = {};
      new ScalableFlaskApp(new Chart(app, 'c'), 'web', { image: 'x', resources: { cpu: '1', memory: '1Gi' }, minReplicas: settings.min.value });
    `);
    const r = run(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('synth failed; dist/ was left as it was:\n'
      + "  Cannot read properties of undefined (reading 'value')\n"
      + '  at app.js:6\n');
  });

  test("a construct's refusal points at the app's line that made the construct, not the library's", () => {
    const dir = project(`
      const { App, Chart } = require('cdk8s');
      const { ScalableFlaskApp } = require(${lib});
      const app = new App();
      new ScalableFlaskApp(new Chart(app, 'c'), 'web', { image: 'x', resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 0 });
    `);
    expect(run(dir).stderr).toBe('synth failed; dist/ was left as it was:\n'
      + '  ScalableFlaskApp "web": maxReplicas must be a whole number >= 1, got 0\n'
      + '  ScalableFlaskApp "web": maxReplicas (0) is below minReplicas (2); raise maxReplicas or lower minReplicas\n'
      + '  at app.js:5\n');
  });

  test('warnings of a successful synth (Pod Security under warn) are printed', () => {
    const dir = project(`
      const { App, Chart, ApiObject } = require('cdk8s');
      const { MetricsServer } = require(${lib});
      const app = new App();
      const chart = new Chart(app, 'c');
      new MetricsServer(chart, 'metrics');
      new ApiObject(chart, 'ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ops',
        labels: { 'pod-security.kubernetes.io/warn': 'baseline' } } });
      new ApiObject(chart, 'pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ops' },
        spec: { hostNetwork: true, containers: [{ name: 'a', image: 'a' }] } });
      app.synth();
    `);
    const r = run(dir);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('warning: Pod ops/p: spec.hostNetwork is true (shares the node\'s namespace); remove hostNetwork (Pod Security "baseline" '
      + 'is warned on in namespace ops)\n');
  });

  test('problemLines unwraps cdk8s\'s validation list', () => {
    expect(problemLines([
      '/x/node_modules/cdk8s/lib/app.js:1', '    throw new Error(...)', '    ^', '',
      'Error: Validation failed with the following errors:',
      '  [flask/web] ScalableFlaskApp "web": bad', '  [] HorizontalPodAutoscalers a and b all target x',
      '    at App.synth (/x/app.js:1:1)', '', 'Node.js v20.20.2',
    ].join('\n'))).toEqual(['flask/web: ScalableFlaskApp "web": bad', 'HorizontalPodAutoscalers a and b all target x']);
  });
});
