// One measurement in a fresh process: a day (24 h at 15 s syncs) of the reference stack's three HPAs (the web app, the sample
// app, the filler with its buffer pods) on one cluster of 20 nodes under cluster-autoscaler, with simulateCluster;
// prints {ms, maxRssMiB, syncs, nodeHours, peakNodes} as JSON.
// Usage: node bench/cluster-worker.js
const lib = require('../lib');
const { buildApp } = require('../lib/main');

const app = buildApp({ outdir: '/nonexistent' });
const owner = name => app.node.findAll().find(c => (c instanceof lib.ScalableFlaskApp || c instanceof lib.OpportunisticFiller) && c.name === name);
const [web, sample, filler] = ['web', 'sample-app', 'miner'].map(owner);
const DAY = 24 * 3600;
const daily = (low, high, phase = 0) => ({ time }) => low + (high - low) * (1 + Math.sin((time / DAY) * 2 * Math.PI + phase)) / 2;
const start = process.hrtime.bigint();
const result = lib.simulateCluster({
  duration: DAY,
  cluster: {
    nodeGroups: [{ name: 'general', cpu: '16', memory: '64Gi', minNodes: 10, maxNodes: 30, initialNodes: 20 }],
    otherPods: { cpu: '120', memory: '400Gi', replicas: 120 },
    bufferPods: { replicas: 4, cpu: '1', memory: '1Gi' },
  },
  workloads: [
    // a daily curve plus a burst every 4 hours
    { hpa: web.autoscaler, initialReplicas: 3, load: { cpu: c => daily(0.4, 2.4)(c) + (c.time % 14400 < 600 ? 1 : 0), memory: '160Mi' } },
    { hpa: sample.autoscaler, initialReplicas: 2, load: { pods: { http_requests_per_second: daily(1, 12, 1) } } },
    { hpa: filler.autoscaler, initialReplicas: 15, load: filler.simulatedLoad() },
  ],
});
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const syncs = result.workloads.reduce((n, w) => n + w.steps.length, 0);
console.log(JSON.stringify({ ms, maxRssMiB: process.memoryUsage().rss / 1024 / 1024, syncs, nodeHours: result.nodeHours.general,
  peakNodes: result.peakNodes.general }));
