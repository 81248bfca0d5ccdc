// Admission at synth: the pods of a namespace whose LimitRanges or ResourceQuotas the app renders are defaulted and
// checked as LimitRanger (plugin/pkg/admission/limitranger) and ResourceQuota's pod evaluator do (messages in their
// words), so a workload the API server would starve of pods fails the synth instead.
import { ApiObject, Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as L from '../src';
import { checkLimitRanges, checkQuotaConstraints, ResourceQuotaPolicy, restrictPodSecurity } from '../src';
import { synthApp, thrown } from './helpers';

const pod = (...containers: any[]): any => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: { containers } });
const box = (resources?: any) => ({ name: 'app', image: 'app:1', ...(resources ? { resources } : {}) });
const range = (...limits: any[]): any => ({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'lr', namespace: 'shop' }, spec: { limits } });
/** The LimitRange a ResourceQuotaPolicy renders with its defaults. */
const QUOTA_RANGE = range({ type: 'Container', default: { cpu: '100m', memory: '128Mi' }, defaultRequest: { cpu: '100m', memory: '128Mi' },
  maxLimitRequestRatio: { cpu: '1', memory: '1' } });
const messages = (manifest: any, ...ranges: any[]) => checkLimitRanges(manifest, ranges).map(v => `${v.container ?? '(pod)'}: ${v.message}`);

describe('checkLimitRanges (LimitRanger admission)', () => {
  test('limits unequal to requests break a maxLimitRequestRatio of 1, in the API server\'s words', () => {
    expect(messages(pod(box({ requests: { cpu: '1', memory: '512Mi' }, limits: { cpu: '1500m', memory: '2Gi' } })), QUOTA_RANGE)).toEqual([
      'app: cpu max limit to request ratio per Container is 1, but provided ratio is 1.500000.',
      'app: memory max limit to request ratio per Container is 1, but provided ratio is 4.000000.',
    ]);
    const [v] = checkLimitRanges(pod(box({ requests: { cpu: '1' }, limits: { cpu: '2' } })), [QUOTA_RANGE]);
    expect(v).toMatchObject({ limitRange: 'shop/lr', container: 'app', field: 'spec.containers[0].resources',
      fix: 'set resources.limits.cpu equal to resources.requests.cpu' });
  });

  test('what LimitRanger fills in passes: no resources, requests only equal to the default, limits only (requests default to them)', () => {
    expect(messages(pod(box()), QUOTA_RANGE)).toEqual([]);
    expect(messages(pod(box({ requests: { cpu: '100m', memory: '128Mi' } })), QUOTA_RANGE)).toEqual([]);
    expect(messages(pod(box({ limits: { cpu: '2', memory: '1Gi' } })), QUOTA_RANGE)).toEqual([]);
    expect(messages(pod(box({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1000m', memory: '1024Mi' } })), QUOTA_RANGE)).toEqual([]);
  });

  test('a request above the limit the LimitRange fills in is refused by the pod\'s validation', () => {
    const [v] = checkLimitRanges(pod(box({ requests: { cpu: '500m', memory: '128Mi' } })), [QUOTA_RANGE]);
    expect(v).toMatchObject({ container: 'app', field: 'spec.containers[0].resources.requests.cpu',
      message: 'Invalid value: "500m": must be less than or equal to cpu limit of 100m (the limit the LimitRange fills in)',
      fix: 'set resources.limits.cpu, at least 500m' });
  });

  test('min and max per container, requests and limits, init containers included', () => {
    const lr = range({ type: 'Container', min: { cpu: '100m' }, max: { cpu: '2', memory: '1Gi' } });
    const init = { name: 'init', image: 'i:1', resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '50m', memory: '64Mi' } } };
    const p = pod(box({ requests: { cpu: '3', memory: '2Gi' }, limits: { cpu: '3', memory: '2Gi' } }));
    p.spec.initContainers = [init];
    expect(messages(p, lr)).toEqual([
      'app: maximum cpu usage per Container is 2, but limit is 3.',
      'app: maximum memory usage per Container is 1Gi, but limit is 2Gi.',
      'init: minimum cpu usage per Container is 100m, but request is 50m.',
    ]);
    expect(checkLimitRanges(p, [lr])[2]).toMatchObject({ field: 'spec.initContainers[0].resources',
      fix: 'raise resources.requests.cpu and resources.limits.cpu to at least 100m' });
  });

  test('the LimitRange\'s own defaults: max is the default limit, which is the default request, else min is', () => {
    // A container without resources gets limit = request = max: within the range.
    expect(messages(pod(box()), range({ type: 'Container', max: { cpu: '2' }, maxLimitRequestRatio: { cpu: '1' } }))).toEqual([]);
    // With only min, the request is min and no limit is filled in: a ratio cannot be computed.
    expect(messages(pod(box()), range({ type: 'Container', min: { cpu: '100m' }, maxLimitRequestRatio: { cpu: '1' } }))).toEqual([
      'app: cpu max limit to request ratio per Container is 1, but no limit is specified or limit is 0.',
    ]);
  });

  test('a ratio above 1 allows that much burst', () => {
    const lr = range({ type: 'Container', maxLimitRequestRatio: { cpu: '1.5' } });
    expect(messages(pod(box({ requests: { cpu: '1' }, limits: { cpu: '1500m' } })), lr)).toEqual([]);
    expect(checkLimitRanges(pod(box({ requests: { cpu: '1' }, limits: { cpu: '1501m' } })), [lr])).toMatchObject([{
      message: 'cpu max limit to request ratio per Container is 1.5, but provided ratio is 1.501000.',
      fix: 'set resources.limits.cpu to at most 1.5 times resources.requests.cpu' }]);
  });

  test('a Pod item sums the containers (the largest init container counts when larger)', () => {
    const lr = range({ type: 'Pod', max: { cpu: '1', memory: '1Gi' } });
    const two = pod(box({ requests: { cpu: '600m', memory: '256Mi' }, limits: { cpu: '600m', memory: '256Mi' } }),
      { ...box({ requests: { cpu: '600m', memory: '256Mi' }, limits: { cpu: '600m', memory: '256Mi' } }), name: 'side' });
    expect(messages(two, lr)).toEqual(['(pod): maximum cpu usage per Pod is 1, but limit is 1200m.']);
    const one = pod(box({ requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '500m', memory: '256Mi' } }));
    one.spec.initContainers = [{ name: 'init', image: 'i:1', resources: { limits: { cpu: '500m', memory: '2Gi' } } }];
    expect(messages(one, lr)).toEqual(['(pod): maximum memory usage per Pod is 1Gi, but limit is 2Gi.']);
  });

  test('kinds without a pod template and pods of other kinds of LimitRange items are left alone', () => {
    expect(checkLimitRanges({ kind: 'Service', spec: {} }, [QUOTA_RANGE])).toEqual([]);
    expect(messages(pod(box({ requests: { cpu: '1' }, limits: { cpu: '2' } })), range({ type: 'PersistentVolumeClaim', max: { storage: '1Gi' } })))
      .toEqual([]);
  });
});

describe('at synth, for every pod of a namespace whose LimitRange the app renders', () => {
  function shop(resources?: kplus.ContainerResources) {
    const app = Testing.app();
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    new ResourceQuotaPolicy(chart, 'quota', { namespace: 'shop', quota: { cpu: kplus.Cpu.units(8), memory: Size.gibibytes(16) } });
    const api = new kplus.Deployment(chart, 'api', { metadata: { name: 'api' },
      containers: [{ name: 'api', image: 'shop/api:1', portNumber: 8080, ...(resources ? { resources } : {}) }] });
    restrictPodSecurity(api);
    return { app, chart, api };
  }

  test('a cdk8s-plus Deployment with cdk8s-plus\'s default resources fails the synth, naming container, field, LimitRange and fix', () => {
    const msg = thrown(() => synthApp(shop().app));
    expect(msg).toContain('Deployment shop/api, container "api": spec.template.spec.containers[0].resources: cpu max limit to request ratio per '
      + 'Container is 1, but provided ratio is 1.500000. (LimitRange shop/requests-equal-limits: the API server refuses every pod of it); set '
      + 'resources.limits.cpu equal to resources.requests.cpu');
    expect(msg).toContain('memory max limit to request ratio per Container is 1, but provided ratio is 4.000000.');
  });

  test('requests equal to limits pass, and a LimitRange of the user\'s own is read too', () => {
    const equal = { cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(250) },
      memory: { request: Size.mebibytes(256), limit: Size.mebibytes(256) } };
    const { app, chart } = shop(equal);
    expect(synthApp(app).length).toBeGreaterThan(0);
    new ApiObject(chart, 'own', { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'own' },
      spec: { limits: [{ type: 'Container', max: { memory: '128Mi' } }] } });
    expect(thrown(() => synthApp(app))).toContain('Deployment shop/api, container "api": spec.template.spec.containers[0].resources: maximum '
      + 'memory usage per Container is 128Mi, but limit is 256Mi. (LimitRange shop/own: the API server refuses every pod of it)');
  });

  test('pods in a namespace without a LimitRange of the app are not checked', () => {
    const { app } = shop({ cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(250) },
      memory: { request: Size.mebibytes(256), limit: Size.mebibytes(256) } });
    const other = new kplus.Deployment(new Chart(app, 'other', { namespace: 'other' }), 'api', {
      containers: [{ image: 'shop/api:1', portNumber: 8080 }] });
    expect(synthApp(app).length).toBeGreaterThan(0);
    expect(ApiObject.of(other).metadata.namespace).toBe('other');
    // The same Deployment in the governed namespace is refused.
    const governed = new kplus.Deployment(new Chart(app, 'more', { namespace: 'shop' }), 'worker', { metadata: { name: 'worker' },
      containers: [{ image: 'shop/api:1', portNumber: 8080 }] });
    restrictPodSecurity(governed);
    expect(thrown(() => synthApp(app))).toContain('Deployment shop/worker');
  });
});

describe('checkQuotaConstraints (ResourceQuota admission)', () => {
  const quota = (hard: any, more: any = {}): any => ({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'shop' },
    spec: { hard, ...more } });
  const said = (manifest: any, quotas: any[], ranges: any[] = []) => checkQuotaConstraints(manifest, quotas, ranges).map(v => v.message);

  test('a quota on cpu or memory needs every container, init containers included, to state it', () => {
    const p = pod(box({ requests: { cpu: '100m' } }), { ...box(), name: 'side' });
    p.spec.initContainers = [{ name: 'init', image: 'i:1', resources: { limits: { cpu: '100m', memory: '64Mi' } } }];
    expect(said(p, [quota({ 'requests.cpu': '4', 'limits.memory': '8Gi', 'pods': '10' })])).toEqual([
      'failed quota: q: must specify limits.memory for: app,side; requests.cpu for: side',
    ]);
    expect(checkQuotaConstraints(p, [quota({ cpu: '4' })])[0]).toMatchObject({ quota: 'shop/q',
      message: 'failed quota: q: must specify cpu for: side',
      fix: 'set resources.requests.cpu on every container (or add a LimitRange with defaults to the namespace)' });
  });

  test('LimitRange defaults count, and a quota on other resources asks nothing', () => {
    expect(said(pod(box()), [quota({ 'requests.cpu': '4', 'limits.cpu': '4' })], [QUOTA_RANGE])).toEqual([]);
    expect(said(pod(box()), [quota({ pods: '10', services: '5' })])).toEqual([]);
  });

  test('a quota applies only to pods in its scopes', () => {
    const batch = pod(box());
    batch.spec.priorityClassName = 'batch';
    const byClass = quota({ 'requests.cpu': '4' }, {
      scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['batch'] }] } });
    expect(said(batch, [byClass])).toHaveLength(1);
    expect(said(pod(box()), [byClass])).toEqual([]);
    expect(said(pod(box()), [quota({ 'requests.cpu': '4' }, { scopes: ['Terminating'] })])).toEqual([]);
    expect(said(pod(box()), [quota({ 'requests.cpu': '4' }, { scopes: ['NotTerminating', 'NotBestEffort'] })])).toEqual([]);
    expect(said(pod(box({ requests: { memory: '1Gi' } })), [quota({ 'requests.cpu': '4' }, { scopes: ['NotBestEffort'] })])).toHaveLength(1);
  });

  test('at synth: a Deployment without a cpu request under a quota of the user\'s, with no LimitRange, fails naming the quota', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'team', { namespace: 'team' });
    new ApiObject(chart, 'quota', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { 'requests.cpu': '4' } } });
    const api = new kplus.Deployment(chart, 'api', { metadata: { name: 'api' }, containers: [{ name: 'api', image: 'a:1', portNumber: 8080,
      resources: { memory: { request: Size.mebibytes(256), limit: Size.mebibytes(256) } } }] });
    new L.Autoscaler(chart, 'hpa', { target: api, maxReplicas: 3,
      metrics: [L.ScalingMetric.resource(L.ResourceName.MEMORY, { averageUtilization: 80 })] });
    expect(thrown(() => synthApp(app))).toContain('Deployment team/api: failed quota: q: must specify requests.cpu for: api (ResourceQuota team/q: '
      + 'the API server refuses every pod of it); set resources.requests.cpu on every container (or add a LimitRange with defaults to the '
      + 'namespace)');
  });
});
