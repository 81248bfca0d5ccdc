import { ApiObject, App, ImplicitTokenResolver, JsonPatch, LazyResolver, NumberStringUnionResolver } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { KEPT_RENDERING } from './render-pass';

/*
 * The fast rendering path: L1 objects of plain data rendered in one walk,
 * kept until something they depend on changes. An object that cannot take
 * it is rendered by cdk8s, and says why (fallbackOf); a construct that
 * knowingly builds such an object says so (declareFallback), and the tests
 * fail on any other fallback.
 */

const DECLARED = Symbol.for('cdk8s-autoscaling.DeclaredFallback');

/** Why the object was rendered by cdk8s at its last rendering, or undefined when it took the fast path. */
export function fallbackOf(obj: ApiObject): string | undefined {
  return (obj as any).lastFallback;
}

/** Records that `obj` is rendered by cdk8s on purpose, and why (e.g. a Lazy value resolved at synth). */
export function declareFallback(obj: ApiObject, why: string): void {
  Object.defineProperty(obj, DECLARED, { value: why, enumerable: false, configurable: true });
}

/** Why `obj` was declared to be rendered by cdk8s, if it was. */
export function declaredFallback(obj: ApiObject): string | undefined {
  return (obj as any)[DECLARED];
}

type ApiObjectClass = abstract new (...args: any[]) => ApiObject;

/** The method of a memoized object that returns its props when they alone make its rendering (see {@link unchangedProps}). */
const UNCHANGED_PROPS = Symbol('cdk8s-autoscaling.unchangedProps');

/**
 * The props of an object built with {@link memoizedRender}, as copied at
 * construction, when nothing else can change what it renders: plain data,
 * no JSON patch, only cdk8s's own resolvers. Then a check that reads plain
 * fields of the spec (numbers, strings) can read them here without
 * rendering the object. Undefined otherwise: render it. To read, never to change.
 */
export function unchangedProps(obj: ApiObject): any {
  return (obj as any)[UNCHANGED_PROPS]?.();
}

/** Resolvers whose output depends on the value alone (cdk8s's own). */
const PURE_RESOLVERS = [LazyResolver, ImplicitTokenResolver, NumberStringUnionResolver];

/**
 * A deep copy of plain objects and arrays (L1 props, or rendered JSON) that
 * nothing outside can reach; `stable` turns false when a value may resolve
 * differently later (a `Lazy`, a function, any token or class other than the
 * immutable `Quantity` and `IntOrString`, which are kept as they are).
 */
function snapshot(value: any, probe: { stable: boolean } = { stable: true }): any {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function') probe.stable = false;
    return value;
  }
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = snapshot(value[i], probe);
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    if (!(value instanceof k8s.Quantity || value instanceof k8s.IntOrString)) probe.stable = false;
    return value;
  }
  const out: any = {};
  for (const k of Object.keys(value)) out[k] = snapshot(value[k], probe);
  return out;
}

class NotPlain extends Error {}

/**
 * A `Quantity` or `IntOrString` value, told apart from plain objects until
 * the L1's converter (which reads `.value`) or {@link unwrap} takes it out.
 */
class Wrapped {
  constructor(public readonly value: string | number) {}
}

/**
 * What cdk8s's `resolve` followed by `sanitizeValue` make of data that
 * {@link snapshot} found stable, under cdk8s's own resolvers, in one walk
 * instead of two: `Quantity` and `IntOrString` become {@link Wrapped} (cdk8s
 * makes them `{ value }`, which the L1 converter reads the same way), null
 * and undefined properties are dropped (array elements become undefined),
 * keys are sorted unless `sortKeys` is false. Anything else throws
 * {@link NotPlain}, and cdk8s renders the object itself.
 */
function resolvePlain(value: any, sortKeys: boolean): any {
  if (value == null) return undefined;
  if (typeof value !== 'object') {
    if (typeof value === 'function') throw new NotPlain();
    return value;
  }
  if (Array.isArray(value)) return value.map(v => resolvePlain(v, sortKeys));
  if (value instanceof k8s.Quantity || value instanceof k8s.IntOrString) {
    const v = value.value;
    if (typeof v !== 'string' && typeof v !== 'number') throw new NotPlain();
    return new Wrapped(v);
  }
  if (value.constructor !== Object || typeof value.resolve === 'function') throw new NotPlain();
  const keys = sortKeys ? Object.keys(value).sort() : Object.keys(value);
  const out: any = {};
  for (const k of keys) {
    const v = resolvePlain(value[k], sortKeys);
    if (v != null) out[k] = v;
  }
  return out;
}

/**
 * Resolved (and patched) data with every {@link Wrapped} replaced by its
 * value, and, in `shape.text`, an exact description of the data's structure:
 * every key in order, and the kind of every value (string, number, boolean,
 * null, undefined, wrapped, array, object), but no scalar value.
 *
 * A generated L1 converter (`toJson_*`) looks at nothing but that structure:
 * which keys are present, and per value `=== undefined`, `?.value`, `?.map`
 * or `Object.entries`; scalars it copies as they are. So when the converter
 * turns one piece of data into exactly its unwrapped copy, it does so for
 * every piece of data of the same shape.
 */
function unwrap(value: any, shape: { text: string }): any {
  if (value === undefined || value === null) {
    shape.text += value === undefined ? 'u' : 'z';
    return value;
  }
  switch (typeof value) {
    case 'string': shape.text += 's'; return value;
    case 'number': shape.text += 'n'; return value;
    case 'boolean': shape.text += 'b'; return value;
    case 'object': break;
    default: throw new NotPlain();
  }
  if (value instanceof Wrapped) {
    shape.text += 'w';
    return value.value;
  }
  if (Array.isArray(value)) {
    shape.text += '[';
    const out = value.map(v => unwrap(v, shape));
    shape.text += ']';
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new NotPlain();
  shape.text += '{';
  const out: any = {};
  for (const k of Object.keys(value)) {
    const v = value[k];
    if (v === undefined) throw new NotPlain(); // only a patch puts it there; cdk8s's converter drops it
    shape.text += `${k.length}:${k}`;
    out[k] = unwrap(v, shape);
  }
  shape.text += '}';
  return out;
}

const CONVERTER_CHANGES = 'the L1 converter changes this data (a field its schema does not know, '
  + 'or a bare value where a Quantity or IntOrString belongs)';

/** Why the fast path cannot render `obj` (props with tokens, resolvers of the app's own), or undefined. */
function whyNotRenderable(obj: ApiObject, plain: boolean): string | undefined {
  if (!plain) return 'its props hold a token (a Lazy, a function or a class instance)';
  if (!App.of(obj).resolvers.every(r => PURE_RESOLVERS.some(cls => r instanceof cls))) return 'the app has resolvers of its own';
  return undefined;
}

/** Shapes (see {@link unwrap}) kept per L1 class; forgotten all at once past this many. */
const MAX_SHAPES = 1000;

/**
 * A subclass of the L1 class `base` that renders once per change rather
 * than once per use, and renders faster. cdk8s validates the whole app once
 * per synth and once more per chart it renders, and each check of a
 * workload needs its rendering; this keeps one rendering and reuses it, for
 * the checks and (as a copy) for `toJson()`, until something it depends on
 * changes.
 *
 * The rendering of an L1 object is a function of its props, its metadata,
 * its JSON patches, the app's resolvers and `CDK8S_DISABLE_SORT`. The props
 * are copied at construction so nothing outside can reach them; objects
 * whose props hold a `Lazy` or another token, and apps with resolvers other
 * than cdk8s's own, are rendered by cdk8s every time. Metadata, patches and
 * the sort flag make up the key the rendering is kept under.
 *
 * Props that hold only plain data are rendered by {@link resolvePlain}, the
 * same JSON patches and the same key order: what `ApiObject.toJson` does,
 * without cdk8s's resolver calls on every value. What the L1's own converter
 * (`toJsonProps`, e.g. `k8s.toJson_KubeDeploymentProps`) adds is to drop
 * what its schema does not know and to unwrap `Quantity` and `IntOrString`;
 * it is run once per shape of data (see {@link unwrap}), and where it keeps
 * the data as it is (for all that this library builds) the unwrapped data
 * is the rendering; where not, cdk8s renders the object. (The converter
 * copies every object of the rendering once more, key by key.) The tests
 * hold the result equal to cdk8s's own rendering, key order included.
 */
export function memoizedRender<T extends ApiObjectClass>(base: T, toJsonProps: (props: any) => any): T {
  const gvk = (base as any).GVK;
  if (!gvk?.apiVersion || !gvk?.kind) throw new Error(`memoizedRender: ${base.name} is not a generated L1 class (no GVK)`);

  /** Per shape of data (see {@link unwrap}): whether the L1's converter leaves it as it is. */
  const converterKeeps = new Map<string, boolean>();

  abstract class MemoizedRender extends (base as ApiObjectClass) {
    private readonly plainProps: any;
    private readonly ownPatches: JsonPatch[] = [];
    private memo?: { readonly key: string; readonly json: any };
    /** Why the last rendering was cdk8s's own (see fallbackOf). */
    public lastFallback?: string;

    constructor(...args: any[]) {
      const probe = { stable: true };
      const [scope, id, props] = args;
      const copy = snapshot(props ?? {}, probe);
      super(scope, id, copy, ...args.slice(3));
      this.plainProps = probe.stable ? { ...gvk, ...copy } : undefined;
    }

    public addJsonPatch(...ops: JsonPatch[]): void {
      this.ownPatches.push(...ops);
      super.addJsonPatch(...ops);
    }

    public toJson(): any {
      const why = this.notRenderable();
      if (why) return this.fallback(why);
      const metadata = this.metadata.toJson();
      const memo = this.memo;
      return memo !== undefined && memo.key === this.keyOf(metadata) ? snapshot(memo.json) : this.render(metadata);
    }

    /** The kept rendering (rendered now if stale); undefined when it cannot be kept. */
    public [KEPT_RENDERING](): any {
      this.lastFallback = this.notRenderable();
      if (this.lastFallback) return undefined;
      const metadata = this.metadata.toJson();
      const key = this.keyOf(metadata);
      if (this.memo?.key !== key) this.memo = { key, json: this.render(metadata) };
      return this.memo.json;
    }

    public [UNCHANGED_PROPS](): any {
      return this.ownPatches.length === 0 && this.notRenderable() === undefined ? this.plainProps : undefined;
    }

    /** `ApiObject.toJson()` then the L1's conversion, for plain props under cdk8s's own resolvers. */
    private render(metadata: any): any {
      try {
        const data = resolvePlain({ ...this.plainProps, metadata }, !process.env.CDK8S_DISABLE_SORT);
        const patched = JsonPatch.apply(data, ...this.ownPatches);
        const ordered: any = {};
        for (const k of ['apiVersion', 'kind', 'metadata', ...Object.keys(patched)]) {
          if (k in patched) ordered[k] = patched[k];
        }
        const shape = { text: '' };
        const json = unwrap(ordered, shape);
        const known = converterKeeps.get(shape.text);
        if (known === true) return this.fast(json);
        if (known === undefined) {
          if (converterKeeps.size >= MAX_SHAPES) converterKeeps.clear();
          const converted = { ...gvk, ...toJsonProps(ordered) };
          const keeps = JSON.stringify(converted) === JSON.stringify(json);
          converterKeeps.set(shape.text, keeps);
          if (keeps) return this.fast(json);
        }
        return this.fallback(CONVERTER_CHANGES);
      } catch {
        // not plain data, or a patch that cannot apply: cdk8s renders it, and reports errors its own way
        return this.fallback('the data or a JSON patch is not plain data');
      }
    }

    private fast(json: any): any {
      this.lastFallback = undefined;
      return json;
    }
    private fallback(why: string): any {
      this.lastFallback = why;
      return super.toJson();
    }

    /** Why this library cannot render the object itself, or undefined when it can (plain props, cdk8s's own resolvers). */
    private notRenderable(): string | undefined {
      return whyNotRenderable(this, this.plainProps !== undefined);
    }

    /** What the rendering depends on besides the props, which cannot change. */
    private keyOf(metadata: any): string {
      return `${this.ownPatches.length}|${process.env.CDK8S_DISABLE_SORT ?? ''}|${JSON.stringify(metadata)}`;
    }
  }
  Object.defineProperty(MemoizedRender, 'name', { value: base.name });
  return MemoizedRender as unknown as T;
}

/** `k8s.KubeDeployment`, rendered once per change ({@link memoizedRender}). */
export const MemoizedKubeDeployment = memoizedRender(k8s.KubeDeployment, k8s.toJson_KubeDeploymentProps);
/** `k8s.KubeService`, rendered once per change ({@link memoizedRender}). */
export const MemoizedKubeService = memoizedRender(k8s.KubeService, k8s.toJson_KubeServiceProps);
/** `k8s.KubeHorizontalPodAutoscalerV2`, rendered once per change ({@link memoizedRender}). */
export const MemoizedKubeHorizontalPodAutoscalerV2 = memoizedRender(k8s.KubeHorizontalPodAutoscalerV2, k8s.toJson_KubeHorizontalPodAutoscalerV2Props);
/** `k8s.KubePodDisruptionBudget`, rendered once per change ({@link memoizedRender}). */
export const MemoizedKubePodDisruptionBudget = memoizedRender(k8s.KubePodDisruptionBudget, k8s.toJson_KubePodDisruptionBudgetProps);
