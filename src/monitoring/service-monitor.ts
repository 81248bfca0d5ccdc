import { ApiObject, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { finishConstruct } from '../core/app-checks';
import { describe } from '../core/assertions';
import { Problems } from '../core/problems';
import { renderedJson } from '../core/render-pass';
import { ServiceMonitor as ServiceMonitorResource } from '../imports/monitoring.coreos.com';
import { ScrapeEndpointProps, scrapeEndpoint, scrapeTargetProblems, selectableLabels } from './scrape-target';

/** Props of {@link ServiceMonitor}. */
export interface ServiceMonitorProps extends ScrapeEndpointProps {
  /** The Service to scrape: a cdk8s-plus `Service`, or an `ApiObject` of kind Service. */
  readonly service: kplus.Service | ApiObject;
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
    const isService = service?.kind === 'Service';
    if (!isService) problems.add('service must be a cdk8s-plus Service or an ApiObject of kind Service');
    const { metadata, endpoint } = scrapeEndpoint(props, isService ? service : undefined, "the Service's ports", problems);
    problems.throwIfAny();

    const selector = selectableLabels(service!);
    this.resource = new ServiceMonitorResource(this, 'Resource', { metadata, spec: { selector: { matchLabels: selector }, endpoints: [endpoint] } });
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
