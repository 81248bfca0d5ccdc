import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { AppContext } from './app-context';

/*
 * The per-synth memo: the checks of this library read each object's
 * rendering, and every check of one validation pass shares one rendering
 * per object (the pass lives in the app's AppContext).
 */

/** Until the current task ends: a check of a later synth starts from nothing even without a new pass, and nothing is held after a synth. */
function forgetAfterThisTask(context: AppContext): void {
  if (context.pass.rendered.size === 0 && context.pass.constructs === undefined) queueMicrotask(() => context.forgetPass());
}

/**
 * `scope.node.findAll()`; for an app's root, listed once per validation
 * pass for the checks of this library that walk the whole app.
 */
export function appConstructs(scope: IConstruct): IConstruct[] {
  if (scope.node.root !== scope) return scope.node.findAll();
  const context = AppContext.of(scope);
  if (context.pass.constructs === undefined) {
    forgetAfterThisTask(context);
    context.pass.constructs = scope.node.findAll();
  }
  return context.pass.constructs;
}

/**
 * The rendered JSON of `obj` for a check to read (never to change),
 * rendered at most once per validation pass.
 */
export function renderedJson(obj: ApiObject): any {
  const context = AppContext.of(obj);
  let json = context.pass.rendered.get(obj);
  if (json === undefined) {
    json = obj.toJson();
    forgetAfterThisTask(context);
    context.pass.rendered.set(obj, json);
  }
  return json;
}

/**
 * `check` of a rendering, done once per rendering object: the checks of one
 * pass that read the same object share its result.
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
