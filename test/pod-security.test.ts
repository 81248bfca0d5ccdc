import { ApiObject, Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { checkPodSecurity, enforceRequestsEqualLimits, PodSecurityLevel, ResourceQuotaPolicy, restrictPodSecurity } from '../src';
import { AppContext } from '../src/core/app-context';
import { synthApp, thrown } from './helpers';

/** A pod that meets the restricted level (and so baseline). */
function restrictedPod(): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'shop' },
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'app', image: 'app:1', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    },
  };
}

const app = (pod: any) => pod.spec.containers[0];
const appSc = (pod: any) => app(pod).securityContext;

/**
 * Each rule of both levels: a change to the restricted pod, whether each
 * level admits the result, and the field a refusal names. The expectations
 * follow Pod Security admission's policy checks (k8s.io/pod-security-admission).
 */
const CASES: { name: string; change: (pod: any) => void; baseline: boolean; restricted: boolean; field?: string; version?: string }[] = [
  { name: 'the restricted pod itself', change: () => {}, baseline: true, restricted: true },
  // baseline: host namespaces, privileged, HostProcess
  { name: 'hostNetwork', change: p => { p.spec.hostNetwork = true; }, baseline: false, restricted: false, field: 'spec.hostNetwork' },
  { name: 'hostPID', change: p => { p.spec.hostPID = true; }, baseline: false, restricted: false, field: 'spec.hostPID' },
  { name: 'hostIPC', change: p => { p.spec.hostIPC = true; }, baseline: false, restricted: false, field: 'spec.hostIPC' },
  { name: 'hostNetwork false', change: p => { p.spec.hostNetwork = false; }, baseline: true, restricted: true },
  {
    name: 'privileged', change: p => { appSc(p).privileged = true; }, baseline: false, restricted: false,
    field: 'spec.containers[0].securityContext.privileged',
  },
  { name: 'privileged false', change: p => { appSc(p).privileged = false; }, baseline: true, restricted: true },
  {
    name: 'privileged init container',
    change: p => { p.spec.initContainers = [{ name: 'init', image: 'i', securityContext: { privileged: true } }]; },
    baseline: false, restricted: false, field: 'spec.initContainers[0].securityContext.privileged',
  },
  {
    name: 'privileged ephemeral container',
    change: p => { p.spec.ephemeralContainers = [{ name: 'debug', image: 'd', securityContext: { privileged: true } }]; },
    baseline: false, restricted: false, field: 'spec.ephemeralContainers[0].securityContext.privileged',
  },
  {
    name: 'Windows HostProcess on the pod', change: p => { p.spec.securityContext.windowsOptions = { hostProcess: true }; },
    baseline: false, restricted: false, field: 'spec.securityContext.windowsOptions.hostProcess',
  },
  {
    name: 'Windows HostProcess on a container', change: p => { appSc(p).windowsOptions = { hostProcess: true }; },
    baseline: false, restricted: false, field: 'spec.containers[0].securityContext.windowsOptions.hostProcess',
  },
  // capabilities
  {
    name: 'adds NET_RAW', change: p => { appSc(p).capabilities.add = ['NET_RAW']; }, baseline: false, restricted: false,
    field: 'spec.containers[0].securityContext.capabilities.add',
  },
  {
    name: 'adds CHOWN (baseline allows it)', change: p => { appSc(p).capabilities.add = ['CHOWN']; }, baseline: true, restricted: false,
    field: 'spec.containers[0].securityContext.capabilities.add',
  },
  { name: 'adds NET_BIND_SERVICE', change: p => { appSc(p).capabilities.add = ['NET_BIND_SERVICE']; }, baseline: true, restricted: true },
  {
    name: 'does not drop ALL', change: p => { appSc(p).capabilities = { drop: ['NET_RAW'] }; }, baseline: true, restricted: false,
    field: 'spec.containers[0].securityContext.capabilities.drop',
  },
  // volumes
  {
    name: 'hostPath volume', change: p => { p.spec.volumes = [{ name: 'h', hostPath: { path: '/var' } }]; }, baseline: false, restricted: false,
    field: 'spec.volumes[0].hostPath',
  },
  {
    name: 'nfs volume', change: p => { p.spec.volumes = [{ name: 'n', nfs: { server: 'nfs', path: '/' } }]; }, baseline: true, restricted: false,
    field: 'spec.volumes[0]',
  },
  {
    name: 'restricted volume types',
    change: p => {
      p.spec.volumes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']
        .map((type, i) => ({ name: `v${i}`, [type]: {} }));
    },
    baseline: true, restricted: true,
  },
  // ports
  {
    name: 'hostPort', change: p => { app(p).ports = [{ containerPort: 80, hostPort: 8080 }]; }, baseline: false, restricted: false,
    field: 'spec.containers[0].ports[0].hostPort',
  },
  { name: 'hostPort 0', change: p => { app(p).ports = [{ containerPort: 80, hostPort: 0 }]; }, baseline: true, restricted: true },
  // AppArmor
  {
    name: 'AppArmor annotation unconfined',
    change: p => { p.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' }; },
    baseline: false, restricted: false, field: 'metadata.annotations["container.apparmor.security.beta.kubernetes.io/app"]',
  },
  {
    name: 'AppArmor annotation runtime/default',
    change: p => { p.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/app': 'runtime/default' }; },
    baseline: true, restricted: true,
  },
  {
    name: 'AppArmor profile Unconfined', change: p => { appSc(p).appArmorProfile = { type: 'Unconfined' }; }, baseline: false, restricted: false,
    field: 'spec.containers[0].securityContext.appArmorProfile.type',
  },
  {
    name: 'AppArmor profile Localhost', change: p => { p.spec.securityContext.appArmorProfile = { type: 'Localhost', localhostProfile: 'x' }; },
    baseline: true, restricted: true,
  },
  // SELinux
  {
    name: 'SELinux type spc_t', change: p => { appSc(p).seLinuxOptions = { type: 'spc_t' }; }, baseline: false, restricted: false,
    field: 'spec.containers[0].securityContext.seLinuxOptions.type',
  },
  {
    name: 'SELinux type container_t', change: p => { appSc(p).seLinuxOptions = { type: 'container_t', level: 's0:c1' }; }, baseline: true,
    restricted: true,
  },
  {
    name: 'SELinux user', change: p => { p.spec.securityContext.seLinuxOptions = { user: 'system_u' }; }, baseline: false, restricted: false,
    field: 'spec.securityContext.seLinuxOptions.user',
  },
  // /proc
  {
    name: 'procMount Unmasked', change: p => { appSc(p).procMount = 'Unmasked'; }, baseline: false, restricted: false,
    field: 'spec.containers[0].securityContext.procMount',
  },
  { name: 'procMount Default', change: p => { appSc(p).procMount = 'Default'; }, baseline: true, restricted: true },
  // seccomp
  {
    name: 'seccomp Unconfined on a container', change: p => { appSc(p).seccompProfile = { type: 'Unconfined' }; }, baseline: false,
    restricted: false, field: 'spec.containers[0].securityContext.seccompProfile.type',
  },
  {
    name: 'no seccomp profile', change: p => { delete p.spec.securityContext.seccompProfile; }, baseline: true, restricted: false,
    field: 'spec.containers[0].securityContext.seccompProfile.type',
  },
  {
    name: 'seccomp on every container, not the pod',
    change: p => { delete p.spec.securityContext.seccompProfile; appSc(p).seccompProfile = { type: 'RuntimeDefault' }; },
    baseline: true, restricted: true,
  },
  // sysctls
  {
    name: 'unsafe sysctl', change: p => { p.spec.securityContext.sysctls = [{ name: 'kernel.msgmax', value: '1' }]; }, baseline: false,
    restricted: false, field: 'spec.securityContext.sysctls[0]',
  },
  {
    name: 'safe sysctl (1.29+)', change: p => { p.spec.securityContext.sysctls = [{ name: 'net.ipv4.tcp_keepalive_time', value: '60' }]; },
    baseline: true, restricted: true,
  },
  {
    name: 'sysctl not yet safe in v1.28',
    change: p => { p.spec.securityContext.sysctls = [{ name: 'net.ipv4.tcp_keepalive_time', value: '60' }]; },
    baseline: false, restricted: false, field: 'spec.securityContext.sysctls[0]', version: 'v1.28',
  },
  // probe hosts (1.34+)
  {
    name: 'probe host', change: p => { app(p).livenessProbe = { httpGet: { port: 80, host: '10.0.0.1' } }; }, baseline: false, restricted: false,
    field: 'spec.containers[0].livenessProbe.httpGet.host',
  },
  {
    name: 'probe host before v1.34', change: p => { app(p).livenessProbe = { httpGet: { port: 80, host: '10.0.0.1' } }; }, baseline: true,
    restricted: true, version: 'v1.33',
  },
  // privilege escalation, non-root
  {
    name: 'allowPrivilegeEscalation unset', change: p => { delete appSc(p).allowPrivilegeEscalation; }, baseline: true, restricted: false,
    field: 'spec.containers[0].securityContext.allowPrivilegeEscalation',
  },
  {
    name: 'Windows pod: no Linux-only rules',
    change: p => {
      p.spec.os = { name: 'windows' };
      delete appSc(p).allowPrivilegeEscalation;
      delete appSc(p).capabilities;
      delete p.spec.securityContext.seccompProfile;
    },
    baseline: true, restricted: true,
  },
  {
    name: 'runAsNonRoot nowhere', change: p => { delete p.spec.securityContext.runAsNonRoot; }, baseline: true, restricted: false,
    field: 'spec.containers[0].securityContext.runAsNonRoot',
  },
  {
    name: 'runAsNonRoot on every container', change: p => { delete p.spec.securityContext.runAsNonRoot; appSc(p).runAsNonRoot = true; },
    baseline: true, restricted: true,
  },
  {
    name: 'runAsNonRoot false on a container', change: p => { appSc(p).runAsNonRoot = false; }, baseline: true, restricted: false,
    field: 'spec.containers[0].securityContext.runAsNonRoot',
  },
  {
    name: 'runAsUser 0', change: p => { p.spec.securityContext.runAsUser = 0; }, baseline: true, restricted: false,
    field: 'spec.securityContext.runAsUser',
  },
  { name: 'runAsUser 1000', change: p => { appSc(p).runAsUser = 1000; }, baseline: true, restricted: true },
];

describe('checkPodSecurity, rule by rule', () => {
  test.each(CASES)('$name', ({ change, baseline, restricted, field, version }) => {
    const pod = restrictedPod();
    change(pod);
    const at = (level: PodSecurityLevel) => checkPodSecurity(pod, level, version);
    expect(at(PodSecurityLevel.BASELINE).length === 0).toBe(baseline);
    expect(at(PodSecurityLevel.RESTRICTED).length === 0).toBe(restricted);
    expect(at(PodSecurityLevel.PRIVILEGED)).toEqual([]);
    if (field) expect(at(baseline ? PodSecurityLevel.RESTRICTED : PodSecurityLevel.BASELINE).map(v => v.field)).toContain(field);
  });

  test('every pod-template kind is read at its own path', () => {
    const spec = restrictedPod().spec;
    spec.hostNetwork = true;
    const template = { metadata: {}, spec };
    const kinds: [string, any, string][] = [
      ['Deployment', { template }, 'spec.template.spec.hostNetwork'],
      ['StatefulSet', { template }, 'spec.template.spec.hostNetwork'],
      ['DaemonSet', { template }, 'spec.template.spec.hostNetwork'],
      ['ReplicaSet', { template }, 'spec.template.spec.hostNetwork'],
      ['Job', { template }, 'spec.template.spec.hostNetwork'],
      ['CronJob', { jobTemplate: { spec: { template } } }, 'spec.jobTemplate.spec.template.spec.hostNetwork'],
    ];
    for (const [kind, body, field] of kinds) {
      expect(checkPodSecurity({ kind, metadata: { name: 'x' }, spec: body }, PodSecurityLevel.BASELINE).map(v => v.field)).toEqual([field]);
    }
    expect(checkPodSecurity({ kind: 'Service', spec: {} }, PodSecurityLevel.RESTRICTED)).toEqual([]);
  });
});

describe('Pod Security across the app', () => {
  function shop(): { app: ReturnType<typeof Testing.app>; chart: Chart } {
    const a = Testing.app();
    const chart = new Chart(a, 'shop', { namespace: 'shop' });
    new ResourceQuotaPolicy(chart, 'quota', { namespace: 'shop', quota: { cpu: '8', memory: '16Gi' } });
    return { app: a, chart };
  }

  test("the user's own cdk8s-plus Deployment in a restricted namespace fails the synth, naming object, container, field and fix", () => {
    const { app: a, chart } = shop();
    new kplus.Deployment(chart, 'web', {
      metadata: { name: 'web' },
      containers: [{ name: 'app', image: 'web:1', portNumber: 8080, resources: {} }],
    });
    const message = thrown(() => synthApp(a));
    expect(message).toContain('Deployment shop/web, container "app": spec.template.spec.containers[0].securityContext.seccompProfile.type is not '
      + 'set, nor is the pod\'s; set securityContext.seccompProfile.type: RuntimeDefault on the pod (or on every container) (for a cdk8s-plus '
      + 'workload, restrictPodSecurity(workload) does it) (Pod Security "restricted" is enforced in namespace shop)');
    expect(message).toContain('Deployment shop/web, container "app": spec.template.spec.containers[0].securityContext.capabilities.drop does not '
      + 'include "ALL"; set securityContext.capabilities.drop: ["ALL"] (for a cdk8s-plus workload, restrictPodSecurity(workload) does it)');
  });

  test('the same Deployment, with an init container, made restricted by restrictPodSecurity, synthesizes', () => {
    const { app: a, chart } = shop();
    const deployment = new kplus.Deployment(chart, 'web', {
      metadata: { name: 'web' },
      containers: [{ name: 'app', image: 'web:1', portNumber: 8080, resources: {} }],
      initContainers: [{ name: 'migrate', image: 'web:1', resources: {}, securityContext: { capabilities: { drop: [kplus.Capability.NET_RAW] } } }],
    });
    restrictPodSecurity(deployment);
    const json = synthApp(a).find(o => o.kind === 'Deployment');
    expect(json.spec.template.spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(json.spec.template.spec.containers[0].securityContext.capabilities).toEqual({ drop: ['ALL'] });
    expect(json.spec.template.spec.initContainers[0].securityContext.capabilities).toEqual({ drop: ['ALL'] });
  });

  test('restrictPodSecurity on a workload with a cdk8s-plus capability name that Pod Security does not know: still refused', () => {
    const { app: a, chart } = shop();
    const deployment = new kplus.Deployment(chart, 'web', {
      metadata: { name: 'web' },
      containers: [{
        name: 'app', image: 'web:1', resources: {}, securityContext: { capabilities: { add: [kplus.Capability.NET_BIND_SERVICE] } },
      }],
    });
    restrictPodSecurity(deployment);
    expect(thrown(() => synthApp(a))).toContain('Deployment shop/web, container "app": spec.template.spec.containers[0].securityContext.'
      + 'capabilities.add adds "CAP_NET_BIND_SERVICE"; add nothing but NET_BIND_SERVICE');
  });

  test('an L1 object in a Namespace labeled baseline by the user: hostPath refused', () => {
    const a = Testing.app();
    const chart = new Chart(a, 'c');
    new ResourceQuotaPolicy(chart, 'quota', { namespace: 'other', quota: { cpu: '1', memory: '1Gi' } });
    new ApiObject(chart, 'ns', {
      apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ops', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } },
    });
    new ApiObject(chart, 'agent', {
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'ops' },
      spec: { template: { spec: { containers: [{ name: 'a', image: 'a' }], volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }] } } },
    });
    expect(thrown(() => synthApp(a))).toContain('DaemonSet ops/agent: spec.template.spec.volumes[0].hostPath (volume "logs") mounts a node '
      + 'directory; use an emptyDir, configMap, secret or persistentVolumeClaim volume instead (Pod Security "baseline" is enforced in namespace '
      + 'ops)');
  });

  test('under warn (or audit) only, a violation is a warning and the synth succeeds', () => {
    const a = Testing.app();
    const chart = new Chart(a, 'c');
    new ResourceQuotaPolicy(chart, 'quota', { namespace: 'other', quota: { cpu: '1', memory: '1Gi' } });
    new ApiObject(chart, 'ns', {
      apiVersion: 'v1', kind: 'Namespace',
      metadata: { name: 'ops', labels: { 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/warn': 'restricted' } },
    });
    const pod = restrictedPod();
    pod.metadata.namespace = 'ops';
    pod.spec.securityContext.runAsUser = 0;
    new ApiObject(chart, 'pod', pod);
    expect(() => synthApp(a)).not.toThrow();
    expect(AppContext.of(a).warnings).toEqual(['warning: Pod ops/p: spec.securityContext.runAsUser is 0 (root); use a non-zero user id '
      + '(Pod Security "restricted" is warned on in namespace ops)']);
  });

  test('an app of plain cdk8s-plus objects gets the checks once it enforces requests == limits', () => {
    const a = Testing.app();
    const chart = new Chart(a, 'c', { namespace: 'shop' });
    new kplus.Namespace(chart, 'ns', { metadata: { name: 'shop', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
    const amounts = { cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(250) },
      memory: { request: Size.mebibytes(256), limit: Size.mebibytes(256) } };
    new kplus.Deployment(chart, 'web', { metadata: { name: 'web' }, containers: [{ name: 'app', image: 'web:1', resources: amounts }] });
    expect(() => synthApp(a)).not.toThrow();
    enforceRequestsEqualLimits(a);
    expect(thrown(() => synthApp(a))).toContain('Deployment shop/web, container "app": spec.template.spec.containers[0].securityContext.'
      + 'seccompProfile.type is not set');
  });

  test('namespaces the app does not label are not checked', () => {
    const { app: a } = shop();
    const other = new Chart(a, 'elsewhere', { namespace: 'elsewhere' });
    new kplus.Deployment(other, 'web', { metadata: { name: 'web' }, containers: [{ image: 'web:1', portNumber: 8080, resources: {} }] });
    expect(() => synthApp(a)).not.toThrow();
  });
});
