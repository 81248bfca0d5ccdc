import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Duration, Testing } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import {
  CloudProvider, ClusterAutoscaler, Expander, HpaManifest, renderSimulationSvg, Scenario, SimulatedCluster, simulate, simulateCluster,
  SimulationResult,
} from '../src';
import { buildApp } from '../src/main';
import { OpportunisticFiller, PromAdapter, PrometheusInstance, ScalableFlaskApp } from '../src';
import { thrown } from './helpers';

const ROOT = path.join(__dirname, '..');

/** An HPA on one External metric with an AverageValue target of 1: it asks for as many pods as the metric says, in one sync. */
function jobsHpa(name = 'jobs', scaleDownWindow = 0): HpaManifest {
  return {
    apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name, namespace: 'default' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, minReplicas: 1, maxReplicas: 20,
      metrics: [{ type: 'External', external: { metric: { name: 'queue' }, target: { type: 'AverageValue', averageValue: '1' } } }],
      behavior: { scaleDown: { stabilizationWindowSeconds: scaleDownWindow } },
    },
  } as HpaManifest;
}

/** One cpu and 1Gi per pod; the queue asks for `before` pods, then `after` from second 60. */
function jobs(before: number, after: number, cluster: SimulatedCluster, duration = 600): Scenario {
  return { duration, initialReplicas: before, podResources: { cpu: '1', memory: '1Gi' }, load: { metrics: { queue: [[0, before], [60, after]] } },
    cluster };
}

const at = (r: SimulationResult, time: number) => r.steps.find(s => s.time === time)!;

describe('capacity, worked out by hand', () => {
  test('pods that do not fit are Pending until cluster-autoscaler\'s nodes are Ready: scan interval plus provision time', () => {
    // one 2-cpu node holds the 2 starting pods; at 60 s the HPA asks for 5: 3 Pending
    const r = simulate(jobsHpa(), jobs(2, 5, { nodeGroups: [{ name: 'n', cpu: '2', memory: '4Gi', minNodes: 1, maxNodes: 3,
      provisionTime: Duration.minutes(2) }] }));
    expect(at(r, 60)).toMatchObject({ replicas: 5, pendingPods: 3, nodes: { n: 1 }, provisioningNodes: 0 });
    // the scan at 70 s packs the 3 pods two to a node: 2 nodes, Ready at 190 s
    expect(at(r, 75)).toMatchObject({ pendingPods: 3, nodes: { n: 1 }, provisioningNodes: 2 });
    expect(at(r, 180)).toMatchObject({ pendingPods: 3, readyReplicas: 2 });
    expect(at(r, 195)).toMatchObject({ pendingPods: 0, nodes: { n: 3 }, provisioningNodes: 0, readyReplicas: 2 });
    // bound at 190 s, Ready 30 s later
    expect(at(r, 225).readyReplicas).toBe(5);
    expect(r.summary.longestPending).toBe(130);
    // 600 s of the first node, 530 s each of the two new ones: 1660 s
    expect(r.summary.nodeHours).toEqual({ n: 0.46 });
  });

  test('buffer pods are preempted at once: the new pods run in the sync that asked for them, and the buffer waits for the node', () => {
    const cluster = (bufferPods?: SimulatedCluster['bufferPods']): SimulatedCluster => ({ nodeGroups: [{ name: 'n', cpu: '4', memory: '8Gi',
      minNodes: 1, maxNodes: 3, provisionTime: 120 }], bufferPods });
    const buffered = simulate(jobsHpa(), jobs(2, 4, cluster({ replicas: 2, cpu: Cpu.units(1), memory: '1Gi' })));
    expect(at(buffered, 60)).toMatchObject({ replicas: 4, pendingPods: 0, nodes: { n: 1 } });
    // the 2 preempted buffer pods (-10, at the cutoff) make the scan at 70 s add one node
    expect(at(buffered, 75)).toMatchObject({ provisioningNodes: 1 });
    expect(at(buffered, 195)).toMatchObject({ nodes: { n: 2 }, provisioningNodes: 0 });
    expect(buffered.summary.longestPending).toBe(0);
    expect(at(buffered, 90).readyReplicas).toBe(4);
    // without the buffer the same 2 pods fit on the node's free half: no scale-up at all
    const bare = simulate(jobsHpa(), jobs(2, 4, cluster()));
    expect(bare.summary.nodeHours).toEqual({ n: 0.17 });
    expect(buffered.summary.nodeHours).toEqual({ n: 0.31 }); // and 530 s of the second node, launched at 70 s
  });

  test('a CapacityBuffer keeps room without pods: its node comes at the start, the new pods bind at once, nothing is preempted', () => {
    const r = simulate(jobsHpa(), jobs(2, 4, { nodeGroups: [{ name: 'n', cpu: '4', memory: '8Gi', minNodes: 1, maxNodes: 3, provisionTime: 120 }],
      bufferPods: { replicas: 4, cpu: '1', memory: '1Gi', capacityBuffer: true } }));
    // the scan at 0 s: 2 of the 4 virtual pods fit beside the 2 job pods; the other 2 need a node, Ready at 120 s
    expect(at(r, 0)).toMatchObject({ nodes: { n: 1 }, provisioningNodes: 1 });
    // at 60 s the 2 new job pods take the first node's free half: no pod to preempt, none Pending
    expect(at(r, 60)).toMatchObject({ replicas: 4, pendingPods: 0 });
    expect(at(r, 90).readyReplicas).toBe(4);
    // from then on the 4 virtual pods fit on the provisioning, then Ready, second node: no third one, and it is never removed
    expect(r.steps.every(s => s.nodes!.n + s.provisioningNodes! === 2)).toBe(true);
    expect(r.summary).toMatchObject({ longestPending: 0, nodeHours: { n: 0.33 } });
  });

  test('Pending pods below the expendable cutoff never buy a node; at the cutoff they do', () => {
    const cluster = (priority: number): SimulatedCluster => ({ nodeGroups: [{ name: 'n', cpu: '2', memory: '4Gi', minNodes: 1, maxNodes: 3 }],
      bufferPods: { replicas: 4, cpu: '1', memory: '1Gi', priority } });
    const expendable = simulate(jobsHpa(), { ...jobs(1, 1, cluster(-11)), initialReplicas: 1 });
    // 1 job pod and 1 of the 4 buffer pods fit; 3 stay Pending, and no node is added
    expect(expendable.steps.every(s => s.nodes!.n === 1 && s.provisioningNodes === 0)).toBe(true);
    const atCutoff = simulate(jobsHpa(), { ...jobs(1, 1, cluster(-10)), initialReplicas: 1 });
    expect(at(atCutoff, 15).provisioningNodes).toBe(2);
  });

  test('the expander chooses the group: priority tiers first, least-waste among equals', () => {
    const groups = [
      { name: 'on-demand-2x', cpu: '2', memory: '4Gi', minNodes: 1, maxNodes: 5 },
      { name: 'spot-4x', cpu: '4', memory: '8Gi', minNodes: 0, maxNodes: 5 },
    ];
    const grown = (r: SimulationResult) => at(r, 75).provisioningNodes
      && Object.entries(at(r, 255).nodes!).map(([g, n]) => `${g}=${n}`).join(' ');
    // 2 pods wait: an on-demand node fits their cpu exactly, a spot node would leave half of it idle (the node is Ready at 250 s)
    expect(grown(simulate(jobsHpa(), jobs(2, 4, { nodeGroups: groups })))).toBe('on-demand-2x=2 spot-4x=0');
    const spotFirst = Expander.priority([{ priority: 50, nodeGroups: ['spot'] }, { priority: 10, nodeGroups: ['.*'] }]);
    expect(grown(simulate(jobsHpa(), jobs(2, 4, { nodeGroups: groups, clusterAutoscaler: { expander: spotFirst } }))))
      .toBe('on-demand-2x=1 spot-4x=1');
    // the same as a JSON scenario names it
    expect(grown(simulate(jobsHpa(), jobs(2, 4, { nodeGroups: groups, clusterAutoscaler: { expander: 'priority',
      priorities: [{ priority: 50, nodeGroups: ['spot'] }, { priority: 10, nodeGroups: ['.*'] }] } })))).toBe('on-demand-2x=1 spot-4x=1');
  });

  test('an unneeded node goes after the unneeded time; a node with a pod that fits elsewhere is drained and the pod comes back', () => {
    // two 4-cpu nodes; the 2 job pods are spread one per node (the scheduler favours the emptier node)
    const r = simulate(jobsHpa(), jobs(2, 2, { nodeGroups: [{ name: 'n', cpu: '4', memory: '8Gi', minNodes: 1, maxNodes: 3, initialNodes: 2 }] },
      900));
    // both nodes are at 25 %: the first scan (0 s) finds the first one unneeded (its pod fits on the second), 600 s later it is removed
    expect(at(r, 585).nodes).toEqual({ n: 2 });
    expect(at(r, 600)).toMatchObject({ nodes: { n: 1 }, pendingPods: 0, readyReplicas: 1 });
    expect(at(r, 630).readyReplicas).toBe(2);
    expect(r.summary.nodeHours).toEqual({ n: 0.42 }); // 900 + 600 s
    // nothing is removed below minNodes, and no cluster-autoscaler means no change at all
    const fixed = simulate(jobsHpa(), jobs(2, 2, { nodeGroups: [{ name: 'n', cpu: '4', memory: '8Gi', minNodes: 1, maxNodes: 3, initialNodes: 2 }],
      clusterAutoscaler: false }, 900));
    expect(fixed.steps.every(s => s.nodes!.n === 2)).toBe(true);
  });

  test('a cluster with room to spare replays exactly as without one', () => {
    const flask = buildAppAutoscaler();
    const scenario = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'scenarios', 'web-load-step.json'), 'utf8'));
    const free = simulate(flask, scenario);
    const roomy = simulate(flask, { ...scenario, cluster: { nodeGroups: [{ name: 'big', cpu: '64', memory: '256Gi', minNodes: 1, maxNodes: 1 }],
      clusterAutoscaler: false } });
    expect(roomy.steps.map(({ pendingPods: _p, nodes: _n, provisioningNodes: _q, ...s }) => s)).toEqual(free.steps);
    expect(roomy.steps.every(s => s.pendingPods === 0 && s.nodes!.big === 1)).toBe(true);
    expect(roomy.summary).toEqual({ ...free.summary, longestPending: 0, nodeHours: { big: 1 } });
  });
});

function buildAppAutoscaler() {
  const app = buildApp({ outdir: fs.mkdtempSync(path.join(require('os').tmpdir(), 'simc-')) });
  return (app.node.findAll().find(c => c instanceof ScalableFlaskApp && c.name === 'web') as ScalableFlaskApp).autoscaler;
}

describe('simulateCluster: workloads share nodes', () => {
  test('a filler fed by the cluster fills the free room, gives it up when the paying workload grows, and takes it back', () => {
    const filler = { ...jobsHpa('filler'), spec: { ...jobsHpa('filler').spec, metrics: [{ type: 'External', external: { metric: { name: 'slots' },
      target: { type: 'AverageValue', averageValue: '1' } } }] } } as HpaManifest;
    const r = simulateCluster({
      duration: 300,
      cluster: { nodeGroups: [{ name: 'n', cpu: '4', memory: '8Gi', minNodes: 1, maxNodes: 1 }], clusterAutoscaler: false },
      // the filler syncs first: at 60 s it still sees web's 1 pod
      workloads: [
        { hpa: filler, initialReplicas: 1, priority: -100, podResources: { cpu: '1', memory: '1Gi' },
          load: { metrics: { slots: ctx => ctx.cluster!.slots() } } },
        { hpa: jobsHpa('web'), initialReplicas: 1, podResources: { cpu: '1', memory: '1Gi' },
          load: { metrics: { queue: [[0, 1], [60, 3], [180, 1]] } } },
      ],
    });
    const [fill, web] = r.workloads;
    // 4 cpu: web 1 → the filler goes to 3; web's 3 preempt 2 fillers at once (their replacements Pending), and the filler's next sync sees
    // 1 slot and deletes the Pending ones first
    expect(at(fill, 0)).toMatchObject({ replicas: 3, pendingPods: 0 });
    expect(at(web, 60)).toMatchObject({ replicas: 3, pendingPods: 0 });
    expect(at(fill, 60)).toMatchObject({ replicas: 3, pendingPods: 2 });
    expect(at(fill, 75)).toMatchObject({ replicas: 1, pendingPods: 0 });
    expect(at(fill, 195)).toMatchObject({ replicas: 3 });
    expect(web.summary.longestPending).toBe(0);
    expect(r.nodeHours).toEqual({ n: 0.08 });
  });

  test('a web service and an OpportunisticFiller under the app\'s ClusterAutoscaler: priorities from the app, slots from the cluster', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    const prometheus = new PrometheusInstance(chart, 'prom', { name: 'k8s' });
    const adapter = new PromAdapter(chart, 'adapter', { prometheus });
    const web = new ScalableFlaskApp(chart, 'web', { image: 'web:1', resources: { cpu: '500m', memory: '512Mi' }, minReplicas: 2, maxReplicas: 20,
      cpuUtilization: 50 });
    const filler = new OpportunisticFiller(chart, 'miner', { image: 'miner:1', resources: { cpu: '1', memory: '1Gi' }, adapter, minReplicas: 0,
      maxReplicas: 50, reserve: { cpu: '1' } });
    const ca = new ClusterAutoscaler(chart, 'ca', { kubernetesVersion: '1.33', cloudProvider: CloudProvider.aws({ clusterName: 'prod' }) });
    const r = simulateCluster({
      duration: 1800,
      cluster: { nodeGroups: [{ name: 'general', cpu: '4', memory: '16Gi', minNodes: 2, maxNodes: 4 }], clusterAutoscaler: ca },
      workloads: [
        { hpa: web.autoscaler, initialReplicas: 2, load: { cpu: [[0, 0.5], [300, 5]] } },
        { hpa: filler.autoscaler, initialReplicas: 0, load: filler.simulatedLoad() },
      ],
    });
    const [w, f] = r.workloads;
    // two 4-cpu nodes, a 500m web pod on each: 3 whole filler pods fit per node, minus 1 reserved: 5 at the filler's first sync
    expect(f.steps[0].replicas).toBe(5);
    // 5 cores at 50 % of 500m: 20 web pods (10 cpu); they preempt fillers (the filler's PriorityClass, -100) and the filler's metric falls to 0
    expect(at(f, 420).replicas).toBe(0);
    expect(at(w, 420)).toMatchObject({ replicas: 16, pendingPods: 0 });
    // the last 4 web pods (465 s) do not fit in 8 cpu: the scan at 470 s adds a node, Ready at 650 s
    expect(at(w, 480)).toMatchObject({ replicas: 20, pendingPods: 4, provisioningNodes: 1 });
    expect(w.summary.longestPending).toBe(185);
    expect(r.peakNodes).toEqual({ general: 3 });
    // the third node has 4 web pods (2 cpu): 2 filler pods fit, minus 1 reserved
    expect(at(f, 1800).replicas).toBe(1);
    expect(svgOk(renderSimulationSvg(w))).toBe(true);
  });
});

describe('the reference stack on one cluster', () => {
  test('web, sample app and filler share 10 nodes: the filler leaves its 30-cpu reserve, the web burst never waits, no node is bought', () => {
    const app = buildApp({ outdir: fs.mkdtempSync(path.join(require('os').tmpdir(), 'simref-')) });
    const all = app.node.findAll();
    const [web, sample] = ['web', 'sample-app'].map(name => all.find(c => c instanceof ScalableFlaskApp && c.name === name) as ScalableFlaskApp);
    const filler = all.find(c => c instanceof OpportunisticFiller) as OpportunisticFiller;
    const ca = all.find(c => c instanceof ClusterAutoscaler) as ClusterAutoscaler;
    const r = simulateCluster({
      duration: 3600,
      cluster: { nodeGroups: [{ name: 'spot-16x', cpu: '16', memory: '64Gi', minNodes: 10, maxNodes: 20 }], clusterAutoscaler: ca,
        otherPods: { cpu: '100', memory: '200Gi', replicas: 50 }, bufferPods: { replicas: 4, cpu: '1', memory: '1Gi' } },
      workloads: [
        { hpa: web.autoscaler, initialReplicas: 3, load: { cpu: [[0, 0.45], [600, 1.8], [1800, 0.45]], memory: '150Mi' } },
        { hpa: sample.autoscaler, initialReplicas: 2, load: { pods: { http_requests_per_second: [[0, 1], [900, 6]] } } },
        { hpa: filler.autoscaler, initialReplicas: 15, load: filler.simulatedLoad() },
      ],
    });
    const [w, s, f] = r.workloads;
    expect(r.peakNodes).toEqual({ 'spot-16x': 10 });
    expect(w.summary).toMatchObject({ peakReplicas: 9, longestPending: 0 });
    expect(s.summary).toMatchObject({ peakReplicas: 12, longestPending: 0 });
    // at the end: 160 cpu = 100 other + 4 buffer + web + sample + fillers + what is left, which is the reserve (30) plus at most
    // one filler pod's worth lost to rounding per node
    const end = (x: SimulationResult) => x.steps[x.steps.length - 1].replicas;
    const left = 160 - 100 - 4 - end(w) * 0.4 - end(s) * 0.2 - end(f);
    expect(left).toBeGreaterThanOrEqual(30);
    expect(left).toBeLessThan(30 + 10);
    expect(f.summary.longestPending).toBe(0);
  });
});

function svgOk(svg: string): boolean {
  return svg.startsWith('<svg') && svg.includes('>nodes<') && svg.includes('Pending (no room on a node)');
}

describe('cluster refusals', () => {
  const group = { name: 'n', cpu: '4', memory: '8Gi', minNodes: 1, maxNodes: 3 };
  test('a bad cluster: every problem at once, each naming the field', () => {
    expect(thrown(() => simulate(jobsHpa(), jobs(1, 1, {
      nodeGroups: [group, { name: 'n', cpu: 'lots', memory: '8Gi', minNodes: 3, maxNodes: 2 }, { ...group, name: 'slow', provisionTime: 900 }],
      clusterAutoscaler: { expander: 'cheapest', scaleDownUtilizationThreshold: 2 },
      bufferPods: { replicas: 1.5, cpu: '8', memory: '1Gi' },
    })))).toBe([
      'cluster.nodeGroups[1] ("n"): the name is used twice; each node group once',
      'cluster.nodeGroups[1] ("n"): minNodes and maxNodes must be whole numbers with 0 <= minNodes <= maxNodes and maxNodes >= 1, got 3 and 2',
      'cluster.nodeGroups[1] ("n").cpu must be a positive amount (Cpu or Size, a quantity such as "4" or "16Gi", or a number), got "lots"',
      'cluster.clusterAutoscaler.expander "cheapest" is not one the simulator follows; use an Expander or one of least-waste, most-pods, '
        + 'least-nodes, random, priority',
      'cluster.clusterAutoscaler.scaleDownUtilizationThreshold must be above 0 and at most 1, got 2',
      'cluster.nodeGroups[2] ("slow"): provisionTime 900 s is not below maxNodeProvisionTime (900 s): cluster-autoscaler would give its nodes up; '
        + 'shorten it or raise maxNodeProvisionTime',
      'cluster.bufferPods.replicas must be a whole number >= 0, got 1.5',
    ].join('\n'));
  });

  test('a pod bigger than any node, a workload without requests, an unknown PriorityClass', () => {
    expect(thrown(() => simulate(jobsHpa(), { ...jobs(1, 1, { nodeGroups: [group] }), podResources: { cpu: '6', memory: '1Gi' } })))
      .toBe('scenario: workloads[0] (HPA default/jobs): a pod requests 6 cpu and 1Gi memory, more than a node of any group has '
        + '(n: 4 cpu, 8Gi); it would stay Pending for ever');
    expect(thrown(() => simulate(jobsHpa(), { ...jobs(1, 1, { nodeGroups: [group] }), podResources: undefined })))
      .toBe('scenario: workloads[0] (HPA default/jobs): on a cluster the pods\' requests are needed; set podResources or podSpec');
    expect(thrown(() => simulate(jobsHpa(), { ...jobs(1, 1, { nodeGroups: [group] }), podResources: undefined,
      podSpec: { priorityClassName: 'gold', containers: [{ name: 'a', resources: { requests: { cpu: '1', memory: '1Gi' } } }] } })))
      .toBe('scenario: workloads[0] (HPA default/jobs): the pods\' PriorityClass "gold" is not one of this app\'s; give the workload\'s priority');
  });

  test('a CapacityBuffer without a cluster-autoscaler that keeps its room', () => {
    const buffer = { replicas: 1, cpu: '1', memory: '1Gi', capacityBuffer: true };
    expect(thrown(() => simulate(jobsHpa(), jobs(1, 1, { nodeGroups: [group], clusterAutoscaler: false, bufferPods: buffer }))))
      .toBe('cluster.bufferPods.capacityBuffer: without cluster-autoscaler nothing keeps its room; give one');
    const chart = new Chart(new App({ outdir: fs.mkdtempSync(path.join(require('os').tmpdir(), 'ca-')) }), 'c');
    const ca = new ClusterAutoscaler(chart, 'ca', { kubernetesVersion: '1.35', cloudProvider: CloudProvider.aws({ clusterName: 'x' }) });
    expect(thrown(() => simulate(jobsHpa(), jobs(1, 1, { nodeGroups: [group], clusterAutoscaler: ca, bufferPods: buffer }))))
      .toBe('cluster.bufferPods.capacityBuffer: the ClusterAutoscaler (c/ca) runs without capacityBuffers, so it keeps no room for it; set '
        + 'capacityBuffers: true on it');
  });

  test('simulateCluster with no workloads, and a ClusterAutoscaler\'s settings as the simulator reads them', () => {
    expect(thrown(() => simulateCluster({ duration: 60, cluster: { nodeGroups: [group] }, workloads: [] })))
      .toBe('scenario: workloads must list at least one { hpa, initialReplicas, load }');
    const chart = new Chart(new App({ outdir: fs.mkdtempSync(path.join(require('os').tmpdir(), 'ca-')) }), 'c');
    const ca = new ClusterAutoscaler(chart, 'ca', { kubernetesVersion: '1.33', cloudProvider: CloudProvider.aws({ clusterName: 'x' }),
      scanInterval: Duration.seconds(20), scaleDown: { unneededTime: Duration.minutes(5), utilizationThreshold: 0.6 } });
    expect(ca.settings).toMatchObject({ expendablePodsPriorityCutoff: -10, scaleDownUtilizationThreshold: 0.6 });
    expect(ca.settings.scaleDownUnneededTime).toEqual(Duration.minutes(5));
  });
});
