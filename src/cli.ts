#!/usr/bin/env node
// The `cdk8s-autoscaling` command shipped in the package.
import * as fs from 'fs';
import * as path from 'path';
import { Yaml } from 'cdk8s';
import { podSpecOf } from './core/manifests';
import { priorityClassValue } from './core/priorities';
import { safeSynth } from './tooling/safe-synth';
import { Scenario, simulate, SimulationResult } from './scaling/simulate';
import { renderSimulationSvg } from './scaling/simulation-svg';

const SYNTH_USAGE = `  cdk8s-autoscaling synth [--output DIR]
      render the cdk8s app of ./cdk8s.yaml into a scratch folder, then replace the
      output folder (default: cdk8s.yaml's "output", else dist/) only if the whole
      render succeeded; problems are printed as plain lines, warnings too. With
      "validations" in cdk8s.yaml, cdk8s-cli renders the app and runs the plugins.`;

const SIMULATE_USAGE = `  cdk8s-autoscaling simulate <rendered.yaml> --hpa <namespace>/<name> --scenario <scenario.json|.js>
                             [--svg out.svg] [--json out.json]
      replay the HPA controller over the scenario and print a summary; the pods'
      requests come from the HPA's target in the same file (or the scenario)`;

const SCENARIO_FORMAT = `scenario (a .json file, or a .js module exporting it; times in seconds):
  {
    "duration": 3600,                  required, > 0
    "initialReplicas": 3,              required, Ready at the start
    "syncPeriod": 15,                  > 0 (default 15)
    "podStartup": 30,                  > 0: from creation to Ready (default 30)
    "podResources": { "cpu": "500m", "memory": "512Mi" },   default: the target's requests
    "controller": { "tolerance": 0.1 },   a .js scenario sets the other kube-controller-manager flags as Durations
    "start": "2026-03-23T00:00:00+01:00",   the wall clock at 0 s: needed when the HPA has an off-hours schedule
    "downscaler": { "interval": 30, "defaultTimezone": "Europe/Berlin" },   the kube-downscaler applying it
    "cluster": {                       optional: the nodes under the pods; pods that do not fit are Pending
      "nodeGroups": [{ "name": "general", "cpu": "4", "memory": "16Gi", "minNodes": 2, "maxNodes": 10,
                       "initialNodes": 2, "provisionTime": 180 }],
      "clusterAutoscaler": { "scanInterval": 10, "scaleDownUnneededTime": 600, "scaleDownDelayAfterAdd": 600,
                             "scaleDownUtilizationThreshold": 0.5, "expendablePodsPriorityCutoff": -10,
                             "expander": "priority", "priorities": [{ "priority": 50, "nodeGroups": ["spot"] }] },   or false
      "otherPods": { "cpu": "6", "memory": "12Gi" },   requests of the pods already running, in total
      "bufferPods": { "replicas": 2, "cpu": "1", "memory": "1Gi" }   pause pods at priority -10, or "capacityBuffer": true
    },
    "priority": 0,                     on a cluster: the pods' priority (default: their PriorityClass in the file, else 0)
    "load": {                          one entry per metric of the HPA, and no other
      "cpu": [[0, 0.45], [300, 1.8]],  total cores, shared by the Ready pods: [second, value] steps in time order
      "memory": "150Mi",               per Ready pod: a number or a quantity
      "pods": { "http_requests_per_second": 40 },   Pods metrics: the total, shared by the Ready pods
      "metrics": { "queue_depth": [[0, 10], [600, 90]] }   Object and External metrics
    }
  }
  In a .js scenario a load may also be a function of { time, replicas, readyReplicas }.`;

const USAGE = `usage:\n${SYNTH_USAGE}\n${SIMULATE_USAGE}`;

/** A problem the user can fix, reported as one plain line. */
class UsageError extends Error {}

interface Io {
  out(text: string): void;
  err(text: string): void;
}

const STDIO: Io = { out: t => process.stdout.write(t), err: t => process.stderr.write(t) };

/** Runs the command line `argv` (without node and the script); returns the exit code. */
export function main(argv: string[], io: Io = STDIO): number {
  const [command, ...rest] = argv;
  const help = rest.includes('--help') || rest.includes('-h');
  try {
    if (command === 'synth') {
      if (help) return usage(io, `usage:\n${SYNTH_USAGE}`);
      const { flags } = parseArgs(rest, ['--output'], 0);
      return safeSynth({ output: flags['--output'], log: io });
    }
    if (command === 'simulate') {
      if (help) return usage(io, `usage:\n${SIMULATE_USAGE}\n\n${SCENARIO_FORMAT}`);
      return simulateCommand(rest, io);
    }
    if (command === '--help' || command === '-h' || command === 'help') return usage(io, USAGE);
    io.err(`${command ? `unknown command "${command}"\n` : ''}${USAGE}\n`);
    return 2;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (e.message.startsWith('usage')) {
      io.err(`${command}: ${e.message}\n`);
      return 2;
    }
    io.err(e.message.split('\n').map(line => `${command}: ${line}\n`).join(''));
    return 1;
  }
}

/** Help asked for: the usage on stdout, exit 0. */
function usage(io: Io, text: string): number {
  io.out(`${text}\n`);
  return 0;
}

function parseArgs(args: string[], known: string[], positionals: number): { flags: Record<string, string>; positional: string[] } {
  const flags: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--')) {
      if (!known.includes(a)) throw new UsageError(`usage: unknown flag ${a}\n${USAGE}`);
      if (args[i + 1] === undefined) throw new UsageError(`usage: ${a} needs a value\n${USAGE}`);
      flags[a] = args[++i];
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== positionals) throw new UsageError(`usage: expected ${positionals} file argument${positionals === 1 ? '' : 's'}, got `
    + `${positional.length}\n${USAGE}`);
  return { flags, positional };
}

function simulateCommand(args: string[], io: Io): number {
  const { flags, positional } = parseArgs(args, ['--hpa', '--scenario', '--svg', '--json'], 1);
  if (!flags['--hpa'] || !flags['--scenario']) throw new UsageError(`usage: --hpa and --scenario are required\n${USAGE}`);
  const objects = readManifests(positional[0]);
  const hpa = findHpa(objects, flags['--hpa'], positional[0]);
  const scenario = readScenario(flags['--scenario']);
  const podSpec = scenario.podSpec ?? targetPodSpec(objects, hpa);
  const className: string | undefined = podSpec?.priorityClassName;
  const priority = scenario.priority ?? (scenario.cluster && className !== undefined ? priorityClassValue(className, objects) : undefined);
  let result: SimulationResult;
  try {
    result = simulate(hpa, { ...scenario, podSpec, priority });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (flags['--svg']) fs.writeFileSync(flags['--svg'], renderSimulationSvg(result));
  if (flags['--json']) fs.writeFileSync(flags['--json'], `${JSON.stringify(result, null, 2)}\n`);
  io.out(summaryTable(result));
  return 0;
}

function readManifests(file: string): any[] {
  if (!fs.existsSync(file)) throw new UsageError(`cannot read ${file}: no such file`);
  try {
    return Yaml.load(file).filter((o: any) => o && typeof o === 'object');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
}

function findHpa(objects: any[], ref: string, file: string): any {
  const hpas = objects.filter(o => o.kind === 'HorizontalPodAutoscaler');
  const key = (o: any) => `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name}`;
  const wanted = ref.includes('/') ? ref : `default/${ref}`;
  const found = hpas.find(o => key(o) === wanted);
  if (!found) {
    throw new UsageError(`no HorizontalPodAutoscaler ${wanted} in ${file}; it has ${hpas.length ? hpas.map(key).join(', ') : 'none'}`);
  }
  return found;
}

/** The target's pod spec, when the same file renders the target. */
function targetPodSpec(objects: any[], hpa: any): any {
  const ref = hpa.spec?.scaleTargetRef ?? {};
  const ns = hpa.metadata?.namespace ?? 'default';
  const target = objects.find(o => o.kind === ref.kind && o.metadata?.name === ref.name && (o.metadata?.namespace ?? 'default') === ns);
  return target ? podSpecOf(target)?.spec : undefined;
}

function readScenario(file: string): Scenario {
  if (!fs.existsSync(file)) throw new UsageError(`cannot read scenario ${file}: no such file`);
  let scenario: any;
  try {
    if (/\.json$/i.test(file)) {
      scenario = JSON.parse(fs.readFileSync(file, 'utf8'));
    } else if (/\.[cm]?js$/i.test(file)) {
      const loaded = require(path.resolve(file));
      scenario = loaded?.default ?? loaded?.scenario ?? loaded;
    } else {
      throw new Error('use a .json file, or a .js module that exports the scenario');
    }
  } catch (e) {
    throw new UsageError(`cannot read scenario ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!scenario || typeof scenario !== 'object') throw new UsageError(`scenario ${file} holds no scenario object`);
  return scenario;
}

/** The summary as a two-column table. */
function summaryTable(r: SimulationResult): string {
  const s = r.summary;
  const minutes = (sec: number) => `${sec} s (${(sec / 60).toFixed(1)} min)`;
  const rows: [string, string][] = [
    ['syncs', `${r.steps.length}, every ${r.syncPeriod} s`],
    ['time to target', s.timeToTarget === undefined ? 'never' : minutes(s.timeToTarget)],
    ['replicas', `${s.lowestReplicas}..${s.peakReplicas} (min ${r.minReplicas}, max ${r.maxReplicas})`],
    ['replica changes', String(s.replicaChanges)],
    ['settled', s.settled ? `yes (no change in the last ${s.settleWindow} s)` : `no (changes in the last ${s.settleWindow} s)`],
    ['above target', minutes(s.timeAboveTarget)],
    ['below target', minutes(s.timeBelowTarget)],
    ['failed syncs', String(s.failedSyncs)],
    ['pod-hours', String(s.podHours)],
    ...(s.longestPending !== undefined ? [['longest Pending', minutes(s.longestPending)] as [string, string]] : []),
    ...(s.nodeHours ? [['node-hours', Object.entries(s.nodeHours).map(([g, h]) => `${g} ${h}`).join(', ')] as [string, string]] : []),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `HPA ${r.hpa}\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
