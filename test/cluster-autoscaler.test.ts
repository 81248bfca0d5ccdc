import * as path from 'path';
import { ApiObject, Chart, Duration, Size, Testing, Yaml } from 'cdk8s';
import { Cpu, k8s } from 'cdk8s-plus-27';
import { parse as parseYaml } from 'yaml';
import {
  CloudProvider, ClusterAutoscaler, ClusterAutoscalerProps, Expander, MetricsServer, OpportunisticFiller, PromAdapter, PrometheusInstance,
  SAFE_TO_EVICT_ANNOTATION, TestMetricsAdapter,
} from '../src';
import { AppContext } from '../src/core/app-context';
import { danglingBindings, expectSchemaValid, newChart, objectOf, objectsOf, synthApp, thrown } from './helpers';

const upstream = Yaml.load(path.join(__dirname, 'fixtures', 'cluster-autoscaler', 'cluster-autoscaler-autodiscover.yaml')).filter(o => o);
const AWS = CloudProvider.aws({ clusterName: 'prod' });

function render(props: Partial<ClusterAutoscalerProps> = {}): any[] {
  const { chart } = newChart();
  new ClusterAutoscaler(chart, 'ca', { cloudProvider: AWS, kubernetesVersion: '1.36', ...props });
  return Testing.synth(chart);
}
const command = (out: any[]) => objectOf(out, 'Deployment').spec.template.spec.containers[0].command;

describe('ClusterAutoscaler', () => {
  test('AWS with auto-discovery: snapshot, schema-valid, bindings to roles that exist', () => {
    const out = render();
    expect(out).toMatchSnapshot();
    expectSchemaValid(out);
    expect(danglingBindings(out)).toEqual([]);
  });

  test("RBAC and names as upstream's AWS example at 1.36.1: same ClusterRole and Role rules, bindings, ServiceAccount", () => {
    const out = render();
    for (const kind of ['ClusterRole', 'Role']) expect(objectOf(out, kind).rules).toEqual(objectOf(upstream, kind).rules);
    for (const kind of ['ClusterRoleBinding', 'RoleBinding', 'ServiceAccount']) {
      const [ours, theirs] = [objectOf(out, kind), objectOf(upstream, kind)];
      expect({ metadata: ours.metadata, roleRef: ours.roleRef, subjects: ours.subjects })
        .toEqual({ metadata: theirs.metadata, roleRef: theirs.roleRef, subjects: theirs.subjects });
    }
    const deployment = objectOf(out, 'Deployment');
    expect(deployment.metadata).toMatchObject({ name: 'cluster-autoscaler', namespace: 'kube-system' });
    expect(deployment.spec.template.spec.priorityClassName).toBe('system-cluster-critical');
    const c = deployment.spec.template.spec.containers[0];
    expect(c.image).toBe('registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1');
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '600Mi' }, limits: { cpu: '100m', memory: '600Mi' } });
    expect(c.command).toEqual(expect.arrayContaining([...objectOf(upstream, 'Deployment').spec.template.spec.containers[0].command
      .filter((a: string) => !a.startsWith('--expander') && !a.startsWith('--node-group-auto-discovery')),
    '--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/prod']));
    expect(deployment.spec.template.metadata.annotations['cluster-autoscaler.kubernetes.io/safe-to-evict']).toBe('false');
  });

  test('the version matches the Kubernetes minor; older versions read fewer kinds', () => {
    expect(command(render({ kubernetesVersion: '1.32' }))).toContain('--scan-interval=10s');
    const old = render({ kubernetesVersion: '1.32' });
    expect(objectOf(old, 'Deployment').spec.template.spec.containers[0].image).toBe('registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.7');
    expect(JSON.stringify(objectOf(old, 'ClusterRole').rules)).not.toContain('resource.k8s.io');
    expect(JSON.stringify(objectOf(old, 'ClusterRole').rules)).not.toContain('volumeattachments');
  });

  test('every managed flag typed; the priority expander renders its ConfigMap', () => {
    const out = render({
      cloudProvider: CloudProvider.aws({ nodeGroups: [{ name: 'spot-4x', minNodes: 0, maxNodes: 20 }, { name: 'on-demand', minNodes: 2,
        maxNodes: 10 }] }),
      expander: Expander.priority([{ priority: 10, nodeGroups: ['.*'] }, { priority: 50, nodeGroups: ['^spot-.*$'] }]),
      scaleDown: { unneededTime: Duration.minutes(5), delayAfterAdd: Duration.minutes(2), utilizationThreshold: 0.6 },
      expendablePodsPriorityCutoff: -20, scanInterval: Duration.seconds(20), maxNodeProvisionTime: Duration.minutes(8),
      balanceSimilarNodeGroups: true, args: ['--max-nodes-total=40'],
    });
    expect(command(out)).toEqual(expect.arrayContaining(['--nodes=0:20:spot-4x', '--nodes=2:10:on-demand', '--expander=priority,least-waste',
      '--expendable-pods-priority-cutoff=-20', '--scan-interval=20s', '--scale-down-unneeded-time=5m', '--scale-down-delay-after-add=2m',
      '--scale-down-utilization-threshold=0.6', '--max-node-provision-time=8m', '--balance-similar-node-groups=true', '--max-nodes-total=40']));
    expect(objectOf(out, 'ConfigMap', 'cluster-autoscaler-priority-expander').data.priorities).toBe('50:\n  - "^spot-.*$"\n10:\n  - ".*"\n');
    expectSchemaValid(out);
  });

  test('credentials from a ServiceAccount annotation or a Secret, never from props; Cluster API gets its management rules', () => {
    const out = render({ serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/ca' }, credentialsSecret: 'azure-creds' });
    expect(objectOf(out, 'ServiceAccount').metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/ca' });
    expect(objectOf(out, 'Deployment').spec.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: 'azure-creds' } }]);
    const capi = render({ cloudProvider: CloudProvider.clusterApi({ namespace: 'clusters', clusterName: 'prod' }) });
    expect(command(capi)).toContain('--node-group-auto-discovery=clusterapi:namespace=clusters,clusterName=prod');
    expect(objectOf(capi, 'ClusterRole').rules).toContainEqual(expect.objectContaining({ apiGroups: ['cluster.x-k8s.io'] }));
  });

  test('bad props, all at once', () => {
    expect(thrown(() => render({
      kubernetesVersion: '1.28', cloudProvider: CloudProvider.gce([{ name: 'mig', minNodes: 3, maxNodes: 2 }]),
      expander: Expander.priority([{ priority: -1, nodeGroups: ['(?!spot).*'] }, { priority: 5, nodeGroups: [] }]),
      scaleDown: { utilizationThreshold: 1.5 }, args: ['--expander=random'],
    }))).toBe([
      'ClusterAutoscaler "ca": kubernetesVersion "1.28" has no cluster-autoscaler release here; use one of 1.29, 1.30, 1.31, 1.32, 1.33, 1.34, '
        + '1.35, 1.36 (cluster-autoscaler 1.N is for Kubernetes 1.N)',
      'ClusterAutoscaler "ca": nodeGroups[0] ("mig"): minNodes and maxNodes must be whole numbers with 0 <= minNodes <= maxNodes and maxNodes >= 1',
      'ClusterAutoscaler "ca": expander: tier 0 priority must be a whole number >= 0 (negative priorities never win upstream), got -1',
      'ClusterAutoscaler "ca": expander: "(?!spot).*" is not a regular expression cluster-autoscaler (Go RE2) accepts',
      'ClusterAutoscaler "ca": expander: tier 1 (priority 5) lists no node groups',
      'ClusterAutoscaler "ca": args entry "--expander=random" overrides --expander, which this construct sets; use the matching prop instead',
      'ClusterAutoscaler "ca": scaleDown.utilizationThreshold must be above 0 and at most 1, got 1.5',
    ].join('\n'));
  });

  test('kwok (fake nodes): the provider\'s config and template Nodes, node create and delete, POD_NAMESPACE; bad groups refused', () => {
    const out = render({ kubernetesVersion: '1.33', cloudProvider: CloudProvider.kwok({ nodeGroups: [
      { name: 'spot-4x', minNodes: 0, maxNodes: 5, cpu: Cpu.units(4), memory: Size.gibibytes(16) },
      { name: 'on-demand-2x', minNodes: 1, maxNodes: 3, cpu: '2', memory: '8Gi', pods: 60 },
    ] }) });
    expectSchemaValid(out);
    expect(command(out)).toContain('--cloud-provider=kwok');
    expect(objectOf(out, 'Deployment').spec.template.spec.containers[0].env)
      .toEqual([{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }]);
    const config = parseYaml(objectOf(out, 'ConfigMap', 'kwok-provider-config').data.config);
    expect(config).toEqual({ apiVersion: 'v1alpha1', readNodesFrom: 'configmap', nodegroups: { fromNodeLabelKey: 'kwok-nodegroup' },
      nodes: { skipTaint: true }, configmap: { name: 'kwok-provider-templates' } });
    const templates = parseYaml(objectOf(out, 'ConfigMap', 'kwok-provider-templates').data.templates);
    expect(templates.kind).toBe('List');
    expectSchemaValid(templates.items);
    expect(templates.items.map((n: any) => [n.metadata.labels['kwok-nodegroup'], n.metadata.annotations, n.status.allocatable])).toEqual([
      ['spot-4x', { 'cluster-autoscaler.kwok.nodegroup/min-count': '0', 'cluster-autoscaler.kwok.nodegroup/max-count': '5' },
        { cpu: '4', memory: '16Gi', pods: '110' }],
      ['on-demand-2x', { 'cluster-autoscaler.kwok.nodegroup/min-count': '1', 'cluster-autoscaler.kwok.nodegroup/max-count': '3' },
        { cpu: '2', memory: '8Gi', pods: '60' }],
    ]);
    expect(objectOf(out, 'ClusterRole').rules).toContainEqual({ apiGroups: [''], resources: ['nodes'], verbs: ['create', 'delete'] });
    expect(objectOf(out, 'Role').rules).toContainEqual({ apiGroups: [''], resources: ['configmaps'],
      resourceNames: ['kwok-provider-config', 'kwok-provider-templates'], verbs: ['get'] });
    // no kwok rules for the other providers
    expect(JSON.stringify(render())).not.toContain('kwok');
    expect(thrown(() => render({ cloudProvider: CloudProvider.kwok({ nodeGroups: [{ name: 'Big_Nodes', minNodes: 0, maxNodes: 2, cpu: 'lots',
      memory: '8Gi', pods: 0 }] }) }))).toBe([
      'ClusterAutoscaler "ca": nodeGroups[0] ("Big_Nodes").name "Big_Nodes" is not a valid DNS subdomain name (lower-case letters, digits, '
        + '\'-\' and \'.\', at most 253 characters)',
      'ClusterAutoscaler "ca": nodeGroups[0] ("Big_Nodes").cpu: invalid quantity "lots": expected a number with an optional suffix (n, u, m, k, M, '
        + 'G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei) or exponent (e3, E-3), e.g. "500m", "1.5", "256Mi"',
      'ClusterAutoscaler "ca": nodeGroups[0] ("Big_Nodes").pods must be a whole number >= 1, got 0',
    ].join('\n'));
  });
});

describe('the priorities across the app, against the cutoff', () => {
  function app(cutoff?: number, workloadPriority?: number) {
    const { app: a, chart } = newChart();
    new ClusterAutoscaler(chart, 'ca', { cloudProvider: AWS, kubernetesVersion: '1.34', expendablePodsPriorityCutoff: cutoff });
    const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
    new OpportunisticFiller(chart, 'miner', { image: 'miner:1', adapter, resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 10,
      externalKubeStateMetrics: true, buffer: { replicas: 2, cpu: '1', memory: '1Gi' } });
    if (workloadPriority !== undefined) {
      new k8s.KubePriorityClass(chart, 'batch', { metadata: { name: 'batch' }, value: workloadPriority });
      new ApiObject(chart, 'job', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'report', namespace: 'jobs' },
        spec: { template: { spec: { priorityClassName: 'batch', restartPolicy: 'Never', containers: [{ name: 'r', image: 'r:1',
          resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } }] } } } });
    }
    return a;
  }

  test('the filler below the default cutoff (-10), the buffer at it, workloads at 0: consistent', () => {
    expect(() => synthApp(app())).not.toThrow();
  });

  test('a cutoff that puts the filler at or above it, the buffer below it; a workload below the buffer', () => {
    expect(thrown(() => synthApp(app(-200)))).toContain('PriorityClass opportunistic-filler (the filler\'s, -100) is not below cluster-autoscaler\'s '
      + 'expendablePodsPriorityCutoff (-200): a Pending filler pod would make it add nodes');
    expect(thrown(() => synthApp(app(-5)))).toContain('PriorityClass overprovisioning (the buffer pods\', -10) is below cluster-autoscaler\'s '
      + 'expendablePodsPriorityCutoff (-5): Pending buffer pods would never make it add a node');
    expect(thrown(() => synthApp(app(undefined, -10)))).toContain('PriorityClass overprovisioning (the buffer pods\', -10) is not below the '
      + 'lowest priority of the app\'s other workloads (-10)');
  });

  test('two ClusterAutoscalers in one app', () => {
    const { app: a, chart } = newChart();
    new ClusterAutoscaler(chart, 'ca', { cloudProvider: AWS, kubernetesVersion: '1.34' });
    new ClusterAutoscaler(new Chart(a, 'other'), 'ca2', { cloudProvider: AWS, kubernetesVersion: '1.34' });
    expect(thrown(() => synthApp(a))).toContain('the app has 2 ClusterAutoscalers');
  });
});

describe('what cluster-autoscaler must not evict', () => {
  const annotation = (out: any[], kind: string) => {
    const o = objectOf(out, kind);
    return (kind === 'Prometheus' ? o.spec.podMetadata : o.spec.template.metadata).annotations?.[SAFE_TO_EVICT_ANNOTATION];
  };

  test('lone servers of the metrics APIs and a lone Prometheus on an emptyDir carry safe-to-evict "false"; replicated ones rely on their PDB', () => {
    const render = (build: (chart: Chart) => void) => {
      const { chart } = newChart();
      build(chart);
      return Testing.synth(chart);
    };
    expect(annotation(render(c => new MetricsServer(c, 'ms')), 'Deployment')).toBe('false');
    expect(annotation(render(c => new MetricsServer(c, 'ms', { highAvailability: true })), 'Deployment')).toBeUndefined();
    const adapter = (replicas: number) => (c: Chart) => new PromAdapter(c, 'a', { prometheusUrl: 'http://p:9090/', replicas })
      .addCounterRate({ counter: 'http_requests_total' });
    expect(annotation(render(adapter(1)), 'Deployment')).toBe('false');
    expect(annotation(render(adapter(2)), 'Deployment')).toBeUndefined();
    expect(annotation(render(c => new TestMetricsAdapter(c, 'test', { image: 'adapter:1' })), 'Deployment')).toBe('false');
    expect(annotation(render(c => new PrometheusInstance(c, 'p', { replicas: 1 })), 'Prometheus')).toBe('false');
    expect(annotation(render(c => new PrometheusInstance(c, 'p', { replicas: 1, storage: { size: Size.gibibytes(50) } })), 'Prometheus'))
      .toBeUndefined();
    expect(annotation(render(c => new PrometheusInstance(c, 'p')), 'Prometheus')).toBeUndefined();
  });

  test('with a ClusterAutoscaler in the app, a lone metrics API server without the annotation is warned about (ours are annotated)', () => {
    const { app: a, chart } = newChart();
    new ClusterAutoscaler(chart, 'ca', { cloudProvider: AWS, kubernetesVersion: '1.34' });
    new MetricsServer(chart, 'ms');
    const labels = { app: 'my-adapter' };
    const resources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '100m', memory: '128Mi' } };
    new k8s.KubeDeployment(chart, 'adapter', { metadata: { name: 'my-adapter', namespace: 'custom' }, spec: { selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'a', image: 'a:1', resources: resources as any }] } } } });
    new k8s.KubeService(chart, 'svc', { metadata: { name: 'my-adapter', namespace: 'custom' }, spec: { selector: labels, ports: [{ port: 443 }] } });
    new k8s.KubeApiService(chart, 'api', { metadata: { name: 'v1beta1.custom.metrics.k8s.io' }, spec: { group: 'custom.metrics.k8s.io',
      version: 'v1beta1', groupPriorityMinimum: 100, versionPriority: 100, service: { name: 'my-adapter', namespace: 'custom' } } });
    expect(() => synthApp(a)).not.toThrow();
    expect(AppContext.of(a).warnings.filter(w => w.includes('safe-to-evict'))).toEqual([
      'warning: Deployment custom/my-adapter serves v1beta1.custom.metrics.k8s.io with one replica, and the app\'s cluster-autoscaler may evict it '
        + 'while removing its node: every HPA on those metrics fails until it is back. Annotate its pod template with '
        + 'cluster-autoscaler.kubernetes.io/safe-to-evict: "false", or run two replicas with a PodDisruptionBudget',
    ]);
  });
});

describe('CapacityBuffer as the filler\'s buffer', () => {
  function app(version: string, capacityBuffers?: boolean) {
    const { app: a, chart } = newChart();
    new ClusterAutoscaler(chart, 'ca', { cloudProvider: AWS, kubernetesVersion: version, capacityBuffers });
    const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
    new OpportunisticFiller(chart, 'miner', { image: 'miner:1', adapter, resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 10,
      externalKubeStateMetrics: true, buffer: { replicas: 4, cpu: '1', memory: '1Gi', capacityBuffer: true } });
    return { a, chart };
  }

  test('a PodTemplate and a v1beta1 CapacityBuffer instead of pause pods; cluster-autoscaler gets the flags and the read access', () => {
    const { a, chart } = app('1.35', true);
    expect(() => synthApp(a)).not.toThrow();
    const out = Testing.synth(chart);
    expectSchemaValid(out);
    expect(objectsOf(out, 'Deployment').map(d => d.metadata.name)).not.toContain('miner-buffer');
    expect(objectOf(out, 'CapacityBuffer')).toMatchObject({ apiVersion: 'autoscaling.x-k8s.io/v1beta1',
      metadata: { name: 'miner-buffer', namespace: 'filler' }, spec: { podTemplateRef: { name: 'miner-buffer' }, replicas: 4 } });
    const template = objectOf(out, 'PodTemplate').template;
    expect(template.spec.priorityClassName).toBe('overprovisioning');
    expect(template.spec.containers[0].resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } });
    const ca = objectOf(out, 'Deployment', 'cluster-autoscaler').spec.template.spec.containers[0];
    expect(ca.command).toEqual(expect.arrayContaining(['--capacity-buffer-controller-enabled=true',
      '--capacity-buffer-pod-injection-enabled=true']));
    const rules = objectOf(out, 'ClusterRole', 'cluster-autoscaler').rules;
    expect(rules).toContainEqual({ apiGroups: ['autoscaling.x-k8s.io'], resources: ['capacitybuffers'], verbs: ['watch', 'list', 'get'] });
    expect(rules).toContainEqual({ apiGroups: ['autoscaling.x-k8s.io'], resources: ['capacitybuffers/status'], verbs: ['update', 'patch'] });
    expect(rules).not.toContainEqual({ apiGroups: [''], resources: ['pods'], verbs: ['create'] });
    // 1.36 dry-runs the buffer's pods
    const rules136 = objectOf(Testing.synth(app('1.36', true).chart), 'ClusterRole', 'cluster-autoscaler').rules;
    expect(rules136).toContainEqual({ apiGroups: [''], resources: ['pods'], verbs: ['create'] });
  });

  test('refused: a cluster-autoscaler without capacityBuffers, one too old for v1beta1, capacityBuffers before 1.34', () => {
    expect(thrown(() => synthApp(app('1.35').a))).toContain('CapacityBuffer filler/miner-buffer: the app\'s ClusterAutoscaler (test/ca) runs '
      + 'without capacityBuffers, so it keeps no room for it; set capacityBuffers: true on it');
    expect(thrown(() => synthApp(app('1.34', true).a))).toContain('CapacityBuffer filler/miner-buffer: autoscaling.x-k8s.io/v1beta1 is served '
      + 'from cluster-autoscaler 1.35, and the app\'s ClusterAutoscaler is 1.34; raise kubernetesVersion to 1.35 or later, or use pause-pod buffers');
    expect(thrown(() => render({ kubernetesVersion: '1.33', capacityBuffers: true })))
      .toBe('ClusterAutoscaler "ca": capacityBuffers needs cluster-autoscaler 1.34 or later (kubernetesVersion "1.33"); use pause-pod buffers');
  });
});
