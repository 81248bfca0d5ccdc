// One measurement in a fresh process: builds and synthesizes N apps in-process,
// prints {ms, maxRssMiB} as JSON. Usage: node bench/synth-worker.js <ours|bare> <N>
const { App, Chart, Duration } = require('cdk8s');
const kplus = require('cdk8s-plus-27');
const lib = require('../lib');

const [mode, nText] = process.argv.slice(2);
const n = Number(nText);
const start = process.hrtime.bigint();
const app = new App({ outdir: '/nonexistent' });
const chart = new Chart(app, 'bench', { disableResourceNameHashes: true });

if (mode === 'ours') {
  for (let i = 0; i < n; i++) {
    new lib.ScalableFlaskApp(chart, `web-${i}`, {
      image: 'example/flask:1', resources: { cpu: '250m', memory: '256Mi' },
      minReplicas: 2, maxReplicas: 10, cpuUtilization: 60,
    });
  }
  lib.enforceRequestsEqualLimits(app);
} else if (mode === 'bare') {
  for (let i = 0; i < n; i++) {
    const d = new kplus.Deployment(chart, `web-${i}`, {
      containers: [{
        image: 'example/flask:1', portNumber: 5000,
        resources: { cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(250) }, memory: { request: require('cdk8s').Size.mebibytes(256), limit: require('cdk8s').Size.mebibytes(256) } },
      }],
    });
    d.exposeViaService({ ports: [{ port: 80, targetPort: 5000 }] });
    new kplus.HorizontalPodAutoscaler(chart, `hpa-${i}`, {
      target: d, minReplicas: 2, maxReplicas: 10,
      metrics: [kplus.Metric.resourceCpu(kplus.MetricTarget.averageUtilization(60))],
      scaleDown: { stabilizationWindow: Duration.minutes(5) },
    });
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
const built = process.hrtime.bigint();
const yaml = app.synthYaml(); // validates (every check), then renders
const end = process.hrtime.bigint();
if (!yaml.includes('HorizontalPodAutoscaler')) throw new Error('nothing rendered');
const maxRssMiB = process.resourceUsage().maxRSS / 1024;

// Where the time goes: a second, identical validation pass alone (the checks).
const v0 = process.hrtime.bigint();
for (const c of app.node.findAll()) c.node.validate();
const v1 = process.hrtime.bigint();

const ms = (a, b) => Number(b - a) / 1e6;
console.log(JSON.stringify({
  ms: ms(start, end), constructMs: ms(start, built), validateMs: ms(v0, v1),
  renderMs: ms(built, end) - ms(v0, v1), yamlLines: yaml.split('\n').length, maxRssMiB,
}));
