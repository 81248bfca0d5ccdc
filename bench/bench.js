#!/usr/bin/env node
// `npm run bench`: wall time and peak memory of `npm run synth` (the reference
// stack), and of in-process synthesis of N ScalableFlaskApps with the policy on,
// next to bare cdk8s-plus Deployment + Service + HPA of the same count.
// Every figure is the median of several runs, each in a fresh process.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const hasGnuTime = fs.existsSync('/usr/bin/time');

/** Wall time (ms) and peak RSS (MiB, of the largest process in the tree) of a shell command. */
function timeCommand(cmd) {
  const t0 = process.hrtime.bigint();
  const args = hasGnuTime ? ['/usr/bin/time', ['-f', '%M', 'sh', '-c', `${cmd} >/dev/null`]] : ['sh', ['-c', `${cmd} >/dev/null`]];
  const r = spawnSync(args[0], args[1], { cwd: root, encoding: 'utf8', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} failed:\n${r.stderr}`);
  const kb = hasGnuTime ? Number(r.stderr.trim().split('\n').pop()) : NaN;
  return { ms, maxRssMiB: kb / 1024 };
}

function worker(mode, n) {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'synth-worker.js'), mode, String(n)], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`worker ${mode} ${n} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

function medianOf(runs) {
  const keys = Object.keys(runs[0]);
  return Object.fromEntries(keys.map(k => [k, median(runs.map(r => r[k]))]));
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const rows = [];

timeCommand('npm run -s synth'); // warm-up (and build if stale)
const stack = medianOf(Array.from({ length: RUNS }, () => timeCommand('npm run -s synth')));
console.log(`reference stack: npm run synth, median of ${RUNS} runs: ${fmt(stack.ms)} ms, peak ${fmt(stack.maxRssMiB)} `
  + `MiB${hasGnuTime ? '' : ' (install Debian package "time" for memory)'}\n`);

// `cdk8s synth` (cdk8s-cli) of the reference stack, next to `cdk8s synth` of an app with one empty
// chart: what the library adds to a synth as a user runs it. Interleaved.
const os = require('os');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
fs.writeFileSync(path.join(scratch, 'empty.js'),
  `const { App, Chart } = require(${JSON.stringify(path.join(root, 'node_modules', 'cdk8s'))});\n`
  + "const app = new App(); new Chart(app, 'empty'); app.synth();\n");
fs.writeFileSync(path.join(scratch, 'cdk8s.yaml'), 'language: typescript\napp: node empty.js\n');
const cli = path.join(root, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');
const cdk8sSynth = dir => timeCommand(`cd ${dir} && node ${cli} synth --no-check-upgrade -o ${path.join(scratch, `out-${path.basename(dir)}`)}`);
const synthRuns = { stack: [], empty: [] };
cdk8sSynth(root);
for (let i = 0; i < RUNS; i++) {
  synthRuns.stack.push(cdk8sSynth(root));
  synthRuns.empty.push(cdk8sSynth(scratch));
}
fs.rmSync(scratch, { recursive: true, force: true });
const [stackSynth, emptySynth] = [medianOf(synthRuns.stack), medianOf(synthRuns.empty)];
console.log(`cdk8s synth, median of ${RUNS}: reference stack ${fmt(stackSynth.ms)} ms, an empty chart ${fmt(emptySynth.ms)} ms: `
  + `${fmt(stackSynth.ms / emptySynth.ms, 2)}x\n`);

for (const n of [100, 1000, 2000]) {
  // Interleaved, so that drift in the machine's speed touches all four alike.
  const runs = { ours: [], unchecked: [], bare: [], same: [] };
  for (let i = 0; i < RUNS; i++) {
    runs.ours.push(worker('ours', n));
    runs.unchecked.push(worker('ours-unchecked', n));
    runs.bare.push(worker('bare', n));
    runs.same.push(worker('bare-same', n));
  }
  rows.push({ n, ours: medianOf(runs.ours), unchecked: medianOf(runs.unchecked), bare: medianOf(runs.bare), same: medianOf(runs.same) });
}

function printTable(header, table) {
  const widths = header.map((h, i) => Math.max(h.length, ...table.map(r => String(r[i]).length)));
  const line = cells => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of table) console.log(line(r));
}

console.log('ScalableFlaskApps vs bare cdk8s-plus Deployment + Service + HPA (in-process synthYaml, policy on):');
printTable(
  ['apps', 'ours ms', 'ours MiB', 'ours checks ms', 'ours lines', 'bare ms', 'bare MiB', 'bare lines', 'time ratio', 'ms per 1k lines ours / bare'],
  rows.map(({ n, ours, bare }) => [
    n, fmt(ours.ms), fmt(ours.maxRssMiB), fmt(ours.validateMs), ours.yamlLines, fmt(bare.ms), fmt(bare.maxRssMiB), bare.yamlLines,
    `${fmt(ours.ms / bare.ms, 2)}x`, `${fmt(ours.ms / ours.yamlLines * 1000, 1)} / ${fmt(bare.ms / bare.yamlLines * 1000, 1)}`,
  ]));

console.log('\nThe same ScalableFlaskApps with every validation switched off (what rendering them alone costs) vs the bare trio:');
printTable(
  ['apps', 'unchecked ms', 'unchecked MiB', 'bare ms', 'ratio to bare', 'checks add (ours / unchecked)'],
  rows.map(({ n, ours, unchecked, bare }) => [
    n, fmt(unchecked.ms), fmt(unchecked.maxRssMiB), fmt(bare.ms), `${fmt(unchecked.ms / bare.ms, 2)}x`, `${fmt(ours.ms / unchecked.ms, 2)}x`,
  ]));

console.log('\nScalableFlaskApps vs the same manifests written directly with cdk8s-plus (probes, preStop, security contexts, volume, spread, '
  + 'labels, HPA behavior, PDB):');
printTable(
  ['apps', 'ours ms', 'ours MiB', 'ours lines', 'cdk8s-plus ms', 'cdk8s-plus MiB', 'cdk8s-plus lines', 'time ratio'],
  rows.map(({ n, ours, same }) => [
    n, fmt(ours.ms), fmt(ours.maxRssMiB), ours.yamlLines, fmt(same.ms), fmt(same.maxRssMiB), same.yamlLines, `${fmt(ours.ms / same.ms, 2)}x`,
  ]));

// The simulator: 24 hours at 15 s syncs for 100 HPAs (the reference web app's, a daily load curve with bursts).
const sims = Array.from({ length: RUNS }, () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'simulate-worker.js'), '100'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`simulate worker failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
});
const sim = medianOf(sims);
console.log(`\nsimulate: 24 h at 15 s syncs for 100 HPAs (${sim.syncs} syncs), median of ${RUNS} runs: ${fmt(sim.ms)} ms `
  + `(${fmt(sim.ms / sim.syncs * 1000, 2)} µs per sync), ${fmt(sim.maxRssMiB)} MiB`);

// The simulator with capacity: a day of the reference stack's three HPAs on a 20-node cluster under cluster-autoscaler.
const clusterSims = Array.from({ length: RUNS }, () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'cluster-worker.js')], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cluster worker failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
});
const cs = medianOf(clusterSims);
console.log(`simulateCluster: 24 h of the reference stack's web app, sample app and filler on 20 nodes (${cs.syncs} syncs, `
  + `${fmt(cs.nodeHours, 1)} node-hours), median of ${RUNS} runs: ${fmt(cs.ms)} ms, ${fmt(cs.maxRssMiB)} MiB`);

const [a, b, c] = rows;
console.log(`\ngrowth (ours): 100 -> 1000 apps x${fmt(b.ours.ms / a.ours.ms, 1)} time; 1000 -> 2000 apps x${fmt(c.ours.ms / b.ours.ms, 2)} time `
  + `(linear is x10 and x2)`);
