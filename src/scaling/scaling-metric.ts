import { k8s } from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';
import { DNS_LABEL_RULE, isDnsLabel, isDnsSubdomain } from '../core/assertions';
import { AdapterMetric, MetricsApi } from '../metrics/prom-adapter';
import { parseQuantity } from '../core/quantity';

/** A resource that metrics-server (and the adapter's resource rules) serve. */
export enum ResourceName {
  /** cpu, in cores. */
  CPU = 'cpu',
  /** memory, in bytes. */
  MEMORY = 'memory',
}

/** A Resource or ContainerResource target: exactly one of the two. */
export interface ResourceTarget {
  /**
   * Target average use, percent of the request (needs a request for the
   * resource on the containers the metric reads).
   * @default - not set
   */
  readonly averageUtilization?: number;
  /**
   * Target average use per pod, as a quantity (`"500m"`, `"400Mi"`); needs no request.
   * @default - not set
   */
  readonly averageValue?: string;
}

/** A metric target: exactly one of value or averageValue, as a quantity. */
export interface QuantityTarget {
  /**
   * Target for the metric's total value (divided across ready pods by the controller).
   * @default - not set
   */
  readonly value?: string;
  /**
   * Target value per pod (the metric's total divided by current replicas).
   * @default - not set
   */
  readonly averageValue?: string;
}

/** What a metric's target is compared with (autoscaling/v2 `target.type`). */
export enum MetricTargetType {
  /** Percent of the pods' requests (Resource and ContainerResource metrics). */
  UTILIZATION = 'Utilization',
  /** The metric's total divided by the current replicas. */
  AVERAGE_VALUE = 'AverageValue',
  /** The metric's total (Object and External metrics). */
  VALUE = 'Value',
}

/** The object an Object metric describes. */
export interface DescribedObject {
  /** API version, e.g. `v1` or `networking.k8s.io/v1`. */
  readonly apiVersion: string;
  /** Kind, e.g. `Service`, `Ingress`. */
  readonly kind: string;
  /** Name, in the HPA's namespace. */
  readonly name: string;
}

/** The metric source types of autoscaling/v2. */
export enum MetricSourceType {
  /** cpu or memory of the whole pod, from metrics.k8s.io. */
  RESOURCE = 'Resource',
  /** cpu or memory of one container, from metrics.k8s.io. */
  CONTAINER_RESOURCE = 'ContainerResource',
  /** A per-pod metric from custom.metrics.k8s.io. */
  PODS = 'Pods',
  /** A metric of one object from custom.metrics.k8s.io. */
  OBJECT = 'Object',
  /** A metric from external.metrics.k8s.io. */
  EXTERNAL = 'External',
}

/**
 * What one metric type knows about itself: how it renders, what is wrong
 * with its props, and what is wrong with the pod template it reads.
 */
interface MetricKind {
  readonly type: MetricSourceType;
  /** The adapter metric it reads, for Pods, Object and External metrics. */
  readonly adapterMetric?: AdapterMetric;
  /** How messages name it: `Pods metric "rps"`. */
  readonly description: string;
  render(): k8s.MetricSpecV2;
  /** Problems of the metric's own props; `subject` prefixes each. */
  problems(scope: IConstruct, subject: string): string[];
  /** Problems of the target's pod spec (rendered JSON) for this metric. */
  podProblems(pod: any, subject: string): string[];
}

/**
 * One metric of an HPA. Each factory renders its own autoscaling/v2 metric
 * spec and checks its own props; the custom and external ones take a
 * PromAdapter handle (or {@link AdapterMetric.servedElsewhere}) so the HPA
 * and the adapter's rule can never disagree on a name.
 */
export class ScalingMetric {
  /**
   * cpu or memory of the whole pod, from metrics-server (`type: Resource`).
   * A Utilization target needs a request for the resource on every container,
   * sidecars included; the HPA reports `<unknown>` otherwise.
   */
  public static resource(resource: ResourceName, target: ResourceTarget): ScalingMetric {
    return new ScalingMetric(resourceKind(resource, undefined, target));
  }

  /**
   * cpu or memory of one container of the pod (`type: ContainerResource`),
   * so sidecars neither need requests nor skew the average.
   */
  public static containerResource(resource: ResourceName, container: string, target: ResourceTarget): ScalingMetric {
    return new ScalingMetric(resourceKind(resource, container, target));
  }

  /**
   * A per-pod custom metric (`type: Pods`), averaged across pods.
   * @param averageValue target per pod, a quantity such as `"500m"`.
   */
  public static pods(metric: AdapterMetric, averageValue: string, selector?: Record<string, string>): ScalingMetric {
    return new ScalingMetric(adapterKind(MetricSourceType.PODS, metric, { averageValue }, undefined, selector));
  }

  /** A custom metric describing one object (`type: Object`). */
  public static object(metric: AdapterMetric, describedObject: DescribedObject, target: QuantityTarget): ScalingMetric {
    return new ScalingMetric(adapterKind(MetricSourceType.OBJECT, metric, target, describedObject));
  }

  /** An external metric (`type: External`). */
  public static external(metric: AdapterMetric, target: QuantityTarget, selector?: Record<string, string>): ScalingMetric {
    return new ScalingMetric(adapterKind(MetricSourceType.EXTERNAL, metric, target, undefined, selector));
  }

  /** The metric source type: `Resource`, `ContainerResource`, `Pods`, `Object` or `External`. */
  public readonly type: MetricSourceType;

  private constructor(private readonly kind: MetricKind, private readonly label?: string) {
    this.type = kind.type;
  }

  /**
   * This metric, named `label` in messages (a construct prop such as
   * `cpuUtilization` that stands for it).
   * @internal
   */
  public _labelled(label: string): ScalingMetric {
    return new ScalingMetric(this.kind, label);
  }

  /**
   * The adapter metric this metric reads (Pods, Object, External).
   * @internal
   */
  public get _adapterMetric(): AdapterMetric | undefined {
    return this.kind.adapterMetric;
  }

  /** @internal */
  public _render(): k8s.MetricSpecV2 {
    return this.kind.render();
  }

  /** @internal */
  public _problems(scope: IConstruct, field: string): string[] {
    return this.kind.problems(scope, this.subject(field));
  }

  /** @internal */
  public _podProblems(pod: any, field: string): string[] {
    return this.kind.podProblems(pod, this.subject(field));
  }

  private subject(field: string): string {
    return this.label ?? `${field} (${this.kind.description})`;
  }
}

function resourceKind(resource: ResourceName, container: string | undefined, target: ResourceTarget): MetricKind {
  const type = container === undefined ? MetricSourceType.RESOURCE : MetricSourceType.CONTAINER_RESOURCE;
  const utilization = target?.averageUtilization !== undefined;
  const metricTarget: k8s.MetricTargetV2 = utilization
    ? { type: MetricTargetType.UTILIZATION, averageUtilization: target.averageUtilization }
    : { type: MetricTargetType.AVERAGE_VALUE,
      averageValue: target?.averageValue !== undefined ? k8s.Quantity.fromString(target.averageValue) : undefined };
  return {
    type,
    description: `${type} metric "${resource}"${container !== undefined ? ` of container "${container}"` : ''}`,
    render: () => container === undefined
      ? { type, resource: { name: resource, target: metricTarget } }
      : { type, containerResource: { name: resource, container, target: metricTarget } },
    problems: (_scope, subject) => {
      const out: string[] = [];
      if (resource !== 'cpu' && resource !== 'memory') {
        out.push(`${subject}: resource must be "cpu" or "memory" (what metrics-server serves), got "${resource}"`);
      }
      if (container !== undefined && !isDnsLabel(container)) out.push(`${subject}: container "${container}" is not a valid container name `
        + `(${DNS_LABEL_RULE})`);
      const set = [target?.averageUtilization, target?.averageValue].filter(v => v !== undefined).length;
      if (set !== 1) {
        out.push(`${subject} needs exactly one of averageUtilization or averageValue`);
      } else if (utilization) {
        const u = target.averageUtilization!;
        if (!Number.isInteger(u) || u < 1) out.push(`${subject} must be a whole number >= 1, got ${u}`);
      } else {
        out.push(...quantityProblems(target.averageValue!, subject));
      }
      return out;
    },
    podProblems: (pod, subject) => resourcePodProblems(pod, resource, container, utilization, subject),
  };
}

/**
 * What a Resource (or, with `container`, ContainerResource) metric needs of
 * the target's pod spec (rendered JSON): the container it names, and for a
 * Utilization target a request for the resource on every container it reads.
 */
export function resourcePodProblems(pod: any, resource: string, container: string | undefined, utilization: boolean, subject: string): string[] {
  const containers = podContainers(pod);
  if (container !== undefined) {
    const c = containers.find(x => x.name === container);
    if (!c) {
      return [`${subject} names container "${container}", but the target's pod has only `
        + `${containers.map(x => `"${x.name}"`).join(', ') || 'no containers'}; name one of those`];
    }
    return utilization && c.resources?.requests?.[resource] === undefined
      ? [`${subject} is a Utilization target, but container "${container}" has no ${resource} request; the HPA would show <unknown> and never `
        + `scale. Set resources.requests.${resource} on it, or use averageValue`]
      : [];
  }
  if (!utilization) return [];
  return containers.filter(c => c.resources?.requests?.[resource] === undefined).map(c =>
    `${subject} needs a ${resource} request on every container of the pod, sidecars included, but container "${c.name}" has none; `
    + `the HPA would show <unknown> and never scale. Set resources.requests.${resource} on it, or scale on ScalingMetric.containerResource(...) `
    + `of the app's container instead`);
}

/** The containers whose requests the HPA adds up: the pod's containers and its restartable init containers (sidecars). */
function podContainers(pod: any): any[] {
  return [
    ...(pod?.initContainers ?? []).filter((c: any) => c.restartPolicy === 'Always'),
    ...(pod?.containers ?? []),
  ];
}

function quantityProblems(text: string, subject: string): string[] {
  try {
    const q = parseQuantity(text, `${subject} target`);
    return q.isPositive ? [] : [`${subject} target must be positive, got "${text}"`];
  } catch (e) {
    return [(e as Error).message];
  }
}

function adapterKind(
  type: MetricSourceType.PODS | MetricSourceType.OBJECT | MetricSourceType.EXTERNAL, metric: AdapterMetric, target: QuantityTarget,
  describedObject?: DescribedObject, selector?: Record<string, string>,
): MetricKind {
  const name = metric.metricName;
  return {
    type,
    adapterMetric: metric,
    description: `${type} metric "${name}"`,
    render: () => {
      const metricTarget: k8s.MetricTargetV2 = target.averageValue !== undefined
        ? { type: 'AverageValue', averageValue: k8s.Quantity.fromString(target.averageValue) }
        : { type: 'Value', value: k8s.Quantity.fromString(target.value!) };
      const identifier = { name, ...(selector ? { selector: { matchLabels: { ...selector } } } : {}) };
      if (type === MetricSourceType.PODS) return { type, pods: { metric: identifier, target: metricTarget } };
      if (type === MetricSourceType.EXTERNAL) return { type, external: { metric: identifier, target: metricTarget } };
      return { type, object: { metric: identifier, target: metricTarget, describedObject: { ...describedObject! } } };
    },
    problems: (scope, subject) => adapterProblems(scope, subject, type, metric, target, describedObject),
    podProblems: () => [],
  };
}

function adapterProblems(
  scope: IConstruct, subject: string, type: MetricSourceType.PODS | MetricSourceType.OBJECT | MetricSourceType.EXTERNAL, metric: AdapterMetric,
  target: QuantityTarget, describedObject?: DescribedObject,
): string[] {
  const name = metric.metricName;
  const out: string[] = [];
  const wantApi = type === MetricSourceType.EXTERNAL ? MetricsApi.EXTERNAL : MetricsApi.CUSTOM;
  if (metric.api !== wantApi) {
    out.push(`${subject} needs a metric of ${wantApi}, but "${name}" is served by ${metric.api}; use `
      + `ScalingMetric.${metric.api === MetricsApi.EXTERNAL ? 'external' : 'pods or ScalingMetric.object'}`);
  }
  const adapter = metric.adapter;
  if (adapter && adapter.node.root !== scope.node.root) {
    out.push(`${subject} is served by PromAdapter "${adapter.node.id}" of another app; add the rule to an adapter in this app, or use `
      + `AdapterMetric.servedElsewhere(...) if another installation serves it`);
  } else if (adapter && type === MetricSourceType.PODS && !metric.resources.includes('pod')) {
    out.push(`${subject} is not associated with pods by its adapter rule (resources: ${metric.resources.join(', ') || 'none'}); add a pod override `
      + `to the rule`);
  } else if (adapter && type === MetricSourceType.OBJECT && describedObject && !metric.resources.includes(describedObject.kind.toLowerCase())) {
    const resource = describedObject.kind.toLowerCase();
    out.push(`${subject} describes a ${describedObject.kind}, but its adapter rule reports it for ${metric.resources.join(', ') || 'nothing'}; add `
      + `a "${resource}" override to the rule`);
  }
  const set = [target?.value !== undefined, target?.averageValue !== undefined].filter(Boolean).length;
  if (set !== 1) {
    out.push(`${subject} needs exactly one of value or averageValue`);
  } else if (type === MetricSourceType.PODS && target.averageValue === undefined) {
    out.push(`${subject} needs averageValue`);
  } else {
    out.push(...quantityProblems((target.value ?? target.averageValue)!, subject));
  }
  if (describedObject) {
    if (!describedObject.apiVersion || !describedObject.kind) out.push(`${subject}: describedObject needs apiVersion and kind`);
    if (!isDnsSubdomain(describedObject.name)) {
      out.push(`${subject}: describedObject.name "${describedObject.name}" is not a valid DNS subdomain name (lower-case letters, digits, '-' and `
        + `'.', at most 253 characters)`);
    }
  }
  return out;
}
