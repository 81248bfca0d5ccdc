import { ApiObject, Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Cpu, k8s } from 'cdk8s-plus-27';
import { AdapterMetric, FlaskServiceType, MetricsApi, PromAdapter, restrictPodSecurity, ScalableFlaskApp, ScalableFlaskAppProps, ScalingMetric,
  ScalingPolicyType, SelectPolicy } from '../src';
import { expectSchemaValid, newChart, objectOf, objectsOf, synthApp, thrown } from './helpers';

const BASE: ScalableFlaskAppProps = { image: 'example/flask:1.0', resources: { cpu: '400m', memory: '256Mi' }, maxReplicas: 10 };

function make(props: Partial<ScalableFlaskAppProps> = {}, withAdapter = false) {
  const { app, chart } = newChart();
  const adapter = withAdapter ? new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://prometheus:9090/' }) : undefined;
  const web = new ScalableFlaskApp(chart, 'web', { ...BASE, ...props });
  return { app, chart, web, adapter };
}

function render(props: Partial<ScalableFlaskAppProps> = {}) {
  return Testing.synth(make(props).chart);
}

function hpaOf(out: any[]) { return objectOf(out, 'HorizontalPodAutoscaler', 'web'); }

describe('ScalableFlaskApp', () => {
  test('defaults: snapshot, schema, shapes', () => {
    const out = render();
    expect(out).toMatchSnapshot();
    expectSchemaValid(out);
    expect(out.map(o => o.kind)).toEqual(['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']);
    const d = objectOf(out, 'Deployment', 'web');
    expect(d.spec.replicas).toBeUndefined();
    const c = d.spec.template.spec.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: '400m', memory: '256Mi' }, limits: { cpu: '400m', memory: '256Mi' } });
    expect(c.command).toEqual(['gunicorn']);
    expect(c.args).toEqual(['--bind=0.0.0.0:5000', '--workers=2', '--threads=4', '--timeout=30', '--graceful-timeout=30', '--worker-tmp-dir=/tmp',
      '--access-logfile=-', 'app:app']);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 5000, protocol: 'TCP' }]);
    for (const p of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      expect(c[p].httpGet).toEqual({ path: '/healthz', port: 5000, scheme: 'HTTP' });
    }
    expect(d.spec.template.metadata.labels).toEqual({ ...d.metadata.labels, 'cdk8s.io/metadata.addr': 'web' });
    expect(d.spec.template.spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(c.lifecycle.preStop.exec.command).toEqual(['sleep', '5']);
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBe(40);
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] } });
    expect(d.spec.template.spec.topologySpreadConstraints.map((t: any) => t.topologyKey)).toEqual(['kubernetes.io/hostname',
      'topology.kubernetes.io/zone']);
    const svc = objectOf(out, 'Service', 'web');
    expect(svc.spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] });
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
    expect(objectOf(out, 'PodDisruptionBudget', 'web').spec.maxUnavailable).toBe(1);
  });

  describe('the Deployment is cdk8s-plus\'s, and the checks see what its methods add', () => {
    const GUARANTEED: kplus.ContainerResources = { cpu: { request: Cpu.millis(50), limit: Cpu.millis(50) },
      memory: { request: Size.mebibytes(32), limit: Size.mebibytes(32) } };
    /** The app in a namespace that enforces Pod Security "restricted". */
    function restricted() {
      const made = make({ namespace: 'shop' });
      new k8s.KubeNamespace(made.chart, 'ns', { metadata: { name: 'shop', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
      return made;
    }

    test('a container, volume, scheduling rule and network policy added with cdk8s-plus render and select the app\'s pods', () => {
      const { app, chart, web } = restricted();
      expect(web.deployment).toBeInstanceOf(kplus.Deployment);
      const cache = kplus.Volume.fromEmptyDir(chart, 'cache', 'cache');
      web.deployment.addContainer({ name: 'cache', image: 'redis:7', resources: GUARANTEED, volumeMounts: [{ path: '/data', volume: cache }] });
      web.deployment.scheduling.attract(kplus.Node.labeled(kplus.NodeLabelQuery.is('pool', 'web')));
      new kplus.NetworkPolicy(chart, 'policy', { selector: web.deployment, ingress: { rules: [{ peer: kplus.Pods.all(chart, 'all') }] } });
      restrictPodSecurity(web.deployment);
      const out = synthApp(app);
      expectSchemaValid(out);
      const pod = objectOf(out, 'Deployment', 'web').spec.template.spec;
      expect(pod.containers.map((c: any) => c.name)).toEqual(['flask', 'cache']);
      expect(pod.volumes.map((v: any) => v.name)).toEqual(['tmp', 'cache']);
      expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
        { matchExpressions: [{ key: 'pool', operator: 'In', values: ['web'] }] }]);
      const podLabels = objectOf(out, 'Deployment', 'web').spec.template.metadata.labels;
      expect(podLabels).toMatchObject(objectOf(out, 'NetworkPolicy').spec.podSelector.matchLabels);
      // cdk8s-plus selects by the address label, which the library sets to the Deployment's name rather than a hash.
      expect(objectOf(out, 'NetworkPolicy').spec.podSelector.matchLabels).toEqual({ 'cdk8s.io/metadata.addr': 'web' });
    });

    test('a container added without requests equal to limits, or without restrictPodSecurity, fails the synth naming it', () => {
      const { app, web } = restricted();
      web.deployment.addContainer({ name: 'cache', image: 'redis:7' });
      const msg = thrown(() => synthApp(app));
      expect(msg).toContain('Deployment shop/web, container "cache": cpu limit 1500m != request 1000m');
      expect(msg).toMatch(/container "cache".*capabilities.drop/);
    });

    test('a sidecar given as ContainerProps is a cdk8s-plus container of the Deployment, with every capability dropped', () => {
      const { app, web } = make({ sidecars: [{ name: 'proxy', image: 'envoy:1', resources: GUARANTEED }] });
      expect(web.deployment.containers.map(c => c.name)).toEqual(['flask', 'proxy']);
      const pod = objectOf(synthApp(app), 'Deployment', 'web').spec.template.spec;
      expect(pod.containers[1].securityContext.capabilities).toEqual({ drop: ['ALL'] });
      expect(pod.containers[1].resources).toEqual({ requests: { cpu: '50m', memory: '32Mi' }, limits: { cpu: '50m', memory: '32Mi' } });
    });

    test('the affinity prop goes to cdk8s-plus\'s scheduling, so deployment.scheduling adds to it', () => {
      const { app, web } = make({ affinity: {
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
          { matchExpressions: [{ key: 'pool', operator: 'In', values: ['web'] }] }] } },
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: {
          topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { tier: 'db' } }, namespaces: ['db'] } }] },
      } });
      web.deployment.scheduling.attract(kplus.Node.labeled(kplus.NodeLabelQuery.is('disk', 'ssd')), { weight: 10 });
      const out = synthApp(app);
      expectSchemaValid(out);
      const affinity = objectOf(out, 'Deployment', 'web').spec.template.spec.affinity;
      expect(affinity.nodeAffinity).toEqual({
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In',
          values: ['web'] }] }] },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'In',
          values: ['ssd'] }] } }],
      });
      // namespaces as written: no empty namespaceSelector (which would select every namespace)
      expect(affinity.podAntiAffinity).toEqual({ preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: {
        topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { tier: 'db' } }, namespaces: ['db'] } }] });
    });

    test('an affinity cdk8s-plus\'s scheduling cannot say is refused, each part on its line', () => {
      const msg = thrown(() => make({ affinity: {
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
          { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }] } },
        podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } }] },
      } }));
      const prefix = 'ScalableFlaskApp "web": affinity.';
      expect(msg.split('\n')).toEqual(expect.arrayContaining([
        `${prefix}nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields cannot be given to cdk8s-plus's `
          + 'scheduling; use matchExpressions on node labels',
        `${prefix}nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0] needs matchExpressions`,
        `${prefix}podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight must be a whole number from 1 to 100, got 0`,
        `${prefix}podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm needs a labelSelector (without one the term `
          + 'selects no pods)',
      ]));
    });

    test('the construct\'s patches are on the Deployment\'s ApiObject (cdk8s-plus cannot express them)', () => {
      const { web } = make();
      const json = ApiObject.of(web.deployment).toJson();
      expect(json.spec.template.spec.topologySpreadConstraints[0].labelSelector.matchLabels).toEqual(json.spec.selector.matchLabels);
    });

    test.each<[string, Partial<ScalableFlaskAppProps>, string]>([
      ['memory cdk8s-plus cannot render', { resources: { cpu: '400m', memory: '1000M' } },
        'ScalableFlaskApp "web": resources.memory "1000M" is not a whole number of mebibytes, which cdk8s-plus renders memory in; use e.g. "954Mi"'],
      ['cpu finer than a millicore', { resources: { cpu: '0.0005', memory: '256Mi' } },
        'ScalableFlaskApp "web": resources.cpu "0.0005" is finer than a millicore'],
      ['a toleration without a key limited to an effect', { tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }] },
        'ScalableFlaskApp "web": tolerations[0] has no key: only { operator: "Exists" } (every taint) can go without one; add a key'],
      ['a sidecar without a name', { sidecars: [{ image: 'x', resources: GUARANTEED }] }, 'ScalableFlaskApp "web": sidecars[0] needs a name'],
      ['a sidecar adding a capability', { sidecars: [{ name: 'x', image: 'x', resources: GUARANTEED,
        securityContext: { capabilities: { add: [kplus.Capability.NET_BIND_SERVICE] } } }] },
      'sidecars[0] ("x"): capabilities.add is refused by Pod Security "restricted": it allows only NET_BIND_SERVICE, and cdk8s-plus spells that '
        + '"CAP_NET_BIND_SERVICE", which admission does not accept; remove it'],
    ])('refused: %s', (_n, props, message) => {
      expect(thrown(() => make(props))).toContain(message);
    });
  });

  test('HPA: autoscaling/v2, cpu 70% by default, explicit web behavior', () => {
    const hpa = hpaOf(render());
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' });
    expect(hpa.spec.minReplicas).toBe(2);
    expect(hpa.spec.maxReplicas).toBe(10);
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expect(hpa.spec.behavior).toEqual({
      scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods',
        value: 4, periodSeconds: 15 }] },
      scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 20, periodSeconds: 60 }] },
    });
  });

  test('HPA fields for each metric kind', () => {
    const { chart, adapter } = make({}, true);
    const rps = adapter!.addCounterRate({ counter: 'http_requests_total' });
    const perIngress = adapter!.addCustomMetric({
      metricName: 'ingress_rps', seriesQuery: 'nginx_ingress_controller_requests{namespace!="",ingress!=""}',
      resourceOverrides: { namespace: { resource: 'namespace' }, ingress: { group: 'networking.k8s.io', resource: 'ingress' } },
      metricsQuery: 'sum by (<<.GroupBy>>) (rate(<<.Series>>{<<.LabelMatchers>>}[2m]))',
    });
    const queue = adapter!.addExternalMetric({ metricName: 'queue_depth', seriesQuery: 'queue_depth',
      metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})' });
    new ScalableFlaskApp(chart, 'api', {
      ...BASE, cpuUtilization: 50, memoryUtilization: 80,
      metrics: [
        ScalingMetric.pods(rps, '500m'),
        ScalingMetric.object(perIngress, { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'main' }, { value: '2k' }),
        ScalingMetric.external(queue, { averageValue: '30' }, { queue: 'jobs' }),
      ],
    });
    const out = Testing.synth(chart);
    expectSchemaValid(out);
    expect(objectOf(out, 'HorizontalPodAutoscaler', 'api').spec.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
      { type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '500m' } } },
      { type: 'Object', object: { metric: { name: 'ingress_rps' }, describedObject: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress',
        name: 'main' }, target: { type: 'Value', value: '2k' } } },
      { type: 'External', external: { metric: { name: 'queue_depth', selector: { matchLabels: { queue: 'jobs' } } }, target: { type: 'AverageValue',
        averageValue: '30' } } },
    ]);
  });

  test('every prop has its effect', () => {
    const out = render({
      name: 'shop', namespace: 'flask-ns', port: 8000, env: { B: '2', A: '1' }, wsgiApp: 'shop.wsgi:application',
      workers: 3, threads: 2, requestTimeout: Duration.seconds(60), preStopDelay: Duration.seconds(10), healthPath: '/ready',
      runAsUser: 2000, serviceType: FlaskServiceType.NODE_PORT, servicePort: 8080, nodePort: 30050, maxUnavailable: 2,
      minReplicas: 3, memoryUtilization: 75,
      scaleUp: { stabilizationWindow: Duration.seconds(30) },
      scaleDown: { policies: [{ type: ScalingPolicyType.PODS, value: 1, period: Duration.minutes(1) }, { type: ScalingPolicyType.PERCENT, value: 10,
        period: Duration.minutes(1) }], selectPolicy: SelectPolicy.MIN },
      metricsScraping: { port: 9100, path: '/prom', interval: Duration.seconds(30), serviceMonitorLabels: { release: 'prometheus' } },
      sidecars: [{ name: 'proxy', image: 'envoy:1', resources: { cpu: { request: Cpu.millis(100), limit: Cpu.millis(100) },
        memory: { request: Size.mebibytes(64), limit: Size.mebibytes(64) } } }],
    });
    expectSchemaValid(out);
    const d = objectOf(out, 'Deployment', 'shop');
    expect(d.metadata.namespace).toBe('flask-ns');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(c.args).toEqual(['--bind=0.0.0.0:8000', '--workers=3', '--threads=2', '--timeout=60', '--graceful-timeout=60', '--worker-tmp-dir=/tmp',
      '--access-logfile=-', 'shop.wsgi:application']);
    expect(c.env).toEqual([{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
    expect(c.readinessProbe.httpGet.path).toBe('/ready');
    expect(c.lifecycle.preStop.exec.command).toEqual(['sleep', '10']);
    expect(pod.terminationGracePeriodSeconds).toBe(75);
    expect(pod.securityContext.runAsUser).toBe(2000);
    expect(pod.containers.map((x: any) => x.name)).toEqual(['flask', 'proxy']);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8000, protocol: 'TCP' }, { name: 'metrics', containerPort: 9100, protocol: 'TCP' }]);
    const svc = objectOf(out, 'Service', 'shop');
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.ports).toEqual([
      { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP', nodePort: 30050 },
      { name: 'metrics', port: 9100, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    const hpa = objectOf(out, 'HorizontalPodAutoscaler', 'shop');
    expect(hpa.spec.minReplicas).toBe(3);
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 75 } } }]);
    expect(hpa.spec.behavior.scaleUp.stabilizationWindowSeconds).toBe(30);
    expect(hpa.spec.behavior.scaleDown).toEqual({ stabilizationWindowSeconds: 300, selectPolicy: 'Min', policies: [{ type: 'Pods', value: 1,
      periodSeconds: 60 }, { type: 'Percent', value: 10, periodSeconds: 60 }] });
    expect(objectOf(out, 'PodDisruptionBudget', 'shop').spec.maxUnavailable).toBe(2);
    const sm = objectOf(out, 'ServiceMonitor', 'shop');
    expect(sm.metadata.labels.release).toBe('prometheus');
    expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/prom', interval: '30s' }]);
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels[k]).toBe(v);
  });

  test('scraping on the app port uses the http port name', () => {
    const out = render({ metricsScraping: {} });
    expect(objectOf(out, 'ServiceMonitor').spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '15s' }]);
    expectSchemaValid(out);
  });

  test('minReplicas 0 with an External metric renders valid policies (cdk8s-plus bug guarded)', () => {
    const { chart, adapter } = make({}, true);
    const q = adapter!.addExternalMetric({ metricName: 'queue_depth', seriesQuery: 'queue_depth', metricsQuery: 'sum(queue_depth)' });
    new ScalableFlaskApp(chart, 'worker', { ...BASE, minReplicas: 0, metrics: [ScalingMetric.external(q, { value: '100' })] });
    const hpa = objectOf(Testing.synth(chart), 'HorizontalPodAutoscaler', 'worker');
    expect(hpa.spec.minReplicas).toBe(0);
    for (const dir of ['scaleUp', 'scaleDown']) for (const p of hpa.spec.behavior[dir].policies) expect(p.value).toBeGreaterThan(0);
    expect(hpa.spec.metrics.map((m: any) => m.type)).toEqual(['External']);
  });

  describe('refused input', () => {
    test.each<[string, Partial<ScalableFlaskAppProps>, string]>([
      ['maxReplicas < minReplicas', { minReplicas: 5, maxReplicas: 3 }, 'ScalableFlaskApp "web": maxReplicas (3) is below minReplicas (5); raise '
        + 'maxReplicas or lower minReplicas'],
      ['minReplicas 0 without Object/External metric', { minReplicas: 0 }, 'minReplicas 0 needs at least one Object or External metric'],
      ['negative minReplicas', { minReplicas: -1 }, 'minReplicas must be a whole number >= 0, got -1'],
      ['zero utilization', { cpuUtilization: 0 }, 'cpuUtilization must be a whole number >= 1, got 0'],
      ['a policy period over 1800 s',
        { scaleDown: { policies: [{ type: ScalingPolicyType.PODS, value: 1, period: Duration.minutes(31) }] } },
          'scaleDown.policies[0].period must be a whole number of seconds from 1 to 1800, got 1860s'],
      ['a policy period of 0',
        { scaleUp: { policies: [{ type: ScalingPolicyType.PERCENT, value: 100, period: Duration.seconds(0) }] } },
          'scaleUp.policies[0].period must be a whole number of seconds from 1 to 1800, got 0s'],
      ['a window over 3600 s', { scaleDown: { stabilizationWindow: Duration.hours(2) } }, 'scaleDown.stabilizationWindow must be a whole number of '
        + 'seconds from 0 to 3600, got 7200s'],
      ['an empty policy list', { scaleUp: { policies: [] } }, 'scaleUp.policies is empty; the API server requires at least one policy'],
      ['a zero policy value',
        { scaleUp: { policies: [{ type: ScalingPolicyType.PODS, value: 0, period: Duration.seconds(15) }] } },
          'scaleUp.policies[0].value must be a whole number >= 1, got 0'],
      ['unequal... missing resources', { resources: undefined as any }, 'ScalableFlaskApp "web": resources must set both cpu and memory'],
      ['a bad cpu quantity', { resources: { cpu: '400 m', memory: '256Mi' } }, 'ScalableFlaskApp "web": resources.cpu: invalid quantity "400 m"'],
      ['nodePort with ClusterIP', { nodePort: 30050 }, 'nodePort 30050 needs serviceType NodePort or LoadBalancer'],
      ['nodePort out of range', { serviceType: FlaskServiceType.NODE_PORT, nodePort: 80 }, 'nodePort must be a whole number between 30000 and '
        + '32767, got 80'],
      ['a bad name', { name: 'Web_App' }, 'name "Web_App" is not a valid DNS label'],
      ['a health path without /', { healthPath: 'healthz' }, 'healthPath "healthz" must start with "/"'],
      ['maxReplicas 0', { maxReplicas: 0 }, 'maxReplicas must be a whole number >= 1, got 0'],
    ])('%s', (_n, props, message) => {
      expect(thrown(() => make(props))).toContain(message);
    });

    test('a sidecar without requests equal to limits is refused before cdk8s-plus renders its defaults', () => {
      const msg = thrown(() => make({
        memoryUtilization: 80,
        sidecars: [{ name: 'istio-proxy', image: 'istio/proxyv2', resources: { cpu: { request: Cpu.millis(100), limit: Cpu.millis(100) } } }],
      }));
      expect(msg).toContain('ScalableFlaskApp "web": sidecars[0] ("istio-proxy"): resources must set cpu and memory, each with request equal to '
        + 'limit (Guaranteed QoS)');
    });

    test('a Pods metric from an adapter in another app', () => {
      const other = new PromAdapter(new Chart(Testing.app(), 'other'), 'adapter', { prometheusUrl: 'http://p:9090/' });
      const rps = other.addCounterRate({ counter: 'http_requests_total' });
      expect(thrown(() => make({ metrics: [ScalingMetric.pods(rps, '500m')] })))
        .toContain('metrics[0] (Pods metric "http_requests_per_second") is served by PromAdapter "adapter" of another app; add the rule to an '
          + 'adapter in this app, or use AdapterMetric.servedElsewhere(...)');
    });

    test('served elsewhere is the explicit escape hatch', () => {
      const out = render({ metrics: [ScalingMetric.pods(AdapterMetric.servedElsewhere(MetricsApi.CUSTOM, 'rps'), '1')] });
      expect(hpaOf(out).spec.metrics).toEqual([{ type: 'Pods', pods: { metric: { name: 'rps' }, target: { type: 'AverageValue',
        averageValue: '1' } } }]);
    });

    test('a metric of the wrong API or without pod association, bad targets', () => {
      const { adapter } = make({}, true);
      const ext = adapter!.addExternalMetric({ metricName: 'q', seriesQuery: 'q', metricsQuery: 'sum(q)' });
      const svcMetric = adapter!.addCustomMetric({ metricName: 'svc_rps', seriesQuery: 'x{service!=""}',
        resourceOverrides: { namespace: { resource: 'namespace' }, service: { resource: 'service' } }, metricsQuery: 'sum by (<<.GroupBy>>) '
          + '(x{<<.LabelMatchers>>})' });
      const chartOf = adapter!.node.scope as Chart;
      expect(thrown(() => new ScalableFlaskApp(chartOf, 'a', { ...BASE, metrics: [ScalingMetric.pods(ext, '1')] })))
        .toContain('metrics[0] (Pods metric "q") needs a metric of custom.metrics.k8s.io, but "q" is served by external.metrics.k8s.io');
      expect(thrown(() => new ScalableFlaskApp(chartOf, 'b', { ...BASE, metrics: [ScalingMetric.pods(svcMetric, '1')] })))
        .toContain('(Pods metric "svc_rps") is not associated with pods by its adapter rule (resources: namespace, service)');
      expect(thrown(() => new ScalableFlaskApp(chartOf, 'c', { ...BASE, metrics: [ScalingMetric.object(svcMetric,
        { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'x' }, { value: '1' })] })))
        .toContain('describes a Ingress, but its adapter rule reports it for namespace, service; add a "ingress" override to the rule');
      expect(thrown(() => new ScalableFlaskApp(chartOf, 'd', { ...BASE, metrics: [ScalingMetric.external(ext, { value: '1', averageValue: '1' })] })))
        .toContain('(External metric "q") needs exactly one of value or averageValue');
      expect(thrown(() => new ScalableFlaskApp(chartOf, 'e', { ...BASE, metrics: [ScalingMetric.external(ext, { value: '-1' })] })))
        .toContain('(External metric "q") target must be positive, got "-1"');
      expect(thrown(() => new ScalableFlaskApp(chartOf, 'f', { ...BASE, metrics: [ScalingMetric.external(ext, { value: '1x' })] })))
        .toContain('(External metric "q") target: invalid quantity "1x"');
    });

    test('a second HPA on the same target, even a raw L1 one', () => {
      const { app, chart } = make({ namespace: 'flask-ns' });
      new k8s.KubeHorizontalPodAutoscalerV2(chart, 'extra', {
        metadata: { name: 'web-extra', namespace: 'flask-ns' },
        spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5 },
      });
      expect(thrown(() => synthApp(app))).toContain('HorizontalPodAutoscalers flask-ns/web and flask-ns/web-extra all target Deployment '
        + 'flask-ns/web; a workload must have exactly one HPA');
    });

    test('the same app name in two namespaces is fine', () => {
      const { app, chart } = newChart();
      new ScalableFlaskApp(chart, 'a', { ...BASE, name: 'web', namespace: 'one' });
      new ScalableFlaskApp(chart, 'b', { ...BASE, name: 'web', namespace: 'two' });
      expect(() => synthApp(app)).not.toThrow();
      expect(objectsOf(synthApp(app), 'HorizontalPodAutoscaler')).toHaveLength(2);
    });
  });
});
