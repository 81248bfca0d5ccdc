import { ApiObject, Duration } from 'cdk8s';
import { assertDnsSubdomain } from '../core/assertions';
import { wholeSeconds } from '../core/pod-spec';
import { Problems } from '../core/problems';

/** The label a scraped object gets when it has none to be selected by. */
const NAME_LABEL = 'app.kubernetes.io/name';

/**
 * The labels a ServiceMonitor selects a Service by: the Service's own, as
 * they are now; a Service without labels is given `app.kubernetes.io/name:
 * <its name>` so that it can be selected at all.
 */
export function selectableLabels(obj: ApiObject): Record<string, string> {
  const labels: Record<string, string> = { ...(obj.metadata.toJson().labels ?? {}) };
  if (Object.keys(labels).length) return labels;
  obj.metadata.addLabel(NAME_LABEL, obj.name);
  return { [NAME_LABEL]: obj.name };
}

/**
 * What keeps a ServiceMonitor or PodMonitor from scraping its target, as the
 * target is rendered: labels it selects by that the target no longer carries,
 * and a port name the target does not have (Prometheus would silently
 * scrape nothing).
 */
export function scrapeTargetProblems(
  where: string, what: string, labels: Record<string, string>, selector: Record<string, string>, port: string, ports: readonly string[],
): string[] {
  const out: string[] = [];
  const missing = Object.entries(selector).filter(([k, v]) => labels[k] !== v).map(([k, v]) => `${k}=${v}`);
  if (missing.length) {
    out.push(`${where}: selects ${what} by ${missing.join(', ')}, which it no longer carries; keep those labels on it, or monitor it again`);
  }
  if (!ports.includes(port)) {
    out.push(`${where}: port "${port}" is not a named port of ${what} (it has ${ports.length ? ports.map(p => `"${p}"`).join(', ') : 'none'}); `
      + 'name the port, or scrape one of those');
  }
  return out;
}

/** The endpoint a {@link ServiceMonitor} or {@link PodMonitor} scrapes, and the monitor's own name and labels. */
export interface ScrapeEndpointProps {
  /** The name of the port that serves the metrics: one of the Service's ports, or of the pods' container ports. */
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
   * Labels of the monitor: the ones your Prometheus's selector requires.
   * @default - none
   */
  readonly labels?: Record<string, string>;
  /**
   * Name of the monitor.
   * @default - the Service's or the workload's name
   */
  readonly name?: string;
}

/**
 * Checks the endpoint props shared by ServiceMonitor and PodMonitor into
 * `problems` (`portOf` says whose port it names) and returns the monitor's
 * metadata and endpoint, for a target `target` (undefined when it was refused).
 */
export function scrapeEndpoint(props: ScrapeEndpointProps, target: ApiObject | undefined, portOf: string, problems: Problems): {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  endpoint: { port: string; path: string; interval: string };
} {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(props.port ?? '') || (props.port ?? '').length > 15) {
    problems.add(`port "${props.port}" must be the name of one of ${portOf} (a named port: lower-case letters, digits and '-')`);
  }
  const path = props.path ?? '/metrics';
  if (!path.startsWith('/')) problems.add(`path "${path}" must start with "/"`);
  const interval = problems.check(() => wholeSeconds(props.interval ?? Duration.seconds(30), problems.where, 'interval', 1));
  const name = props.name ?? target?.name;
  if (name !== undefined) problems.check(() => assertDnsSubdomain(name, problems.where, 'name'));
  const namespace = target?.metadata.namespace;
  return {
    metadata: { name: name!, ...(namespace !== undefined ? { namespace } : {}), ...(props.labels ? { labels: { ...props.labels } } : {}) },
    endpoint: { port: props.port, path, interval: `${interval}s` },
  };
}
