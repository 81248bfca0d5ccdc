import { ApiObject, Duration, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { checkCreateNamespace, finishConstruct, renderNamespace } from '../core/app-checks';
import {
  Prometheus, PrometheusSpecAlertingAlertmanagersApiVersion, PrometheusSpecAlertingAlertmanagersPort, PrometheusSpecResourcesLimits,
    PrometheusSpecResourcesRequests, PrometheusSpecServiceDiscoveryRole, PrometheusSpecStorage,
  PrometheusSpecStorageVolumeClaimTemplateSpecResourcesRequests, ServiceMonitor,
  ServiceMonitorSpecEndpointsScheme,
} from '../imports/monitoring.coreos.com';
import { notEvictable, standardLabels } from '../core/labels';
import { assertDnsLabel, assertInteger, describe } from '../core/assertions';
import { Problems } from '../core/problems';
import { IPrometheus, registerPrometheus } from '../core/prometheus-selection';
import { amountText } from '../core/quantity';
import { parseAmounts, ResourceAmounts } from '../core/resources';
import { goDuration } from '../core/pod-spec';

/** A Prometheus installed elsewhere that the app relies on. */
export interface ExternalPrometheusProps {
  /** Its HTTP API URL. */
  readonly url: string;
  /**
   * Labels its `serviceMonitorSelector` (and `podMonitorSelector`) requires.
   * @default - none (it selects every ServiceMonitor and PodMonitor)
   */
  readonly serviceMonitorLabels?: Record<string, string>;
  /**
   * Labels its `ruleSelector` requires.
   * @default - none (it selects every PrometheusRule)
   */
  readonly ruleLabels?: Record<string, string>;
}

/** An Alertmanager the instance sends alerts to. */
export interface AlertmanagerEndpoint {
  /** Namespace of the Alertmanager's Service. */
  readonly namespace: string;
  /** Name of the Alertmanager's Service. */
  readonly name: string;
  /**
   * Port name of the Service.
   * @default "web"
   */
  readonly port?: string;
}

/** Persistent storage of a {@link PrometheusInstance}: one volume claim per replica. */
export interface PrometheusStorage {
  /** Size of each replica's volume. */
  readonly size: Size;
  /**
   * StorageClass of the volumes.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
}

/** Props of {@link PrometheusInstance}. */
export interface PrometheusInstanceProps {
  /**
   * Name of the Prometheus object; the Service is `prometheus-<name>`.
   * @default "k8s"
   */
  readonly name?: string;
  /**
   * Namespace.
   * @default "monitoring"
   */
  readonly namespace?: string;
  /**
   * Render the Namespace too, labelled for Pod Security "restricted" (shared with the other constructs of the app that create
   * it). Set it when nothing else creates the namespace.
   * @default false
   */
  readonly createNamespace?: boolean;
  /**
   * Replicas; with more than one, a PodDisruptionBudget (minAvailable 1).
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Prometheus version (the operator runs `quay.io/prometheus/prometheus:<version>`).
   * @default "v3.12.0"
   */
  readonly version?: string;
  /**
   * How long samples are kept.
   * @default Duration.days(1)
   */
  readonly retention?: Duration;
  /**
   * A PersistentVolumeClaim per replica for the samples (the Prometheus's `storage.volumeClaimTemplate`).
   * @default - an emptyDir: the samples are lost whenever a Prometheus pod is replaced
   */
  readonly storage?: PrometheusStorage;
  /**
   * cpu and memory of the Prometheus container, rendered as requests == limits.
   * @default { cpu: "1", memory: "2Gi" }
   */
  readonly resources?: ResourceAmounts;
  /**
   * Labels a ServiceMonitor or a PodMonitor must carry to be scraped (`serviceMonitorSelector` and `podMonitorSelector` matchLabels).
   * @default - none: every ServiceMonitor and PodMonitor
   */
  readonly serviceMonitorLabels?: Record<string, string>;
  /**
   * Labels a PrometheusRule must carry to be loaded (`ruleSelector.matchLabels`).
   * @default - none: every PrometheusRule
   */
  readonly ruleLabels?: Record<string, string>;
  /**
   * Namespaces it discovers ServiceMonitors and PrometheusRules in.
   * @default - all namespaces
   */
  readonly namespaces?: string[];
  /**
   * Scrape the kube-apiserver (`job="apiserver"`), which the APIService alerts read.
   * @default true
   */
  readonly scrapeApiServer?: boolean;
  /**
   * The Alertmanager to send alerts to.
   * @default - none
   */
  readonly alertmanager?: AlertmanagerEndpoint;
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/**
 * A Prometheus Operator `Prometheus` (monitoring.coreos.com/v1) with its
 * ServiceAccount, least-privilege RBAC, Service, PodDisruptionBudget when
 * replicated, retention and resources (requests == limits), Pod Security
 * "restricted". Once an app has one, every ServiceMonitor and
 * PrometheusRule it renders must be selected by a Prometheus of the app
 * (or one declared with {@link PrometheusInstance.external}), or the
 * synth fails, naming the object and the missing labels.
 */
export class PrometheusInstance extends Construct implements IPrometheus {
  /**
   * Declares a Prometheus installed elsewhere: its URL for PromAdapter, and
   * its selectors for the synth's check of the app's ServiceMonitors and PrometheusRules.
   */
  public static external(scope: IConstruct, props: ExternalPrometheusProps): IPrometheus {
    const p: IPrometheus = { url: props.url, serviceMonitorLabels: { ...(props.serviceMonitorLabels ?? {}) },
      ruleLabels: { ...(props.ruleLabels ?? {}) } };
    registerPrometheus(scope, `the external Prometheus at ${props.url}`, p);
    return p;
  }

  /** Name of the Prometheus object. */
  public readonly name: string;
  /** Namespace. */
  public readonly namespace: string;
  /** The Prometheus HTTP API URL (its Service). */
  public readonly url: string;
  /** Labels its serviceMonitorSelector requires. */
  public readonly serviceMonitorLabels: Record<string, string>;
  /** Labels its ruleSelector requires. */
  public readonly ruleLabels: Record<string, string>;
  /** The `Prometheus` object. */
  public readonly prometheus: ApiObject;

  constructor(scope: Construct, id: string, props: PrometheusInstanceProps = {}) {
    super(scope, id);
    const where = describe(this);
    const problems = new Problems(where);
    const name = this.name = props.name ?? 'k8s';
    const namespace = this.namespace = props.namespace ?? 'monitoring';
    problems.check(() => assertDnsLabel(name, where, 'name'));
    problems.check(() => assertDnsLabel(namespace, where, 'namespace'));
    const replicas = props.replicas ?? 2;
    problems.check(() => assertInteger(replicas, where, 'replicas', 1));
    const retention = problems.check(() => goDuration(props.retention ?? Duration.days(1), where, 'retention'));
    const resources = problems.check(() => parseAmounts(props.resources ?? { cpu: '1', memory: '2Gi' }, where));
    (props.namespaces ?? []).forEach((ns, i) => problems.check(() => assertDnsLabel(ns, where, `namespaces[${i}]`)));
    checkCreateNamespace(props.createNamespace, namespace, problems);
    problems.throwIfAny();

    this.serviceMonitorLabels = { ...(props.serviceMonitorLabels ?? {}) };
    this.ruleLabels = { ...(props.ruleLabels ?? {}) };
    this.url = `http://prometheus-${name}.${namespace}.svc:9090/`;
    const labels = standardLabels(name, 'prometheus', (props.version ?? 'v3.12.0').replace(/^v/, ''));
    const selector = { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': name };
    const meta = (n: string, ns?: string) => ({ name: n, ...(ns ? { namespace: ns } : {}), labels: { ...labels } });
    const account = `prometheus-${name}`;
    this.renderRbac(meta, account, namespace);
    this.prometheus = this.renderPrometheus(props, meta(name, namespace), account, replicas, retention!, resources!);
    this.renderService(meta(account, namespace), selector, replicas);
    if (props.scrapeApiServer ?? true) this.renderApiServerMonitor(meta(`${account}-apiserver`, 'default'));
    if (props.createNamespace) renderNamespace(this, namespace);
    registerPrometheus(this, describe(this), this, props.namespaces);
    finishConstruct(this);
  }

  /** Least privilege: discovery of Services, Pods and EndpointSlices, /metrics of the apiserver, its own ConfigMaps. */
  private renderRbac(meta: (n: string, ns?: string) => k8s.ObjectMeta, account: string, namespace: string): void {
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(account, namespace), automountServiceAccountToken: true });
    new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: meta(account),
      rules: [
        { apiGroups: [''], resources: ['services', 'pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        { nonResourceUrLs: ['/metrics'], verbs: ['get'] },
      ],
    });
    new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: meta(account),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: account },
      subjects: [{ kind: 'ServiceAccount', name: account, namespace }],
    });
    new k8s.KubeRole(this, 'ConfigRole', {
      metadata: meta(`${account}-config`, namespace),
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
    });
    new k8s.KubeRoleBinding(this, 'ConfigRoleBinding', {
      metadata: meta(`${account}-config`, namespace),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: `${account}-config` },
      subjects: [{ kind: 'ServiceAccount', name: account, namespace }],
    });
  }

  /** The Prometheus's `storage`: a ReadWriteOnce claim of the size asked for, per replica. */
  private storageOf(storage: PrometheusStorage): PrometheusSpecStorage {
    return {
      volumeClaimTemplate: {
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(storage.storageClassName !== undefined ? { storageClassName: storage.storageClassName } : {}),
          resources: { requests: { storage: PrometheusSpecStorageVolumeClaimTemplateSpecResourcesRequests.fromString(amountText(storage.size)) } },
        },
      },
    };
  }

  private renderPrometheus(
    props: PrometheusInstanceProps, metadata: k8s.ObjectMeta, account: string, replicas: number, retention: string,
    resources: { cpu: { toString(): string }; memory: { toString(): string } },
  ): ApiObject {
    const version = props.version ?? 'v3.12.0';
    const namespaces = props.namespaces ? { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In',
      values: [...props.namespaces] }] } : {};
    return new Prometheus(this, 'Resource', {
      metadata,
      spec: {
        replicas,
        version,
        image: `quay.io/prometheus/prometheus:${version}`,
        retention,
        serviceAccountName: account,
        serviceDiscoveryRole: PrometheusSpecServiceDiscoveryRole.ENDPOINT_SLICE,
        // `{}` selects everything; a missing selector selects nothing.
        serviceMonitorSelector: { matchLabels: { ...this.serviceMonitorLabels } },
        serviceMonitorNamespaceSelector: namespaces,
        podMonitorSelector: { matchLabels: { ...this.serviceMonitorLabels } },
        podMonitorNamespaceSelector: namespaces,
        ruleSelector: { matchLabels: { ...this.ruleLabels } },
        ruleNamespaceSelector: namespaces,
        resources: {
          requests: { cpu: PrometheusSpecResourcesRequests.fromString(String(resources.cpu)),
            memory: PrometheusSpecResourcesRequests.fromString(String(resources.memory)) },
          limits: { cpu: PrometheusSpecResourcesLimits.fromString(String(resources.cpu)),
            memory: PrometheusSpecResourcesLimits.fromString(String(resources.memory)) },
        },
        securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 2000, fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        // a lone Prometheus on an emptyDir loses its samples when evicted (rates, and the HPAs on them, restart): it stays put when
        // cluster-autoscaler drains nodes
        podMetadata: { labels: { ...(metadata.labels ?? {}) }, ...(replicas === 1 && !props.storage ? { annotations: notEvictable() } : {}) },
        ...(props.storage ? { storage: this.storageOf(props.storage) } : {}),
        ...(props.alertmanager ? {
          alerting: {
            alertmanagers: [{
              apiVersion: PrometheusSpecAlertingAlertmanagersApiVersion.V2, namespace: props.alertmanager.namespace, name: props.alertmanager.name,
              port: PrometheusSpecAlertingAlertmanagersPort.fromString(props.alertmanager.port ?? 'web'),
            }],
          },
        } : {}),
      },
    });
  }

  private renderService(metadata: k8s.ObjectMeta, selector: Record<string, string>, replicas: number): void {
    new k8s.KubeService(this, 'Service', {
      metadata,
      spec: {
        ports: [{ name: 'web', port: 9090, targetPort: k8s.IntOrString.fromString('web'), protocol: 'TCP' }],
        selector,
        sessionAffinity: 'ClientIP',
      },
    });
    if (replicas > 1) {
      new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
        metadata,
        spec: { minAvailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: { ...selector } } },
      });
    }
  }

  /** The kube-apiserver's metrics (`job="apiserver"`): the SA token and the cluster CA, as kube-prometheus scrapes it. */
  private renderApiServerMonitor(metadata: k8s.ObjectMeta): void {
    new ServiceMonitor(this, 'ApiServerMonitor', {
      metadata: { ...metadata, labels: { ...metadata.labels, ...this.serviceMonitorLabels } },
      spec: {
        jobLabel: 'component',
        namespaceSelector: { matchNames: ['default'] },
        selector: { matchLabels: { component: 'apiserver', provider: 'kubernetes' } },
        endpoints: [{
          port: 'https', scheme: ServiceMonitorSpecEndpointsScheme.HTTPS, interval: '30s',
          bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
          tlsConfig: { caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', serverName: 'kubernetes' },
        }],
      },
    });
  }
}
