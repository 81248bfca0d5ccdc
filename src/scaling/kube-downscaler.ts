import { ApiObject, Chart, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { AppContext, AppSlot } from '../core/app-context';
import { checkCreateNamespace, finishConstruct, renderNamespace } from '../core/app-checks';
import { assertDnsLabel, describe } from '../core/assertions';
import { goDuration, restrictedPodSecurityContext, restrictedSecurityContext } from '../core/pod-spec';
import { Problems } from '../core/problems';
import { renderedJson } from '../core/render-pass';
import { guaranteedResources, ResourceAmounts } from '../core/resources';
import { enforceRequestsEqualLimits } from '../policy/requests-equal-limits';
import { DownscalerImplementation, ScalingSchedule } from './scaling-schedule';
import { isTimeZone } from './time-spans';

/** Props of {@link KubeDownscaler}. */
export interface KubeDownscalerProps {
  /**
   * Namespace of the downscaler; the downscaler leaves it alone.
   * @default "kube-downscaler"
   */
  readonly namespace?: string;
  /**
   * Render the Namespace too, labelled Pod Security "restricted".
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * The time zone of schedules that name none (`DEFAULT_TIMEZONE`), an IANA zone.
   * @default - none: every schedule names its zone
   */
  readonly defaultTimezone?: string;
  /**
   * How often the downscaler checks the schedules (`--interval`).
   * @default Duration.seconds(30)
   */
  readonly interval?: Duration;
  /**
   * Namespaces the downscaler leaves alone (`EXCLUDE_NAMESPACES`), besides its own and kube-system.
   * @default - none
   */
  readonly excludeNamespaces?: string[];
  /**
   * Log what it would change without changing it (`--dry-run`).
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * cpu and memory of the downscaler (requests == limits).
   * @default { cpu: "200m", memory: "300Mi" }
   */
  readonly resources?: ResourceAmounts;
  /**
   * The image.
   * @default "ghcr.io/caas-team/gokubedownscaler:1.3.4"
   */
  readonly image?: string;
}

/** Props of {@link KubeDownscaler.external}: a downscaler installed elsewhere that the app's schedules rely on. */
export interface ExternalDownscalerProps {
  /**
   * Which downscaler it is (the annotation names differ).
   * @default DownscalerImplementation.GO
   */
  readonly implementation?: DownscalerImplementation;
  /** The resources it handles (`--include-resources`), e.g. `["deployments", "horizontalpodautoscalers"]`. */
  readonly includeResources: string[];
  /**
   * The namespaces it leaves alone (`--exclude-namespaces` / `EXCLUDE_NAMESPACES`).
   * @default - none
   */
  readonly excludeNamespaces?: string[];
  /**
   * Its default time zone (`DEFAULT_TIMEZONE`).
   * @default - none
   */
  readonly defaultTimezone?: string;
  /**
   * How often it checks the schedules.
   * @default Duration.seconds(30)
   */
  readonly interval?: Duration;
}

/** A downscaler the app renders or relies on, as the checks see it. */
interface Downscaler {
  readonly who: string;
  readonly implementation: DownscalerImplementation;
  readonly includeResources: readonly string[];
  readonly excludeNamespaces: readonly string[];
  readonly defaultTimezone?: string;
  readonly interval: Duration;
}

/** An HPA with a schedule, and the downscaler implementation whose annotation names it carries. */
interface ScheduledHpa {
  readonly where: string;
  readonly hpa: ApiObject;
  readonly schedule: ScalingSchedule;
  readonly implementation: DownscalerImplementation;
}

interface Registry {
  readonly downscalers: Downscaler[];
  readonly scheduled: ScheduledHpa[];
}

const DOWNSCALERS = new AppSlot<Registry>('kube-downscalers and the schedules they apply', root => {
  const reg: Registry = { downscalers: [], scheduled: [] };
  root.node.addValidation({ validate: () => scheduleProblems(reg) });
  return reg;
});

const registry = (scope: IConstruct) => AppContext.of(scope).get(DOWNSCALERS);

/** The downscaler implementation whose annotation names a schedule made now should carry: the app's, else the Go rewrite. */
export function downscalerImplementation(scope: IConstruct): DownscalerImplementation {
  return registry(scope).downscalers[0]?.implementation ?? DownscalerImplementation.GO;
}

/** Records an HPA with a schedule: at synth, a downscaler of the app must apply it. */
export function registerSchedule(where: string, hpa: ApiObject, schedule: ScalingSchedule, implementation: DownscalerImplementation): void {
  registry(hpa).scheduled.push({ where, hpa, schedule, implementation });
}

/** The downscaler of the app, for the simulator (its interval and default time zone). */
export function appDownscaler(scope: IConstruct): { readonly interval: Duration; readonly defaultTimezone?: string } | undefined {
  return registry(scope).downscalers[0];
}

const NAME = 'go-kube-downscaler';
const LABELS = { application: NAME };
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const HEALTH_PORT = 8081;

/**
 * kube-downscaler's maintained Go rewrite (caas-team/GoKubeDownscaler 1.3.4),
 * which applies the app's `ScalingSchedule`s: it lowers a scheduled HPA's
 * `minReplicas` off hours and restores it after. It handles
 * HorizontalPodAutoscalers only (the kind the library schedules), with RBAC
 * for exactly that (least privilege, as its chart generates per resource),
 * leaves its own namespace and kube-system alone, and runs with probes, Pod
 * Security "restricted" and requests == limits.
 */
export class KubeDownscaler extends Construct {
  /**
   * A downscaler installed elsewhere that the app's schedules rely on: the
   * synth checks that it handles HPAs and does not exclude their namespaces.
   */
  public static external(scope: IConstruct, props: ExternalDownscalerProps): void {
    const problems = new Problems('KubeDownscaler.external');
    if (props.defaultTimezone !== undefined && !isTimeZone(props.defaultTimezone)) {
      problems.add(`defaultTimezone "${props.defaultTimezone}" is not an IANA time zone (e.g. Europe/Berlin)`);
    }
    problems.throwIfAny();
    registry(scope).downscalers.push({
      who: 'the kube-downscaler installed elsewhere', implementation: props.implementation ?? DownscalerImplementation.GO,
      includeResources: [...props.includeResources], excludeNamespaces: [...(props.excludeNamespaces ?? [])],
      defaultTimezone: props.defaultTimezone, interval: props.interval ?? Duration.seconds(30),
    });
  }

  /** Namespace of the downscaler. */
  public readonly namespace: string;
  /** The Deployment. */
  public readonly deployment: ApiObject;

  constructor(scope: Construct, id: string, props: KubeDownscalerProps = {}) {
    super(scope, id);
    const where = describe(this);
    const problems = new Problems(where);
    const namespace = this.namespace = props.namespace ?? 'kube-downscaler';
    problems.check(() => assertDnsLabel(namespace, where, 'namespace'));
    if (props.defaultTimezone !== undefined && !isTimeZone(props.defaultTimezone)) {
      problems.add(`defaultTimezone "${props.defaultTimezone}" is not an IANA time zone (e.g. Europe/Berlin)`);
    }
    const interval = problems.check(() => goDuration(props.interval ?? Duration.seconds(30), where, 'interval'));
    (props.excludeNamespaces ?? []).forEach((ns, i) => problems.check(() => assertDnsLabel(ns, where, `excludeNamespaces[${i}]`)));
    const createNamespace = props.createNamespace ?? true;
    checkCreateNamespace(createNamespace, namespace, problems);
    const resources = problems.check(() => guaranteedResources(props.resources ?? { cpu: '200m', memory: '300Mi' }, where));
    problems.throwIfAny();

    const excluded = [...new Set([namespace, 'kube-system', ...(props.excludeNamespaces ?? [])])];
    if (createNamespace) renderNamespace(this, namespace);
    this.renderRbac(namespace);
    const config = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: NAME, namespace },
      data: { EXCLUDE_NAMESPACES: excluded.join(','), ...(props.defaultTimezone ? { DEFAULT_TIMEZONE: props.defaultTimezone } : {}) },
    });
    const args = ['--include-resources=horizontalpodautoscalers', `--interval=${interval}`, ...(props.dryRun ? ['--dry-run'] : [])];
    this.deployment = this.renderDeployment(props.image ?? 'ghcr.io/caas-team/gokubedownscaler:1.3.4', namespace, args, config.name, resources!);
    registry(this).downscalers.push({
      who: `${where} (${this.node.path})`, implementation: DownscalerImplementation.GO, includeResources: ['horizontalpodautoscalers'],
      excludeNamespaces: excluded, defaultTimezone: props.defaultTimezone, interval: props.interval ?? Duration.seconds(30),
    });
    enforceRequestsEqualLimits(this);
    finishConstruct(this);
  }

  /** Read the namespaces it checks, write events, and read and update HPAs (its chart's rules for that resource). */
  private renderRbac(namespace: string): void {
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: NAME, namespace } });
    new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { name: NAME },
      rules: [
        { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
        { apiGroups: [''], resources: ['events'], verbs: ['get', 'create', 'update'] },
        { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['get', 'list', 'update'] },
      ],
    });
    new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: NAME },
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace }],
    });
  }

  /** L1, as GoKubeDownscaler's chart (CONTRIBUTING: which workloads are cdk8s-plus). */
  private renderDeployment(image: string, namespace: string, args: string[], config: string, resources: k8s.ResourceRequirements): ApiObject {
    const probe = (path: string) => ({
      httpGet: { path, port: k8s.IntOrString.fromNumber(HEALTH_PORT) }, failureThreshold: 3, initialDelaySeconds: 5, periodSeconds: 3,
      timeoutSeconds: 2,
    });
    return new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: NAME, namespace, labels: { ...LABELS } },
      spec: {
        // one replica: without leader election, two would both scale
        replicas: 1,
        selector: { matchLabels: { ...LABELS } },
        template: {
          metadata: { labels: { ...LABELS } },
          spec: {
            serviceAccountName: NAME,
            securityContext: restrictedPodSecurityContext(1000, true),
            containers: [{
              name: NAME,
              image,
              imagePullPolicy: 'IfNotPresent',
              args,
              envFrom: [{ configMapRef: { name: config } }],
              ports: [{ name: 'health', containerPort: HEALTH_PORT }],
              readinessProbe: probe('/readyz'),
              livenessProbe: probe('/healthz'),
              startupProbe: probe('/healthz'),
              resources,
              securityContext: restrictedSecurityContext(),
            }],
          },
        },
      },
    });
  }
}

/** Every scheduled HPA needs a downscaler of the app that applies it, reads its annotation names and its time zones. */
function scheduleProblems(reg: Registry): string[] {
  if (!reg.scheduled.length) return [];
  if (reg.downscalers.length > 1) {
    return [`the app has ${reg.downscalers.length} kube-downscalers (${reg.downscalers.map(d => d.who).join(', ')}); keep one: two would both `
      + 'scale the same HPAs'];
  }
  const d = reg.downscalers[0];
  return reg.scheduled.flatMap(s => {
    if (!d) {
      return [`${s.where}: schedule needs a kube-downscaler to apply it; add a KubeDownscaler to the app, or declare the one installed elsewhere `
        + 'with KubeDownscaler.external(scope, { includeResources: [...] })'];
    }
    const json = renderedJson(s.hpa);
    const namespace = json.metadata?.namespace ?? Chart.of(s.hpa).namespace ?? 'default';
    const out: string[] = [];
    if (!d.includeResources.includes('horizontalpodautoscalers')) {
      out.push(`${s.where}: schedule: ${d.who} handles ${d.includeResources.join(', ') || 'nothing'}, not horizontalpodautoscalers; add it to its `
        + '--include-resources');
    }
    if (d.excludeNamespaces.includes(namespace)) {
      out.push(`${s.where}: schedule: ${d.who} leaves namespace ${namespace} alone (it excludes ${d.excludeNamespaces.join(', ')}); move the `
        + 'workload, or stop excluding the namespace');
    }
    if (s.schedule._needsDefaultZone && !d.defaultTimezone) {
      out.push(`${s.where}: schedule "${s.schedule.spec}" names no time zone and ${d.who} has no defaultTimezone; add the zone to the spec `
        + '(e.g. "Mon-Fri 07:30-20:30 Europe/Berlin"), or set defaultTimezone');
    }
    if (s.implementation !== d.implementation) {
      out.push(`${s.where}: schedule carries the ${s.implementation} downscaler's annotation names, but ${d.who} is the ${d.implementation} one; `
        + 'declare the downscaler before the autoscalers that use it');
    }
    return out;
  });
}
