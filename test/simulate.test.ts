import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Duration, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { parse as parseYaml } from 'yaml';
import { Autoscaler, HpaController, OpportunisticFiller, renderSimulationSvg, ResourceName, ScalableFlaskApp, ScalingMetric, simulate } from '../src';
import { main } from '../src/cli';
import { buildApp } from '../src/main';
import { milliOf } from '../src/scaling/replica-calculator';
import { thrown } from './helpers';

const ROOT = path.join(__dirname, '..');
const SCENARIOS = path.join(ROOT, 'docs', 'scenarios');
const MI = 1024 * 1024;

function referenceAutoscaler(name: string): Autoscaler {
  const app = buildApp({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'sim-')) });
  const isOwner = (c: unknown) => (c instanceof ScalableFlaskApp || c instanceof OpportunisticFiller) && c.name === name;
  const owner = app.node.findAll().find(isOwner) as ScalableFlaskApp;
  return owner.autoscaler;
}

/** Runs the shipped command; returns its exit code and what it printed. */
function cli(...args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = main(args, { out: t => { out += t; }, err: t => { err += t; } });
  return { code, out, err };
}

describe('the filler against the seed\'s classic design (184 cores, 30 used, 1 core per pod, min 15, max 150)', () => {
  const classicHpa = parseYaml(fs.readFileSync(path.join(SCENARIOS, 'filler-classic-hpa.yaml'), 'utf8'));
  const classic = simulate(classicHpa, require(path.join(SCENARIOS, 'filler-classic.js')));
  const exact = simulate(referenceAutoscaler('miner'), require(path.join(SCENARIOS, 'filler-exact.js')));
  const at = (r: typeof exact, time: number) => r.steps.find(s => s.time === time)!;

  test('ours lands on the free-slot count (124) in one sync and follows it through a 68-core burst', () => {
    expect(exact.steps[0]).toMatchObject({ currentReplicas: 15, desiredReplicas: 124, replicas: 124 });
    expect(exact.summary.timeToTarget).toBe(15);
    expect(at(exact, 1800).replicas).toBe(56); // 124 - 68, at the first sync of the burst
    expect(at(exact, 2700).replicas).toBe(124); // and back at the first sync after it
    expect(exact.summary.replicaChanges).toBe(3);
    expect(exact.summary.settled).toBe(true);
  });

  test('the classic one never settles: it swings between the bounds', () => {
    expect(classic.summary.settled).toBe(false);
    expect(classic.summary.replicaChanges).toBeGreaterThan(20);
    expect(classic.summary.peakReplicas).toBe(150);
    expect(classic.summary.lowestReplicas).toBeLessThan(30);
    // the no-behavior path: doubling per sync at most; the Value formula multiplies by Ready pods only (30 s start-up),
    // which gives the start the reference replay shows (hpa-controller.md: 15 -> 30 -> 60 -> 94 -> 120 -> 136)
    expect(classic.steps.slice(0, 3).map(s => s.replicas)).toEqual([30, 60, 94]);
    expect(classic.steps.some(s => s.reasons.includes('ScaleUpLimit'))).toBe(true);
    expect(classic.steps.some(s => s.reasons.includes('ScaleDownStabilized'))).toBe(true);
  });
});

describe('simulate', () => {
  test('the reference web app under a load step and back: scales up within the policies, down after the window, settles at min', () => {
    const r = simulate(referenceAutoscaler('web'), JSON.parse(fs.readFileSync(path.join(SCENARIOS, 'web-load-step.json'), 'utf8')));
    const before = r.steps.filter(s => s.time < 300);
    expect(before.every(s => s.replicas === 3)).toBe(true);
    const peak = r.steps.find(s => s.replicas === r.summary.peakReplicas)!;
    expect(peak.time).toBeLessThan(600);
    expect(r.summary.peakReplicas).toBe(9); // 1.8 cores at 50% of 400m: 9 pods
    const firstDown = r.steps.find(s => s.time > 1500 && s.replicas < s.currentReplicas)!;
    // the 5 min scale-down window: the last high recommendation (1485 s) leaves it at 1785 s (the window excludes its start)
    expect(firstDown.time).toBe(1785);
    expect(r.steps[r.steps.length - 1].replicas).toBe(3);
    expect(r.summary.settled).toBe(true);
  });

  test('pod requests come from the Autoscaler\'s target; new pods report no metrics until Ready', () => {
    const chart = new Chart(Testing.app(), 'c');
    const amounts = { cpu: k8s.Quantity.fromString('500m'), memory: k8s.Quantity.fromString('256Mi') };
    const target = new k8s.KubeDeployment(chart, 'api', {
      metadata: { name: 'api' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'app', image: 'x',
        resources: { requests: amounts, limits: amounts } }] } } },
    });
    const a = new Autoscaler(chart, 'hpa', {
      target, maxReplicas: 20, metrics: [ScalingMetric.resource(ResourceName.CPU, { averageUtilization: 50 })],
    });
    const r = simulate(a, { duration: 120, initialReplicas: 2, podStartup: 60, load: { cpu: 2 } });
    // 2 cores on 2 pods of 500m: capped at the limit, 100% > 50%: doubled (+4 pods or +100% per 15 s)
    expect(r.steps[0]).toMatchObject({ currentReplicas: 2, replicas: 4 });
    // the new pods are not Ready: the cpu readiness rules count them as 0 on a scale-up, so no further step until they report
    expect(r.steps[1].readyReplicas).toBe(2);
    expect(r.steps.find(s => s.time === 75)!.readyReplicas).toBe(4);
  });

  test('refuses a scenario that does not feed a metric, or a resource metric without pod requests', () => {
    const hpa = { metadata: { name: 'q', namespace: 'jobs' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'w' }, maxReplicas: 5, metrics: [
      { type: 'External', external: { metric: { name: 'queue_depth' }, target: { type: 'AverageValue', averageValue: '10' } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 70 } } },
    ] } };
    expect(thrown(() => simulate(hpa, { duration: 60, initialReplicas: 1, load: {} }))).toBe([
      'scenario does not feed the External metric "queue_depth" of HPA jobs/q; add load.metrics["queue_depth"]',
      'scenario does not feed the Resource metric "memory" of HPA jobs/q; add load.memory',
    ].join('\n'));
    expect(thrown(() => simulate(hpa, { duration: 60, initialReplicas: 1, load: { memory: 100 * MI, metrics: { queue_depth: 5 } } })))
      .toBe('scenario: HPA jobs/q scales on cpu or memory; set podResources (the pod\'s requests), or simulate the Autoscaler of this app');
  });

  test('refuses times that are not positive, steps out of order, unknown load keys and loads for metrics the HPA lacks, one plain line each', () => {
    const web = referenceAutoscaler('web');
    const bad: any = {
      duration: 0, initialReplicas: 3, syncPeriod: -15, podStartup: 0,
      load: { cpu: [[0, 1], [600, 2], [300, 3]], memory: '150Mi', pods: { rps: 10 }, metrics: { queue_depth: 'lots' }, network: 5 },
    };
    expect(thrown(() => simulate(web, bad))).toBe([
      'scenario: duration must be a Duration or a number of seconds > 0, got 0',
      'scenario: syncPeriod must be a Duration or a number of seconds > 0, got -15',
      'scenario: podStartup must be a Duration or a number of seconds > 0, got 0',
      'scenario: load.cpu steps must be in time order, but [2] at 300 s follows one at 600 s; sort them',
      'scenario: load.pods["rps"] feeds no metric of HPA flask-ns/web; its Pods metrics are none',
      'scenario: load.metrics["queue_depth"] must be a number or a quantity such as "500m" or "150Mi", got "lots"',
      'scenario: load.metrics["queue_depth"] feeds no metric of HPA flask-ns/web; its Object and External metrics are none',
      'scenario: load.network is not a load; use cpu, memory, pods, metrics',
    ].join('\n'));
  });

  test('times as Durations give the same replay as seconds; constant quantity strings the same as numbers', () => {
    const web = referenceAutoscaler('web');
    const load = { cpu: [[0, 0.45], [300, 1.8], [1500, 0.45]] as [number, number][] };
    const inSeconds = simulate(web, { duration: 3600, initialReplicas: 3, syncPeriod: 15, podStartup: 30, load: { ...load, memory: 150 * MI } });
    const inDurations = simulate(web, {
      duration: Duration.hours(1), initialReplicas: 3, syncPeriod: Duration.seconds(15), podStartup: Duration.seconds(30),
      load: { ...load, memory: '150Mi' },
    });
    expect(inDurations.steps).toEqual(inSeconds.steps);
    expect(inDurations.steps.length).toBe(241);
  });

  test('HpaController and simulate agree: each step is what sync() decides on the same observation', () => {
    const a = referenceAutoscaler('miner');
    const c = new HpaController(a);
    const r = simulate(a, { duration: 60, initialReplicas: 15, podStartup: 1, load: { metrics: { miner_filler_slots: 40 } } });
    expect(c.sync({ time: 0, specReplicas: 15, metrics: { miner_filler_slots: 40 } })).toBe(r.steps[0].replicas);
  });

  test('a day of the web app: every step is what decide() makes of the same pods, one observation per pod', () => {
    // The simulator keeps pods as batches; here each pod is its own object, built from the scenario's rules:
    // cpu demand shared by the Ready pods (capped at the request), new pods Ready after podStartup,
    // removals unready first, then newest first.
    const a = referenceAutoscaler('web');
    const day = 24 * 3600;
    const cpu = (time: number) => 1.4 + Math.sin((time / day) * 2 * Math.PI) + (time % 14400 < 600 ? 1.2 : 0) + (time % 3600 < 60 ? 0.8 : 0);
    const requests = { cpu: 0.5, memory: 512 * MI };
    const r = simulate(a, { duration: day, initialReplicas: 3, podStartup: 45, podResources: requests,
      load: { cpu: ({ time }) => cpu(time), memory: 160 * MI } });
    const c = new HpaController(a);
    let pods: { createdAt: number; readyAt: number }[] = [0, 1, 2].map(() => ({ createdAt: -Infinity, readyAt: -Infinity }));
    let batchesSeen = 0;
    for (const step of r.steps) {
      const time = step.time;
      const ready = pods.filter(p => p.readyAt <= time).length;
      const share = Math.min(milliOf(cpu(time)) / ready, requests.cpu * 1000);
      const observed = pods.map(p => {
        const isReady = p.readyAt <= time;
        const old = p.createdAt === -Infinity;
        return { ready: isReady, startTime: old ? undefined : p.createdAt, readySince: old ? undefined : isReady ? p.readyAt : p.createdAt,
          requests, usage: isReady ? { cpu: share / 1000, memory: 160 * MI } : undefined };
      });
      batchesSeen = Math.max(batchesSeen, new Set(pods.map(p => p.createdAt)).size);
      const d = c.decide({ time, specReplicas: step.currentReplicas, pods: observed });
      expect({ time, replicas: d.replicas, desired: d.desiredReplicas, reasons: d.reasons, values: d.metrics.map(m => m.current) })
        .toEqual({ time, replicas: step.replicas, desired: step.desiredReplicas, reasons: step.reasons, values: step.metrics.map(m => m.value) });
      if (d.replicas > pods.length) {
        pods = [...pods, ...Array.from({ length: d.replicas - pods.length }, () => ({ createdAt: time, readyAt: time + 45 }))];
      } else if (d.replicas < pods.length) {
        const order = [...pods].sort((x, y) => Number(y.readyAt > time) - Number(x.readyAt > time) || y.createdAt - x.createdAt);
        const removed = new Set(order.slice(0, pods.length - d.replicas));
        pods = pods.filter(p => !removed.has(p));
      }
    }
    // the day went through scale-ups and scale-downs with several generations of pods at once
    expect(r.summary.peakReplicas).toBeGreaterThan(5);
    expect(r.summary.replicaChanges).toBeGreaterThan(20);
    expect(batchesSeen).toBeGreaterThan(3);
  });
});

describe('renderSimulationSvg', () => {
  const r = simulate(referenceAutoscaler('web'), JSON.parse(fs.readFileSync(path.join(SCENARIOS, 'web-load-step.json'), 'utf8')));
  const svg = renderSimulationSvg(r);

  test('a standalone SVG: replicas, desired, each metric against its target, events with their reasons', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).not.toMatch(/href=|<image|<script|url\(/);
    expect(svg).toContain('HPA flask-ns/web');
    expect(svg).toContain('Resource cpu (% of requests)');
    expect(svg).toContain('Resource memory (% of requests)');
    expect(svg).toContain('target 50 ± 10%');
    expect((svg.match(/<polygon /g) ?? []).length).toBe(r.summary.replicaChanges);
    expect(svg).toContain('ScaleDownStabilized');
    expect(renderSimulationSvg(r)).toBe(svg);
  });

  test('the committed charts are what the scenarios render (also checked by .ci/run)', () => {
    expect(fs.readFileSync(path.join(ROOT, 'docs', 'web-load-step.svg'), 'utf8')).toBe(svg);
  });
});

describe('cdk8s-autoscaling simulate', () => {
  const dist = (f: string) => path.join(ROOT, 'dist', f);
  const scenario = path.join(SCENARIOS, 'web-load-step.json');

  test('--help on every command prints its usage on stdout; simulate\'s includes the scenario format', () => {
    const all = cli('--help');
    expect(all.code).toBe(0);
    expect(all.out).toContain('cdk8s-autoscaling synth [--output DIR]');
    expect(all.out).toContain('cdk8s-autoscaling simulate <rendered.yaml>');
    const synth = cli('synth', '--help');
    expect(synth.code).toBe(0);
    expect(synth.out).toContain('cdk8s-autoscaling synth [--output DIR]');
    expect(synth.out).not.toContain('simulate');
    const sim = cli('simulate', '--help');
    expect(sim.code).toBe(0);
    expect(sim.out).toContain('cdk8s-autoscaling simulate <rendered.yaml> --hpa <namespace>/<name>');
    expect(sim.out).toContain('"initialReplicas": 3,              required, Ready at the start');
    expect(sim.out).toContain('[second, value] steps in time order');
    expect(sim.err + synth.err + all.err).toBe('');
  });

  test('prints the summary as a table and writes the SVG', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-')), 'web.svg');
    const r = cli('simulate', dist('flask.k8s.yaml'), '--hpa', 'flask-ns/web', '--scenario', scenario, '--svg', out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^HPA flask-ns\/web\n {2}syncs {12}241, every 15 s\n/);
    expect(r.out).toContain('  replicas         3..9 (min 3, max 10)');
    expect(fs.readFileSync(out, 'utf8')).toContain('<svg');
  });

  test('a scenario with a cluster: the table adds the longest Pending time and node-hours; the file\'s PriorityClass sets the priority', () => {
    const capacity = path.join(SCENARIOS, 'web-capacity.json');
    const r = cli('simulate', dist('flask.k8s.yaml'), '--hpa', 'flask-ns/web', '--scenario', capacity);
    expect(r.code).toBe(0);
    expect(r.out).toContain('  longest Pending  185 s (3.1 min)\n  node-hours       general 2.83\n');
    // the filler's pods take their PriorityClass (-100) from the file: below the cutoff, their Pending pods buy no node
    const filler = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-')), 'filler.json');
    fs.writeFileSync(filler, JSON.stringify({ duration: 600, initialReplicas: 20, load: { metrics: { miner_filler_slots: 20 } },
      cluster: { nodeGroups: [{ name: 'n', cpu: '4', memory: '16Gi', minNodes: 1, maxNodes: 5 }] } }));
    const f = cli('simulate', dist('filler.k8s.yaml'), '--hpa', 'filler/miner', '--scenario', filler);
    expect(f.out).toContain('  longest Pending  600 s (10.0 min)\n  node-hours       n 0.17\n');
  });

  test.each<[string, string[], string]>([
    ['an unknown HPA', ['simulate', dist('flask.k8s.yaml'), '--hpa', 'flask-ns/nope', '--scenario', scenario],
      'simulate: no HorizontalPodAutoscaler flask-ns/nope in ' + dist('flask.k8s.yaml') + '; it has flask-ns/web\n'],
    ['a scenario file that is not JSON', ['simulate', dist('flask.k8s.yaml'), '--hpa', 'flask-ns/web', '--scenario', path.join(ROOT, 'README.md')],
      `simulate: cannot read scenario ${path.join(ROOT, 'README.md')}: use a .json file, or a .js module that exports the scenario\n`],
    ['a metric the scenario does not feed', ['simulate', dist('filler.k8s.yaml'), '--hpa', 'filler/miner', '--scenario', scenario],
      'simulate: scenario: load.cpu feeds no metric of HPA filler/miner, which does not scale on cpu\n'
      + 'simulate: scenario: load.memory feeds no metric of HPA filler/miner, which does not scale on memory\n'
      + 'simulate: scenario does not feed the External metric "miner_filler_slots" of HPA filler/miner; add load.metrics["miner_filler_slots"]\n'],
    ['a missing file', ['simulate', 'nope.yaml', '--hpa', 'a/b', '--scenario', scenario], 'simulate: cannot read nope.yaml: no such file\n'],
  ])('%s: one plain line, exit 1', (_name, args, message) => {
    const r = cli(...args);
    expect(r.code).toBe(1);
    expect(r.err).toBe(message);
  });

  test('a broken JSON scenario names the file and the parse error', () => {
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-')), 'bad.json');
    fs.writeFileSync(bad, '{ "duration": ');
    const r = cli('simulate', dist('flask.k8s.yaml'), '--hpa', 'flask-ns/web', '--scenario', bad);
    expect([r.code, r.err]).toEqual([1, expect.stringMatching(new RegExp(`^simulate: cannot read scenario ${bad}: Unexpected end of JSON `
      + `input\n$`))]);
  });

  test('missing flags print the usage and exit 2', () => {
    const r = cli('simulate', dist('flask.k8s.yaml'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('simulate: usage: --hpa and --scenario are required');
  });
});
