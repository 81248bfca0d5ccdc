import { ApiObject, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { finishConstruct } from '../core/app-checks';
import { describe } from '../core/assertions';
import { podSpecOf } from '../core/manifests';
import { Problems } from '../core/problems';
import { renderedJson } from '../core/render-pass';
import { PodMonitor as PodMonitorResource } from '../imports/monitoring.coreos.com';
import { ScrapeEndpointProps, scrapeEndpoint, scrapeTargetProblems } from './scrape-target';

/** The workload kinds whose pods a PodMonitor selects by the workload's selector. */
const SCRAPED_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

/** Props of {@link PodMonitor}. */
export interface PodMonitorProps extends ScrapeEndpointProps {
  /**
   * The workload whose pods to scrape: a cdk8s-plus `Deployment`, `StatefulSet` or `DaemonSet`, or an `ApiObject` of such a kind
   * with `spec.selector.matchLabels`.
   */
  readonly workload: kplus.Workload | ApiObject;
}

/**
 * A Prometheus Operator `PodMonitor` for the pods of a workload of your app
 * (no Service needed): in the workload's namespace, selecting its pods by
 * the workload's own selector, scraping a named container port. At synth,
 * the pod template must still carry the selected labels and have the named
 * port, and once the app has a `PrometheusInstance` (or
 * `PrometheusInstance.external`), one of them must select the PodMonitor.
 */
export class PodMonitor extends Construct {
  /** The `PodMonitor` object. */
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: PodMonitorProps) {
    super(scope, id);
    const where = describe(this);
    const problems = new Problems(where);
    const workload = props.workload && ApiObject.of(props.workload);
    const selector = workload ? selectorOf(props.workload, workload) : undefined;
    if (!workload || !SCRAPED_KINDS.has(workload.kind)) {
      problems.add('workload must be a cdk8s-plus Deployment, StatefulSet or DaemonSet, or an ApiObject of such a kind');
    } else if (!selector || !Object.keys(selector).length) {
      problems.add(`workload ${workload.kind} "${workload.name}" has no spec.selector.matchLabels to select its pods by`);
    }
    const { metadata, endpoint } = scrapeEndpoint(props, workload, "the pods' container ports", problems);
    problems.throwIfAny();

    this.resource = new PodMonitorResource(this, 'Resource', {
      metadata, spec: { selector: { matchLabels: selector }, podMetricsEndpoints: [endpoint] },
    });
    this.node.addValidation({ validate: () => podProblems(workload!, selector!, props.port, where) });
    finishConstruct(this);
  }
}

/** The labels that select the workload's pods: a cdk8s-plus workload's `matchLabels`, or an L1's `spec.selector.matchLabels`. */
function selectorOf(workload: kplus.Workload | ApiObject, obj: ApiObject): Record<string, string> | undefined {
  if (workload instanceof kplus.Workload) return { ...workload.matchLabels };
  const labels = obj.toJson().spec?.selector?.matchLabels;
  return labels ? { ...labels } : undefined;
}

/** The pod template as rendered must still carry the selected labels and have the named container port. */
function podProblems(workload: ApiObject, selector: Record<string, string>, port: string, where: string): string[] {
  const json = renderedJson(workload);
  const namespace = json.metadata?.namespace ?? Chart.of(workload).namespace ?? 'default';
  const pod = podSpecOf(json)?.spec ?? {};
  const ports: string[] = [...(pod.containers ?? []), ...(pod.initContainers ?? []).filter((c: any) => c.restartPolicy === 'Always')]
    .flatMap((c: any) => (c.ports ?? []).map((p: any) => p?.name)).filter(Boolean);
  return scrapeTargetProblems(where, `the pods of ${json.kind} ${namespace}/${json.metadata?.name}`, json.spec?.template?.metadata?.labels ?? {},
    selector, port, ports);
}
