import { ApiObject, Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { finishConstruct } from '../core/app-checks';
import { assertDnsSubdomain, describe } from '../core/assertions';
import { wholeSeconds } from '../core/pod-spec';
import { Problems } from '../core/problems';
import { renderedJson } from '../core/render-pass';
import { ServiceMonitor as ServiceMonitorResource } from '../imports/monitoring.coreos.com';
import { scrapeTargetProblems, selectableLabels } from './scrape-target';

/** Props of {@link ServiceMonitor}. */
export interface ServiceMonitorProps {
  /** The Service to scrape: a cdk8s-plus `Service`, or an `ApiObject` of kind Service. */
  readonly service: kplus.Service | ApiObject;
  /** The name of the Service's port that serves the metrics. */
  readonly port: string;
  /**
   * HTTP path of the metrics.
   * @default "/metrics"
   */
  readonly path?: string;
  /**
   * How often Prometheus scrapes.
   * @default Duration.seconds(30)
   */
  readonly interval?: Duration;
  /**
   * Labels of the ServiceMonitor: the ones your Prometheus's `serviceMonitorSelector` requires.
   * @default - none
   */
  readonly labels?: Record<string, string>;
  /**
   * Name of the ServiceMonitor.
   * @default - the Service's name
   */
  readonly name?: string;
}

/**
 * A Prometheus Operator `ServiceMonitor` for a Service of your app: in the
 * Service's namespace, selecting it by its labels (a Service without labels
 * gets `app.kubernetes.io/name: <its name>`), scraping one of its named
 * ports. At synth, the Service must still carry the selected labels and
 * have the named port, and once the app has a `PrometheusInstance` (or
 * `PrometheusInstance.external`), one of them must select the
 * ServiceMonitor.
 */
export class ServiceMonitor extends Construct {
  /** The `ServiceMonitor` object. */
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: ServiceMonitorProps) {
    super(scope, id);
    const where = describe(this);
    const problems = new Problems(where);
    const service = props.service && ApiObject.of(props.service);
    if (!service || service.kind !== 'Service') problems.add('service must be a cdk8s-plus Service or an ApiObject of kind Service');
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(props.port ?? '') || (props.port ?? '').length > 15) {
      problems.add(`port "${props.port}" must be the name of one of the Service's ports (a named port: lower-case letters, digits and '-')`);
    }
    const path = props.path ?? '/metrics';
    if (!path.startsWith('/')) problems.add(`path "${path}" must start with "/"`);
    const interval = problems.check(() => wholeSeconds(props.interval ?? Duration.seconds(30), where, 'interval', 1));
    const name = props.name ?? service?.name;
    if (name !== undefined) problems.check(() => assertDnsSubdomain(name, where, 'name'));
    problems.throwIfAny();

    const selector = selectableLabels(service!);
    this.resource = new ServiceMonitorResource(this, 'Resource', {
      metadata: {
        name: name!,
        ...(service!.metadata.namespace !== undefined ? { namespace: service!.metadata.namespace } : {}),
        ...(props.labels ? { labels: { ...props.labels } } : {}),
      },
      spec: { selector: { matchLabels: selector }, endpoints: [{ port: props.port, path, interval: `${interval}s` }] },
    });
    this.node.addValidation({ validate: () => this.serviceProblems(service!, selector, props.port, where) });
    finishConstruct(this);
  }

  /** The Service as rendered must still carry the selected labels, be in the ServiceMonitor's namespace, and have the named port. */
  private serviceProblems(service: ApiObject, selector: Record<string, string>, port: string, where: string): string[] {
    const json = renderedJson(service);
    const namespace = json.metadata?.namespace ?? Chart.of(service).namespace ?? 'default';
    const ports: string[] = (json.spec?.ports ?? []).map((p: any) => p?.name).filter(Boolean);
    return scrapeTargetProblems(where, `Service ${namespace}/${json.metadata?.name}`, json.metadata?.labels ?? {}, selector, port, ports);
  }
}
