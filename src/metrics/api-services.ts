import { IConstruct } from 'constructs';
import { AppContext, AppSlot } from '../core/app-context';
import { describe } from '../core/assertions';

/** Who serves each APIService name (`v1beta1.metrics.k8s.io`) in the app. */
const CLAIMS = new AppSlot('APIService claims', () => new Map<string, IConstruct[]>());

/** A metrics API group the app serves: who serves it, and the metric names it serves (read at synth, once every rule is added). */
export interface MetricsServed {
  readonly who: string;
  names(): string[];
}

/** The metrics API groups (`custom.metrics.k8s.io`, ...) the app's own adapters serve. */
export type ServedMetrics = Map<string, MetricsServed>;

const SERVED = new AppSlot<ServedMetrics>('metrics API groups the app serves', () => new Map());

/** The metrics API groups the app's constructs serve, with the names they serve. */
export function servedMetrics(scope: IConstruct): ServedMetrics {
  return AppContext.of(scope).get(SERVED);
}

function claimsOf(scope: IConstruct): Map<string, IConstruct[]> {
  return AppContext.of(scope).get(CLAIMS);
}

/**
 * Records that `owner` serves the APIService `name` (e.g.
 * `v1beta1.metrics.k8s.io`). An APIService name is cluster-wide: when two
 * constructs of one app claim the same name, the synth fails with a message
 * naming both.
 */
export function claimApiService(owner: IConstruct, name: string, served: () => string[]): void {
  const group = name.slice(name.indexOf('.') + 1);
  const servers = servedMetrics(owner);
  if (!servers.has(group)) servers.set(group, { who: describe(owner), names: () => [...served()].sort() });
  const claims = claimsOf(owner);
  const list = claims.get(name) ?? [];
  list.push(owner);
  claims.set(name, list);
  if (list.length === 1) {
    owner.node.addValidation({
      validate: () => {
        const all = claims.get(name)!;
        if (all.length < 2) return [];
        const who = all.map(c => `${describe(c)} (${c.node.path})`).join(' and ');
        return [`APIService ${name} is served by both ${who}; only one may serve it in a cluster. Keep one: remove the other construct, or the `
          + `rules that make it serve this API (for v1beta1.metrics.k8s.io: a MetricsServer, or a PromAdapter with resource metrics).`];
      },
    });
  }
}

/** The name of `names` nearest to `name` (edit distance), when it is near enough to be a likely typo. */
export function closest(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of names) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}
