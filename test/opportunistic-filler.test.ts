import { Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { parse as parseYaml } from 'yaml';
import { FILLER_POD_LABEL, OpportunisticFiller, OpportunisticFillerProps, PromAdapter, Quantity, ScalingPolicyType,
  checkRequestsEqualLimits } from '../src';
import { fillerSlotsRules, ksmLabelName } from '../src/workloads/filler-query';
import { expectSchemaValid, newChart, objectOf, objectsOf, promtoolCheck, promtoolTestRules, synthApp, testWithPromtool, thrown } from './helpers';

function make(props: Partial<OpportunisticFillerProps> = {}) {
  const { app, chart } = newChart();
  const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://prometheus-k8s.monitoring.svc:9090/' });
  const filler = new OpportunisticFiller(chart, 'miner', {
    image: 'example/miner:1.0', adapter, resources: { cpu: '1', memory: '2Gi' }, maxReplicas: 150, externalKubeStateMetrics: true, ...props,
  });
  return { app, chart, adapter, filler };
}

const FILLER = ksmLabelName(FILLER_POD_LABEL);
/** The filler's metric as its recording rules record it. */
const SLOTS = 'miner_filler:slots';

/**
 * Synthetic kube-state-metrics series for a small cluster, 5 samples a minute
 * apart. Filler pods: 1 cpu / 2Gi. `lateFillerLabelled` controls whether the
 * pod that starts on n4 at 2m carries the filler label.
 */
function clusterSeries(lateFillerLabelled = true): { series: string; values: string }[] {
  const GI = 1024 ** 3;
  const s: { series: string; values: string }[] = [];
  // A value from minute `from` on (missing before it).
  const over = (v: number, from = 0) => `${'_ '.repeat(from)}${v}x${4 - from}`;
  const node = (name: string, cpu: number, memGi: number, unschedulable: number) => {
    s.push({ series: `kube_node_status_allocatable{node="${name}",resource="cpu",unit="core"}`, values: over(cpu) });
    s.push({ series: `kube_node_status_allocatable{node="${name}",resource="memory",unit="byte"}`, values: over(memGi * GI) });
    s.push({ series: `kube_node_status_allocatable{node="${name}",resource="pods",unit="integer"}`, values: over(110) });
    s.push({ series: `kube_node_spec_unschedulable{node="${name}"}`, values: over(unschedulable) });
  };
  const pod = (ns: string, name: string, nodeName: string, phase: string, containers: [string, number, number][], filler = false, from = 0) => {
    const nodeLabel = nodeName ? `,node="${nodeName}"` : '';
    for (const p of ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']) {
      s.push({ series: `kube_pod_status_phase{namespace="${ns}",pod="${name}",phase="${p}"}`, values: over(p === phase ? 1 : 0, from) });
    }
    for (const [c, cpu, memGi] of containers) {
      const requests = `kube_pod_container_resource_requests{namespace="${ns}",pod="${name}",container="${c}"${nodeLabel}`;
      s.push({ series: `${requests},resource="cpu",unit="core"}`, values: over(cpu, from) });
      s.push({ series: `${requests},resource="memory",unit="byte"}`, values: over(memGi * GI, from) });
    }
    s.push({ series: `kube_pod_labels{namespace="${ns}",pod="${name}"${filler ? `,${FILLER}="true"` : ''},label_app="${name}"}`, values: over(1,
      from) });
  };
  // n1: 8 cpu / 32Gi. A paying pod with a sidecar (2 cpu / 4Gi), a filler, a finished job.
  node('n1', 8, 32, 0);
  pod('flask-ns', 'web-1', 'n1', 'Running', [['web', 1.5, 3], ['proxy', 0.5, 1]]);
  pod('filler', 'miner-a', 'n1', 'Running', [['filler', 1, 2]], true);
  pod('jobs', 'batch-done', 'n1', 'Succeeded', [['job', 3, 8]]);
  // n2: 4 cpu / 8Gi. A Pending paying pod already bound to it (1 cpu / 6Gi), a failed pod.
  node('n2', 4, 8, 0);
  pod('api', 'api-0', 'n2', 'Pending', [['api', 1, 6]]);
  pod('jobs', 'batch-failed', 'n2', 'Failed', [['job', 2, 2]]);
  // n3: cordoned, 16 cpu / 64Gi: not counted.
  node('n3', 16, 64, 1);
  // n4: 2.5 cpu / 4Gi, empty at first: 2 slots (cpu floors to 2, memory gives 2).
  node('n4', 2.5, 4, 0);
  // An unbound Pending paying pod (1.5 cpu / 1Gi): needs 2 filler pods' worth of room.
  pod('flask-ns', 'web-2', '', 'Pending', [['web', 1.5, 1]]);
  // An unbound Pending filler: ignored.
  pod('filler', 'miner-b', '', 'Pending', [['filler', 1, 2]], true);
  // A filler (or, for the control, a paying pod of the same size) starts running on n4 at 2m.
  pod('filler', 'miner-c', 'n4', 'Running', [['filler', 1, 2]], lateFillerLabelled, 2);
  return s;
}

describe('OpportunisticFiller', () => {
  test('snapshot, schema, policy on every pod template', () => {
    const { chart } = make({ reserve: { cpu: '30', memory: '8Gi' }, minReplicas: 15, buffer: { replicas: 2, cpu: '1', memory: '1Gi' },
      quota: { cpu: '150', memory: '300Gi', pods: 150 }, createNamespace: true });
    const out = Testing.synth(chart);
    expect(out).toMatchSnapshot();
    expectSchemaValid(out);
    for (const d of objectsOf(out, 'Deployment')) {
      expect(checkRequestsEqualLimits(d)).toEqual([]);
      expect(d.spec.template.spec.containers[0].resources.requests).toEqual(d.spec.template.spec.containers[0].resources.limits);
    }
  });

  test('HPA: External metric, AverageValue 1, the same metric the adapter rule serves', () => {
    const { chart, filler } = make({ minReplicas: 15 });
    const out = Testing.synth(chart);
    const hpa = objectOf(out, 'HorizontalPodAutoscaler', 'miner');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'miner' });
    expect(hpa.spec.minReplicas).toBe(15);
    expect(hpa.spec.maxReplicas).toBe(150);
    expect(hpa.spec.metrics).toEqual([{ type: 'External', external: { metric: { name: 'miner_filler_slots' }, target: { type: 'AverageValue',
      averageValue: '1' } } }]);
    const cfg = parseYaml(objectOf(out, 'ConfigMap', 'adapter-config').data['config.yaml']);
    expect(cfg.externalRules).toHaveLength(1);
    expect(cfg.externalRules[0].name.as).toBe(hpa.spec.metrics[0].external.metric.name);
    expect(cfg.externalRules[0].resources).toEqual({ namespaced: false });
    expect(filler.query).toBe('miner_filler:slots');
    expect(cfg.externalRules[0].seriesQuery).toBe('miner_filler:slots');
    expect(cfg.externalRules[0].metricsQuery).toBe('max(miner_filler:slots)');
    expect(filler.metric.metricName).toBe('miner_filler_slots');
    expect(objectsOf(out, 'APIService').map(a => a.metadata.name)).toEqual(['v1beta1.external.metrics.k8s.io']);
    // Scale-down follows at once; scale-up can reach any count in one sync.
    expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(0);
    expect(hpa.spec.behavior.scaleUp.policies).toContainEqual({ type: 'Pods', value: 150, periodSeconds: 15 });
    expect(objectOf(out, 'Deployment', 'miner').spec.replicas).toBeUndefined();
  });

  test('the Deployment is cdk8s-plus\'s: a container added with its methods renders beside the filler and is checked', () => {
    const { app, filler } = make();
    expect(filler.deployment).toBeInstanceOf(kplus.Deployment);
    filler.deployment.addContainer({ name: 'exporter', image: 'example/exporter:1' });
    const msg = thrown(() => synthApp(app));
    expect(msg).toContain('Deployment filler/miner, container "exporter": cpu limit 1500m != request 1000m');
    const ok = make();
    ok.filler.deployment.addContainer({ name: 'exporter', image: 'example/exporter:1', resources: {
      cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(50) }, memory: { request: Size.mebibytes(32), limit: Size.mebibytes(32) } } });
    const pod = objectOf(synthApp(ok.app), 'Deployment', 'miner').spec.template.spec;
    expect(pod.containers.map((c: any) => c.name)).toEqual(['filler', 'exporter']);
    expect(pod.priorityClassName).toBe('opportunistic-filler');
  });

  test('PriorityClass below the expendable cutoff, never preempts; filler pods carry the filler label', () => {
    const { chart } = make();
    const out = Testing.synth(chart);
    const pc = objectOf(out, 'PriorityClass', 'opportunistic-filler');
    expect(pc).toMatchObject({ value: -100, preemptionPolicy: 'Never', globalDefault: false });
    const d = objectOf(out, 'Deployment', 'miner');
    expect(d.spec.template.spec.priorityClassName).toBe('opportunistic-filler');
    expect(d.spec.template.metadata.labels[FILLER_POD_LABEL]).toBe('true');
    expect(d.metadata.namespace).toBe('filler');
    // cdk8s-plus renders memory in Mi
    expect(d.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '1', memory: '2048Mi' },
      limits: { cpu: '1', memory: '2048Mi' } });
  });

  test('buffer pods: pause at priority -10 that can preempt fillers, requests == limits', () => {
    const { chart } = make({ buffer: { replicas: 3, cpu: '500m', memory: '512Mi' } });
    const out = Testing.synth(chart);
    expect(objectOf(out, 'PriorityClass', 'overprovisioning')).toMatchObject({ value: -10, preemptionPolicy: 'PreemptLowerPriority' });
    const b = objectOf(out, 'Deployment', 'miner-buffer');
    expect(b.spec.replicas).toBe(3);
    expect(b.spec.template.spec.priorityClassName).toBe('overprovisioning');
    expect(b.spec.template.spec.terminationGracePeriodSeconds).toBe(0);
    expect(b.spec.template.spec.containers[0].image).toBe('registry.k8s.io/pause:3.9');
    expect(b.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '500m',
      memory: '512Mi' } });
    expect(b.spec.template.metadata.labels[FILLER_POD_LABEL]).toBeUndefined();
  });

  test('quota caps only filler pods (scoped to their PriorityClass)', () => {
    const { chart } = make({ quota: { cpu: '150', memory: '300Gi', pods: 150 } });
    const out = Testing.synth(chart);
    const q = objectOf(out, 'ResourceQuota', 'miner-cap');
    expect(q.metadata.namespace).toBe('filler');
    expect(q.spec.hard).toMatchObject({ 'requests.cpu': '150', 'limits.cpu': '150', 'pods': '150' });
    expect(q.spec.scopeSelector.matchExpressions[0]).toEqual({ scopeName: 'PriorityClass', operator: 'In', values: ['opportunistic-filler'] });
    expect(objectsOf(out, 'Namespace')).toHaveLength(0);
  });

  test('reserve is counted in filler pods, rounded up, the larger of cpu and memory', () => {
    expect(make({ reserve: { cpu: '30', memory: '8Gi' } }).filler.reservePods).toBe(30);
    expect(make({ reserve: { cpu: '2500m', memory: '1Gi' } }).filler.reservePods).toBe(3);
    expect(make({ reserve: { cpu: '1', memory: '9Gi' } }).filler.reservePods).toBe(5);
    expect(make({ reserve: { cpu: '30' } }).filler.reservePods).toBe(30);
    expect(make({ reserve: { memory: '3Gi' } }).filler.reservePods).toBe(2);
    expect(make().filler.reservePods).toBe(0);
  });

  testWithPromtool('the recording rules are valid PromQL for promtool, each a short step', () => {
    const { filler } = make({ reserve: { cpu: '2', memory: '1Gi' }, kubeStateMetricsMatchers: 'job="kube-state-metrics"' });
    const r = promtoolCheck(Object.fromEntries(filler.recordingRules.map(rule => [rule.record, rule.expr])));
    expect(r.output).toContain('SUCCESS');
    expect(filler.recordingRules.map(rule => rule.record)).toEqual([
      'miner_filler:allocatable_millicores:schedulable_nodes', 'miner_filler:requested_millicores:non_filler_by_node',
      'miner_filler:slots_by_cpu:by_node', 'miner_filler:pending_slots_by_cpu',
      'miner_filler:allocatable_bytes:schedulable_nodes', 'miner_filler:requested_bytes:non_filler_by_node',
      'miner_filler:slots_by_memory:by_node', 'miner_filler:pending_slots_by_memory',
      'miner_filler:slots:by_node', 'miner_filler:pending_slots', 'miner_filler:slots',
    ]);
    expect(filler.recordingRules.filter(rule => rule.expr.includes('kube_')).every(rule => rule.expr.includes('job="kube-state-metrics"')))
      .toBe(true);
    expect(Math.max(...filler.recordingRules.map(rule => rule.expr.length))).toBeLessThan(700);
  });

  test('the recording rules render in a PrometheusRule of the filler, evaluated every 15 s, with ruleLabels; schema-valid', () => {
    const { chart, filler } = make({ ruleLabels: { release: 'prometheus' } });
    const rule = objectOf(Testing.synth(chart), 'PrometheusRule');
    expect(rule.metadata).toMatchObject({ name: 'miner-filler-slots', labels: { release: 'prometheus' } });
    expect(rule.spec.groups).toEqual([{ name: 'miner-filler-slots', interval: '15s', rules: filler.recordingRules.map(r => ({ ...r })) }]);
    expectSchemaValid([rule]);
  });

  testWithPromtool('promtool test rules: the query gives the exact count of filler pods that fit', () => {
    const { filler } = make({ reserve: { cpu: '2', memory: '1Gi' } });
    expect(filler.reservePods).toBe(2);
    // n1: min(6 cpu, 14 mem) = 6; n2: min(3, 1) = 1; n3 cordoned; n4: min(2, 2) = 2
    // = 9, minus 2 for the unbound Pending pod (1.5 cpu -> 2), minus the reserve 2 = 5.
    const r = promtoolTestRules(filler.recordingRules, [{
      interval: '1m',
      input_series: clusterSeries(),
      promql_expr_test: [
        { expr: SLOTS, eval_time: '1m', exp_samples: [{ labels: SLOTS, value: 5 }] },
        // A filler starting on n4 does not change the count (fillers are excluded consistently).
        { expr: SLOTS, eval_time: '3m', exp_samples: [{ labels: SLOTS, value: 5 }] },
      ],
    }]);
    expect(r.output).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  testWithPromtool('promtool test rules: control: the same pod without the filler label is counted as used', () => {
    const { filler } = make({ reserve: { cpu: '2', memory: '1Gi' } });
    // n4 drops from 2 slots to 1 at 3m: 5 - 1 = 4.
    const r = promtoolTestRules(filler.recordingRules, [{
      interval: '1m', input_series: clusterSeries(false),
      promql_expr_test: [
        { expr: SLOTS, eval_time: '1m', exp_samples: [{ labels: SLOTS, value: 5 }] },
        { expr: SLOTS, eval_time: '3m', exp_samples: [{ labels: SLOTS, value: 4 }] },
      ],
    }]);
    expect(r.output).toContain('SUCCESS');
  });

  testWithPromtool('promtool test rules: never below zero, and the reserve can eat everything', () => {
    const { filler } = make({ reserve: { cpu: '100', memory: '1Gi' } });
    const r = promtoolTestRules(filler.recordingRules, [{
      interval: '1m', input_series: clusterSeries(),
      promql_expr_test: [{ expr: SLOTS, eval_time: '1m', exp_samples: [{ labels: SLOTS, value: 0 }] }],
    }]);
    expect(r.output).toContain('SUCCESS');
  });

  testWithPromtool('promtool test rules: the test fails when the expectation is wrong (the harness can fail)', () => {
    const { filler } = make({ reserve: { cpu: '2', memory: '1Gi' } });
    const r = promtoolTestRules(filler.recordingRules, [{
      interval: '1m', input_series: clusterSeries(),
      promql_expr_test: [{ expr: SLOTS, eval_time: '1m', exp_samples: [{ labels: SLOTS, value: 6 }] }],
    }]);
    expect(r.code).not.toBe(0);
  });

  testWithPromtool('promtool test rules: millicore amounts floor exactly (no float error)', () => {
    const per = { cpu: Quantity.parse('100m'), memory: Quantity.parse('1Mi') };
    const rules = fillerSlotsRules({ ...per, reservePods: 0, fillerLabel: FILLER }, 'miner_filler');
    const GI = 1024 ** 3;
    const r = promtoolTestRules(rules, [{
      interval: '1m',
      input_series: [
        { series: 'kube_node_status_allocatable{node="n",resource="cpu"}', values: '0.3x3' },
        { series: `kube_node_status_allocatable{node="n",resource="memory"}`, values: `${GI}x3` },
        { series: 'kube_pod_container_resource_requests{namespace="a",pod="p",container="c",node="n",resource="cpu"}', values: '0.1x3' },
        { series: 'kube_pod_container_resource_requests{namespace="a",pod="p",container="c",node="n",resource="memory"}', values: '0x3' },
        { series: 'kube_pod_status_phase{namespace="a",pod="p",phase="Running"}', values: '1x3' },
      ],
      promql_expr_test: [{ expr: SLOTS, eval_time: '1m', exp_samples: [{ labels: SLOTS, value: 2 }] }],
    }]);
    expect(r.output).toContain('SUCCESS');
  });

  describe('refused input', () => {
    test.each<[string, Partial<OpportunisticFillerProps>, string]>([
      ['priority at the expendable cutoff', { priority: -10 }, 'OpportunisticFiller "miner": priority -10 is not below cluster-autoscaler\'s '
        + 'expendable cutoff (-10)'],
      ['priority above it', { priority: 0 }, 'priority 0 is not below'],
      ['a slow scale-down window', { scaleDown: { stabilizationWindow: Duration.minutes(5) } }, 'scaleDown.stabilizationWindow 300s is too slow for '
        + 'a filler'],
      ['maxReplicas below minReplicas', { minReplicas: 20, maxReplicas: 10 }, 'maxReplicas (10) is below minReplicas (20)'],
      ['unequal-free missing memory', { resources: { cpu: '1' } as any }, 'resources must set both cpu and memory'],
      ['sub-millicore cpu', { resources: { cpu: '0.0005', memory: '1Gi' } }, 'finer than a millicore'],
      ['bad reserve', { reserve: { cpu: 'lots', memory: '1Gi' } }, 'reserve.cpu: invalid quantity "lots"'],
      ['a negative reserve', { reserve: { memory: '-1Gi' } }, 'reserve.memory must not be negative, got "-1Gi"'],
      ['zero buffer', { buffer: { replicas: 0, cpu: '1', memory: '1Gi' } }, 'buffer.replicas must be a whole number >= 1'],
      ['bad buffer amounts', { buffer: { replicas: 1, cpu: '1', memory: '0' } }, 'buffer.memory must be greater than zero'],
      ['an empty scale-down policy list', { scaleDown: { policies: [] } }, 'scaleDown.policies is empty'],
      ['a zero-length period',
        { scaleDown: { policies: [{ type: ScalingPolicyType.PODS, value: 1, period: Duration.seconds(0) }] } },
          'scaleDown.policies[0].period must be a whole number of seconds from 1 to 1800, got 0s'],
    ])('%s', (_n, props, message) => {
      expect(thrown(() => make(props))).toContain(message);
    });
  });
});
