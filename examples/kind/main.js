// The kind trial: a 3-node kind cluster's config, metrics-server for `kubectl top`, the
// custom-metrics test adapter, and nginx autoscaled on a custom metric you write yourself.
// Rendered with `npx cdk8s-autoscaling synth` here; README.md walks through it.
// In a project of your own, require('cdk8s-autoscaling') instead of the build of this repository.
const { App, Chart, Size } = require('cdk8s');
const kplus = require('cdk8s-plus-27');
const { Autoscaler, MetricsServer, restrictPodSecurity, ScalingMetric, TestMetricsAdapter } = require('../../lib');

const NODE_IMAGE = 'kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5';

/**
 * kind's cluster config (kind.x-k8s.io/v1alpha4): one control plane with the API server's aggregator
 * routing on (metrics-server's own kind setup), two workers. Not a Kubernetes object: the chart
 * writes the config as it is, for `kind create cluster --config`.
 */
class KindCluster extends Chart {
  toJson() {
    const node = (role, extra = {}) => ({ role, image: NODE_IMAGE, ...extra });
    return [{
      kind: 'Cluster',
      apiVersion: 'kind.x-k8s.io/v1alpha4',
      name: 'autoscaling',
      nodes: [
        node('control-plane', {
          kubeadmConfigPatches: ['kind: ClusterConfiguration\napiServer:\n  extraArgs:\n    enable-aggregator-routing: "true"\n'],
        }),
        node('worker'),
        node('worker'),
      ],
    }];
  }
}

/** What runs in the cluster. */
class Trial extends Chart {
  constructor(scope, id) {
    super(scope, id, { disableResourceNameHashes: true });
    // kind's kubelets serve self-signed certificates without IP SANs: trial clusters only.
    new MetricsServer(this, 'metrics-server', { kubeletInsecureTls: true });
    // Build it from kubernetes-sigs/custom-metrics-apiserver (`make test-adapter-container`) and `kind load docker-image` it.
    const adapter = new TestMetricsAdapter(this, 'test-adapter', { image: 'kubernetes-sigs/k8s-test-metrics-adapter-amd64:latest' });

    const amounts = { cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(100) },
      memory: { request: Size.mebibytes(64), limit: Size.mebibytes(64) } };
    const nginx = new kplus.Deployment(this, 'nginx', {
      metadata: { name: 'nginx', namespace: 'default' },
      containers: [{ name: 'nginx', image: 'nginxinc/nginx-unprivileged:1.29', portNumber: 8080, resources: amounts }],
    });
    // nginx writes its cache and pid below /tmp: a writable emptyDir under a read-only root filesystem
    nginx.containers[0].mount('/tmp', kplus.Volume.fromEmptyDir(this, 'tmp', 'tmp'));
    restrictPodSecurity(nginx);
    nginx.exposeViaService({ name: 'nginx', ports: [{ port: 80, targetPort: 8080 }] });

    // The metric describes the nginx Service; its value is whatever you POST to the adapter.
    // averageValue divides it by the pods (a Value target would add pods every sync until maxReplicas,
    // since the written value does not fall as pods are added).
    new Autoscaler(this, 'nginx-hpa', {
      target: nginx, minReplicas: 1, maxReplicas: 5,
      metrics: [ScalingMetric.object(adapter.customMetric('test-metric'), { apiVersion: 'v1', kind: 'Service', name: 'nginx' },
        { averageValue: '300m' })],
    });
  }
}

const app = new App();
new KindCluster(app, 'kind-cluster');
new Trial(app, 'trial');
app.synth();
