// One measurement in a fresh process: builds and synthesizes N apps in-process,
// prints {ms, maxRssMiB, ...} as JSON.
// Usage: node bench/synth-worker.js <ours|ours-unchecked|bare|bare-same> <N>
//   ours       N ScalableFlaskApps with the requests == limits policy on the app
//   ours-unchecked  the same, with every validation of the app switched off: what rendering alone costs
//   bare       N bare cdk8s-plus Deployment + Service + HPA
//   bare-same  N times the manifests a ScalableFlaskApp renders, written with cdk8s-plus
const { App, Chart, Duration } = require('cdk8s');
const kplus = require('cdk8s-plus-27');
const lib = require('../lib');

const [mode, nText] = process.argv.slice(2);
const n = Number(nText);
const start = process.hrtime.bigint();
const app = new App({ outdir: '/nonexistent' });
const chart = new Chart(app, 'bench', { disableResourceNameHashes: true });

if (mode === 'ours-unchecked') require('constructs').Node.prototype.validate = () => [];
if (mode === 'ours' || mode === 'ours-unchecked') {
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
        resources: { cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(250) }, memory: { request: require('cdk8s').Size.mebibytes(256),
          limit: require('cdk8s').Size.mebibytes(256) } },
      }],
    });
    d.exposeViaService({ ports: [{ port: 80, targetPort: 5000 }] });
    new kplus.HorizontalPodAutoscaler(chart, `hpa-${i}`, {
      target: d, minReplicas: 2, maxReplicas: 10,
      metrics: [kplus.Metric.resourceCpu(kplus.MetricTarget.averageUtilization(60))],
      scaleDown: { stabilizationWindow: Duration.minutes(5) },
    });
  }
} else if (mode === 'bare-same') {
  // The same manifests as a ScalableFlaskApp (probes, preStop, restricted
  // security contexts, /tmp volume, topology spread, labels, HPA behavior,
  // PodDisruptionBudget), written directly with cdk8s-plus and an L1 PDB.
  const { Size } = require('cdk8s');
  const { k8s } = kplus;
  for (let i = 0; i < n; i++) {
    const name = `web-${i}`;
    const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': 'web', 'app.kubernetes.io/managed-by': 'bench' };
    const d = new kplus.Deployment(chart, name, {
      metadata: { name, labels },
      podMetadata: { labels },
      spread: true,
      strategy: kplus.DeploymentStrategy.rollingUpdate({ maxSurge: kplus.PercentOrAbsolute.percent(25),
        maxUnavailable: kplus.PercentOrAbsolute.absolute(0) }),
      terminationGracePeriod: Duration.seconds(40),
      securityContext: { ensureNonRoot: true, user: 10001, group: 10001, fsGroup: 10001 },
    });
    const probe = (period, failureThreshold) => kplus.Probe.fromHttpGet('/healthz', { port: 5000, periodSeconds: Duration.seconds(period),
      timeoutSeconds: Duration.seconds(2), failureThreshold });
    const c = d.addContainer({
      name: 'flask', image: 'example/flask:1', imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: ['gunicorn'],
      args: ['--bind=0.0.0.0:5000', '--workers=2', '--threads=4', '--timeout=30', '--graceful-timeout=30', '--worker-tmp-dir=/tmp',
        '--access-logfile=-', 'app:app'],
      ports: [{ number: 5000, name: 'http' }],
      readiness: probe(5, 3), liveness: probe(10, 3), startup: probe(5, 24),
      lifecycle: { preStop: kplus.Handler.fromCommand(['sleep', '5']) },
      securityContext: { ensureNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false },
      resources: { cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(250) }, memory: { request: Size.mebibytes(256),
        limit: Size.mebibytes(256) } },
    });
    c.mount('/tmp', kplus.Volume.fromEmptyDir(chart, `${name}-tmp`, 'tmp', { medium: kplus.EmptyDirMedium.MEMORY, sizeLimit: Size.mebibytes(64) }));
    d.exposeViaService({ name, ports: [{ name: 'http', port: 80, targetPort: 5000 }] });
    new kplus.HorizontalPodAutoscaler(chart, `hpa-${i}`, {
      metadata: { name, labels }, target: d, minReplicas: 2, maxReplicas: 10,
      metrics: [kplus.Metric.resourceCpu(kplus.MetricTarget.averageUtilization(60))],
      scaleUp: { stabilizationWindow: Duration.seconds(0), policies: [
        { replicas: kplus.Replicas.percent(100), duration: Duration.seconds(15) },
        { replicas: kplus.Replicas.absolute(4), duration: Duration.seconds(15) }] },
      scaleDown: { stabilizationWindow: Duration.minutes(5), policies: [{ replicas: kplus.Replicas.percent(20), duration: Duration.minutes(1) }] },
    });
    new k8s.KubePodDisruptionBudget(chart, `pdb-${i}`, {
      metadata: { name, labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: { 'app.kubernetes.io/name': name,
        'app.kubernetes.io/component': 'web' } } },
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
