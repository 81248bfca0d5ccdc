import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';

/*
 * The per-synth memo: the checks of this library read each object's
 * rendering, and every check of one validation pass shares one rendering
 * per object. Objects that keep their rendering across passes (see
 * fast-render.ts) hand it over through KEPT_RENDERING.
 */

const PASS = Symbol.for('cdk8s-autoscaling.RenderPass');

/** The method of an object that keeps its rendering across passes (fast-render.ts): returns it, or undefined. */
export const KEPT_RENDERING: unique symbol = Symbol('cdk8s-autoscaling.keptRendering');

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

/**
 * The rendered JSON of `obj` for a check to read (never to change): kept
 * across passes and synths while nothing that feeds it changes, for objects
 * built with `memoizedRender` (fast-render.ts); otherwise rendered at most once per
 * validation pass.
 */
export function renderedJson(obj: ApiObject): any {
  const cache: Cache | undefined = (obj.node.root as any)[PASS];
  let json = cache?.get(obj);
  if (json === undefined) {
    json = (obj as any)[KEPT_RENDERING]?.() ?? obj.toJson();
    if (!cache) return json;
    if (cache.size === 0) queueMicrotask(() => cache.clear()); // do not hold the JSON after the synth
    cache.set(obj, json);
  }
  return json;
}
