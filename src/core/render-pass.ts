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

/** What one validation pass shares: renderings, and the list of the app's constructs. */
interface Pass {
  readonly rendered: Map<ApiObject, any>;
  constructs?: IConstruct[];
}

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
  const pass: Pass = { rendered: new Map() };
  Object.defineProperty(root, PASS, { value: pass, enumerable: false });
  root.node.addValidation({
    validate: () => {
      forget(pass);
      return [];
    },
  });
}

function forget(pass: Pass): void {
  pass.rendered.clear();
  pass.constructs = undefined;
}

/** Until the current task ends: a check of a later synth starts from nothing even without a new pass, and nothing is held after a synth. */
function forgetAfterThisTask(pass: Pass): void {
  if (pass.rendered.size === 0 && pass.constructs === undefined) queueMicrotask(() => forget(pass));
}

/**
 * `scope.node.findAll()`; for an app's root, listed once per validation
 * pass for the checks of this library that walk the whole app.
 */
export function appConstructs(scope: IConstruct): IConstruct[] {
  const pass: Pass | undefined = (scope as any)[PASS]; // only an app's root holds one
  if (!pass) return scope.node.findAll();
  if (pass.constructs === undefined) {
    forgetAfterThisTask(pass);
    pass.constructs = scope.node.findAll();
  }
  return pass.constructs;
}

/**
 * The rendered JSON of `obj` for a check to read (never to change): kept
 * across passes and synths while nothing that feeds it changes, for objects
 * built with `memoizedRender` (fast-render.ts); otherwise rendered at most once per
 * validation pass.
 */
export function renderedJson(obj: ApiObject): any {
  const pass: Pass | undefined = (obj.node.root as any)[PASS];
  let json = pass?.rendered.get(obj);
  if (json === undefined) {
    json = (obj as any)[KEPT_RENDERING]?.() ?? obj.toJson();
    if (!pass) return json;
    forgetAfterThisTask(pass);
    pass.rendered.set(obj, json);
  }
  return json;
}

/**
 * `check` of a rendering, done once per rendering object: renderings kept
 * across passes (fast-render.ts) are the same object while their object is
 * unchanged, so an unchanged object is checked once; any other rendering is
 * new on every pass and checked every time.
 */
export function oncePerRendering<T>(check: (json: any) => T): (json: any) => T {
  const results = new WeakMap<object, T>();
  return json => {
    if (results.has(json)) return results.get(json)!;
    const result = check(json);
    results.set(json, result);
    return result;
  };
}
