// A cdk8s app that uses only cdk8s-plus types for amounts, containers and durations (no strings, no L1 containers),
// and cdk8s-plus's own methods on the library's Deployment.
import { App, Chart, Duration, Size } from 'cdk8s';
import { ContainerResources, Cpu, Deployment, Node, NodeLabelQuery } from 'cdk8s-plus-27';
import {
  Autoscaler, enforceRequestsEqualLimits, OpportunisticFiller, PromAdapter, ResourceName, ResourceQuotaPolicy, restrictPodSecurity,
  ScalableFlaskApp, ScalingMetric,
} from 'cdk8s-autoscaling';

const guaranteed = (millis: number, mebibytes: number): ContainerResources => ({
  cpu: { request: Cpu.millis(millis), limit: Cpu.millis(millis) },
  memory: { request: Size.mebibytes(mebibytes), limit: Size.mebibytes(mebibytes) },
});

const app = new App({ outdir: 'dist' });
const chart = new Chart(app, 'plus', { disableResourceNameHashes: true });
new ResourceQuotaPolicy(chart, 'quota', { namespace: 'shop', quota: { cpu: Cpu.units(8), memory: Size.gibibytes(8) } });
const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://prometheus:9090/', resources: { cpu: Cpu.millis(200),
  memory: Size.mebibytes(256) } });
const web = new ScalableFlaskApp(chart, 'web', {
  namespace: 'shop', image: 'example/web:1', resources: { cpu: Cpu.millis(250), memory: Size.mebibytes(256) }, maxReplicas: 5,
  requestTimeout: Duration.seconds(20), preStopDelay: Duration.seconds(3), scaleDown: { stabilizationWindow: Duration.minutes(2) },
  sidecars: [{ name: 'proxy', image: 'example/proxy:1', resources: guaranteed(50, 64) }],
  initContainers: [{ name: 'migrate', image: 'example/web:1', command: ['flask', 'db', 'upgrade'], resources: guaranteed(100, 128) }],
});
web.deployment.addContainer({ name: 'cache', image: 'example/cache:1', resources: guaranteed(100, 64) });
web.deployment.scheduling.attract(Node.labeled(NodeLabelQuery.is('pool', 'web')));
restrictPodSecurity(web.deployment);
new OpportunisticFiller(chart, 'filler', {
  image: 'example/worker:1', resources: { cpu: Cpu.millis(500), memory: Size.mebibytes(256) }, adapter, maxReplicas: 20,
  reserve: { cpu: Cpu.units(2) }, terminationGracePeriod: Duration.seconds(5), externalKubeStateMetrics: true,
});
const worker = new Deployment(chart, 'worker', {
  metadata: { namespace: 'shop' },
  containers: [{ image: 'example/worker:1', resources: guaranteed(250, 128) }],
});
restrictPodSecurity(worker);
new Autoscaler(chart, 'worker-hpa', {
  target: worker, minReplicas: 1, maxReplicas: 10, metrics: [ScalingMetric.resource(ResourceName.CPU, { averageUtilization: 60 })],
  scaleUp: { stabilizationWindow: Duration.seconds(30) },
});
enforceRequestsEqualLimits(app);
app.synth();
