import { IConstruct } from 'constructs';
import { describe } from '../core/assertions';

const CLAIMS = Symbol.for('cdk8s-autoscaling.ApiServiceClaims');

type Claims = Map<string, IConstruct[]>;

function claimsOf(root: IConstruct): Claims {
  const r = root as any;
  if (!r[CLAIMS]) {
    Object.defineProperty(r, CLAIMS, { value: new Map(), enumerable: false });
  }
  return r[CLAIMS];
}

/**
 * Records that `owner` serves the APIService `name` (e.g.
 * `v1beta1.metrics.k8s.io`). An APIService name is cluster-wide: when two
 * constructs of one app claim the same name, the synth fails with a message
 * naming both.
 */
export function claimApiService(owner: IConstruct, name: string): void {
  const claims = claimsOf(owner.node.root);
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
