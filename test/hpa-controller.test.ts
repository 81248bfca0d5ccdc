// The HPA controller port, held to the upstream unit tests of
// kubernetes/kubernetes pkg/controller/podautoscaler (replica_calculator_test.go
// and horizontal_test.go). Each case names the upstream test it ports; the
// fixtures are translated one to one (two containers per pod, each with the
// listed request; levels in millicores per container; "hot" pods started now,
// "cool" ones 3 minutes ago; cpu initialization 2 min, readiness delay 10 s,
// metric window 1 min, tolerance 0.1, as upstream's test constants).
import {
  calculateScaleDownLimitWithBehaviors, calculateScaleUpLimit, calculateScaleUpLimitWithScalingRules, ControllerMemory,
  convertDesiredReplicasWithBehaviorRate, convertDesiredReplicasWithRules, getReplicasChangePerPeriod, HpaController, HpaManifest, ScaleEvent,
  ScalingRulesSpec,
  stabilizeRecommendation, stabilizeRecommendationWithBehaviors, storeScaleEvent,
} from '../src/scaling/hpa-controller';
import {
  calcPlainMetricReplicas, getPerPodMetricReplicas, getResourceReplicas, getUsageRatioReplicaCount, ObservedPods, PodObservation, PodPhase,
} from '../src/scaling/replica-calculator';
import { MetricSourceType, MetricTargetType } from '../src/scaling/scaling-metric';
import { ScalingPolicyType, SelectPolicy } from '../src/scaling/scaling-rules';

const NOW = 100_000;
const HOT = NOW;
const COOL = NOW - 180;
const SETTINGS = { tolerances: { scaleUp: 0.1, scaleDown: 0.1 }, cpuInitializationPeriod: 120, initialReadinessDelay: 10, metricWindow: 60 };

interface ResourceFixture {
  currentReplicas: number;
  requests: string[];
  levels: number[][];
  container?: string;
  readiness?: boolean[];
  startTimes?: number[];
  phases?: ('Running' | 'Pending' | 'Failed')[];
  deleting?: boolean[];
}

const PHASES = { Running: PodPhase.RUNNING, Pending: PodPhase.PENDING, Failed: PodPhase.FAILED };

/** makePodMetricLevels: both containers of pod i report levels[i]. */
const both = (...levels: number[]) => levels.map(l => [l, l]);

/** buildFakePod and the fake metrics client of replica_calculator_test.go. */
function podsOf(f: ResourceFixture): PodObservation[] {
  const count = Math.max(f.currentReplicas, f.phases?.length ?? 0);
  return Array.from({ length: count }, (_, i) => {
    const request = i < f.requests.length ? { cpu: f.requests[i] } : undefined;
    const usage = (j: number) => (f.levels[i]?.[j] !== undefined ? { cpu: `${f.levels[i][j]}m` } : undefined);
    return {
      name: `test-pod-${i}`,
      phase: PHASES[f.phases?.[i] ?? 'Running'],
      ready: f.readiness?.[i] ?? true,
      deleting: f.deleting?.[i] ?? false,
      startTime: f.startTimes?.[i],
      containers: [{ name: 'container1', requests: request, usage: usage(0) }, { name: 'container2', requests: request, usage: usage(1) }],
    };
  });
}

/** The cpu samples of the fixture's pods (of its container when it names one), as the controller reads them. */
function cpuSamples(f: ResourceFixture): ObservedPods {
  const pods = new ObservedPods(podsOf(f));
  pods.readSamples('cpu', f.container, true);
  return pods;
}

function resourceReplicas(f: ResourceFixture, targetUtilization: number) {
  const pods = cpuSamples(f);
  const replicas = getResourceReplicas(pods, f.currentReplicas, targetUtilization, 'cpu', f.container, SETTINGS, NOW);
  return { replicas, utilization: pods.utilization, rawAverage: pods.rawAverage };
}

describe('replica_calculator_test.go', () => {
  describe('TestReplicaCalcResourceScale', () => {
    const T = true;
    const F = false;
    test.each<[string, ResourceFixture, number, [number, number, number]]>([
      ['scale up', { currentReplicas: 3, requests: ['1.0', '1.0', '1.0'], levels: both(300, 500, 700) }, 30, [5, 50, 2 * 500]],
      ['scale up: container metric',
        { currentReplicas: 3, container: 'container2', requests: ['1.0', '1.0', '1.0'], levels: [[1000, 300], [1000, 500], [1000,
          700]] }, 30, [5, 50, 500]],
      ['scale up: unready pod scales less',
        { currentReplicas: 3, readiness: [F, T, T], requests: ['1.0', '1.0', '1.0'], levels: both(300, 500, 700) }, 30, [4, 60, 2 * 600]],
      ['scale up: hot-CPU container scales less',
        { currentReplicas: 3, startTimes: [HOT, COOL, COOL], container: 'container2', requests: ['1.0', '1.0', '1.0'], levels: [[0, 300],
          [0, 500], [0, 700]] }, 30, [4, 60, 600]],
      ['scale up: hot-CPU pod scales less',
        { currentReplicas: 3, startTimes: [HOT, COOL, COOL], requests: ['1.0', '1.0', '1.0'], levels: both(300, 500, 700) }, 30, [4, 60,
          2 * 600]],
      ['no scale: unready pods ignored',
        { currentReplicas: 3, readiness: [T, F, F], requests: ['1.0', '1.0', '1.0'], levels: both(400, 500, 700) }, 30, [3, 40,
          2 * 400]],
      ['no scale: hot-CPU pods ignored',
        { currentReplicas: 3, readiness: [T, F, F], startTimes: [COOL, HOT, HOT], requests: ['1.0', '1.0', '1.0'], levels: both(400,
          500, 700) }, 30, [3, 40, 2 * 400]],
      ['scale up: failed pods ignored',
        { currentReplicas: 2, readiness: [T, T, F, F], phases: ['Running', 'Running', 'Failed', 'Failed'], requests: ['1.0', '1.0',
          '1.0', '1.0'], levels: both(500, 700) }, 30, [4, 60, 2 * 600]],
      ['scale up: failed pods ignored with missing container metric',
        { currentReplicas: 2, readiness: [T, T, F, F], phases: ['Running', 'Running', 'Failed', 'Failed'], container: 'container2',
          requests: ['1.0', '1.0', '1.0', '1.0'], levels: [[1000, 500], [9000, 700], [1000], [9000]] }, 30, [4, 60, 600]],
      ['scale up: container metrics with failed pods ignored',
        { currentReplicas: 2, readiness: [T, T, F, F], phases: ['Running', 'Running', 'Failed', 'Failed'], container: 'container2',
          requests: ['1.0', '1.0', '1.0', '1.0'], levels: [[1000, 500], [9000, 700]] }, 30, [4, 60, 600]],
      ['scale up: pods being deleted are ignored',
        { currentReplicas: 2, readiness: [T, T, F, F], phases: ['Running', 'Running', 'Running', 'Running'], deleting: [F, F, T, T],
          requests: ['1.0', '1.0', '1.0', '1.0'], levels: both(500, 700) }, 30, [4, 60, 2 * 600]],
      ['scale down', { currentReplicas: 5, requests: ['1.0', '1.0', '1.0', '1.0', '1.0'], levels: both(100, 300, 500, 250, 250) }, 50, [3, 28,
        2 * 280]],
      ['scale down: container metric',
        { currentReplicas: 5, container: 'container2', requests: ['1.0', '1.0', '1.0', '1.0', '1.0'], levels: [[1000, 100], [1000, 300],
          [1000, 500], [1000, 250], [1000, 250]] }, 50, [3, 28, 280]],
      ['scale down: exclude unready pods',
        { currentReplicas: 5, readiness: [T, T, T, F, F], requests: ['1.0', '1.0', '1.0', '1.0', '1.0'], levels: both(100, 300, 500, 250,
          250) }, 50, [2, 30, 2 * 300]],
      ['scale down: container metric excludes unready pods',
        { currentReplicas: 5, readiness: [T, T, T, F, F], container: 'container2', requests: ['1.0', '1.0', '1.0', '1.0', '1.0'],
          levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]] }, 50, [2, 30, 300]],
      ['scale down: exclude unscheduled pods',
        { currentReplicas: 5, readiness: [T, F, F, F, F], phases: ['Running', 'Pending', 'Pending', 'Pending', 'Pending'],
          requests: ['1.0', '1.0', '1.0', '1.0', '1.0'], levels: both(100) }, 50, [1, 10, 2 * 100]],
      ['scale down: container metric excludes unscheduled pods',
        { currentReplicas: 5, readiness: [T, F, F, F, F], phases: ['Running', 'Pending', 'Pending', 'Pending', 'Pending'],
          container: 'container2', requests: ['1.0', '1.0', '1.0', '1.0', '1.0'], levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000,
            250]] }, 50, [1, 10, 100]],
      ['scale down: ignore hot-CPU pods',
        { currentReplicas: 5, startTimes: [COOL, COOL, COOL, HOT, HOT], requests: ['1.0', '1.0', '1.0', '1.0', '1.0'], levels: both(100,
          300, 500, 250, 250) }, 50, [2, 30, 2 * 300]],
      ['scale down: container metric ignores hot-CPU pods',
        { currentReplicas: 5, startTimes: [COOL, COOL, COOL, HOT, HOT], container: 'container2', requests: ['1.0', '1.0', '1.0', '1.0',
          '1.0'], levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 1000], [1000, 1000]] }, 50, [2, 30, 300]],
      ['scale down: failed pods ignored',
        { currentReplicas: 5, readiness: [T, T, T, T, T, F, F], phases: ['Running', 'Running', 'Running', 'Running', 'Running',
          'Failed', 'Failed'], requests: Array(7).fill('1.0'), levels: both(100, 300, 500, 250, 250) }, 50, [3, 28, 2 * 280]],
      ['scale down: pods being deleted are ignored',
        { currentReplicas: 5, readiness: [T, T, T, T, T, F, F], phases: Array(7).fill('Running'), deleting: [F, F, F, F, F, T, T],
          requests: Array(7).fill('1.0'), levels: both(100, 300, 500, 250, 250) }, 50, [3, 28, 2 * 280]],
      ['scale down: still-running pods being deleted are ignored',
        { currentReplicas: 5, readiness: [T, T, T, T, T, F, F], phases: Array(7).fill('Running'), deleting: [F, F, F, F, F, T, T],
          container: 'container2', requests: Array(7).fill('1.0'), levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]] }, 50,
            [3, 28, 280]],
    ])('%s', (_name, fixture, target, [replicas, utilization, raw]) => {
      expect(resourceReplicas(fixture, target)).toEqual({ replicas, utilization, rawAverage: raw });
    });
  });

  test('TestReplicaCalcTolerance', () => {
    expect(resourceReplicas({ currentReplicas: 3, requests: ['0.9', '1.0', '1.1'], levels: both(1010, 1030, 1020) }, 100))
      .toEqual({ replicas: 3, utilization: 102, rawAverage: 2 * 1020 });
  });

  // TestReplicaCalcDisjointResourcesMetrics (samples of pods the lister does not know) cannot happen here:
  // an observation attaches each sample to its pod.
  test('no pod with a usable sample fails the metric (GetResourceReplicas)', () => {
    const pods = cpuSamples({ currentReplicas: 2, requests: ['1.0', '1.0'], levels: [], readiness: [false, false] });
    expect(() => getResourceReplicas(pods, 2, 100, 'cpu', undefined, SETTINGS, NOW))
      .toThrow('did not receive metrics for targeted pods (pods might be unready)');
  });

  test('a container without a request fails the metric (calculatePodRequestsFromContainers)', () => {
    const pods = cpuSamples({ currentReplicas: 2, requests: ['1.0'], levels: both(500, 500) });
    expect(() => getResourceReplicas(pods, 2, 50, 'cpu', undefined, SETTINGS, NOW))
      .toThrow('missing request for cpu in container container1 of Pod test-pod-1');
  });

  /** A Pods metric: one sample per pod (levels in milli-units). */
  function podMetric(currentReplicas: number, levels: number[], target: number, readiness?: boolean[], startTimes?: number[]) {
    const pods = new ObservedPods(Array.from({ length: currentReplicas }, (_, i): PodObservation => ({
      ready: readiness?.[i] ?? true, startTime: startTimes?.[i], metrics: levels[i] === undefined ? undefined : { m: `${levels[i]}m` },
    })));
    pods.readSamples('m', undefined, false);
    const replicas = calcPlainMetricReplicas(pods, currentReplicas, target, '', SETTINGS, NOW);
    return { replicas, usage: pods.usage };
  }

  test.each<[string, () => { replicas: number; usage: number }, number, number]>([
    ['TestReplicaCalcScaleUpCM', () => podMetric(3, [20000, 10000, 30000], 15000), 4, 20000],
    ['TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale', () => podMetric(3, [50000, 10000, 30000], 15000, [true, true, false], [COOL, COOL, HOT]), 6,
      30000],
    ['TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown', () => podMetric(3, [50000, 15000, 30000], 15000, [false, true, false], [HOT, COOL,
      HOT]), 7, 31666],
    ['TestReplicaCalcScaleDownCM', () => podMetric(5, [12000, 12000, 12000, 12000, 12000], 20000), 3, 12000],
    ['TestReplicaCalcToleranceCM', () => podMetric(3, [20000, 21000, 21000], 20000), 3, 20666],
  ])('%s', (_name, run, replicas, usage) => {
    expect(run()).toEqual({ replicas, usage });
  });

  const readyPods = (readiness: boolean[]) => new ObservedPods(readiness.map((ready): PodObservation => ({ ready })));
  const T3 = [true, true, true];

  test.each<[string, () => number, number]>([
    ['TestReplicaCalcScaleUpCMObject', () => getUsageRatioReplicaCount(3, 20000 / 15000, SETTINGS.tolerances, readyPods(T3)), 4],
    ['TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods', () => getUsageRatioReplicaCount(3, 50000 / 10000, SETTINGS.tolerances, readyPods([false,
      true, false])), 5],
    ['TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods', () => getUsageRatioReplicaCount(3, 8600 / 4400, SETTINGS.tolerances, readyPods([false,
      true, false])), 2],
    ['TestReplicaCalcScaleDownCMObject', () => getUsageRatioReplicaCount(5, 12000 / 20000, SETTINGS.tolerances, readyPods(Array(5).fill(true))), 3],
    ['TestReplicaCalcScaleDownCMExternal', () => getUsageRatioReplicaCount(5, 8600 / 14334, SETTINGS.tolerances, readyPods(Array(5).fill(true))), 3],
    ['TestReplicaCalcToleranceCMObject', () => getUsageRatioReplicaCount(3, 20666 / 20000, SETTINGS.tolerances, readyPods(T3)), 3],
    ['TestReplicaCalcToleranceCMExternal', () => getUsageRatioReplicaCount(3, 8600 / 8888, SETTINGS.tolerances, readyPods(T3)), 3],
    ['TestReplicaCalcScaleUpOverflow', () => getUsageRatioReplicaCount(3, Number.MAX_VALUE, SETTINGS.tolerances, readyPods(T3)), 2147483647],
  ])('%s', (_name, run, replicas) => {
    expect(run()).toBe(replicas);
  });

  test.each<[string, number, number, number, number, number]>([
    ['TestReplicaCalcScaleUpCMPerPodObject', 3, 5000, 20000, 4, 6667],
    ['TestReplicaCalcScaleUpPerPodCMExternal', 3, 2150, 8600, 4, 2867],
    ['TestReplicaCalcScaleDownPerPodCMObject', 5, 2000, 6000, 3, 1200],
    ['TestReplicaCalcScaleDownPerPodCMExternal', 5, 2867, 8600, 3, 1720],
    ['TestReplicaCalcTolerancePerPodCMObject', 4, 5000, 20166, 4, 5042],
    ['TestReplicaCalcTolerancePerPodCMExternal', 3, 2900, 8600, 3, 2867],
  ])('%s', (_name, statusReplicas, target, usage, replicas, perPod) => {
    expect(getPerPodMetricReplicas(statusReplicas, target, usage, SETTINGS.tolerances)).toEqual({ replicas, usage: perPod });
  });
});

/** generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow), selectPolicy Max. */
function rules(pods: number, podsPeriod: number, percent: number, percentPeriod: number, window: number): ScalingRulesSpec {
  return {
    stabilizationWindowSeconds: window, selectPolicy: SelectPolicy.MAX,
    policies: [
      ...(pods ? [{ type: ScalingPolicyType.PODS, value: pods, periodSeconds: podsPeriod }] : []),
      ...(percent ? [{ type: ScalingPolicyType.PERCENT, value: percent, periodSeconds: percentPeriod }] : []),
    ],
  };
}

/** generateEventsUniformDistribution: events spread over the last `period` seconds, each in the middle of its segment. */
function uniformEvents(raw: number[], period: number): ScaleEvent[] {
  const segment = period / raw.length;
  return raw.map((replicaChange, i) => ({ replicaChange, timestamp: NOW - Math.trunc(period - segment * (i + 1) + segment / 2), outdated: false }));
}

/** GenerateHPAScaleUpRules / GenerateHPAScaleDownRules(nil): the API defaults. */
const DEFAULT_UP: ScalingRulesSpec = { stabilizationWindowSeconds: 0, selectPolicy: SelectPolicy.MAX, policies: [
  { type: ScalingPolicyType.PODS, value: 4, periodSeconds: 15 }, { type: ScalingPolicyType.PERCENT, value: 100, periodSeconds: 15 }] };
const DEFAULT_DOWN: ScalingRulesSpec = { stabilizationWindowSeconds: 300, selectPolicy: SelectPolicy.MAX, policies: [
  { type: ScalingPolicyType.PERCENT, value: 100, periodSeconds: 15 }] };

describe('horizontal_test.go', () => {
  test.each<[string, number, number, number, number, number, string]>([
    ['prenormalized desired replicas within range', 5, 7, 3, 8, 7, 'DesiredWithinRange'],
    ['prenormalized desired replicas < minReplicas', 3, 1, 2, 8, 2, 'TooFewReplicas'],
    ['prenormalized desired zeroed replicas within range', 1, 0, 0, 10, 0, 'DesiredWithinRange'],
    ['maxReplicas is the limit because maxReplicas < scaleUpLimit', 20, 1000, 1, 10, 10, 'TooManyReplicas'],
    ['scaleUpLimit is the limit because scaleUpLimit < maxReplicas', 3, 1000, 1, 2000, calculateScaleUpLimit(3), 'ScaleUpLimit'],
  ])('TestConvertDesiredReplicasWithRules: %s', (_name, current, desired, min, max, expected, condition) => {
    expect(convertDesiredReplicasWithRules(current, desired, min, max)).toEqual([expected, condition]);
  });

  test('TestCalculateScaleUpLimitWithScalingRules and TestCalculateScaleDownLimitWithBehaviors (selectPolicy Min)', () => {
    const min: ScalingRulesSpec = { stabilizationWindowSeconds: 300, selectPolicy: SelectPolicy.MIN, policies: [
      { type: ScalingPolicyType.PODS, value: 2, periodSeconds: 60 }, { type: ScalingPolicyType.PERCENT, value: 50, periodSeconds: 60 }] };
    expect(calculateScaleUpLimitWithScalingRules(NOW, 1, [], [], min)).toBe(2);
    expect(calculateScaleDownLimitWithBehaviors(NOW, 5, [], [], min)).toBe(3);
  });

  describe('TestScalingWithRules (convertDesiredReplicasWithBehaviorRate)', () => {
    interface Input {
      up?: ScaleEvent[]; down?: ScaleEvent[]; min: number; max: number;
      upRules?: ScalingRulesSpec; downRules?: ScalingRulesSpec; current: number; desired: number;
    }
    type Case = [string, Input, number, string];
    test.each<Case>([
      ['prenormalized desired replicas within range', { current: 5, desired: 7, min: 3, max: 8 }, 7, 'DesiredWithinRange'],
      ['prenormalized desired replicas < minReplicas', { current: 3, desired: 1, min: 2, max: 8 }, 2, 'TooFewReplicas'],
      ['prenormalized desired replicas within range when minReplicas is 0', { current: 1, desired: 0, min: 0, max: 10 }, 0, 'DesiredWithinRange'],
      ['maxReplicas is the limit because maxReplicas < scaleUpLimit', { current: 20, desired: 1000, min: 1, max: 10 }, 10, 'TooManyReplicas'],
      ['desired replica count is more than the maximum replica count', { current: 100, desired: 1000, min: 100, max: 150 }, 150, 'TooManyReplicas'],
      ['scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies',
        { current: 3, desired: 1000, min: 1, max: 2000, upRules: rules(0, 0, 1, 60, 0) }, 4, 'ScaleUpLimit'],
      ['scaleUp with default behavior', { current: 10, desired: 50, min: 1, max: 1000 }, 20, 'ScaleUpLimit'],
      ['scaleUp with pods policy larger than percent policy',
        { current: 10, desired: 500, min: 1, max: 1000, upRules: rules(100, 60, 100, 60, 0) }, 110, 'ScaleUpLimit'],
      ['scaleUp with percent policy larger than pods policy',
        { current: 10, desired: 500, min: 1, max: 1000, upRules: rules(2, 60, 100, 60, 0) }, 20, 'ScaleUpLimit'],
      ['scaleUp with spec MaxReplicas limitation with large pod policy',
        { current: 10, desired: 50, min: 1, max: 1000, upRules: rules(100, 60, 0, 0, 0) }, 50, 'DesiredWithinRange'],
      ['scaleUp with spec MaxReplicas limitation with large percent policy',
        { current: 10, desired: 50, min: 1, max: 1000, upRules: rules(10000, 60, 0, 0, 0) }, 50, 'DesiredWithinRange'],
      ['scaleUp with pod policy limitation', { current: 10, desired: 50, min: 1, max: 1000, upRules: rules(30, 60, 0, 0, 0) }, 40, 'ScaleUpLimit'],
      ['scaleUp with percent policy limitation',
        { current: 10, desired: 50, min: 1, max: 1000, upRules: rules(0, 0, 200, 60, 0) }, 30, 'ScaleUpLimit'],
      ['scaleDown with percent policy larger than pod policy',
        { current: 100, desired: 2, min: 1, max: 1000, downRules: rules(20, 60, 1, 60, 300) }, 80, 'ScaleDownLimit'],
      ['scaleDown with pod policy larger than percent policy',
        { current: 100, desired: 2, min: 1, max: 1000, downRules: rules(2, 60, 1, 60, 300) }, 98, 'ScaleDownLimit'],
      ['scaleDown with spec MinReplicas=nil limitation with large pod policy',
        { current: 10, desired: 0, min: 1, max: 1000, downRules: rules(100, 60, 0, 0, 300) }, 1, 'TooFewReplicas'],
      ['scaleDown with spec MinReplicas limitation with large percent policy',
        { current: 10, desired: 2, min: 5, max: 1000, downRules: rules(0, 0, 100, 60, 300) }, 5, 'TooFewReplicas'],
      ['scaleDown with pod policy limitation',
        { current: 10, desired: 2, min: 1, max: 1000, downRules: rules(5, 60, 0, 0, 300) }, 5, 'ScaleDownLimit'],
      ['scaleDown with percent policy limitation',
        { current: 10, desired: 5, min: 1, max: 1000, downRules: rules(0, 0, 50, 60, 300) }, 5, 'DesiredWithinRange'],
      ['scaleUp with spec MaxReplicas limitation with large pod policy and events',
        { up: uniformEvents([1, 5, 9], 120), current: 100, desired: 500, min: 1, max: 200, upRules: rules(300, 60, 0, 0, 0) }, 200,
          'TooManyReplicas'],
      ['scaleUp with spec MaxReplicas limitation with large percent policy and events',
        { up: uniformEvents([1, 5, 9], 120), current: 100, desired: 500, min: 1, max: 200, upRules: rules(0, 0, 10000, 60, 0) }, 200,
          'TooManyReplicas'],
      ['scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events',
        { up: uniformEvents([1, 5, 9], 120), current: 100, desired: 500, min: 1, max: 1000, upRules: rules(5, 120, 0, 0, 0) }, 100,
          'ScaleUpLimit'],
      ['scaleUp with pod policy and previous scale up events',
        { up: uniformEvents([1, 5, 9], 120), current: 100, desired: 500, min: 1, max: 1000, upRules: rules(150, 120, 0, 0, 0) }, 235,
          'ScaleUpLimit'],
      ['scaleUp with percent policy and previous scale up events',
        { up: uniformEvents([1, 5, 9], 120), current: 100, desired: 500, min: 1, max: 1000, upRules: rules(0, 0, 200, 120, 0) }, 255,
          'ScaleUpLimit'],
      ['scaleDown with default policy and previous events',
        { down: uniformEvents([1, 5, 9], 120), current: 10, desired: 5, min: 1, max: 1000 }, 5, 'DesiredWithinRange'],
      ['scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events',
        { down: uniformEvents([1, 5, 9], 120), current: 100, desired: 0, min: 1, max: 1000, downRules: rules(115, 120, 0, 0, 300) }, 1,
          'TooFewReplicas'],
      ['scaleDown with spec MinReplicas limitation with large pod policy and previous events',
        { down: uniformEvents([1, 5, 9], 120), current: 100, desired: 0, min: 5, max: 1000, downRules: rules(130, 120, 0, 0, 300) }, 5,
          'TooFewReplicas'],
      ['scaleDown with spec MinReplicas limitation with large percent policy and previous events',
        { down: uniformEvents([1, 5, 9], 120), current: 100, desired: 2, min: 5, max: 1000, downRules: rules(0, 0, 100, 120, 300) }, 5,
          'TooFewReplicas'],
      ['scaleDown with pod policy limitation and previous events',
        { down: uniformEvents([1, 5, 9], 120), current: 100, desired: 2, min: 1, max: 1000, downRules: rules(5, 120, 0, 0, 300) }, 100,
          'ScaleDownLimit'],
      ['scaleDown with percent policy limitation and previous events',
        { down: uniformEvents([2, 4, 6], 120), current: 100, desired: 0, min: 1, max: 1000, downRules: rules(0, 0, 50, 120, 300) }, 56,
          'ScaleDownLimit'],
      ['scaleDown with previous events preventing further scale down',
        { down: uniformEvents([10, 10, 10], 120), current: 100, desired: 0, min: 1, max: 1000, downRules: rules(0, 0, 10, 120, 300) }, 100,
          'ScaleDownLimit'],
      ['scaleDown with with previous events still allowing more scale down',
        { down: uniformEvents([10, 10, 10], 120), current: 10, desired: 5, min: 1, max: 1000, downRules: rules(0, 0, 1000, 120, 300) }, 5,
          'DesiredWithinRange'],
      ['check \'outdated\' flag for events for one behavior for up',
        { up: uniformEvents([8, 12, 9, 11], 120), current: 100, desired: 200, min: 1, max: 1000, upRules: rules(1000, 60, 0, 0, 0) }, 200,
          'DesiredWithinRange'],
      ['check that events were not marked \'outdated\' for two different policies in the behavior for up',
        { up: uniformEvents([8, 12, 9, 11], 120), current: 100, desired: 200, min: 1, max: 1000, upRules: rules(1000, 120, 100, 60, 0) },
          200, 'DesiredWithinRange'],
      ['check that events were marked \'outdated\' for two different policies in the behavior for up',
        { up: uniformEvents([8, 12, 9, 11], 120), current: 100, desired: 200, min: 1, max: 1000, upRules: rules(1000, 30, 100, 60, 0) }, 200,
          'DesiredWithinRange'],
      ['check \'outdated\' flag for events for one behavior for down',
        { down: uniformEvents([8, 12, 9, 11], 120), current: 100, desired: 5, min: 1, max: 1000, downRules: rules(1000, 60, 0, 0, 300) },
          5, 'DesiredWithinRange'],
      ['check that events were not marked \'outdated\' for two different policies in the behavior for down',
        { down: uniformEvents([8, 12, 9, 11], 120), current: 100, desired: 5, min: 1, max: 1000, downRules: rules(1000, 120, 100, 60,
          300) }, 5, 'DesiredWithinRange'],
      ['check that events were marked \'outdated\' for two different policies in the behavior for down',
        { down: uniformEvents([8, 12, 9, 11], 120), current: 100, desired: 5, min: 1, max: 1000, downRules: rules(1000, 30, 100, 60,
          300) }, 5, 'DesiredWithinRange'],
    ])('%s', (_name, c, expected, condition) => {
      const memory: ControllerMemory = { scaleUpEvents: c.up ?? [], scaleDownEvents: c.down ?? [] };
      const args = { currentReplicas: c.current, desiredReplicas: c.desired, minReplicas: c.min, maxReplicas: c.max,
        scaleUp: c.upRules ?? DEFAULT_UP, scaleDown: c.downRules ?? DEFAULT_DOWN };
      expect(convertDesiredReplicasWithBehaviorRate(memory, NOW, args)).toEqual([expected, condition]);
    });
  });

  describe('TestNormalizeDesiredReplicas (stabilizeRecommendation, no behavior, 5 min window)', () => {
    test.each<[string, [number, number][], number, number, number]>([
      ['empty log', [], 5, 5, 1],
      ['stabilize', [[4, -120], [5, -60]], 3, 5, 3],
      ['no stabilize', [[1, -120], [2, -60]], 3, 3, 3],
      ['no stabilize - old recommendations', [[10, -600], [9, -540]], 3, 3, 2],
      ['stabilize - old recommendations', [[10, -600], [4, -60], [5, -120], [9, -540]], 3, 5, 4],
    ])('%s', (_name, recs, prenormalized, expected, logLength) => {
      const memory: ControllerMemory = { recommendations: recs.map(([recommendation, ago]) => ({ recommendation, timestamp: NOW + ago })),
        scaleUpEvents: [], scaleDownEvents: [] };
      expect(stabilizeRecommendation(memory, NOW, 300, prenormalized)).toBe(expected);
      expect(memory.recommendations).toHaveLength(logLength);
    });
  });

  describe('TestNormalizeDesiredReplicasWithBehavior (stabilizeRecommendationWithBehaviors)', () => {
    test.each<[string, [number, number][], number, number, number, number[], number, number]>([
      ['empty recommendations for scaling down', [], 100, 5, 5, [5], 0, 0],
      ['simple scale down stabilization', [[4, -120], [5, -60]], 100, 3, 5, [4, 5, 3], 0, 180],
      ['simple scale up stabilization', [[4, -120], [5, -60]], 1, 7, 4, [4, 5, 7], 300, 0],
      ['no scale down stabilization', [[1, -120], [2, -60]], 100, 3, 3, [1, 2, 3], 300, 0],
      ['no scale up stabilization', [[4, -120], [5, -60]], 1, 3, 3, [4, 5, 3], 0, 300],
      ['no scale down stabilization, reuse recommendation element', [[10, -600], [9, -540]], 100, 3, 3, [10, 3], 0, 0],
      ['no scale up stabilization, reuse recommendation element', [[10, -600], [9, -540]], 1, 100, 100, [10, 100], 0, 0],
      ['scale down stabilization, reuse one of obsolete recommendation element',
        [[10, -600], [4, -60], [5, -120], [9, -540]], 100, 3, 5, [10, 4, 5, 3], 0, 180],
      ['scale up stabilization, reuse one of obsolete recommendation element',
        [[10, -6000], [6, -60], [5, -120], [9, -180]], 1, 100, 5, [100, 6, 5, 9], 300, 0],
    ])('%s', (_name, recs, current, prenormalized, expected, stored, upWindow, downWindow) => {
      const memory: ControllerMemory = { recommendations: recs.map(([recommendation, ago]) => ({ recommendation, timestamp: NOW + ago })),
        scaleUpEvents: [], scaleDownEvents: [] };
      const args = {
        currentReplicas: current, desiredReplicas: prenormalized, minReplicas: 1, maxReplicas: 1000,
        scaleUp: { ...DEFAULT_UP, stabilizationWindowSeconds: upWindow }, scaleDown: { ...DEFAULT_DOWN, stabilizationWindowSeconds: downWindow },
      };
      expect(stabilizeRecommendationWithBehaviors(memory, NOW, args)[0]).toBe(expected);
      expect(memory.recommendations!.map(r => r.recommendation)).toEqual(stored);
    });
  });

  describe('TestStoreScaleEvents', () => {
    type Ev = [number, number, boolean?];
    test.each<[string, Ev[], [number, boolean][], ScalingRulesSpec | undefined, number]>([
      ['empty entries with default behavior', [], [], undefined, 0],
      ['empty entries with two-policy-behavior', [], [[5, false]], rules(10, 60, 100, 60, 0), 0],
      ['one outdated entry to be kept untouched without behavior', [[7, -61]], [[7, false]], undefined, 0],
      ['one outdated entry to be replaced with behavior', [[7, -61]], [[5, false]], rules(10, 60, 100, 60, 0), 0],
      ['one actual entry to be not touched with behavior', [[7, -58]], [[7, false], [5, false]], rules(10, 60, 100, 60, 0), 7],
      ['two entries, one of them to be replaced', [[7, -61], [6, -59]], [[5, false], [6, false]], rules(10, 60, 0, 0, 0), 6],
      ['replace one entry, use policies with different periods',
        [[8, -29], [6, -59], [7, -61], [9, -61]], [[8, false], [6, false], [7, true], [5, false]], rules(10, 60, 100, 30, 0), 14],
      ['two entries, both actual', [[7, -58], [6, -59]], [[7, false], [6, false], [5, false]], rules(10, 120, 100, 30, 0), 13],
    ])('%s', (_name, prev, next, scalingRules, changeInPeriod) => {
      for (const direction of ['up', 'down'] as const) {
        const events: ScaleEvent[] = prev.map(([replicaChange, ago]) => ({ replicaChange, timestamp: NOW + ago, outdated: false }));
        const memory: ControllerMemory = { scaleUpEvents: direction === 'up' ? events : [], scaleDownEvents: direction === 'down' ? events : [] };
        expect(getReplicasChangePerPeriod(NOW, 60, events)).toBe(changeInPeriod);
        const behavior = scalingRules ? { scaleUp: scalingRules, scaleDown: scalingRules } : undefined;
        storeScaleEvent(memory, behavior, NOW, 10, direction === 'up' ? 15 : 5);
        const stored = direction === 'up' ? memory.scaleUpEvents : memory.scaleDownEvents;
        expect(stored.map(e => [e.replicaChange, e.outdated])).toEqual(next);
      }
    });
  });
});

describe('HpaController: whole syncs (horizontal_test.go end-to-end cases)', () => {
  const hpa = (spec: Omit<HpaManifest['spec'], 'scaleTargetRef'>): HpaManifest => ({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'test-hpa', namespace: 'test-namespace' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'test' }, ...spec } });
  const cpuPods = (levels: number[]) => levels.map(l => ({ requests: { cpu: '1.0' }, usage: { cpu: `${l}m` } }));
  const cpu = (target: number) => ({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: target } } });
  const qps = (value: string) => ({ type: 'External', external: { metric: { name: 'qps' }, target: { type: 'Value', value } } });

  test('TestScaleUpOneMetricEmpty: a failed metric does not block a scale-up', () => {
    const c = new HpaController(hpa({ minReplicas: 2, maxReplicas: 6, metrics: [cpu(30), qps('100m')] }));
    const d = c.decide({ time: 0, specReplicas: 3, pods: cpuPods([300, 400, 500]) });
    expect(d.replicas).toBe(4);
    expect(d.metrics[1].error).toContain('unable to get external metric qps');
    expect(d.reasons).toContain('FailedGetExternalMetric');
  });

  test('a metric of a type the API does not define is refused, naming it', () => {
    for (const type of ['Custom', 'resource', 'constructor']) {
      expect(() => new HpaController(hpa({ maxReplicas: 6, metrics: [{ type, [type]: {} } as any] })))
        .toThrow(`test-namespace/test-hpa: spec.metrics[0]: unknown metric type "${type}"`);
    }
  });

  test('the decision names each metric by the API enums', () => {
    const d = new HpaController(hpa({ minReplicas: 2, maxReplicas: 6, metrics: [cpu(50), qps('1')] }))
      .decide({ time: 0, specReplicas: 3, pods: cpuPods([100, 100, 100]), metrics: { qps: '2' } });
    expect(d.metrics.map(m => [m.type, m.targetType])).toEqual([
      [MetricSourceType.RESOURCE, MetricTargetType.UTILIZATION], [MetricSourceType.EXTERNAL, MetricTargetType.VALUE]]);
  });

  test('TestNoScaleDownOneMetricEmpty: a failed metric blocks a scale-down', () => {
    const c = new HpaController(hpa({ minReplicas: 2, maxReplicas: 6, metrics: [cpu(50), qps('1')] }));
    const d = c.decide({ time: 0, specReplicas: 5, pods: cpuPods([100, 300, 500, 250, 250]) });
    expect(d.replicas).toBe(5);
    expect(d.reasons).toEqual(['FailedGetExternalMetric', 'FailedComputeMetricsReplicas']);
  });

  test('reasons come in the order the controller gives them: the failed metric, the stabilization, then the limit', () => {
    const c = new HpaController(hpa({ minReplicas: 1, maxReplicas: 20, metrics: [cpu(10), qps('1')], behavior: {
      scaleUp: { stabilizationWindowSeconds: 30, policies: [{ type: 'Pods', value: 1, periodSeconds: 15 }] } } }));
    // 9 asked twice; the window still holds the 3 recorded at the first sync
    expect(c.sync({ time: 0, specReplicas: 3, pods: cpuPods([300, 300, 300]) })).toBe(3);
    expect(c.sync({ time: 15, specReplicas: 3, pods: cpuPods([300, 300, 300]) })).toBe(3);
    expect(c.lastDecision!.reasons).toEqual(['FailedGetExternalMetric', 'ScaleUpStabilized']);
    // 12 asked; the window (after 1 s) holds the 9 of time 15; one pod per 15 s allows 4
    const d = c.decide({ time: 31, specReplicas: 3, pods: cpuPods([400, 400, 400]) });
    expect([d.desiredReplicas, d.replicas, d.reasons]).toEqual([12, 4, ['FailedGetExternalMetric', 'ScaleUpStabilized', 'ScaleUpLimit']]);
    // the list is the caller's own
    d.reasons.push('mine');
    expect(c.decide({ time: 46, specReplicas: 4, pods: cpuPods([400, 400, 400, 400]) }).reasons).not.toContain('mine');
  });

  test('TestScaleDown (no behavior): held by the 5 min window of recommendations, then down', () => {
    const c = new HpaController(hpa({ minReplicas: 2, maxReplicas: 6, metrics: [cpu(50)] }));
    expect(c.sync({ time: 0, specReplicas: 5, pods: cpuPods([100, 300, 500, 250, 250]) })).toBe(5); // the first sync records 5
    expect(c.lastDecision!.reasons).toEqual(['ScaleDownStabilized']);
    expect(c.sync({ time: 301, specReplicas: 5, pods: cpuPods([100, 300, 500, 250, 250]) })).toBe(3);
  });

  test('the scale-up limit without behavior: max(2 x current, 4) per sync', () => {
    const c = new HpaController(hpa({ minReplicas: 1, maxReplicas: 100, metrics: [cpu(10)] }));
    expect(c.sync({ time: 0, specReplicas: 3, pods: cpuPods([900, 900, 900]) })).toBe(6);
    expect(c.lastDecision!.reasons).toEqual(['ScaleUpLimit']);
    expect(c.lastDecision!.desiredReplicas).toBe(27);
  });

  test('the clamps before the metrics: above max, below min, and zero replicas disabling scaling', () => {
    const c = () => new HpaController(hpa({ minReplicas: 2, maxReplicas: 6, metrics: [cpu(50)] }));
    expect(c().sync({ time: 0, specReplicas: 9 })).toBe(6);
    expect(c().sync({ time: 0, specReplicas: 1 })).toBe(2);
    const disabled = c().decide({ time: 0, specReplicas: 0 });
    expect([disabled.replicas, disabled.reasons]).toEqual([0, ['ScalingDisabled']]);
  });

  test('per-HPA tolerance (Kubernetes 1.33+) wins over the flag', () => {
    const spec = { minReplicas: 1, maxReplicas: 10, metrics: [cpu(100)] };
    const pods = cpuPods([1050, 1050, 1050, 1050]);
    expect(new HpaController(hpa(spec)).sync({ time: 0, specReplicas: 4, pods })).toBe(4);
    const strict = { ...spec, behavior: { scaleUp: { tolerance: '0' } } };
    expect(new HpaController(hpa(strict)).sync({ time: 0, specReplicas: 4, pods })).toBe(5);
    expect(new HpaController(hpa(spec), { tolerance: 0.01 }).sync({ time: 0, specReplicas: 4, pods })).toBe(5);
  });

  test('pods given as one shared object each decide exactly as distinct pods (the calculator weighs runs of one object by count)', () => {
    const spec = { minReplicas: 1, maxReplicas: 50, metrics: [cpu(50), { type: 'Pods', pods: { metric: { name: 'rps' },
      target: { type: 'AverageValue', averageValue: '10' } } }] };
    const kinds: PodObservation[] = [
      { requests: { cpu: '500m' }, usage: { cpu: '400m' }, metrics: { rps: 14 } },
      { requests: { cpu: '500m' }, usage: { cpu: '100m' }, metrics: { rps: 3 } },
      { requests: { cpu: '500m' }, ready: false, startTime: 95, readySince: 95 }, // unready, no samples
      { requests: { cpu: '500m' }, startTime: 0 }, // Ready, samples missing
      { requests: { cpu: '500m' }, phase: PodPhase.FAILED }, // ignored
      { requests: { cpu: '500m' }, usage: { cpu: '250m' }, metrics: { rps: 9 }, startTime: 90, readySince: 99 }, // Ready but cpu too young
    ];
    const counts = [[3, 0, 0, 0, 0, 0], [3, 2, 0, 0, 0, 0], [2, 1, 3, 0, 0, 0], [1, 4, 0, 2, 0, 0], [4, 0, 2, 1, 2, 3], [0, 5, 0, 0, 1, 2]];
    for (const n of counts) {
      const shared = kinds.flatMap((k, i) => Array(n[i]).fill(k));
      const distinct = shared.map(k => JSON.parse(JSON.stringify(k)));
      const run = (pods: PodObservation[]) => new HpaController(hpa(spec)).decide({ time: 100, specReplicas: pods.length, pods });
      expect(run(shared)).toEqual(run(distinct));
    }
  });

  test('restart() forgets the recommendations, as a controller-manager failover does', () => {
    const c = new HpaController(hpa({ minReplicas: 1, maxReplicas: 10, metrics: [cpu(50)] }));
    c.sync({ time: 0, specReplicas: 8, pods: cpuPods(Array(8).fill(500)) });
    expect(c.sync({ time: 15, specReplicas: 8, pods: cpuPods(Array(8).fill(100)) })).toBe(8);
    c.restart();
    expect(c.sync({ time: 30, specReplicas: 8, pods: cpuPods(Array(8).fill(100)) })).toBe(8); // the first sync after a restart records 8
    c.restart();
    const fresh = new HpaController(hpa({ minReplicas: 1, maxReplicas: 10, metrics: [cpu(50)] }));
    expect(fresh.decide({ time: 0, specReplicas: 8, pods: cpuPods(Array(8).fill(100)) }).desiredReplicas).toBe(2);
  });
});
