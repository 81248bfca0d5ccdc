import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';

const PASS = Symbol.for('cdk8s-autoscaling.RenderPass');

type Cache = Map<ApiObject, any>;

/**
 * Makes every validation of this library in one synth share a single
 * `toJson()` per object. cdk8s validates the whole app in one synchronous
 * pre-order walk that starts at the root, so a root validation registered
 * before any check opens a fresh cache for each pass; nothing can change
 * an object between two checks of the same pass.
 *
 * Call it before registering a validation that uses {@link renderedJson}.
 */
export function ensureRenderPass(scope: IConstruct): void {
  const root = scope.node.root as any;
  if (root[PASS]) return;
  const cache: Cache = new Map();
  Object.defineProperty(root, PASS, { value: cache, enumerable: false });
  root.node.addValidation({
    validate: () => {
      cache.clear();
      return [];
    },
  });
}

/** The rendered JSON of `obj`, rendered at most once per validation pass. */
export function renderedJson(obj: ApiObject): any {
  const cache: Cache | undefined = (obj.node.root as any)[PASS];
  if (!cache) return obj.toJson();
  let json = cache.get(obj);
  if (json === undefined) {
    json = obj.toJson();
    if (cache.size === 0) queueMicrotask(() => cache.clear()); // do not hold the JSON after the synth
    cache.set(obj, json);
  }
  return json;
}
