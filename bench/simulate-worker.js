// One measurement in a fresh process: simulates 24 hours at 15 s syncs for N
// HPAs (the reference web app's HPA, each under a daily load curve with bursts),
// prints {ms, maxRssMiB, syncs} as JSON.
// Usage: node bench/simulate-worker.js <N>
const lib = require('../lib');
const { buildApp } = require('../lib/main');

const n = Number(process.argv[2]);
const app = buildApp({ outdir: '/nonexistent' });
const web = app.node.findAll().find(c => c instanceof lib.ScalableFlaskApp && c.name === 'web').autoscaler;
const DAY = 24 * 3600;
const start = process.hrtime.bigint();
let syncs = 0;
for (let i = 0; i < n; i++) {
  const phase = (i / n) * 2 * Math.PI;
  const result = lib.simulate(web, {
    duration: DAY, initialReplicas: 3, podStartup: 30,
    load: {
      // a daily curve between 0.4 and 2.4 cores, plus a burst every 4 hours
      cpu: ({ time }) => 1.4 + Math.sin((time / DAY) * 2 * Math.PI + phase) + (time % 14400 < 600 ? 1 : 0),
      memory: 160 * 1024 * 1024,
    },
  });
  syncs += result.steps.length;
}
const ms = Number(process.hrtime.bigint() - start) / 1e6;
console.log(JSON.stringify({ ms, maxRssMiB: process.memoryUsage().rss / 1024 / 1024, syncs }));
