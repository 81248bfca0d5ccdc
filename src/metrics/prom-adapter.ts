import { createHash } from 'crypto';
import { ApiObject, Duration, Lazy, Yaml } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { claimApiService } from './api-services';
import { checkCreateNamespace, finishConstruct, renderNamespace } from '../core/app-checks';
import { ServiceMonitor, ServiceMonitorSpecEndpointsMetricRelabelingsAction,
  ServiceMonitorSpecEndpointsScheme } from '../imports/monitoring.coreos.com';
import { notEvictable, selectorLabels, standardLabels } from '../core/labels';
import { renderAggregatedMetricsReader, renderAuthDelegator, renderAuthReader } from './metrics-api-rbac';
import { assertDnsLabel, assertDnsSubdomain, assertInteger, describe } from '../core/assertions';
import { checkPodSettings, PodSettings, withContainerSettings, withPodSettings } from '../core/pod-settings';
import { enforceRequestsEqualLimits } from '../policy/requests-equal-limits';
import { Problems } from '../core/problems';
import { IPrometheus } from '../core/prometheus-selection';
import { fillTemplate, promqlSyntaxError, templateFields } from '../core/promql';
import { guaranteedResources, ResourceAmounts } from '../core/resources';
import { goDuration, httpProbe, imageRef, mergeArgs, restrictedSecurityContext } from '../core/pod-spec';

/** Which metrics API of prometheus-adapter serves a metric. */
export enum MetricsApi {
  /** `custom.metrics.k8s.io`: per-pod and per-object metrics (HPA `Pods` and `Object`). */
  CUSTOM = 'custom.metrics.k8s.io',
  /** `external.metrics.k8s.io`: metrics of things outside the cluster's objects (HPA `External`). */
  EXTERNAL = 'external.metrics.k8s.io',
}

/**
 * A metric served by a {@link PromAdapter}. Returned by the adapter's `add*`
 * methods and handed to HPAs, so the HPA and the adapter can never disagree
 * on a metric's name.
 */
export class AdapterMetric {
  /**
   * A metric served by an adapter outside this app (another installation
   * that you manage). The synth then cannot check that the metric exists:
   * use it only when the serving side really is elsewhere.
   */
  public static servedElsewhere(api: MetricsApi, metricName: string, resources: string[] = api === MetricsApi.CUSTOM ? ['namespace',
    'pod'] : []): AdapterMetric {
    if (!METRIC_NAME.test(metricName)) {
      throw new Error(`AdapterMetric.servedElsewhere: "${metricName}" is not a metric name`);
    }
    return new AdapterMetric(undefined, api, metricName, resources);
  }

  /** @internal */
  constructor(
    /** The adapter that serves the metric; `undefined` when served elsewhere. */
    public readonly adapter: PromAdapter | undefined,
    /** The metrics API that serves it. */
    public readonly api: MetricsApi,
    /** The name HPAs ask for. */
    public readonly metricName: string,
    /** For custom metrics, the Kubernetes resources (e.g. `pod`, `service`) the metric is reported for. */
    public readonly resources: readonly string[],
    /**
     * The series selector the adapter's rule discovers (what an alert on the metric's absence reads).
     * @default - unknown (served elsewhere)
     */
    public readonly seriesQuery?: string,
  ) {}
}

/** A seriesFilters entry: keep (`is`) or drop (`isNot`) series whose name matches the regex. */
export interface SeriesFilter {
  /**
   * Keep only series whose name matches this regex.
   * @default - no such filter
   */
  readonly is?: string;
  /**
   * Drop series whose name matches this regex.
   * @default - no such filter
   */
  readonly isNot?: string;
}

/** Associates a Prometheus label with a Kubernetes resource. */
export interface ResourceOverride {
  /**
   * API group of the resource (`apps` for deployments).
   * @default "" (the core group)
   */
  readonly group?: string;
  /** The resource, e.g. `pod`, `namespace`, `service`, `deployment`. */
  readonly resource: string;
}

/**
 * A custom (per-pod or per-object) metric rule.
 */
export interface CustomMetricRuleProps {
  /**
   * The metric name HPAs use (`http_requests_per_second`). Rendered as the
   * rule's `name.as`.
   */
  readonly metricName: string;

  /**
   * Series selector the adapter lists to discover series, e.g.
   * `http_requests_total{namespace!="",pod!=""}`.
   */
  readonly seriesQuery: string;

  /**
   * Filters on discovered series names.
   * @default - none
   */
  readonly seriesFilters?: SeriesFilter[];

  /**
   * Regex on the discovered series names (`name.matches`).
   * @default - `^<name>$` when seriesQuery starts with a metric name, else `^(.*)$`
   */
  readonly seriesNameMatches?: string;

  /**
   * Maps Prometheus labels to the Kubernetes resources the metric is reported for.
   * @default { namespace: { resource: "namespace" }, pod: { resource: "pod" } }
   */
  readonly resourceOverrides?: Record<string, ResourceOverride>;

  /**
   * Go template mapping group/resource to label names, e.g. `kube_<<.Group>>_<<.Resource>>`.
   * @default - overrides only
   */
  readonly resourceTemplate?: string;

  /**
   * The PromQL the adapter runs, a Go template with `<<` `>>` delimiters
   * using `<<.Series>>`, `<<.LabelMatchers>>` and `<<.GroupBy>>`, e.g.
   * `sum by (<<.GroupBy>>) (rate(<<.Series>>{<<.LabelMatchers>>}[2m]))`.
   */
  readonly metricsQuery: string;
}

/**
 * The common "per-second rate of a counter, per pod" rule.
 */
export interface CounterRateRuleProps {
  /** The counter, e.g. `http_requests_total`. */
  readonly counter: string;
  /**
   * The metric name HPAs use.
   * @default - the counter name with `_total` replaced by `_per_second`
   */
  readonly metricName?: string;
  /**
   * The rate window. Make it at least four scrape intervals.
   * @default Duration.minutes(2)
   */
  readonly window?: Duration;
  /**
   * Extra label matchers on the counter, e.g. `job="sample-app"`.
   * @default - none
   */
  readonly labelMatchers?: string;
}

/**
 * An external metric rule.
 */
export interface ExternalMetricRuleProps {
  /** The metric name HPAs use. Rendered as the rule's `name.as`. */
  readonly metricName: string;
  /** Series selector the adapter lists to discover series. */
  readonly seriesQuery: string;
  /**
   * Filters on discovered series names.
   * @default - none
   */
  readonly seriesFilters?: SeriesFilter[];
  /**
   * Regex on the discovered series names (`name.matches`).
   * @default - `^<name>$` when seriesQuery starts with a metric name, else `^(.*)$`
   */
  readonly seriesNameMatches?: string;
  /**
   * The PromQL the adapter runs (a Go template, see {@link CustomMetricRuleProps.metricsQuery}).
   */
  readonly metricsQuery: string;
  /**
   * When true, the adapter adds the HPA's namespace as a label matcher
   * (`namespace` label); when false (`resources.namespaced: false`), the
   * metric is cluster-wide and any namespace's HPA may read it.
   * @default false
   */
  readonly namespaced?: boolean;
}

/** Queries for one resource (cpu or memory) of the resource metrics API. */
export interface ResourceQueries {
  /** Query for per-container usage, grouped by `<<.GroupBy>>`. */
  readonly containerQuery: string;
  /** Query for per-node usage, grouped by `<<.GroupBy>>`. */
  readonly nodeQuery: string;
}

/** Resource metrics (`metrics.k8s.io`) served from Prometheus, replacing metrics-server. */
export interface ResourceMetricsProps {
  /**
   * CPU queries (cores).
   * @default - cAdvisor `container_cpu_usage_seconds_total` and kubelet `node_cpu_usage_seconds_total` rates over 4m
   */
  readonly cpu?: ResourceQueries;
  /**
   * Memory queries (bytes).
   * @default - cAdvisor `container_memory_working_set_bytes` and kubelet `node_memory_working_set_bytes`
   */
  readonly memory?: ResourceQueries;
  /**
   * The window reported with the metrics; match the rate window of the queries.
   * @default Duration.minutes(5)
   */
  readonly window?: Duration;
}

/** A serving certificate for the adapter, from a Secret. */
export interface AdapterTls {
  /**
   * A `kubernetes.io/tls` Secret in the adapter's namespace with `tls.crt`
   * and `tls.key`, valid for `<service>.<namespace>.svc`.
   */
  readonly secretName: string;
  /**
   * The CA certificate that signed the serving certificate, PEM or base64 of
   * PEM; set as the APIServices' `caBundle`. Never a private key.
   */
  readonly caBundle: string;
}

/**
 * Props of {@link PromAdapter}.
 */
export interface PromAdapterProps extends PodSettings {
  /**
   * URL of the Prometheus HTTP API, e.g. `http://prometheus-k8s.monitoring.svc:9090/`. Give this or `prometheus`.
   * @default - the URL of `prometheus`
   */
  readonly prometheusUrl?: string;
  /**
   * The Prometheus to read: a PrometheusInstance of the app, or `PrometheusInstance.external(...)`; the URL is derived from it.
   * @default - `prometheusUrl`
   */
  readonly prometheus?: IPrometheus;
  /**
   * Namespace of the adapter.
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
   * Name of the Deployment, Service, ServiceAccount and cluster RBAC objects.
   * @default "prometheus-adapter"
   */
  readonly name?: string;
  /**
   * prometheus-adapter release, the image tag.
   * @default "v0.12.0"
   */
  readonly version?: string;
  /**
   * Registry to pull from instead of registry.k8s.io (a mirror).
   * @default "registry.k8s.io"
   */
  readonly imageRegistry?: string;
  /**
   * Full image reference; overrides `imageRegistry` and `version`.
   * @default - `<imageRegistry>/prometheus-adapter/prometheus-adapter:<version>`
   */
  readonly image?: string;
  /**
   * Number of replicas. With more than one, a PodDisruptionBudget (minAvailable 1)
   * and soft anti-affinity across nodes are rendered.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * How often the adapter re-lists series from Prometheus. Keep it at least
   * the Prometheus scrape interval.
   * @default Duration.minutes(1)
   */
  readonly metricsRelistInterval?: Duration;
  /**
   * cpu and memory of the container, rendered as requests == limits.
   * @default { cpu: "250m", memory: "180Mi" } (kube-prometheus's limits)
   */
  readonly resources?: ResourceAmounts;
  /**
   * Serving certificate from a Secret, with the CA set as the APIServices'
   * caBundle.
   * @default - a self-signed certificate in --cert-dir and `insecureSkipTLSVerify` on the APIServices, as every upstream manifest set does
   */
  readonly tls?: AdapterTls;
  /**
   * Render a ServiceMonitor so Prometheus scrapes the adapter.
   * @default true
   */
  readonly serviceMonitor?: boolean;
  /**
   * Labels the cluster's Prometheus selects ServiceMonitors by, e.g. `{ release: "prometheus" }`.
   * @default - none
   */
  readonly serviceMonitorLabels?: Record<string, string>;
  /**
   * PriorityClass of the pods.
   * @default - none
   */
  readonly priorityClassName?: string;
  /**
   * Extra command-line flags (`--prometheus-auth-config=...`). Flags the construct sets are refused.
   * @default - none
   */
  readonly args?: string[];
}

const CIPHERS = [
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305', 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
  'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_RSA_WITH_AES_256_GCM_SHA384', 'TLS_RSA_WITH_AES_128_CBC_SHA', 'TLS_RSA_WITH_AES_256_CBC_SHA',
];

const DEFAULT_RESOURCE_RULES = {
  cpu: {
    containerQuery: 'sum by (<<.GroupBy>>) (irate(container_cpu_usage_seconds_total{<<.LabelMatchers>>,container!="",pod!=""}[4m]))',
    nodeQuery: 'sum by (<<.GroupBy>>) (irate(node_cpu_usage_seconds_total{<<.LabelMatchers>>}[4m]))',
  },
  memory: {
    containerQuery: 'sum by (<<.GroupBy>>) (container_memory_working_set_bytes{<<.LabelMatchers>>,container!="",pod!=""})',
    nodeQuery: 'sum by (<<.GroupBy>>) (node_memory_working_set_bytes{<<.LabelMatchers>>})',
  },
};

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const HPA_CONTROLLER = { kind: 'ServiceAccount', name: 'horizontal-pod-autoscaler', namespace: 'kube-system' };
/** Names HPAs may ask for (a path segment of the metrics APIs). */
const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_:.-]*$/;
/** Prometheus metric names. */
const PROM_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SERVING_CERT_DIR = '/var/run/serving-cert';
const HTTPS_PORT = 6443;

/** The props after checking, with their defaults. */
interface AdapterSettings {
  readonly prometheusUrl: string;
  readonly replicas: number;
  readonly caBundle?: string;
  readonly args: string[];
  readonly resources: k8s.ResourceRequirements;
  readonly version: string;
}

/** A rendered discovery rule of the adapter's config. */
interface DiscoveryRule {
  seriesQuery: string;
  seriesFilters?: SeriesFilter[];
  resources: { overrides?: Record<string, ResourceOverride>; template?: string; namespaced?: boolean };
  name: { matches: string; as: string };
  metricsQuery: string;
}

/**
 * prometheus-adapter serving custom, external and (optionally) resource
 * metrics computed from Prometheus.
 *
 * Rules are added with `addCustomMetric`, `addCounterRate`,
 * `addExternalMetric` and `enableResourceMetrics`; each returns a handle an
 * HPA uses. Every metricsQuery must parse as PromQL. APIServices and RBAC are
 * rendered only for the APIs that have rules.
 */
export class PromAdapter extends Construct {
  /** Namespace of the adapter. */
  public readonly namespace: string;
  /** Name of the Deployment, Service and ServiceAccount. */
  public readonly name: string;
  /** The Deployment. */
  public readonly deployment: ApiObject;
  /** The Service the APIServices point at. */
  public readonly service: ApiObject;
  /** The config ConfigMap. */
  public readonly configMap: ApiObject;
  /** The URL of the Prometheus HTTP API the adapter queries. */
  public readonly prometheusUrl: string;

  private readonly where: string;
  private readonly labels: Record<string, string>;
  private readonly rules: DiscoveryRule[] = [];
  private readonly externalRules: DiscoveryRule[] = [];
  private resourceRules?: object;
  private readonly metrics = new Map<string, AdapterMetric>();
  private readonly apisServed = new Set<string>();
  private readonly caBundle?: string;

  constructor(scope: Construct, id: string, props: PromAdapterProps) {
    super(scope, id);
    const where = this.where = describe(this);
    this.namespace = props.namespace ?? 'monitoring';
    this.name = props.name ?? 'prometheus-adapter';
    const s = this.checkProps(props, new Problems(where));
    this.prometheusUrl = s.prometheusUrl;
    this.caBundle = s.caBundle;
    this.labels = standardLabels(this.name, 'metrics-adapter', s.version.replace(/^v/, ''));
    const selector = selectorLabels(this.name, 'metrics-adapter');
    const meta = (name: string, namespace?: string) => ({ name, ...(namespace ? { namespace } : {}), labels: { ...this.labels } });
    this.renderRbac(meta);
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: meta('adapter-config', this.namespace),
      data: { 'config.yaml': Lazy.any({ produce: () => this.renderConfig() }) as any },
    });
    this.deployment = this.renderDeployment(props, s, meta(this.name, this.namespace), selector);
    this.service = this.renderService(meta, selector, s.replicas);
    if (props.serviceMonitor ?? true) this.renderServiceMonitor(props.serviceMonitorLabels, selector);
    this.node.addValidation({
      validate: () => this.apisServed.size ? [] : [
        `${where}: the adapter has no rules, so it serves no metrics API; add a rule (addCustomMetric, addCounterRate, addExternalMetric or `
          + `enableResourceMetrics) or remove the adapter`,
      ],
    });
    if (props.createNamespace) renderNamespace(this, this.namespace);
    enforceRequestsEqualLimits(this);
    finishConstruct(this);
  }

  /** Checks every prop (all problems in one error) and fills in the defaults. */
  private checkProps(props: PromAdapterProps, problems: Problems): AdapterSettings {
    const where = problems.where;
    problems.check(() => assertDnsLabel(this.namespace, where, 'namespace'));
    problems.check(() => assertDnsLabel(this.name, where, 'name'));
    const prometheusUrl = props.prometheus?.url ?? props.prometheusUrl;
    if (props.prometheus && props.prometheusUrl !== undefined) {
      problems.add('set prometheus or prometheusUrl, not both: the URL of prometheus is derived from it');
    } else if (prometheusUrl === undefined) {
      problems.add('prometheus (a PrometheusInstance) or prometheusUrl is required: the Prometheus the adapter queries');
    } else {
      problems.check(() => checkPrometheusUrl(prometheusUrl, where));
    }
    const replicas = props.replicas ?? 2;
    problems.check(() => assertInteger(replicas, where, 'replicas', 1));
    const relist = props.metricsRelistInterval ?? Duration.minutes(1);
    if (relist.toMilliseconds() < 1000) problems.add('metricsRelistInterval must be at least 1s (and at least the Prometheus scrape interval)');
    if (props.priorityClassName) problems.check(() => assertDnsSubdomain(props.priorityClassName!, where, 'priorityClassName'));
    let caBundle: string | undefined;
    if (props.tls) {
      problems.check(() => assertDnsSubdomain(props.tls!.secretName, where, 'tls.secretName'));
      caBundle = problems.check(() => caBundleOf(props.tls!.caBundle, where));
    }
    checkPodSettings(props, {
      labels: standardLabels(this.name, 'metrics-adapter', (props.version ?? 'v0.12.0').replace(/^v/, '')),
      volumes: ['tmpfs', 'volume-serving-cert', 'config'], mountPaths: ['/tmp', SERVING_CERT_DIR, '/etc/adapter'],
      containers: ['prometheus-adapter'], topologySpread: false, serviceAccount: true,
    }, problems);
    const tlsArgs = props.tls
      ? [`--tls-cert-file=${SERVING_CERT_DIR}/tls.crt`, `--tls-private-key-file=${SERVING_CERT_DIR}/tls.key`]
      : [`--cert-dir=${SERVING_CERT_DIR}`];
    const args = problems.check(() => mergeArgs([
      ...tlsArgs,
      '--config=/etc/adapter/config.yaml',
      `--metrics-relist-interval=${goDuration(relist, where, 'metricsRelistInterval')}`,
      `--prometheus-url=${prometheusUrl}`,
      `--secure-port=${HTTPS_PORT}`,
      `--tls-cipher-suites=${CIPHERS.join(',')}`,
    ], props.args, where));
    const resources = problems.check(() => guaranteedResources(props.resources ?? { cpu: '250m', memory: '180Mi' }, where));
    checkCreateNamespace(props.createNamespace, props.namespace ?? 'monitoring', problems);
    problems.throwIfAny();
    return { prometheusUrl: prometheusUrl!, replicas, caBundle, args: args!, resources: resources!, version: props.version ?? 'v0.12.0' };
  }

  private renderRbac(meta: (name: string, namespace?: string) => k8s.ObjectMeta): void {
    const sa = { name: this.name, namespace: this.namespace };
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(this.name, this.namespace), automountServiceAccountToken: false });
    new k8s.KubeClusterRole(this, 'ResourceReader', {
      metadata: meta(this.name),
      rules: [{ apiGroups: [''], resources: ['namespaces', 'nodes', 'pods', 'services'], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeClusterRoleBinding(this, 'ResourceReaderBinding', {
      metadata: meta(this.name),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: this.name },
      subjects: [{ kind: 'ServiceAccount', ...sa }],
    });
    renderAuthDelegator(this, sa, this.labels);
    renderAuthReader(this, sa, this.labels);
  }

  /** L1, as upstream's prometheus-adapter manifests (CONTRIBUTING: which workloads are cdk8s-plus). */
  private renderDeployment(props: PromAdapterProps, s: AdapterSettings, metadata: k8s.ObjectMeta, selector: Record<string, string>): ApiObject {
    const container = withContainerSettings({
      name: 'prometheus-adapter',
      image: imageRef('registry.k8s.io', 'prometheus-adapter/prometheus-adapter', s.version, props.imageRegistry, props.image),
      args: s.args,
      ports: [{ containerPort: HTTPS_PORT, name: 'https', protocol: 'TCP' }],
      startupProbe: httpProbe('/livez', 'https', { periodSeconds: 10, failureThreshold: 18 }),
      readinessProbe: httpProbe('/readyz', 'https', { periodSeconds: 5, failureThreshold: 5 }),
      livenessProbe: httpProbe('/livez', 'https', { periodSeconds: 5, failureThreshold: 5 }),
      resources: s.resources,
      securityContext: restrictedSecurityContext(),
      terminationMessagePolicy: 'FallbackToLogsOnError',
      volumeMounts: [
        { name: 'tmpfs', mountPath: '/tmp' },
        { name: 'volume-serving-cert', mountPath: SERVING_CERT_DIR, readOnly: !!props.tls },
        { name: 'config', mountPath: '/etc/adapter', readOnly: true },
      ],
    }, props);
    const antiAffinity = {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: selector },
          topologyKey: 'kubernetes.io/hostname' } }],
      },
    };
    return new k8s.KubeDeployment(this, 'Deployment', {
      metadata,
      spec: {
        replicas: s.replicas,
        selector: { matchLabels: selector },
        strategy: { rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(s.replicas > 1 ? 1 : 0) } },
        template: withPodSettings({
          metadata: {
            labels: { ...this.labels },
            annotations: {
              'checksum/config': Lazy.any({ produce: () => sha256(this.renderConfig()) }) as any,
              // a lone adapter stays put when cluster-autoscaler drains nodes (replicas have a PodDisruptionBudget instead)
              ...(s.replicas > 1 ? {} : notEvictable()),
            },
          },
          spec: {
            automountServiceAccountToken: true,
            ...(s.replicas > 1 ? { affinity: antiAffinity } : {}),
            containers: [container],
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            ...(props.priorityClassName ? { priorityClassName: props.priorityClassName } : {}),
            serviceAccountName: this.name,
            volumes: [
              { name: 'tmpfs', emptyDir: {} },
              props.tls
                ? { name: 'volume-serving-cert', secret: { secretName: props.tls.secretName, items: [{ key: 'tls.crt', path: 'tls.crt' },
                  { key: 'tls.key', path: 'tls.key' }] } }
                : { name: 'volume-serving-cert', emptyDir: {} },
              { name: 'config', configMap: { name: 'adapter-config' } },
            ],
          },
        }, props),
      },
    });
  }

  /** The Service, the PodDisruptionBudget when replicated, and the NetworkPolicy. */
  private renderService(meta: (name: string, namespace?: string) => k8s.ObjectMeta, selector: Record<string, string>, replicas: number): ApiObject {
    const service = new k8s.KubeService(this, 'Service', {
      metadata: meta(this.name, this.namespace),
      spec: {
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: k8s.IntOrString.fromString('https') }],
        selector,
      },
    });
    if (replicas > 1) {
      new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
        metadata: meta(this.name, this.namespace),
        spec: { minAvailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
      });
    }
    // The aggregated API server's calls come from the control plane, which no
    // pod selector can name: admit the serving port from anywhere, nothing else.
    new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: meta(this.name, this.namespace),
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ port: k8s.IntOrString.fromNumber(HTTPS_PORT), protocol: 'TCP' }] }],
      },
    });
    return service;
  }

  private renderServiceMonitor(extraLabels: Record<string, string> | undefined, selector: Record<string, string>): void {
    new ServiceMonitor(this, 'ServiceMonitor', {
      metadata: { name: this.name, namespace: this.namespace, labels: { ...this.labels, ...(extraLabels ?? {}) } },
      spec: {
        endpoints: [{
          port: 'https',
          scheme: ServiceMonitorSpecEndpointsScheme.HTTPS,
          interval: '30s',
          bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
          tlsConfig: { insecureSkipVerify: true },
          metricRelabelings: [{
            action: ServiceMonitorSpecEndpointsMetricRelabelingsAction.DROP,
            sourceLabels: ['__name__'],
            regex: '(apiserver_client_certificate_.*|apiserver_envelope_.*|apiserver_flowcontrol_.*|apiserver_storage_.*'
              + '|apiserver_webhooks_.*|workqueue_.*)',
          }],
        }],
        selector: { matchLabels: selector },
      },
    });
  }

  /** The metrics this adapter serves, by API and name. */
  public get servedMetrics(): AdapterMetric[] {
    return [...this.metrics.values()];
  }

  /**
   * Adds a custom (per-pod or per-object) metric rule.
   */
  public addCustomMetric(props: CustomMetricRuleProps): AdapterMetric {
    const overrides = props.resourceOverrides ?? { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } };
    const rule = this.discoveryRule(props, 'custom', {
      ...(Object.keys(overrides).length ? { overrides: sortedOverrides(overrides) } : {}),
      ...(props.resourceTemplate ? { template: props.resourceTemplate } : {}),
    });
    const fields = templateFields(props.metricsQuery);
    for (const needed of ['.LabelMatchers', '.GroupBy']) {
      if (!fields.includes(needed)) {
        throw new Error(`${this.where}: custom metric "${props.metricName}": metricsQuery must use <<${needed}>>; without it the adapter cannot `
          + `select and group the series of the objects an HPA asks about (e.g. "sum by (<<.GroupBy>>) `
            + `(rate(<<.Series>>{<<.LabelMatchers>>}[2m]))")`);
      }
    }
    if (!Object.keys(overrides).length && !props.resourceTemplate) {
      throw new Error(`${this.where}: custom metric "${props.metricName}": set resourceOverrides or resourceTemplate so the adapter knows which `
        + `objects the series describe`);
    }
    this.rules.push(rule);
    this.serve(MetricsApi.CUSTOM);
    return this.register(new AdapterMetric(this, MetricsApi.CUSTOM, props.metricName, Object.values(overrides).map(o => o.resource),
      props.seriesQuery));
  }

  /**
   * Adds the common "per-second rate of a counter, per pod" custom metric.
   */
  public addCounterRate(props: CounterRateRuleProps): AdapterMetric {
    if (!PROM_METRIC_NAME.test(props.counter)) {
      throw new Error(`${this.where}: counter "${props.counter}" is not a Prometheus metric name`);
    }
    const metricName = props.metricName ?? `${props.counter.replace(/_total$/, '')}_per_second`;
    const window = goDuration(props.window ?? Duration.minutes(2), this.where, `counter rate "${metricName}" window`);
    const extra = props.labelMatchers ? `,${props.labelMatchers}` : '';
    return this.addCustomMetric({
      metricName,
      seriesQuery: `${props.counter}{namespace!="",pod!=""${extra}}`,
      metricsQuery: `sum by (<<.GroupBy>>) (rate(<<.Series>>{<<.LabelMatchers>>${extra}}[${window}]))`,
    });
  }

  /**
   * Adds an external metric rule.
   */
  public addExternalMetric(props: ExternalMetricRuleProps): AdapterMetric {
    const rule = this.discoveryRule(props, 'external', props.namespaced
      ? { overrides: { namespace: { resource: 'namespace' } } }
      : { namespaced: false });
    this.externalRules.push(rule);
    this.serve(MetricsApi.EXTERNAL);
    return this.register(new AdapterMetric(this, MetricsApi.EXTERNAL, props.metricName, props.namespaced ? ['namespace'] : [], props.seriesQuery));
  }

  /**
   * Serves the resource metrics API (`metrics.k8s.io`: cpu and memory of pods
   * and nodes, for `kubectl top` and Resource HPA metrics) from Prometheus,
   * replacing metrics-server. An app must not also contain a MetricsServer.
   */
  public enableResourceMetrics(props: ResourceMetricsProps = {}): void {
    if (this.resourceRules) {
      throw new Error(`${this.where}: enableResourceMetrics was already called; call it once`);
    }
    const overrides = { namespace: { resource: 'namespace' }, node: { resource: 'node' }, pod: { resource: 'pod' } };
    const rule = (resource: 'cpu' | 'memory', q: ResourceQueries) => {
      for (const [field, query] of [['containerQuery', q.containerQuery], ['nodeQuery', q.nodeQuery]] as const) {
        this.checkQuery(`resource metric ${resource}`, field, query, true);
      }
      return { containerLabel: 'container', containerQuery: q.containerQuery, nodeQuery: q.nodeQuery, resources: { overrides } };
    };
    this.resourceRules = {
      cpu: rule('cpu', props.cpu ?? DEFAULT_RESOURCE_RULES.cpu),
      memory: rule('memory', props.memory ?? DEFAULT_RESOURCE_RULES.memory),
      window: goDuration(props.window ?? Duration.minutes(5), this.where, 'resource metrics window'),
    };
    this.serve('metrics.k8s.io');
  }

  private discoveryRule(props: CustomMetricRuleProps | ExternalMetricRuleProps, kind: string, resources: DiscoveryRule['resources']): DiscoveryRule {
    const label = `${kind} metric "${props.metricName}"`;
    if (!METRIC_NAME.test(props.metricName ?? '')) {
      throw new Error(`${this.where}: ${label}: metricName must be a metric name (letters, digits, '_', ':', '.', '-'; not starting with a digit)`);
    }
    const api = kind === 'custom' ? MetricsApi.CUSTOM : MetricsApi.EXTERNAL;
    if (this.metrics.has(`${api}/${props.metricName}`)) {
      throw new Error(`${this.where}: ${label} is defined twice; each metric name needs exactly one rule (the adapter runs every rule `
        + `independently)`);
    }
    const seriesError = promqlSyntaxError(props.seriesQuery ?? '');
    if (seriesError) {
      throw new Error(`${this.where}: ${label}: seriesQuery is not a valid PromQL series selector: ${seriesError}`);
    }
    this.checkQuery(label, 'metricsQuery', props.metricsQuery, false);
    for (const f of props.seriesFilters ?? []) {
      if ((f.is === undefined) === (f.isNot === undefined)) {
        throw new Error(`${this.where}: ${label}: each seriesFilters entry sets exactly one of is / isNot`);
      }
      checkRegex(f.is ?? f.isNot!, `${this.where}: ${label}: seriesFilters`);
    }
    const leadingName = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(props.seriesQuery)?.[1];
    const matches = props.seriesNameMatches ?? (leadingName ? `^${leadingName}$` : '^(.*)$');
    checkRegex(matches, `${this.where}: ${label}: seriesNameMatches`);
    return {
      seriesQuery: props.seriesQuery,
      ...(props.seriesFilters?.length
        ? { seriesFilters: props.seriesFilters.map(f => (f.is !== undefined ? { is: f.is } : { isNot: f.isNot })) }
        : {}),
      resources,
      name: { matches, as: props.metricName },
      metricsQuery: props.metricsQuery,
    };
  }

  private checkQuery(label: string, field: string, query: string, needsGroupBy: boolean): void {
    let filled: string;
    try {
      filled = fillTemplate(query ?? '');
    } catch (e) {
      throw new Error(`${this.where}: ${label}: ${field}: ${(e as Error).message}`);
    }
    const error = promqlSyntaxError(filled);
    if (error) {
      throw new Error(`${this.where}: ${label}: ${field} is not valid PromQL once its template is filled ("${filled}"): ${error}`);
    }
    if (needsGroupBy && !templateFields(query).includes('.GroupBy')) {
      throw new Error(`${this.where}: ${label}: ${field} must group by (<<.GroupBy>>)`);
    }
  }

  private register(metric: AdapterMetric): AdapterMetric {
    this.metrics.set(`${metric.api}/${metric.metricName}`, metric);
    return metric;
  }

  /** The metric names this adapter serves on `group`: its rules' names, or cpu and memory for resource metrics. */
  private namesServed(group: string): string[] {
    if (group === 'metrics.k8s.io') return ['cpu', 'memory'];
    return [...this.metrics.values()].filter(m => m.api === group).map(m => m.metricName);
  }

  /** Renders the APIService(s) and RBAC of an API the first time a rule needs it. */
  private serve(group: string): void {
    if (this.apisServed.has(group)) return;
    this.apisServed.add(group);
    const short = group.split('.')[0]; // custom | external | metrics
    const kind = short === 'metrics' ? 'resource' : short;
    const versions = group === MetricsApi.CUSTOM ? [['v1beta1', 100], ['v1beta2', 200]] as const : [['v1beta1', 100]] as const;
    for (const [version, versionPriority] of versions) {
      const name = `${version}.${group}`;
      new k8s.KubeApiService(this, `APIService-${name}`, {
        metadata: { name, labels: { ...this.labels } },
        spec: {
          group,
          groupPriorityMinimum: 100,
          ...(this.caBundle ? { caBundle: this.caBundle } : { insecureSkipTlsVerify: true }),
          service: { name: this.name, namespace: this.namespace, port: 443 },
          version,
          versionPriority,
        },
      });
      claimApiService(this, name, () => this.namesServed(group));
    }
    // Read access to the API, for the HPA controller (least privilege: read verbs only).
    const role = `${kind}-metrics-server-resources`;
    new k8s.KubeClusterRole(this, `${kind}-reader`, {
      metadata: { name: role, labels: { ...this.labels } },
      rules: [{ apiGroups: [group], resources: ['*'], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeClusterRoleBinding(this, `${kind}-hpa-binding`, {
      metadata: { name: `hpa-controller-${kind}-metrics`, labels: { ...this.labels } },
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role },
      subjects: [HPA_CONTROLLER],
    });
    if (kind === 'resource') renderAggregatedMetricsReader(this, 'AggregatedMetricsReader', this.labels);
    finishConstruct(this);
  }

  /** The adapter's config file, rendered deterministically. */
  private renderConfig(): string {
    const config: Record<string, unknown> = {};
    if (this.rules.length) config.rules = this.rules;
    if (this.externalRules.length) config.externalRules = this.externalRules;
    if (this.resourceRules) config.resourceRules = this.resourceRules;
    return Yaml.stringify(config);
  }
}

function sortedOverrides(o: Record<string, ResourceOverride>): Record<string, ResourceOverride> {
  return Object.fromEntries(Object.keys(o).sort().map(k => [k, o[k].group ? { group: o[k].group!,
    resource: o[k].resource } : { resource: o[k].resource }]));
}

function checkRegex(re: string, where: string): void {
  try {
    new RegExp(re);
  } catch (e) {
    throw new Error(`${where}: invalid regular expression "${re}": ${(e as Error).message}`);
  }
}

function checkPrometheusUrl(url: string, where: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${where}: prometheusUrl "${url}" is not a URL; use e.g. "http://prometheus-k8s.monitoring.svc:9090/"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`${where}: prometheusUrl "${url}" must use http or https`);
  }
}

function caBundleOf(value: string, where: string): string {
  const pem = value.trim().startsWith('-----BEGIN') ? value : Buffer.from(value, 'base64').toString('utf8');
  if (/PRIVATE KEY/.test(pem)) {
    throw new Error(`${where}: tls.caBundle contains a private key; pass only the CA certificate (the key belongs in the Secret named by `
      + `tls.secretName, never in the YAML)`);
  }
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(pem)) {
    throw new Error(`${where}: tls.caBundle must be a PEM CA certificate ("-----BEGIN CERTIFICATE-----"), or its base64`);
  }
  return Buffer.from(pem, 'utf8').toString('base64');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
