import { ApiObject, App, Chart, Cron, Duration, JsonPatch, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import {
  AdapterMetric, Autoscaler, AutoscalerProps, MetricsApi, MetricsServer, PromAdapter, ResourceName, ScaleTarget, ScalingMetric, ScalingPolicyType,
  SelectPolicy,
} from '../src';
import { expectSchemaValid, newChart, objectOf, synthApp, thrown } from './helpers';

const GUARANTEED = { requests: { cpu: k8s.Quantity.fromString('250m'), memory: k8s.Quantity.fromString('256Mi') } };
const RESOURCES = { ...GUARANTEED, limits: GUARANTEED.requests };
const CPU_70 = ScalingMetric.resource(ResourceName.CPU, { averageUtilization: 70 });

/** A raw L1 workload of `kind` in namespace `ns`, with a guaranteed "app" container and optional extras. */
function l1Workload(chart: Chart, kind: 'Deployment' | 'StatefulSet' | 'ReplicaSet' | 'DaemonSet', name: string, extra: {
  replicas?: number; containers?: k8s.Container[]; initContainers?: k8s.Container[];
} = {}): ApiObject {
  const labels = { app: name };
  const pod = {
    metadata: { labels },
    spec: { containers: [{ name: 'app', image: 'example/app:1', resources: RESOURCES }, ...(extra.containers ?? [])],
      initContainers: extra.initContainers },
  };
  const spec: any = { selector: { matchLabels: labels }, template: pod, ...(extra.replicas !== undefined ? { replicas: extra.replicas } : {}) };
  switch (kind) {
    case 'Deployment': return new k8s.KubeDeployment(chart, name, { metadata: { name, namespace: 'shop' }, spec });
    case 'StatefulSet': return new k8s.KubeStatefulSet(chart, name, { metadata: { name, namespace: 'shop' }, spec: { ...spec, serviceName: name } });
    case 'ReplicaSet': return new k8s.KubeReplicaSet(chart, name, { metadata: { name, namespace: 'shop' }, spec });
    case 'DaemonSet': return new k8s.KubeDaemonSet(chart, name, { metadata: { name, namespace: 'shop' }, spec });
  }
}

function hpaOf(chart: Chart, name?: string): any {
  return objectOf(Testing.synth(chart), 'HorizontalPodAutoscaler', name);
}

/** A CRD of kind Widget (example.com/v1), with or without the scale subresource. */
function widgetCrd(chart: Chart, scale: boolean): ApiObject {
  return new ApiObject(chart, 'widget-crd', {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
      scope: 'Namespaced',
      versions: [{
        name: 'v1', served: true, storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        ...(scale ? { subresources: { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas',
          labelSelectorPath: '.status.selector' } } } : {}),
      }],
    },
  });
}

describe('Autoscaler', () => {
  describe('targets', () => {
    test('a cdk8s-plus Deployment: marked autoscaled (no spec.replicas); the HPA takes its name and namespace', () => {
      const { chart } = newChart();
      const web = new kplus.Deployment(chart, 'web', {
        metadata: { name: 'web', namespace: 'shop' },
        containers: [{ image: 'example/web:1', portNumber: 8080, securityContext: { ensureNonRoot: false }, resources: {
          cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(250) }, memory: { request: Size.mebibytes(256), limit: Size.mebibytes(256) },
        } }],
      });
      new Autoscaler(chart, 'hpa', { target: web, maxReplicas: 10, metrics: [CPU_70] });
      const out = Testing.synth(chart);
      expect(out).toMatchSnapshot();
      expect(objectOf(out, 'Deployment').spec.replicas).toBeUndefined();
      const hpa = objectOf(out, 'HorizontalPodAutoscaler');
      expect(hpa.metadata).toEqual({ name: 'web', namespace: 'shop' });
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' });
      expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([1, 10]);
      expectSchemaValid(out);
    });

    test('behavior is always rendered; by default Kubernetes\' own, written out', () => {
      const { chart } = newChart();
      new Autoscaler(chart, 'hpa', { target: l1Workload(chart, 'Deployment', 'api'), maxReplicas: 5, metrics: [CPU_70] });
      expect(hpaOf(chart).spec.behavior).toEqual({
        scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent',
          value: 100, periodSeconds: 15 }] },
        scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
      });
    });

    test('a cdk8s-plus StatefulSet', () => {
      const { chart } = newChart();
      const db = new kplus.StatefulSet(chart, 'db', {
        metadata: { name: 'db' },
        containers: [{ image: 'example/db:1', portNumber: 5432, resources: {
          cpu: { request: kplus.Cpu.millis(500), limit: kplus.Cpu.millis(500) }, memory: { request: Size.mebibytes(512), limit: Size.mebibytes(512) },
        } }],
      });
      new Autoscaler(chart, 'hpa', { target: db, maxReplicas: 3, metrics: [ScalingMetric.resource(ResourceName.MEMORY, { averageValue: '400Mi' })] });
      const out = Testing.synth(chart);
      expect(objectOf(out, 'StatefulSet').spec.replicas).toBeUndefined();
      expect(objectOf(out, 'HorizontalPodAutoscaler').spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' });
      expectSchemaValid(out);
    });

    test.each(['Deployment', 'StatefulSet', 'ReplicaSet'] as const)('an L1 %s', (kind) => {
      const { chart } = newChart();
      const target = l1Workload(chart, kind, 'worker');
      new Autoscaler(chart, 'hpa', { target, maxReplicas: 4, metrics: [CPU_70] });
      const out = Testing.synth(chart);
      expect(objectOf(out, 'HorizontalPodAutoscaler').spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind, name: 'worker' });
      expect(objectOf(out, 'HorizontalPodAutoscaler').metadata.namespace).toBe('shop');
      expectSchemaValid(out);
    });

    test('a custom resource whose CRD in the app declares the scale subresource', () => {
      const { app, chart } = newChart();
      widgetCrd(chart, true);
      const q = AdapterMetric.servedElsewhere(MetricsApi.EXTERNAL, 'queue_depth');
      new Autoscaler(chart, 'hpa', {
        target: ScaleTarget.custom({ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', namespace: 'shop' }),
        maxReplicas: 8, metrics: [ScalingMetric.external(q, { averageValue: '20' })],
      });
      const out = synthApp(app);
      expect(out).toMatchSnapshot();
      const hpa = objectOf(out, 'HorizontalPodAutoscaler');
      expect(hpa.metadata).toEqual({ name: 'w', namespace: 'shop' });
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w' });
      expectSchemaValid(out);
    });

    test('a custom resource takes the autoscaler\'s namespace when its reference has none', () => {
      const { chart } = newChart();
      const q = AdapterMetric.servedElsewhere(MetricsApi.EXTERNAL, 'queue_depth');
      new Autoscaler(chart, 'hpa', {
        target: ScaleTarget.custom({ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w' }),
        namespace: 'jobs', name: 'widget-hpa', maxReplicas: 8, metrics: [ScalingMetric.external(q, { averageValue: '20' })],
      });
      expect(hpaOf(chart).metadata).toEqual({ name: 'widget-hpa', namespace: 'jobs' });
    });
  });

  describe('metrics', () => {
    test('every metric type renders its own spec', () => {
      const { app, chart } = newChart();
      const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://prometheus.monitoring.svc:9090/' });
      const rps = adapter.addCounterRate({ counter: 'http_requests_total' });
      const perIngress = adapter.addCustomMetric({
        metricName: 'ingress_rps', seriesQuery: 'nginx_ingress_controller_requests{namespace!="",ingress!=""}',
        resourceOverrides: { namespace: { resource: 'namespace' }, ingress: { group: 'networking.k8s.io', resource: 'ingress' } },
        metricsQuery: 'sum by (<<.GroupBy>>) (rate(<<.Series>>{<<.LabelMatchers>>}[2m]))',
      });
      const queue = adapter.addExternalMetric({ metricName: 'queue_depth', seriesQuery: 'queue_messages',
        metricsQuery: 'sum(queue_messages{<<.LabelMatchers>>})' });
      new Autoscaler(chart, 'hpa', {
        target: l1Workload(chart, 'Deployment', 'api'),
        maxReplicas: 20,
        metrics: [
          ScalingMetric.resource(ResourceName.CPU, { averageUtilization: 60 }),
          ScalingMetric.resource(ResourceName.MEMORY, { averageValue: '200Mi' }),
          ScalingMetric.containerResource(ResourceName.CPU, 'app', { averageUtilization: 80 }),
          ScalingMetric.pods(rps, '500m'),
          ScalingMetric.object(perIngress, { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'main' }, { value: '2k' }),
          ScalingMetric.external(queue, { averageValue: '30' }, { queue: 'jobs' }),
        ],
        scaleDown: { stabilizationWindow: Duration.minutes(10), policies: [{ type: ScalingPolicyType.PODS, value: 1, period: Duration.minutes(1) }],
          selectPolicy: SelectPolicy.MIN },
      });
      const out = synthApp(app);
      const hpa = objectOf(out, 'HorizontalPodAutoscaler');
      expect(hpa.spec.metrics).toMatchSnapshot();
      expect(hpa.spec.metrics).toEqual([
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '200Mi' } } },
        { type: 'ContainerResource', containerResource: { name: 'cpu', container: 'app', target: { type: 'Utilization', averageUtilization: 80 } } },
        { type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '500m' } } },
        { type: 'Object', object: { metric: { name: 'ingress_rps' }, describedObject: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress',
          name: 'main' }, target: { type: 'Value', value: '2k' } } },
        { type: 'External', external: { metric: { name: 'queue_depth', selector: { matchLabels: { queue: 'jobs' } } },
          target: { type: 'AverageValue', averageValue: '30' } } },
      ]);
      expect(hpa.spec.behavior.scaleDown).toEqual({ stabilizationWindowSeconds: 600, selectPolicy: 'Min', policies: [{ type: 'Pods', value: 1,
        periodSeconds: 60 }] });
      expectSchemaValid(out);
    });

    test('ContainerResource reads one container, so a sidecar without requests is fine', () => {
      const { app, chart } = newChart();
      const target = l1Workload(chart, 'Deployment', 'api', { containers: [{ name: 'envoy', image: 'envoy' }] });
      new Autoscaler(chart, 'hpa', {
        target, maxReplicas: 4, metrics: [ScalingMetric.containerResource(ResourceName.CPU, 'app', { averageUtilization: 70 })],
      });
      expect(() => synthApp(app)).not.toThrow();
    });

    test('scale to zero with an External metric', () => {
      const { chart } = newChart();
      const q = AdapterMetric.servedElsewhere(MetricsApi.EXTERNAL, 'queue_depth');
      new Autoscaler(chart, 'hpa', { target: l1Workload(chart, 'Deployment', 'worker'), scaleToZero: true, maxReplicas: 5,
        metrics: [ScalingMetric.external(q, { averageValue: '10' })] });
      const hpa = hpaOf(chart);
      expect(hpa.spec.minReplicas).toBe(0);
      expect(hpa.spec.behavior.scaleDown.policies.every((p: any) => p.value > 0)).toBe(true);
    });
  });

  describe('refused at construction', () => {
    const make = (props: Partial<AutoscalerProps>, chart = newChart().chart) => new Autoscaler(chart, 'hpa', {
      target: props.target ?? l1Workload(chart, 'Deployment', 'api'), maxReplicas: 5, metrics: [CPU_70], ...props,
    });
    const q = AdapterMetric.servedElsewhere(MetricsApi.EXTERNAL, 'queue_depth');

    test.each<[string, Partial<AutoscalerProps>, string]>([
      ['min above max', { minReplicas: 6, maxReplicas: 3 }, 'Autoscaler "hpa": maxReplicas (3) is below minReplicas (6); raise maxReplicas or lower '
        + 'minReplicas'],
      ['maxReplicas 0', { maxReplicas: 0 }, 'Autoscaler "hpa": maxReplicas must be a whole number >= 1, got 0'],
      ['no metrics', { metrics: [] }, 'Autoscaler "hpa": metrics is empty; give at least one ScalingMetric'],
      ['minReplicas 0 without scaleToZero', { minReplicas: 0, metrics: [ScalingMetric.external(q, { value: '5' })] },
        'Autoscaler "hpa": minReplicas 0 needs scaleToZero: true, and the cluster needs the HPAScaleToZero feature gate (alpha, off by default on '
          + 'most clusters)'],
      ['scaleToZero with only a Resource metric', { scaleToZero: true },
        'Autoscaler "hpa": minReplicas 0 needs at least one Object or External metric'],
      ['scaleToZero with minReplicas 2', { scaleToZero: true, minReplicas: 2, metrics: [ScalingMetric.external(q, { value: '5' })] },
        'Autoscaler "hpa": scaleToZero needs minReplicas 0, got 2'],
      ['a window over an hour', { scaleDown: { stabilizationWindow: Duration.hours(2) } }, 'scaleDown.stabilizationWindow must be a whole number of '
        + 'seconds from 0 to 3600, got 7200s'],
      ['an empty policy list', { scaleUp: { policies: [] } }, 'scaleUp.policies is empty; the API server requires at least one policy'],
      ['a period over 30 min', { scaleUp: { policies: [{ type: ScalingPolicyType.PODS, value: 1, period: Duration.minutes(31) }] } },
        'scaleUp.policies[0].period must be a whole number of seconds from 1 to 1800, got 1860s'],
      ['a utilization of 0', { metrics: [ScalingMetric.resource(ResourceName.CPU, { averageUtilization: 0 })] },
        'metrics[0] (Resource metric "cpu") must be a whole number >= 1, got 0'],
      ['both utilization and value', { metrics: [ScalingMetric.resource(ResourceName.MEMORY, { averageUtilization: 80, averageValue: '1Gi' })] },
        'metrics[0] (Resource metric "memory") needs exactly one of averageUtilization or averageValue'],
      ['an unserved resource', { metrics: [ScalingMetric.resource('storage' as any, { averageValue: '1Gi' })] },
        'resource must be "cpu" or "memory" (what metrics-server serves), got "storage"'],
      ['a bad container name', { metrics: [ScalingMetric.containerResource(ResourceName.CPU, 'App_1', { averageUtilization: 50 })] },
        'container "App_1" is not a valid container name'],
      ['a Pods metric of the external API', { metrics: [ScalingMetric.pods(q, '1')] },
        'metrics[0] (Pods metric "queue_depth") needs a metric of custom.metrics.k8s.io, but "queue_depth" is served by external.metrics.k8s.io'],
      ['a namespace other than the target\'s', { namespace: 'other' }, 'Autoscaler "hpa": namespace "other" is not the target\'s ("shop"); an HPA '
        + 'scales only objects of its own namespace'],
      ['no target', { target: undefined as any }, 'target is required'],
    ])('%s', (_n, props, message) => {
      expect(thrown(() => make(props))).toContain(message);
    });

    test('kinds that cannot scale', () => {
      const { chart } = newChart();
      expect(thrown(() => make({ target: l1Workload(chart, 'DaemonSet', 'agent') }, chart)))
        .toContain('Autoscaler "hpa": target (DaemonSet "test/agent") is a DaemonSet (apps/v1), which has no scale subresource; an HPA can scale '
          + 'Deployment, StatefulSet, ReplicaSet, ReplicationController or a custom resource');
      const svc = new k8s.KubeService(chart, 'svc', { metadata: { name: 'svc' }, spec: { ports: [{ port: 80 }] } });
      expect(thrown(() => new Autoscaler(chart, 'hpa2', { target: svc, maxReplicas: 2, metrics: [CPU_70] }))).toContain('is a Service (v1), which '
        + 'has no scale subresource');
      expect(thrown(() => new Autoscaler(chart, 'hpa3', { target: ScaleTarget.custom({ apiVersion: 'batch/v1', kind: 'Job', name: 'j' }),
        maxReplicas: 2, metrics: [CPU_70] })))
        .toContain('target is a Job (batch/v1), which has no scale subresource');
    });

    test('a cdk8s-plus workload with a fixed replica count', () => {
      const { chart } = newChart();
      const web = new kplus.Deployment(chart, 'web', { replicas: 3, containers: [{ image: 'example/web:1' }] });
      expect(thrown(() => new Autoscaler(chart, 'hpa', { target: web, maxReplicas: 5, metrics: [CPU_70] })))
        .toContain('sets replicas: 3; remove it: the HPA owns the replica count');
    });

    test('a metric served by another app\'s adapter, and a Pods metric not associated with pods', () => {
      const other = new PromAdapter(new Chart(Testing.app(), 'other'), 'adapter', { prometheusUrl: 'http://p:9090/' });
      const rps = other.addCounterRate({ counter: 'http_requests_total' });
      expect(thrown(() => make({ metrics: [ScalingMetric.pods(rps, '1')] })))
        .toContain('metrics[0] (Pods metric "http_requests_per_second") is served by PromAdapter "adapter" of another app');
      const { chart } = newChart();
      const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
      const perService = adapter.addCustomMetric({
        metricName: 'svc_rps', seriesQuery: 'x{service!=""}', metricsQuery: 'sum by (<<.GroupBy>>) (x{<<.LabelMatchers>>})',
        resourceOverrides: { namespace: { resource: 'namespace' }, service: { resource: 'service' } },
      });
      expect(thrown(() => make({ metrics: [ScalingMetric.pods(perService, '1')] }, chart)))
        .toContain('metrics[0] (Pods metric "svc_rps") is not associated with pods by its adapter rule (resources: namespace, service); add a pod '
          + 'override to the rule');
    });

    test('every problem at once, one line each', () => {
      const msg = thrown(() => make({ minReplicas: 9, maxReplicas: 3, metrics: [ScalingMetric.resource(ResourceName.CPU, { averageUtilization: -5 })],
        scaleUp: { policies: [] } }));
      expect(msg.split('\n')).toEqual([
        'Autoscaler "hpa": maxReplicas (3) is below minReplicas (9); raise maxReplicas or lower minReplicas',
        'Autoscaler "hpa": metrics[0] (Resource metric "cpu") must be a whole number >= 1, got -5',
        'Autoscaler "hpa": scaleUp.policies is empty; the API server requires at least one policy (use selectPolicy: Disabled to stop scaling in '
          + 'this direction)',
      ]);
    });
  });

  describe('refused at synth', () => {
    test('a Utilization target when a sidecar (restartable init container) has no request', () => {
      const { app, chart } = newChart();
      // Sidecars (restartPolicy on an init container) are newer than the 1.27 L1 classes,
      // whose converter drops the field: a plain ApiObject keeps it.
      const target = new ApiObject(chart, 'api', {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'shop' },
        spec: {
          selector: { matchLabels: { app: 'api' } },
          template: { metadata: { labels: { app: 'api' } }, spec: {
            containers: [{ name: 'app', image: 'example/app:1', resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '250m',
              memory: '256Mi' } } }],
            initContainers: [{ name: 'istio-proxy', image: 'istio/proxyv2', restartPolicy: 'Always' }],
          } },
        },
      } as any);
      new Autoscaler(chart, 'hpa', { target, maxReplicas: 5, metrics: [CPU_70] });
      expect(thrown(() => synthApp(app))).toContain('Autoscaler "hpa": metrics[0] (Resource metric "cpu") needs a cpu request on every container of '
        + 'the pod, sidecars included, '
        + 'but container "istio-proxy" has none; the HPA would show <unknown> and never scale. Set resources.requests.cpu on it, or scale on '
          + 'ScalingMetric.containerResource(...)');
    });

    test('a request removed later by a patch is seen', () => {
      const { app, chart } = newChart();
      const target = l1Workload(chart, 'Deployment', 'api');
      new Autoscaler(chart, 'hpa', { target, maxReplicas: 5, metrics: [ScalingMetric.resource(ResourceName.MEMORY, { averageUtilization: 80 })] });
      target.addJsonPatch(JsonPatch.remove('/spec/template/spec/containers/0/resources/requests/memory'));
      expect(thrown(() => synthApp(app))).toContain(
        'needs a memory request on every container of the pod, sidecars included, but container "app" has none');
    });

    test('a ContainerResource metric naming a container the pod does not have, or one without the request', () => {
      const { app, chart } = newChart();
      const target = l1Workload(chart, 'Deployment', 'api', { containers: [{ name: 'envoy', image: 'envoy' }] });
      new Autoscaler(chart, 'hpa', {
        target, maxReplicas: 5, metrics: [
          ScalingMetric.containerResource(ResourceName.CPU, 'web', { averageUtilization: 70 }),
          ScalingMetric.containerResource(ResourceName.MEMORY, 'envoy', { averageUtilization: 70 }),
          ScalingMetric.containerResource(ResourceName.MEMORY, 'envoy', { averageValue: '100Mi' }),
        ],
      });
      const msg = thrown(() => synthApp(app));
      expect(msg).toContain('metrics[0] (ContainerResource metric "cpu" of container "web") names container "web", but the target\'s pod has only '
        + '"app", "envoy"; name one of those');
      expect(msg).toContain('metrics[1] (ContainerResource metric "memory" of container "envoy") is a Utilization target, but container "envoy" has '
        + 'no memory request');
      expect(msg).not.toContain('metrics[2]');
    });

    test('an L1 target that renders spec.replicas', () => {
      const { app, chart } = newChart();
      new Autoscaler(chart, 'hpa', { target: l1Workload(chart, 'Deployment', 'api', { replicas: 3 }), maxReplicas: 5, metrics: [CPU_70] });
      expect(thrown(() => synthApp(app))).toContain('Autoscaler "hpa": target Deployment "api" renders spec.replicas (3); remove it: the HPA owns '
        + 'the replica count, and GitOps would reset it on every sync');
    });

    test('a custom resource whose CRD has no scale subresource', () => {
      const { app, chart } = newChart();
      widgetCrd(chart, false);
      const q = AdapterMetric.servedElsewhere(MetricsApi.EXTERNAL, 'queue_depth');
      new Autoscaler(chart, 'hpa', { target: ScaleTarget.custom({ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w' }), maxReplicas: 3,
        metrics: [ScalingMetric.external(q, { value: '1' })] });
      expect(thrown(() => synthApp(app))).toContain('Autoscaler "hpa": target Widget "w" cannot be scaled: version v1 of CRD widgets.example.com '
        + 'declares no subresources.scale; '
        + 'add subresources.scale (specReplicasPath, statusReplicasPath, labelSelectorPath) to it');
    });

    test('a custom resource object of the app that sets the replica count its CRD\'s scale path names', () => {
      const { app, chart } = newChart();
      widgetCrd(chart, true);
      const w = new ApiObject(chart, 'w', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { replicas: 2 } } as any);
      const q = AdapterMetric.servedElsewhere(MetricsApi.EXTERNAL, 'queue_depth');
      new Autoscaler(chart, 'hpa', { target: w, maxReplicas: 3, metrics: [ScalingMetric.external(q, { value: '1' })] });
      expect(thrown(() => synthApp(app))).toContain('target Widget "w" sets .spec.replicas (2), the replica count the HPA owns');
    });

    test('two autoscalers on one target: Autoscaler and a cdk8s-plus HPA, or a raw L1 one', () => {
      const { app, chart } = newChart();
      const web = new kplus.Deployment(chart, 'web', { metadata: { name: 'web' }, containers: [{ image: 'example/web:1' }] });
      new Autoscaler(chart, 'hpa', { target: web, maxReplicas: 5, metrics: [CPU_70] });
      new kplus.HorizontalPodAutoscaler(chart, 'kplus-hpa', { target: web, maxReplicas: 4, metadata: { name: 'web-kplus' } });
      expect(thrown(() => synthApp(app))).toContain('HorizontalPodAutoscalers default/web and default/web-kplus all target Deployment default/web; '
        + 'a workload must have exactly one HPA');
    });

    test('an HPA and a KEDA ScaledObject on one target', () => {
      const { app, chart } = newChart();
      new Autoscaler(chart, 'hpa', { target: l1Workload(chart, 'Deployment', 'api'), maxReplicas: 5, metrics: [CPU_70] });
      const so = new ApiObject(chart, 'so', {
        apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'api-queue', namespace: 'shop' },
        spec: { scaleTargetRef: { name: 'api' }, triggers: [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '60' } }] },
      } as any);
      expectSchemaValid([so.toJson()]);
      expect(thrown(() => synthApp(app))).toContain('shop/api and KEDA ScaledObject shop/api-queue all target Deployment shop/api; KEDA creates its '
        + 'own HPA for a ScaledObject, so they would fight');
    });

    test('an HPA patched after construction is checked as rendered', () => {
      const { app, chart } = newChart();
      const a = new Autoscaler(chart, 'hpa', { target: l1Workload(chart, 'Deployment', 'api'), maxReplicas: 5, metrics: [CPU_70] });
      a.hpa.addJsonPatch(JsonPatch.replace('/spec/minReplicas', 8));
      a.hpa.addJsonPatch(JsonPatch.replace('/spec/behavior/scaleUp/policies', []));
      const msg = thrown(() => synthApp(app));
      expect(msg).toContain(
        'HorizontalPodAutoscaler shop/api: spec.maxReplicas (5) is below spec.minReplicas (8); raise maxReplicas or lower minReplicas');
      expect(msg).toContain('HorizontalPodAutoscaler shop/api: spec.behavior.scaleUp.policies is empty');
    });
  });

  describe('every HPA of the app, not only the Autoscaler\'s', () => {
    /** An app with one library construct (no Autoscaler), and a raw L1 HPA on `target`. */
    function l1Hpa(spec: Partial<k8s.HorizontalPodAutoscalerSpecV2> & { scaleTargetRef?: any }): { app: App; chart: Chart } {
      const { app, chart } = newChart();
      new MetricsServer(chart, 'metrics');
      new k8s.KubeHorizontalPodAutoscalerV2(chart, 'l1-hpa', {
        metadata: { name: 'api', namespace: 'shop' },
        spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, maxReplicas: 5, ...spec } as any,
      });
      return { app, chart };
    }
    const cpuUtilization = { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } };

    test('an L1 HPA with minReplicas above maxReplicas, in an app without an Autoscaler', () => {
      const { app } = l1Hpa({ minReplicas: 8, maxReplicas: 5 });
      expect(thrown(() => synthApp(app))).toContain('HorizontalPodAutoscaler shop/api: spec.maxReplicas (5) is below spec.minReplicas (8)');
    });

    test("an L1 HPA whose target in the app renders spec.replicas, or lacks the requests a Utilization target needs", () => {
      const { app, chart } = l1Hpa({ metrics: [cpuUtilization] as any });
      l1Workload(chart, 'Deployment', 'api', { replicas: 3, containers: [{ name: 'proxy', image: 'envoy:1' }] });
      const msg = thrown(() => synthApp(app));
      expect(msg).toContain('HorizontalPodAutoscaler shop/api: target Deployment shop/api renders spec.replicas (3); remove it');
      expect(msg).toContain('HorizontalPodAutoscaler shop/api: spec.metrics[0] (Resource metric "cpu") needs a cpu request on every container of '
        + 'the pod, sidecars included, but container "proxy" has none');
    });

    test('an L1 HPA on a DaemonSet, a Job or a CronJob: no scale subresource', () => {
      for (const [apiVersion, kind] of [['apps/v1', 'DaemonSet'], ['batch/v1', 'Job'], ['batch/v1', 'CronJob']]) {
        const { app } = l1Hpa({ scaleTargetRef: { apiVersion, kind, name: 'agent' } });
        expect(thrown(() => synthApp(app))).toContain(`HorizontalPodAutoscaler shop/api: spec.scaleTargetRef is a ${kind} (${apiVersion}), which has `
          + 'no scale subresource; an HPA can scale Deployment, StatefulSet, ReplicaSet, ReplicationController or a custom resource');
      }
    });

    test("a cdk8s-plus HPA and an L1 HPA on one target, without an Autoscaler", () => {
      const { app, chart } = newChart();
      new MetricsServer(chart, 'metrics');
      const web = new kplus.Deployment(chart, 'web', { metadata: { name: 'web', namespace: 'shop' },
        containers: [{ image: 'web:1', portNumber: 8080, resources: { cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(250) } } }] });
      new kplus.HorizontalPodAutoscaler(chart, 'plus-hpa', { target: web, maxReplicas: 4,
        metadata: { name: 'web-plus', namespace: 'shop' } });
      new k8s.KubeHorizontalPodAutoscalerV2(chart, 'l1-hpa', { metadata: { name: 'web-l1', namespace: 'shop' },
        spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5 } });
      expect(thrown(() => synthApp(app))).toContain('HorizontalPodAutoscalers shop/web-plus and shop/web-l1 all target Deployment shop/web');
    });

    test('a cdk8s-plus DaemonSet, Job or CronJob as an Autoscaler target gets the precise reason', () => {
      const { chart } = newChart();
      const container = { image: 'agent:1', resources: {} };
      const targets: [string, any][] = [
        ['DaemonSet (apps/v1)', new kplus.DaemonSet(chart, 'agent', { containers: [container] })],
        ['Job (batch/v1)', new kplus.Job(chart, 'job', { containers: [container] })],
        ['CronJob (batch/v1)', new kplus.CronJob(chart, 'cron', { containers: [container], schedule: Cron.daily() })],
      ];
      for (const [what, target] of targets) {
        expect(thrown(() => new Autoscaler(chart, `hpa-${target.node.id}`, { target, maxReplicas: 3, metrics: [CPU_70] })))
          .toContain(`target (cdk8s-plus ${what.split(' ')[0]} "test/${target.node.id}") is a ${what}, which has no scale subresource`);
      }
    });
  });

  describe('metric names the app serves', () => {
    test("a typo through servedElsewhere while the app's own adapter serves the custom metrics API", () => {
      const { app, chart } = newChart();
      const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
      adapter.addCounterRate({ counter: 'http_requests_total' });
      new Autoscaler(chart, 'hpa', {
        target: l1Workload(chart, 'Deployment', 'api'), maxReplicas: 5,
        metrics: [ScalingMetric.pods(AdapterMetric.servedElsewhere(MetricsApi.CUSTOM, 'http_request_per_second'), '10')],
      });
      expect(thrown(() => synthApp(app))).toContain('HorizontalPodAutoscaler shop/api: spec.metrics[0] (Pods metric "http_request_per_second") asks '
        + 'custom.metrics.k8s.io for "http_request_per_second", but the app\'s PromAdapter "adapter" serves that API (only one APIService per group '
        + 'in a cluster) and serves "http_requests_per_second"; did you mean "http_requests_per_second"? Use a metric it serves, or add a rule that '
        + 'serves "http_request_per_second"');
    });

    test('an L1 HPA asking for an external metric the app\'s adapter does not serve; the names it serves pass', () => {
      const { app, chart } = newChart();
      const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
      adapter.addExternalMetric({ metricName: 'queue_depth', seriesQuery: 'rabbitmq_queue_messages', metricsQuery: 'sum(<<.Series>>)' });
      l1Workload(chart, 'Deployment', 'api');
      const external = (name: string) => ({ type: 'External', external: { metric: { name }, target: { type: 'AverageValue', averageValue: '30' } } });
      const hpa = new k8s.KubeHorizontalPodAutoscalerV2(chart, 'l1-hpa', {
        metadata: { name: 'api', namespace: 'shop' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, maxReplicas: 5, metrics: [external('queue_depht')] as any,
        },
      });
      expect(thrown(() => synthApp(app))).toContain('"queue_depht", but the app\'s PromAdapter "adapter" serves that API (only one APIService per '
        + 'group in a cluster) and serves "queue_depth"; did you mean "queue_depth"?');
      hpa.addJsonPatch(JsonPatch.replace('/spec/metrics/0/external/metric/name', 'queue_depth'));
      expect(() => synthApp(app)).not.toThrow();
    });

    test('a resource metric other than cpu and memory, with metrics-server in the app', () => {
      const { app } = (() => {
        const c = newChart();
        new MetricsServer(c.chart, 'metrics');
        l1Workload(c.chart, 'Deployment', 'api');
        new k8s.KubeHorizontalPodAutoscalerV2(c.chart, 'l1-hpa', {
          metadata: { name: 'api', namespace: 'shop' },
          spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, maxReplicas: 5,
            metrics: [{ type: 'Resource', resource: { name: 'cpus', target: { type: 'AverageValue', averageValue: k8s.Quantity.fromString('1') } } }],
          },
        });
        return c;
      })();
      expect(thrown(() => synthApp(app))).toContain('asks metrics.k8s.io for "cpus", but the app\'s MetricsServer "metrics" serves that API '
        + '(only one APIService per group in a cluster) and serves "cpu", "memory"; did you mean "cpu"?');
    });
  });
});

