import { Testing } from 'cdk8s';
import { PodSecurityLevel, QuotaScope, ResourceQuotaPolicy, ResourceQuotaPolicyProps } from '../src';
import { expectSchemaValid, newChart, objectOf, thrown } from './helpers';

function render(props: Partial<ResourceQuotaPolicyProps> = {}) {
  const { chart } = newChart();
  new ResourceQuotaPolicy(chart, 'quota', { namespace: 'team-a', quota: { cpu: '8', memory: '16Gi' }, ...props });
  return Testing.synth(chart);
}

const error = (props: Partial<ResourceQuotaPolicyProps>): string => thrown(() => render(props));

describe('ResourceQuotaPolicy', () => {
  test('defaults', () => {
    const out = render();
    expect(out).toMatchSnapshot();
    expectSchemaValid(out);
    expect(out.map(o => o.kind)).toEqual(['Namespace', 'ResourceQuota', 'LimitRange']);
    const ns = objectOf(out, 'Namespace', 'team-a');
    expect(ns.metadata.labels).toEqual({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
    const quota = objectOf(out, 'ResourceQuota', 'requests-equal-limits');
    expect(quota.metadata.namespace).toBe('team-a');
    expect(quota.spec.hard).toEqual({ 'requests.cpu': '8', 'limits.cpu': '8', 'requests.memory': '16Gi', 'limits.memory': '16Gi' });
    const lr = objectOf(out, 'LimitRange', 'requests-equal-limits').spec.limits[0];
    expect(lr.type).toBe('Container');
    expect(lr.default).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(lr.defaultRequest).toEqual(lr.default);
    expect(lr.maxLimitRequestRatio).toEqual({ cpu: '1', memory: '1' });
    expect(lr.min).toBeUndefined();
    expect(lr.max).toBeUndefined();
  });

  test('every prop', () => {
    const out = render({
      name: 'team-budget', podSecurity: PodSecurityLevel.BASELINE, namespaceLabels: { team: 'a' },
      pods: 50, services: 10, objectCounts: { 'services.loadbalancers': 0, 'count/deployments.apps': 20 },
      scopes: [QuotaScope.NOT_TERMINATING], priorityClassNames: ['filler'],
      containerDefault: { cpu: '200m', memory: '256Mi' }, containerMin: { cpu: '50m', memory: '64Mi' }, containerMax: { cpu: '4', memory: '8Gi' },
    });
    expect(out).toMatchSnapshot();
    expectSchemaValid(out);
    expect(objectOf(out, 'Namespace').metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'baseline', 'team': 'a' });
    const quota = objectOf(out, 'ResourceQuota', 'team-budget');
    expect(quota.spec.hard).toMatchObject({ 'pods': '50', 'services': '10', 'services.loadbalancers': '0', 'count/deployments.apps': '20' });
    expect(quota.spec.scopes).toEqual(['NotTerminating']);
    expect(quota.spec.scopeSelector).toEqual({ matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['filler'] }] });
    const lr = objectOf(out, 'LimitRange', 'team-budget').spec.limits[0];
    expect(lr.default).toEqual({ cpu: '200m', memory: '256Mi' });
    expect(lr.min).toEqual({ cpu: '50m', memory: '64Mi' });
    expect(lr.max).toEqual({ cpu: '4', memory: '8Gi' });
  });

  test('createNamespace: false renders no Namespace', () => {
    const out = render({ createNamespace: false });
    expect(out.map(o => o.kind)).toEqual(['ResourceQuota', 'LimitRange']);
  });

  test('podSecurity: undefined renders no Pod Security labels', () => {
    const out = render({ podSecurity: undefined });
    expect(objectOf(out, 'Namespace').metadata.labels).toBeUndefined();
  });

  test.each<[string, Partial<ResourceQuotaPolicyProps>, string]>([
    ['namespace not a DNS label', { namespace: 'Team_A' }, 'ResourceQuotaPolicy "quota": namespace "Team_A" is not a valid DNS label'],
    ['namespace too long', { namespace: 'a'.repeat(64) }, 'is not a valid DNS label'],
    ['unparsable quota cpu', { quota: { cpu: 'eight', memory: '1Gi' } }, 'ResourceQuotaPolicy "quota": quota.cpu: invalid quantity "eight"'],
    ['zero quota memory', { quota: { cpu: '1', memory: '0' } }, 'ResourceQuotaPolicy "quota": quota.memory must be greater than zero, got "0"'],
    ['negative default', { containerDefault: { cpu: '-1', memory: '1Gi' } }, 'containerDefault.cpu must be greater than zero, got "-1"'],
    ['unparsable max', { containerMax: { memory: '1GB' } }, 'containerMax.memory: invalid quantity "1GB"'],
    ['default above max', { containerDefault: { cpu: '2', memory: '1Gi' }, containerMax: { cpu: '1' } }, 'containerDefault.cpu (2) is above '
      + 'containerMax.cpu (1)'],
    ['default below min', { containerDefault: { cpu: '100m', memory: '64Mi' }, containerMin: { memory: '128Mi' } }, 'containerDefault.memory (64Mi) '
      + 'is below containerMin.memory (128Mi)'],
    ['min above max', { containerMin: { cpu: '2' }, containerMax: { cpu: '1' } }, 'containerMin.cpu (2) is above containerMax.cpu (1)'],
    ['container max larger than quota', { containerMax: { memory: '32Gi' } }, 'containerMax.memory (32Gi) is larger than the namespace quota memory '
      + '(16Gi); no pod that size could ever start. Lower containerMax.memory or raise quota.memory'],
    ['default larger than quota', { quota: { cpu: '50m', memory: '1Gi' } }, 'containerDefault.cpu (100m) is larger than the namespace quota cpu '
      + '(50m)'],
    ['negative pod count', { pods: -1 }, 'pods must be a whole number >= 0, got -1'],
    ['fractional object count', { objectCounts: { services: 1.5 } }, 'objectCounts["services"] must be a whole number >= 0, got 1.5'],
    ['quota resource in objectCounts', { objectCounts: { 'requests.cpu': 1 } }, 'objectCounts.requests.cpu is set by quota'],
    ['empty priority classes', { priorityClassNames: [] }, 'priorityClassNames is empty'],
    ['labels without namespace', { createNamespace: false, namespaceLabels: { a: 'b' } }, 'namespaceLabels and podSecurity need createNamespace: '
      + 'true'],
  ])('refuses %s', (_name, props, message) => {
    expect(error(props)).toContain(message);
  });
});
