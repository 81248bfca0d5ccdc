import { ApiObject, App, ImplicitTokenResolver, JsonPatch, LazyResolver, NumberStringUnionResolver } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';

const PASS = Symbol.for('cdk8s-autoscaling.RenderPass');
const MEMO_RENDER: unique symbol = Symbol('cdk8s-autoscaling.memoRender');

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
 * built with {@link memoizedRender}; otherwise rendered at most once per
 * validation pass.
 */
export function renderedJson(obj: ApiObject): any {
  const cache: Cache | undefined = (obj.node.root as any)[PASS];
  let json = cache?.get(obj);
  if (json === undefined) {
    json = (obj as any)[MEMO_RENDER]?.() ?? obj.toJson();
    if (!cache) return json;
    if (cache.size === 0) queueMicrotask(() => cache.clear()); // do not hold the JSON after the synth
    cache.set(obj, json);
  }
  return json;
}

type ApiObjectClass = abstract new (...args: any[]) => ApiObject;

/** Resolvers whose output depends on the value alone (cdk8s's own). */
const PURE_RESOLVERS = [LazyResolver, ImplicitTokenResolver, NumberStringUnionResolver];

/**
 * A deep copy of plain objects and arrays (L1 props, or rendered JSON) that
 * nothing outside can reach; `stable` turns false when a value may resolve
 * differently later (a `Lazy`, any token or class other than the immutable
 * `Quantity` and `IntOrString`, which are kept as they are).
 */
function snapshot(value: any, probe: { stable: boolean } = { stable: true }): any {
  if (Array.isArray(value)) return value.map(v => snapshot(v, probe));
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof k8s.Quantity || value instanceof k8s.IntOrString) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    probe.stable = false;
    return value;
  }
  const out: any = {};
  for (const [k, v] of Object.entries(value)) out[k] = snapshot(v, probe);
  return out;
}

/**
 * A subclass of the L1 class `base` that renders once per change rather
 * than once per use. cdk8s validates the whole app once per synth and once
 * more per chart it renders, and each check of a workload needs its
 * rendering; this keeps one rendering and reuses it, for the checks and
 * (as a copy) for `toJson()`, until something it depends on changes.
 *
 * The rendering of an L1 object is a function of its props, its metadata,
 * its JSON patches, the app's resolvers and `CDK8S_DISABLE_SORT`. The props
 * are copied at construction so nothing outside can reach them; objects
 * whose props hold a `Lazy` or another token, and apps with resolvers other
 * than cdk8s's own, are simply rendered every time. Metadata, patches and the
 * sort flag make up the key the rendering is kept under.
 */
export function memoizedRender<T extends ApiObjectClass>(base: T): T {
  abstract class MemoizedRender extends (base as ApiObjectClass) {
    private readonly stableProps: boolean;
    private patchVersion = 0;
    private memo?: { readonly key: string; readonly json: any };

    constructor(...args: any[]) {
      const probe = { stable: true };
      const [scope, id, props] = args;
      super(scope, id, snapshot(props ?? {}, probe), ...args.slice(3));
      this.stableProps = probe.stable;
    }

    public addJsonPatch(...ops: JsonPatch[]): void {
      this.patchVersion++;
      super.addJsonPatch(...ops);
    }

    public toJson(): any {
      const key = this.memoKey();
      return key !== undefined && this.memo?.key === key ? snapshot(this.memo.json) : super.toJson();
    }

    /** The kept rendering (rendered now if stale); undefined when it cannot be kept. */
    public [MEMO_RENDER](): any {
      const key = this.memoKey();
      if (key === undefined) return undefined;
      if (this.memo?.key !== key) this.memo = { key, json: super.toJson() };
      return this.memo.json;
    }

    private memoKey(): string | undefined {
      if (!this.stableProps) return undefined;
      if (!App.of(this).resolvers.every(r => PURE_RESOLVERS.some(cls => r instanceof cls))) return undefined;
      return `${this.patchVersion}|${process.env.CDK8S_DISABLE_SORT ?? ''}|${JSON.stringify(this.metadata.toJson())}`;
    }
  }
  Object.defineProperty(MemoizedRender, 'name', { value: base.name });
  return MemoizedRender as unknown as T;
}

/** `k8s.KubeDeployment` that renders once per change ({@link memoizedRender}). */
export const MemoizedKubeDeployment = memoizedRender(k8s.KubeDeployment);
