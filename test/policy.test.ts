import { App, ApiObject, Chart, JsonPatch, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { checkRequestsEqualLimits, enforceRequestsEqualLimits, POLICY_KINDS } from '../src';
import { newChart, thrown } from './helpers';

const equal = { requests: { cpu: k8s.Quantity.fromString('250m'), memory: k8s.Quantity.fromString('256Mi') },
  limits: { cpu: k8s.Quantity.fromString('0.25'), memory: k8s.Quantity.fromString('268435456') } };

function container(name: string, resources?: k8s.ResourceRequirements): k8s.Container {
  return { name, image: 'example/app:1.0', resources };
}

function deployment(chart: Chart, id: string, containers: k8s.Container[], initContainers?: k8s.Container[]) {
  return new k8s.KubeDeployment(chart, id, {
    metadata: { name: id, namespace: 'flask-ns' },
    spec: {
      selector: { matchLabels: { app: id } },
      template: { metadata: { labels: { app: id } }, spec: { containers, initContainers } },
    },
  });
}

const synthError = (chart: Chart): string => thrown(() => Testing.synth(chart), 'synth succeeded, expected a policy violation');

describe('enforceRequestsEqualLimits', () => {
  test('equal requests and limits pass, whatever the spelling', () => {
    const { chart } = newChart();
    deployment(chart, 'web', [container('web', equal)], [container('migrate', equal)]);
    enforceRequestsEqualLimits(chart);
    expect(() => Testing.synth(chart)).not.toThrow();
  });

  test('missing request', () => {
    const { chart } = newChart();
    deployment(chart, 'web', [container('web', { limits: { cpu: k8s.Quantity.fromString('1'), memory: k8s.Quantity.fromString('1Gi') } })]);
    enforceRequestsEqualLimits(chart);
    const msg = synthError(chart);
    expect(msg).toContain('Deployment flask-ns/web, container "web": cpu request is missing, limit is 1 (set resources.requests.cpu to 1)');
    expect(msg).toContain('Deployment flask-ns/web, container "web": memory request is missing, limit is 1Gi (set resources.requests.memory to 1Gi)');
  });

  test('missing limit', () => {
    const { chart } = newChart();
    deployment(chart, 'web', [container('web', { requests: { cpu: k8s.Quantity.fromString('1'), memory: k8s.Quantity.fromString('1Gi') } })]);
    enforceRequestsEqualLimits(chart);
    expect(synthError(chart)).toContain('Deployment flask-ns/web, container "web": memory limit is missing, request is 1Gi (set '
      + 'resources.limits.memory to 1Gi)');
  });

  test('no resources at all', () => {
    const { chart } = newChart();
    deployment(chart, 'web', [container('web')]);
    enforceRequestsEqualLimits(chart);
    const msg = synthError(chart);
    expect(msg).toContain('container "web": cpu request and limit are missing');
    expect(msg).toContain('container "web": memory request and limit are missing');
  });

  test('unequal cpu and unequal memory, one line each, in one error', () => {
    const { chart } = newChart();
    deployment(chart, 'web', [container('web', {
      requests: { cpu: k8s.Quantity.fromString('500m'), memory: k8s.Quantity.fromString('512Mi') },
      limits: { cpu: k8s.Quantity.fromString('1'), memory: k8s.Quantity.fromString('1Gi') },
    })]);
    enforceRequestsEqualLimits(chart);
    const msg = synthError(chart);
    expect(msg).toContain('requests == limits policy: 2 violations');
    expect(msg).toContain('  - Deployment flask-ns/web, container "web": cpu limit 1 != request 500m (set both to the same value)');
    expect(msg).toContain('  - Deployment flask-ns/web, container "web": memory limit 1Gi != request 512Mi (set both to the same value)');
  });

  test('init containers are checked', () => {
    const { chart } = newChart();
    deployment(chart, 'web', [container('web', equal)], [container('migrate')]);
    enforceRequestsEqualLimits(chart);
    expect(synthError(chart)).toContain('Deployment flask-ns/web, container "migrate" (init): cpu request and limit are missing');
  });

  test('CronJob templates are checked', () => {
    const { chart } = newChart();
    new k8s.KubeCronJob(chart, 'nightly', {
      metadata: { name: 'nightly', namespace: 'batch' },
      spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [container('job',
        { requests: equal.requests })] } } } } },
    });
    enforceRequestsEqualLimits(chart);
    expect(synthError(chart)).toContain('CronJob batch/nightly, container "job": cpu limit is missing, request is 250m');
  });

  test('raw L1 Pod without namespace', () => {
    const { chart } = newChart();
    new k8s.KubePod(chart, 'pod', { metadata: { name: 'lonely' }, spec: { containers: [container('c')] } });
    enforceRequestsEqualLimits(chart);
    expect(synthError(chart)).toContain('Pod lonely, container "c": cpu request and limit are missing');
  });

  test('a JSON patch that breaks equality is caught', () => {
    const { chart } = newChart();
    const d = deployment(chart, 'web', [container('web', equal)]);
    // L1 Quantity fields take { value } in patches (cdk8s#2172); this is the form that renders.
    d.addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/resources/limits/memory', { value: '1Gi' }));
    enforceRequestsEqualLimits(chart);
    expect(synthError(chart)).toContain('Deployment flask-ns/web, container "web": memory limit 1Gi != request 256Mi (set both to the same value)');
  });

  test('a patch added after a successful synth is seen by the next synth (no stale rendering)', () => {
    const { chart } = newChart();
    const d = deployment(chart, 'web', [container('web', equal)]);
    enforceRequestsEqualLimits(chart);
    expect(() => Testing.synth(chart)).not.toThrow();
    d.addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/resources/limits/cpu', { value: '2' }));
    expect(synthError(chart)).toContain('cpu limit 2 != request 250m');
  });

  test('a JSON patch that drops a limit is caught', () => {
    const { chart } = newChart();
    const d = deployment(chart, 'web', [container('web', equal)]);
    d.addJsonPatch(JsonPatch.remove('/spec/template/spec/containers/0/resources/limits/cpu'));
    enforceRequestsEqualLimits(chart);
    expect(synthError(chart)).toContain(
      'Deployment flask-ns/web, container "web": cpu limit is missing, request is 250m (set resources.limits.cpu to 250m)');
  });

  test('cdk8s-plus default resources never pass', () => {
    const { chart } = newChart();
    new kplus.Deployment(chart, 'plus', { containers: [{ image: 'example/app:1.0', name: 'main' }] });
    enforceRequestsEqualLimits(chart);
    const msg = synthError(chart);
    expect(msg).toMatch(/Deployment test-plus-c8\w+, container "main": cpu limit 1500m != request 1000m/);
    expect(msg).toMatch(/container "main": memory limit 2048Mi != request 512Mi/);
  });

  test('allowMissingCpuLimit permits a missing cpu limit, but not an unequal one', () => {
    const { chart } = newChart();
    deployment(chart, 'a', [container('a', { requests: equal.requests, limits: { memory: equal.limits.memory } })]);
    enforceRequestsEqualLimits(chart, { allowMissingCpuLimit: true });
    expect(() => Testing.synth(chart)).not.toThrow();
    deployment(chart, 'b', [container('b', { requests: equal.requests, limits: { cpu: k8s.Quantity.fromString('1'),
      memory: equal.limits.memory } })]);
    expect(synthError(chart)).toContain('cpu limit 1 != request 250m');
  });

  test('invalid quantities are reported, not thrown raw', () => {
    expect(checkRequestsEqualLimits({ kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources: { requests: { cpu: '1x',
      memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } }] } })
      .map(v => v.message)).toEqual(['Pod p, container "c": cpu: invalid quantity "1x": expected a number with an optional suffix (n, u, m, k, M, '
        + 'G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei) or exponent (e3, E-3), e.g. "500m", "1.5", "256Mi"']);
  });

  test.each(POLICY_KINDS)('covers %s', (kind) => {
    const podSpec = { containers: [{ name: 'c' }] };
    const manifests: Record<string, any> = {
      Pod: { spec: podSpec },
      PodTemplate: { template: { spec: podSpec } },
      CronJob: { spec: { jobTemplate: { spec: { template: { spec: podSpec } } } } },
    };
    const manifest = { kind, metadata: { name: 'x', namespace: 'ns' }, ...(manifests[kind] ?? { spec: { template: { spec: podSpec } } }) };
    const v = checkRequestsEqualLimits(manifest);
    expect(v.map(x => x.resource)).toEqual(['cpu', 'memory']);
    expect(v[0].message).toBe(`${kind} ns/x, container "c": cpu request and limit are missing (set resources.requests.cpu and resources.limits.cpu `
      + `to the same value)`);
  });

  test('other kinds are ignored', () => {
    expect(checkRequestsEqualLimits({ kind: 'ConfigMap', metadata: { name: 'x' }, data: {} })).toEqual([]);
  });

  test('app-wide and construct-level policies report each object once', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    deployment(chart, 'web', [container('web')]);
    enforceRequestsEqualLimits(chart);
    enforceRequestsEqualLimits(app);
    let msg = '';
    try { app.synth(); } catch (e) { msg = (e as Error).message; }
    expect(msg.match(/cpu request and limit are missing/g)).toHaveLength(1);
  });

  test('a failing app writes nothing', () => {
    const fs = require('fs');
    const os = require('os');
    const path = require('path');
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-'));
    const app = new App({ outdir });
    const chart = new Chart(app, 'c');
    deployment(chart, 'web', [container('web')]);
    enforceRequestsEqualLimits(app);
    expect(() => app.synth()).toThrow('requests == limits policy');
    expect(fs.readdirSync(outdir)).toEqual([]);
  });

  test('ApiObjects of other kinds under the scope are not rendered for the check', () => {
    const { chart } = newChart();
    const cm = new k8s.KubeConfigMap(chart, 'cm', { data: { a: 'b' } });
    const spy = jest.spyOn(cm, 'toJson');
    enforceRequestsEqualLimits(chart);
    chart.node.validate();
    expect(spy).not.toHaveBeenCalled();
    expect(ApiObject.isApiObject(cm)).toBe(true);
  });
});
