import { App, AppProps, Chart, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import {
  AutoscalingAlerts, CapacityDashboard, CloudProvider, ClusterAutoscaler, enforceRequestsEqualLimits, Expander, FlaskServiceType, KubeStateMetrics,
  MetricsServer, OpportunisticFiller, PromAdapter, PrometheusInstance, ResourceQuotaPolicy, ScalableFlaskApp, ScalingMetric, ScalingPolicyType,
  SelectPolicy,
} from './index';

/**
 * The reference autoscaling stack, one chart (one file in dist/) per concern.
 * `npm run synth` renders it into dist/, which is committed for GitOps.
 */
export function buildApp(props: AppProps = {}): App {
  const app = new App(props);
  new MetricsChart(app, 'metrics');
  const monitoring = new MonitoringChart(app, 'monitoring');
  new FlaskChart(app, 'flask');
  new SampleChart(app, 'sample', monitoring.adapter);
  new FillerChart(app, 'filler', monitoring.adapter);
  new ClusterChart(app, 'cluster-autoscaler');
  // Generated from everything above: alerts on the app's HPAs, APIServices, adapter metrics and fillers; the capacity dashboard.
  new AutoscalingAlerts(monitoring, 'alerts', { prometheus: monitoring.prometheus });
  new CapacityDashboard(monitoring, 'dashboard');
  enforceRequestsEqualLimits(app);
  return app;
}

/** Resource metrics for `kubectl top` and cpu/memory HPAs, at a 15 s resolution. */
class MetricsChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { disableResourceNameHashes: true });
    new MetricsServer(this, 'metrics-server', { metricResolution: Duration.seconds(15) });
  }
}

/**
 * The monitoring side the autoscaling loop depends on: kube-state-metrics (exporting the filler's pod label), a
 * Prometheus that selects every ServiceMonitor and PrometheusRule labelled release=prometheus, and prometheus-adapter
 * reading it; apps add their rules to the adapter.
 */
class MonitoringChart extends Chart {
  public readonly adapter: PromAdapter;
  public readonly prometheus: PrometheusInstance;
  constructor(scope: Construct, id: string) {
    super(scope, id, { disableResourceNameHashes: true });
    const release = { release: 'prometheus' };
    new KubeStateMetrics(this, 'kube-state-metrics', { serviceMonitorLabels: release });
    this.prometheus = new PrometheusInstance(this, 'prometheus', { name: 'k8s', serviceMonitorLabels: release, ruleLabels: release });
    this.adapter = new PromAdapter(this, 'prometheus-adapter', { prometheus: this.prometheus, serviceMonitorLabels: release });
  }
}

/** The Flask web service: 3..10 replicas on 50% cpu and 80% memory, in a quota-capped namespace. */
class FlaskChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { disableResourceNameHashes: true });
    new ResourceQuotaPolicy(this, 'quota', {
      namespace: 'flask-ns',
      quota: { cpu: '8', memory: '8Gi' },
      pods: 30,
      services: 5,
      objectCounts: { 'services.loadbalancers': 0 },
      containerMax: { cpu: '2', memory: '2Gi' },
    });
    new ScalableFlaskApp(this, 'web', {
      namespace: 'flask-ns',
      image: 'registry.example.com/shop/flask-web:1.0.0',
      resources: { cpu: '400m', memory: '256Mi' },
      serviceType: FlaskServiceType.NODE_PORT,
      nodePort: 30050,
      minReplicas: 3,
      maxReplicas: 10,
      cpuUtilization: 50,
      memoryUtilization: 80,
      scaleUp: { stabilizationWindow: Duration.seconds(30) },
      scaleDown: {
        stabilizationWindow: Duration.minutes(5),
        policies: [
          { type: ScalingPolicyType.PODS, value: 2, period: Duration.minutes(1) },
          { type: ScalingPolicyType.PERCENT, value: 20, period: Duration.minutes(1) },
        ],
        selectPolicy: SelectPolicy.MIN,
      },
    });
  }
}

/** A second service scaling on requests per second per pod (custom metric from Prometheus). */
class SampleChart extends Chart {
  constructor(scope: Construct, id: string, adapter: PromAdapter) {
    super(scope, id, { disableResourceNameHashes: true });
    new ResourceQuotaPolicy(this, 'quota', {
      namespace: 'sample',
      quota: { cpu: '8', memory: '8Gi' },
      pods: 40,
    });
    const rps = adapter.addCounterRate({ counter: 'http_requests_total', window: Duration.minutes(2) });
    new ScalableFlaskApp(this, 'sample-app', {
      namespace: 'sample',
      image: 'registry.example.com/shop/flask-sample:1.0.0',
      resources: { cpu: '200m', memory: '128Mi' },
      minReplicas: 2,
      maxReplicas: 30,
      metrics: [ScalingMetric.pods(rps, '500m')],
      metricsScraping: { serviceMonitorLabels: { release: 'prometheus' } },
    });
  }
}

/** A filler soaking up free capacity: 1 cpu per replica, 15..150 replicas, 30 cpu kept free, with buffer pods. */
class FillerChart extends Chart {
  constructor(scope: Construct, id: string, adapter: PromAdapter) {
    super(scope, id, { disableResourceNameHashes: true });
    new OpportunisticFiller(this, 'miner', {
      namespace: 'filler',
      createNamespace: true,
      image: 'registry.example.com/batch/miner:1.0.0',
      resources: { cpu: '1', memory: '512Mi' },
      adapter,
      reserve: { cpu: '30' },
      minReplicas: 15,
      maxReplicas: 150,
      buffer: { replicas: 4, cpu: '1', memory: '1Gi' },
      quota: { cpu: '150', memory: '75Gi', pods: 150 },
      kubeStateMetricsMatchers: 'job="kube-state-metrics"',
      ruleLabels: { release: 'prometheus' },   // the Prometheus loads the recording rules of the filler's metric
    });
  }
}

/**
 * cluster-autoscaler for the nodes under it all (AWS, node groups found by their tags, credentials from IAM roles for service
 * accounts): spot groups first, on-demand for the rest. At synth it checks the filler's PriorityClass (below its cutoff) and the
 * buffer pods' (at it, below every workload).
 */
class ClusterChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { disableResourceNameHashes: true });
    new ClusterAutoscaler(this, 'cluster-autoscaler', {
      kubernetesVersion: '1.33',
      cloudProvider: CloudProvider.aws({ clusterName: 'prod' }),
      expander: Expander.priority([{ priority: 50, nodeGroups: ['.*spot.*'] }, { priority: 10, nodeGroups: ['.*'] }]),
      serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/cluster-autoscaler' },
    });
  }
}

if (require.main === module) {
  buildApp().synth();
}
