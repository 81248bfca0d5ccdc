import { Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { KubeStateMetrics, MetricsServer, OpportunisticFiller, PodSettings, PromAdapter, ScalableFlaskApp } from '../src';
import { expectSchemaValid, newChart, objectOf, synthApp, thrown } from './helpers';

const GUARANTEED: kplus.ContainerResources = { cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(50) },
  memory: { request: Size.mebibytes(64), limit: Size.mebibytes(64) } };

const SETTINGS: PodSettings = {
  nodeSelector: { pool: 'general' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'autoscaling', effect: 'NoSchedule' }],
  affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50,
    podAffinityTerm: { topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { tier: 'x' } } } }] } },
  imagePullSecrets: ['registry-credentials'],
  podAnnotations: { 'example.com/owner': 'platform' },
  podLabels: { team: 'platform' },
  envFrom: [{ configMapName: 'settings', prefix: 'APP_' }, { secretName: 'api-keys' }],
  envFromKeys: { DB_PASSWORD: { secretName: 'db', key: 'password' } },
  volumes: [{ volume: { name: 'certs', secret: { secretName: 'certs' } }, mountPath: '/etc/certs' },
    { volume: { name: 'scratch', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } }, mountPath: '/scratch', readOnly: false }],
  sidecars: [{ name: 'log-shipper', image: 'example/shipper:1', resources: GUARANTEED,
    volumeMounts: [{ path: '/var/log/app', volume: kplus.Volume.fromEmptyDir(new Chart(Testing.app(), 'volumes'), 'logs', 'logs') }] }],
  initContainers: [{ name: 'wait-for-db', image: 'example/wait:1', resources: GUARANTEED }],
};

type Make = (chart: Chart, settings: PodSettings) => Construct;
/** The filler's adapter (it serves the filler's external metric). */
const adapterIn = (chart: Chart) => new PromAdapter(chart, 'adapter-for-filler', { name: 'adapter2', prometheusUrl: 'http://p:9090/' });
const CONSTRUCTS: [string, string, Make][] = [
  ['ScalableFlaskApp', 'web', (c, s) => new ScalableFlaskApp(c, 'web', { image: 'x', resources: { cpu: '500m', memory: '256Mi' }, maxReplicas: 4,
    ...s })],
  ['OpportunisticFiller', 'miner', (c, s) => new OpportunisticFiller(c, 'miner', {
    image: 'x', adapter: adapterIn(c), resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 10, externalKubeStateMetrics: true, ...s,
  })],
  ['MetricsServer', 'metrics-server', (c, s) => new MetricsServer(c, 'ms', { highAvailability: true, ...s })],
  ['PromAdapter', 'prometheus-adapter', (c, s) => {
    const a = new PromAdapter(c, 'adapter', { prometheusUrl: 'http://p:9090/', ...s });
    a.addCounterRate({ counter: 'http_requests_total' });
    return a;
  }],
  ['KubeStateMetrics', 'kube-state-metrics', (c, s) => new KubeStateMetrics(c, 'ksm', s)],
];

describe('PodSettings on every workload construct', () => {
  test.each(CONSTRUCTS)('%s: every setting renders where it should, inside the schemas and the policy', (_name, deployment, make) => {
    const { app, chart } = newChart();
    make(chart, SETTINGS);
    const out = synthApp(app);
    expectSchemaValid(out);
    const pod = objectOf(out, 'Deployment', deployment).spec.template;
    expect(pod.metadata.labels.team).toBe('platform');
    expect(pod.metadata.annotations['example.com/owner']).toBe('platform');
    expect(pod.spec.nodeSelector.pool).toBe('general');
    expect(pod.spec.tolerations).toEqual(SETTINGS.tolerations);
    expect(pod.spec.imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);
    expect(pod.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution).toContainEqual(expect.objectContaining({ weight: 50 }));
    const main = pod.spec.containers[0];
    expect(main.envFrom).toEqual([{ prefix: 'APP_', configMapRef: { name: 'settings' } }, { secretRef: { name: 'api-keys' } }]);
    expect(main.env).toContainEqual({ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } });
    expect(main.volumeMounts).toContainEqual({ name: 'certs', mountPath: '/etc/certs', readOnly: true });
    expect(pod.spec.volumes).toContainEqual({ name: 'certs', secret: { secretName: 'certs' } });
    expect(pod.spec.volumes).toContainEqual({ name: 'scratch', emptyDir: { sizeLimit: '1Gi' } });
    expect(pod.spec.volumes).toContainEqual({ name: 'logs', emptyDir: {} });
    const sidecar = pod.spec.containers.find((c: any) => c.name === 'log-shipper');
    expect(sidecar.securityContext).toMatchObject({ allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(sidecar.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '50m', memory: '64Mi' } });
    expect(sidecar.volumeMounts).toEqual([{ name: 'logs', mountPath: '/var/log/app' }]);
    expect(pod.spec.initContainers.map((c: any) => c.name)).toContain('wait-for-db');
  });

  test('the construct\'s own anti-affinity is kept when yours is added (MetricsServer HA)', () => {
    const { chart } = newChart();
    new MetricsServer(chart, 'ms', { highAvailability: true, affinity: SETTINGS.affinity });
    const anti = objectOf(Testing.synth(chart), 'Deployment').spec.template.spec.affinity.podAntiAffinity;
    expect(anti.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');
    expect(anti.preferredDuringSchedulingIgnoredDuringExecution[0].weight).toBe(50);
  });

  test('the filler\'s buffer pods take its scheduling settings; serviceAccountName mounts its token', () => {
    const { app, chart } = newChart();
    const adapter = new PromAdapter(chart, 'adapter', { prometheusUrl: 'http://p:9090/' });
    new OpportunisticFiller(chart, 'miner', {
      image: 'x', adapter, resources: { cpu: '1', memory: '1Gi' }, maxReplicas: 10, externalKubeStateMetrics: true,
      buffer: { replicas: 2, cpu: '1', memory: '1Gi' }, nodeSelector: { pool: 'batch' }, tolerations: SETTINGS.tolerations,
        serviceAccountName: 'miner',
    });
    const out = synthApp(app);
    const buffer = objectOf(out, 'Deployment', 'miner-buffer').spec.template.spec;
    expect([buffer.nodeSelector, buffer.tolerations, buffer.serviceAccountName]).toEqual([{ pool: 'batch' }, SETTINGS.tolerations, undefined]);
    const filler = objectOf(out, 'Deployment', 'miner').spec.template.spec;
    expect([filler.serviceAccountName, filler.automountServiceAccountToken]).toEqual(['miner', true]);
  });

  test('a sidecar without requests == limits is refused when it is given, before cdk8s-plus fills in its own defaults', () => {
    const { chart } = newChart();
    const msg = thrown(() => new MetricsServer(chart, 'ms', { sidecars: [{ name: 'proxy', image: 'p' }] }));
    expect(msg).toContain('MetricsServer "ms": sidecars[0] ("proxy"): resources must set cpu and memory, each with request equal to limit');
  });

  test.each<[string, Make, PodSettings, string]>([
    ['a selector label', CONSTRUCTS[0][2], { podLabels: { 'app.kubernetes.io/name': 'other' } },
      'ScalableFlaskApp "web": podLabels.app.kubernetes.io/name: the construct sets this pod label itself (its selector or its own labels); use '
        + 'another key'],
    ['the filler\'s own pod label', CONSTRUCTS[1][2], { podLabels: { 'cdk8s-autoscaling.io/opportunistic-filler': 'false' } },
      'podLabels.cdk8s-autoscaling.io/opportunistic-filler: the construct sets this pod label itself'],
    ['topology spread on a construct that spreads itself',
      CONSTRUCTS[0][2], { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'x', whenUnsatisfiable: 'DoNotSchedule' }] },
      'ScalableFlaskApp "web": topologySpreadConstraints: the construct spreads its pods itself; remove them'],
    ['a ServiceAccount where the construct renders its own', CONSTRUCTS[2][2], { serviceAccountName: 'mine' },
      'MetricsServer "ms": serviceAccountName: the construct renders its own ServiceAccount (its RBAC is bound to it); remove it'],
    ['a volume name the construct uses', CONSTRUCTS[3][2], { volumes: [{ volume: { name: 'config', emptyDir: {} }, mountPath: '/x' }] },
      'PromAdapter "adapter": volumes[0].volume.name "config" is a volume the construct uses; use another name'],
    ['a mount path the container uses', CONSTRUCTS[0][2], { volumes: [{ volume: { name: 'scratch', emptyDir: {} }, mountPath: '/tmp' }] },
      'ScalableFlaskApp "web": volumes[0].mountPath /tmp is already mounted in the container; use another path'],
    ['a hostPath volume', CONSTRUCTS[4][2], { volumes: [{ volume: { name: 'host', hostPath: { path: '/var' } }, mountPath: '/host' }] },
      'KubeStateMetrics "ksm": volumes[0] ("host") is a hostPath volume, which Pod Security "restricted" forbids'],
    ['a privileged sidecar',
      CONSTRUCTS[0][2], { sidecars: [{ name: 'debug', image: 'x', securityContext: { privileged: true,
        allowPrivilegeEscalation: true } }] },
      'ScalableFlaskApp "web": sidecars[0] ("debug"): privileged is forbidden by Pod Security "restricted"'],
    ['a sidecar named like the main container', CONSTRUCTS[0][2], { sidecars: [{ name: 'flask', image: 'x' }] },
      'ScalableFlaskApp "web": sidecars[0].name "flask" is already a container of the pod; use another name'],
    ['an env source with both kinds', CONSTRUCTS[0][2], { envFrom: [{ secretName: 'a', configMapName: 'b' }] },
      'ScalableFlaskApp "web": envFrom[0] needs exactly one of secretName or configMapName'],
  ])('refuses %s', (_name, make, settings, message) => {
    expect(thrown(() => make(newChart().chart, settings))).toContain(message);
  });
});

describe('MetricsServer on clusters with a custom CNI', () => {
  const render = (props: object) => {
    const { chart } = newChart();
    new MetricsServer(chart, 'ms', props);
    return Testing.synth(chart);
  };

  test('hostNetwork: port 4443 for the container, probes (by name), Service target and args; DNS from the cluster', () => {
    const out = render({ hostNetwork: true });
    const pod = objectOf(out, 'Deployment').spec.template.spec;
    expect([pod.hostNetwork, pod.dnsPolicy]).toEqual([true, 'ClusterFirstWithHostNet']);
    expect(pod.containers[0].ports).toEqual([{ containerPort: 4443, name: 'https', protocol: 'TCP' }]);
    expect(pod.containers[0].args).toContain('--secure-port=4443');
    expect(pod.containers[0].livenessProbe.httpGet.port).toBe('https');
    expect(objectOf(out, 'Service').spec.ports[0].targetPort).toBe('https');
    expectSchemaValid(out);
    expect(objectOf(render({ hostNetwork: true, securePort: 9443 }),
      'Deployment').spec.template.spec.containers[0].args).toContain('--secure-port=9443');
  });

  test('the kubelet\'s CA from a Secret or ConfigMap, the secure alternative to kubeletInsecureTls', () => {
    const out = render({ kubeletCertificateAuthority: { configMapName: 'kubelet-ca', key: 'ca.pem' } });
    const pod = objectOf(out, 'Deployment').spec.template.spec;
    expect(pod.containers[0].args).toContain('--kubelet-certificate-authority=/etc/kubelet-ca/ca.pem');
    expect(pod.containers[0].volumeMounts).toContainEqual({ mountPath: '/etc/kubelet-ca', name: 'kubelet-ca', readOnly: true });
    expect(pod.volumes).toContainEqual({ name: 'kubelet-ca', configMap: { name: 'kubelet-ca' } });
  });

  test('refused: the kubelet\'s port with hostNetwork; a CA together with insecure TLS', () => {
    expect(thrown(() => render({ hostNetwork: true, securePort: 10250 })))
      .toContain('MetricsServer "ms": securePort 10250 with hostNetwork collides with the kubelet\'s port on every node; use another port (4443)');
    expect(thrown(() => render({ kubeletInsecureTls: true, kubeletCertificateAuthority: { secretName: 'ca' } })))
      .toContain('kubeletCertificateAuthority and kubeletInsecureTls contradict each other');
  });
});
