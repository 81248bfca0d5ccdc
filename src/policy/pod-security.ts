import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';
import { AppContext, AppSlot } from '../core/app-context';
import { registerAppCheck } from '../core/app-checks';
import { objectRef, POD_SPEC_PATHS } from '../core/manifests';
import { appConstructs, renderedJson } from '../core/render-pass';
import { PodSecurityLevel } from './resource-quota-policy';

/*
 * The Kubernetes Pod Security Standards (baseline and restricted), as the
 * API server's Pod Security admission (k8s.io/pod-security-admission,
 * policy/check_*.go) evaluates them, checked at synth for every pod template
 * of the app in a namespace whose level the app itself labels.
 */

/** One field of a pod template that a Pod Security level forbids. */
export interface PodSecurityViolation {
  /** The level the field breaks. */
  readonly level: PodSecurityLevel;
  /**
   * The container, when the field is a container's.
   * @default - the field is the pod's
   */
  readonly container?: string;
  /** JSON path of the field in the manifest, e.g. `spec.template.spec.containers[0].securityContext.privileged`. */
  readonly field: string;
  /** What is wrong. */
  readonly message: string;
  /** How to fix it. */
  readonly fix: string;
}

/** A Pod Security version as the labels give it: `latest`, or a minor version of Kubernetes 1.x. */
type Minor = number;
const LATEST: Minor = Number.MAX_SAFE_INTEGER;

/** The capabilities the baseline level lets a container add. */
const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID',
  'SYS_CHROOT',
]);

/** The sysctls the baseline level allows, by the version that first allowed them. */
const SAFE_SYSCTLS: readonly (readonly [string, Minor])[] = [
  ['kernel.shm_rmid_forced', 0], ['net.ipv4.ip_local_port_range', 0], ['net.ipv4.tcp_syncookies', 0], ['net.ipv4.ping_group_range', 0],
  ['net.ipv4.ip_unprivileged_port_start', 0], ['net.ipv4.ip_local_reserved_ports', 27], ['net.ipv4.tcp_keepalive_time', 29],
  ['net.ipv4.tcp_fin_timeout', 29], ['net.ipv4.tcp_keepalive_intvl', 29], ['net.ipv4.tcp_keepalive_probes', 29], ['net.ipv4.tcp_rmem', 32],
  ['net.ipv4.tcp_wmem', 32],
];

/** SELinux types the baseline level allows, by the version that first allowed them. */
const SELINUX_TYPES: readonly (readonly [string, Minor])[] = [
  ['', 0], ['container_t', 0], ['container_init_t', 0], ['container_kvm_t', 0], ['container_engine_t', 31],
];

/** The volume sources the restricted level allows. */
const RESTRICTED_VOLUME_SOURCES = new Set([
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret',
]);

/** cdk8s-plus 27 has no prop for these fields: the helper that sets them. */
const FOR_CDK8S_PLUS = ' (for a cdk8s-plus workload, restrictPodSecurity(workload) does it)';

const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

/** A container of the pod, with where it sits. */
interface Visited {
  readonly c: any;
  readonly path: string;
}

/** What a rule reads: the pod spec and its metadata, where they sit, and the facts several rules share. */
interface PodView {
  readonly spec: any;
  readonly specPath: string;
  readonly annotations: Record<string, string>;
  readonly annotationsPath: string;
  readonly containers: readonly Visited[];
  readonly version: Minor;
  /** `spec.os.name: windows`: the restricted level's Linux-only rules do not apply (1.25+). */
  readonly windows: boolean;
  /** `hostUsers: false`: a user namespace relaxes runAsNonRoot and procMount (1.35+). */
  readonly userNamespace: boolean;
}

type Report = (field: string, message: string, fix: string, container?: string) => void;

/** One check of the standard: the level it belongs to, and what it reports of a pod. */
interface Rule {
  readonly level: PodSecurityLevel;
  check(pod: PodView, report: Report): void;
}

function containerRule(level: PodSecurityLevel, check: (c: any, path: string, pod: PodView, report: Report) => void): Rule {
  return { level, check: (pod, report) => pod.containers.forEach(({ c, path }) => check(c, path, pod, report)) };
}

/** The pod and each container: where a securityContext field may be set at either level. */
function contexts(pod: PodView): { sc: any; path: string; container?: string }[] {
  return [
    { sc: pod.spec.securityContext, path: `${pod.specPath}.securityContext` },
    ...pod.containers.map(({ c, path }) => ({ sc: c.securityContext, path: `${path}.securityContext`, container: c.name })),
  ];
}

const B = PodSecurityLevel.BASELINE;
const R = PodSecurityLevel.RESTRICTED;

const RULES: readonly Rule[] = [
  // baseline
  {
    level: B,
    check: (pod, report) => contexts(pod).forEach(({ sc, path, container }) => {
      if (sc?.windowsOptions?.hostProcess === true) {
        report(`${path}.windowsOptions.hostProcess`, 'is true (a Windows HostProcess container)', 'remove windowsOptions.hostProcess', container);
      }
    }),
  },
  {
    level: B,
    check: (pod, report) => (['hostNetwork', 'hostPID', 'hostIPC'] as const).forEach(field => {
      if (pod.spec[field] === true) report(`${pod.specPath}.${field}`, 'is true (shares the node\'s namespace)', `remove ${field}`);
    }),
  },
  containerRule(B, (c, path, _pod, report) => {
    if (c.securityContext?.privileged === true) {
      report(`${path}.securityContext.privileged`, 'is true', 'remove privileged (or set it to false)', c.name);
    }
  }),
  containerRule(B, (c, path, _pod, report) => {
    const added: string[] = (c.securityContext?.capabilities?.add ?? []).filter((cap: string) => !BASELINE_CAPABILITIES.has(cap));
    if (added.length) {
      report(`${path}.securityContext.capabilities.add`, `adds ${added.map(a => `"${a}"`).join(', ')}, beyond the baseline's `
        + `${[...BASELINE_CAPABILITIES].join(', ')}`, `remove ${added.length === 1 ? 'it' : 'them'} from capabilities.add`, c.name);
    }
  }),
  {
    level: B,
    check: (pod, report) => ((pod.spec.volumes ?? []) as any[]).forEach((v, i) => {
      if (v?.hostPath !== undefined) {
        report(`${pod.specPath}.volumes[${i}].hostPath`, `(volume "${v.name}") mounts a node directory`, 'use an emptyDir, configMap, secret or '
          + 'persistentVolumeClaim volume instead');
      }
    }),
  },
  containerRule(B, (c, path, _pod, report) => ((c.ports ?? []) as any[]).forEach((p, i) => {
    if (p?.hostPort !== undefined && p.hostPort !== 0) {
      report(`${path}.ports[${i}].hostPort`, `is ${p.hostPort}`, 'remove hostPort and reach the pod through a Service', c.name);
    }
  })),
  {
    level: B,
    check: (pod, report) => {
      for (const [key, value] of Object.entries(pod.annotations)) {
        if (key.startsWith(APPARMOR_ANNOTATION) && !(value === '' || value === 'runtime/default' || value.startsWith('localhost/'))) {
          report(`${pod.annotationsPath}["${key}"]`, `is "${value}"`, 'use "runtime/default" or a "localhost/<profile>"',
            key.slice(APPARMOR_ANNOTATION.length));
        }
      }
      contexts(pod).forEach(({ sc, path, container }) => {
        const type = sc?.appArmorProfile?.type;
        if (type !== undefined && type !== 'RuntimeDefault' && type !== 'Localhost') {
          report(`${path}.appArmorProfile.type`, `is "${type}"`, 'use RuntimeDefault, or Localhost with a profile', container);
        }
      });
    },
  },
  {
    level: B,
    check: (pod, report) => contexts(pod).forEach(({ sc, path, container }) => {
      const se = sc?.seLinuxOptions;
      if (!se) return;
      const allowed = SELINUX_TYPES.filter(([, since]) => pod.version >= since).map(([t]) => t);
      if (se.type !== undefined && !allowed.includes(se.type)) {
        report(`${path}.seLinuxOptions.type`, `is "${se.type}"`, `use one of ${allowed.filter(Boolean).join(', ')}, or leave it unset`, container);
      }
      for (const field of ['user', 'role'] as const) {
        if (se[field] !== undefined && se[field] !== '') {
          report(`${path}.seLinuxOptions.${field}`, `is "${se[field]}"`, `remove seLinuxOptions.${field}`, container);
        }
      }
    }),
  },
  containerRule(B, (c, path, pod, report) => {
    const mount = c.securityContext?.procMount;
    if (mount !== undefined && mount !== 'Default' && !(pod.userNamespace && pod.version >= 35)) {
      report(`${path}.securityContext.procMount`, `is "${mount}"`, 'remove procMount (or set it to Default)', c.name);
    }
  }),
  {
    level: B,
    check: (pod, report) => contexts(pod).forEach(({ sc, path, container }) => {
      if (sc?.seccompProfile?.type === 'Unconfined') {
        report(`${path}.seccompProfile.type`, 'is "Unconfined"', 'use RuntimeDefault (or Localhost with a profile)', container);
      }
    }),
  },
  {
    level: B,
    check: (pod, report) => {
      const allowed = SAFE_SYSCTLS.filter(([, since]) => pod.version >= since).map(([name]) => name);
      ((pod.spec.securityContext?.sysctls ?? []) as any[]).forEach((s, i) => {
        if (!allowed.includes(s?.name)) {
          report(`${pod.specPath}.securityContext.sysctls[${i}]`, `sets "${s?.name}", which is not a safe sysctl`, `remove it; the safe ones are `
            + `${allowed.join(', ')}`);
        }
      });
    },
  },
  containerRule(B, (c, path, pod, report) => {
    if (pod.version < 34) return;
    const handlers: [string, any][] = [
      ...['livenessProbe', 'readinessProbe', 'startupProbe'].map(p => [p, c[p]] as [string, any]),
      ['lifecycle.postStart', c.lifecycle?.postStart], ['lifecycle.preStop', c.lifecycle?.preStop],
    ];
    for (const [name, handler] of handlers) {
      for (const kind of ['httpGet', 'tcpSocket']) {
        const host = handler?.[kind]?.host;
        if (host !== undefined && host !== '') {
          report(`${path}.${name}.${kind}.host`, `is "${host}" (the kubelet would probe another host)`, 'remove host: the pod\'s IP is used', c.name);
        }
      }
    }
  }),
  // restricted
  {
    level: R,
    check: (pod, report) => ((pod.spec.volumes ?? []) as any[]).forEach((v, i) => {
      const sources = Object.keys(v ?? {}).filter(k => k !== 'name');
      const bad = sources.filter(s => !RESTRICTED_VOLUME_SOURCES.has(s));
      if (bad.length || !sources.length) {
        report(`${pod.specPath}.volumes[${i}]`, `(volume "${v?.name}") is of type ${bad.join(', ') || 'unknown'}`, `use one of `
          + `${[...RESTRICTED_VOLUME_SOURCES].join(', ')} (a PersistentVolumeClaim for any other storage)`);
      }
    }),
  },
  containerRule(R, (c, path, pod, report) => {
    if (pod.windows && pod.version >= 25) return;
    if (c.securityContext?.allowPrivilegeEscalation !== false) {
      report(`${path}.securityContext.allowPrivilegeEscalation`, `is ${c.securityContext?.allowPrivilegeEscalation ?? 'not set'}`,
        'set securityContext.allowPrivilegeEscalation: false', c.name);
    }
  }),
  {
    level: R,
    check: (pod, report) => {
      if (pod.userNamespace && pod.version >= 35) return;
      const podValue = pod.spec.securityContext?.runAsNonRoot;
      if (podValue === false) report(`${pod.specPath}.securityContext.runAsNonRoot`, 'is false', 'set it to true');
      for (const { c, path } of pod.containers) {
        const value = c.securityContext?.runAsNonRoot;
        if (value === false || (value === undefined && podValue !== true)) {
          report(`${path}.securityContext.runAsNonRoot`, `is ${value ?? 'not set'}${value === undefined ? ', nor is the pod\'s' : ''}`,
            'set securityContext.runAsNonRoot: true on the pod (or on every container), and run as a non-zero runAsUser', c.name);
        }
      }
    },
  },
  {
    level: R,
    check: (pod, report) => {
      if (pod.version < 23) return;
      contexts(pod).forEach(({ sc, path, container }) => {
        if (sc?.runAsUser === 0) report(`${path}.runAsUser`, 'is 0 (root)', 'use a non-zero user id', container);
      });
    },
  },
  {
    level: R,
    check: (pod, report) => {
      if (pod.windows && pod.version >= 25) return;
      const confined = (type: unknown) => type === 'RuntimeDefault' || type === 'Localhost';
      const podType = pod.spec.securityContext?.seccompProfile?.type;
      if (podType !== undefined && !confined(podType)) {
        report(`${pod.specPath}.securityContext.seccompProfile.type`, `is "${podType}"`, 'use RuntimeDefault (or Localhost with a profile)');
      }
      for (const { c, path } of pod.containers) {
        const type = c.securityContext?.seccompProfile?.type;
        if (type === undefined ? !confined(podType) : !confined(type)) {
          report(`${path}.securityContext.seccompProfile.type`, type === undefined ? 'is not set, nor is the pod\'s' : `is "${type}"`,
            `set securityContext.seccompProfile.type: RuntimeDefault on the pod (or on every container)${FOR_CDK8S_PLUS}`, c.name);
        }
      }
    },
  },
  containerRule(R, (c, path, pod, report) => {
    if ((pod.windows && pod.version >= 25) || pod.version < 22) return;
    const caps = c.securityContext?.capabilities;
    if (!((caps?.drop ?? []) as string[]).includes('ALL')) {
      report(`${path}.securityContext.capabilities.drop`, 'does not include "ALL"', `set securityContext.capabilities.drop: ["ALL"]${FOR_CDK8S_PLUS}`,
        c.name);
    }
    const added = ((caps?.add ?? []) as string[]).filter(cap => cap !== 'NET_BIND_SERVICE');
    if (added.length) {
      report(`${path}.securityContext.capabilities.add`, `adds ${added.map(a => `"${a}"`).join(', ')}`, 'add nothing but NET_BIND_SERVICE',
        c.name);
    }
  }),
];

/** How strict each level is. */
const STRICTNESS: Record<string, number> = { [PodSecurityLevel.PRIVILEGED]: 0, [PodSecurityLevel.BASELINE]: 1, [PodSecurityLevel.RESTRICTED]: 2 };

/** `latest` or `v1.N` as a minor version; undefined when the label is not a version. */
function parseVersion(label: string | undefined): Minor | undefined {
  if (label === undefined || label === 'latest') return LATEST;
  const m = /^v1\.(\d+)$/.exec(label);
  return m ? Number(m[1]) : undefined;
}

/** The pod of a manifest as the rules read it; undefined for kinds without a pod template. */
function podView(manifest: any, version: Minor): PodView | undefined {
  const path = POD_SPEC_PATHS[manifest?.kind];
  if (!path) return undefined;
  const parent = path.slice(0, -1).reduce((node: any, key) => node?.[key], manifest);
  const spec = parent?.[path[path.length - 1]];
  if (!spec) return undefined;
  const specPath = path.join('.');
  const metadataPath = [...path.slice(0, -1), 'metadata'].join('.');
  const containers: Visited[] = [];
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
    ((spec[list] ?? []) as any[]).forEach((c, i) => containers.push({ c: c ?? {}, path: `${specPath}.${list}[${i}]` }));
  }
  return {
    spec,
    specPath,
    annotations: parent?.metadata?.annotations ?? {},
    annotationsPath: `${metadataPath}.annotations`,
    containers,
    version,
    windows: spec.os?.name === 'windows',
    userNamespace: spec.hostUsers === false,
  };
}

/**
 * The fields of a manifest's pod template (Pod, Deployment, StatefulSet,
 * DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate)
 * that the Pod Security Standards forbid at `level` (baseline, or
 * restricted, which includes baseline), as Pod Security admission of
 * `version` (`latest` or `v1.N`) evaluates them. Empty for other kinds and
 * for `privileged`.
 */
export function checkPodSecurity(manifest: any, level: PodSecurityLevel, version = 'latest'): PodSecurityViolation[] {
  const pod = podView(manifest, parseVersion(version) ?? LATEST);
  if (!pod) return [];
  const out: PodSecurityViolation[] = [];
  for (const rule of RULES) {
    if (STRICTNESS[rule.level] > STRICTNESS[level]) continue;
    rule.check(pod, (field, message, fix, container) => out.push({ level: rule.level, field, message, fix, container }));
  }
  return out;
}

/** One line of a synth message: `Deployment shop/web, container "app": <field> <message>; <fix> (...)`. */
export function formatPodSecurityViolation(manifest: any, namespace: string, mode: string, v: PodSecurityViolation): string {
  const ref = objectRef({ metadata: { ...manifest.metadata, namespace } });
  return `${manifest.kind} ${ref}${v.container !== undefined ? `, container "${v.container}"` : ''}: ${v.field} ${v.message}; ${v.fix} `
    + `(Pod Security "${v.level}" is ${mode === 'enforce' ? 'enforced' : `${mode === 'warn' ? 'warned on' : 'audited'}`} in namespace ${namespace})`;
}

/** The Pod Security labels of a namespace the app renders: the level and version of each mode. */
interface NamespaceLevels {
  readonly modes: { readonly mode: 'enforce' | 'warn' | 'audit'; readonly level: PodSecurityLevel; readonly version: string }[];
}

const MODES = ['enforce', 'warn', 'audit'] as const;

function namespaceLevels(json: any): NamespaceLevels | undefined {
  const labels: Record<string, string> = json.metadata?.labels ?? {};
  const modes = MODES.flatMap(mode => {
    const level = labels[`pod-security.kubernetes.io/${mode}`] as PodSecurityLevel | undefined;
    if (level === undefined || !(level in STRICTNESS) || level === PodSecurityLevel.PRIVILEGED) return [];
    return [{ mode, level, version: labels[`pod-security.kubernetes.io/${mode}-version`] ?? 'latest' }];
  });
  return modes.length ? { modes } : undefined;
}

/**
 * Every pod template of the app in a namespace whose Pod Security labels
 * the app renders (a ResourceQuotaPolicy's, or any Namespace object's):
 * a violation of the `enforce` level fails the synth; one of the `warn` or
 * `audit` level only is printed as a warning.
 */
const POD_SECURITY = new AppSlot('the Pod Security check', root => {
  root.node.addValidation({ validate: () => podSecurityProblems(root) });
  return true;
});

registerAppCheck(scope => AppContext.of(scope).get(POD_SECURITY));

function podSecurityProblems(root: IConstruct): string[] {
  const namespaces = new Map<string, NamespaceLevels>();
  const pods: ApiObject[] = [];
  for (const c of appConstructs(root)) {
    if (!ApiObject.isApiObject(c)) continue;
    if (c.kind === 'Namespace' && c.apiVersion === 'v1') {
      const json = renderedJson(c);
      const levels = namespaceLevels(json);
      if (levels) namespaces.set(json.metadata?.name, levels);
    } else if (c.kind in POD_SPEC_PATHS) {
      pods.push(c);
    }
  }
  if (!namespaces.size) return [];
  const errors: string[] = [];
  const context = AppContext.of(root);
  for (const obj of pods) {
    const json = renderedJson(obj);
    const namespace = json.metadata?.namespace ?? Chart.of(obj).namespace ?? 'default';
    const levels = namespaces.get(namespace);
    if (levels) {
      const found = violationsIn(json, namespace, levels);
      errors.push(...found.errors);
      found.warnings.forEach(w => context.warn(w));
    }
  }
  return errors;
}

/** The enforce level's violations as errors; the warn and audit levels' others as warnings (once each). */
function violationsIn(json: any, namespace: string, levels: NamespaceLevels): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings = new Map<string, string>();
  const enforced = new Set<string>();
  for (const { mode, level, version } of levels.modes) {
    for (const v of checkPodSecurity(json, level, version)) {
      const key = `${v.field} ${v.message}`;
      if (mode === 'enforce') {
        enforced.add(key);
        errors.push(formatPodSecurityViolation(json, namespace, mode, v));
      } else if (!enforced.has(key) && !warnings.has(key)) {
        warnings.set(key, `warning: ${formatPodSecurityViolation(json, namespace, mode, v)}`);
      }
    }
  }
  return { errors, warnings: [...warnings.values()] };
}

/**
 * Makes the pods of a cdk8s-plus workload (Deployment, StatefulSet,
 * DaemonSet, Job, CronJob, Pod) meet Pod Security "restricted" where
 * cdk8s-plus 27 has no prop for it: seccomp `RuntimeDefault` on the pod, and
 * `capabilities.drop: ["ALL"]` on each of its containers and init
 * containers (cdk8s-plus already renders non-root, read-only and no
 * privilege escalation). It adds JSON patches for the containers the
 * workload has now: call it after adding them. The synth's Pod Security
 * check still reads the result, so a container added later is caught there.
 */
export function restrictPodSecurity(workload: kplus.AbstractPod): void {
  const obj = ApiObject.of(workload);
  const path = POD_SPEC_PATHS[obj.kind];
  if (!path) throw new Error(`restrictPodSecurity: ${obj.kind} "${workload.node.path}" has no pod template`);
  const spec = `/${path.join('/')}`;
  obj.addJsonPatch(JsonPatch.add(`${spec}/securityContext/seccompProfile`, { type: 'RuntimeDefault' }));
  const lists: [string, kplus.Container[]][] = [['containers', workload.containers], ['initContainers', workload.initContainers]];
  for (const [list, containers] of lists) {
    containers.forEach((c, i) => {
      const at = `${spec}/${list}/${i}/securityContext/capabilities`;
      obj.addJsonPatch(c.securityContext.capabilities ? JsonPatch.add(`${at}/drop`, ['ALL']) : JsonPatch.add(at, { drop: ['ALL'] }));
    });
  }
}
