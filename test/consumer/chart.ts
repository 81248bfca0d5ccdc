// A cdk8s app written only against the public API of the installed package.
import { App, Chart, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import {
  Autoscaler, enforceRequestsEqualLimits, KubeStateMetrics, MetricsServer, OpportunisticFiller, PromAdapter, ResourceQuotaPolicy,
  ScalableFlaskApp, ScalingMetric,
} from 'cdk8s-autoscaling';

const app = new App({ outdir: 'dist' });
const chart = new Chart(app, 'consumer', { disableResourceNameHashes: true });
new MetricsServer(chart, 'metrics-server');
new KubeStateMetrics(chart, 'kube-state-metrics');
const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://prometheus:9090/' });
const rps = adapter.addCounterRate({ counter: 'http_requests_total' });
new ResourceQuotaPolicy(chart, 'quota', { namespace: 'shop', quota: { cpu: '4', memory: '4Gi' } });
new ScalableFlaskApp(chart, 'web', {
  namespace: 'shop', image: 'example/web:1', resources: { cpu: '250m', memory: '256Mi' },
  maxReplicas: 5, cpuUtilization: 60, metrics: [ScalingMetric.pods(rps, '2')],
  scaleDown: { stabilizationWindow: Duration.minutes(2) },
});
new OpportunisticFiller(chart, 'filler', {
  image: 'example/worker:1', resources: { cpu: '500m', memory: '256Mi' }, adapter, maxReplicas: 20, reserve: { cpu: '2' },
});
// A queue worker of the user's own, autoscaled on an External metric (the README's example).
const depth = adapter.addExternalMetric({
  metricName: 'jobs_queue_depth', seriesQuery: 'rabbitmq_queue_messages', namespaced: false,
  metricsQuery: 'sum(rabbitmq_queue_messages{queue="jobs"})',
});
const amounts = { cpu: k8s.Quantity.fromString('250m'), memory: k8s.Quantity.fromString('128Mi') };
const worker = new k8s.KubeDeployment(chart, 'worker', {
  metadata: { name: 'worker', namespace: 'shop' },
  spec: {
    selector: { matchLabels: { app: 'worker' } },
    template: {
      metadata: { labels: { app: 'worker' } },
      spec: {
        // Pod Security "restricted", which the quota policy's namespace enforces
        securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{
          name: 'worker', image: 'example/worker:1', resources: { requests: amounts, limits: amounts },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        }],
      },
    },
  },
});
new Autoscaler(chart, 'worker-hpa', {
  target: worker, minReplicas: 1, maxReplicas: 30,
  metrics: [ScalingMetric.external(depth, { averageValue: '50' })],
  scaleDown: { stabilizationWindow: Duration.minutes(10) },
});
enforceRequestsEqualLimits(app);
app.synth();
