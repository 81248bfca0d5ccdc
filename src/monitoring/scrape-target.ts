import { ApiObject } from 'cdk8s';

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
