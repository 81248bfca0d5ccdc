import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';

/**
 * One piece of app-wide state: its value is made by `create` the first time
 * a construct of the app asks for it, and lives as long as the app. A slot
 * whose checks look at the whole app registers them in `create`, so they
 * run once per app however many constructs use it.
 */
export class AppSlot<T> {
  /** `name` says what the slot holds, for readers and debuggers. */
  constructor(public readonly name: string, public readonly create: (root: IConstruct) => T) {}
}

/** What one validation pass shares: each object's rendering, and the list of the app's constructs. */
export interface RenderPass {
  readonly rendered: Map<ApiObject, any>;
  constructs?: IConstruct[];
}

/**
 * The app-wide state of this library, one per construct tree (keyed by its
 * root): the render pass its checks share, and one value per {@link AppSlot}
 * (the objects several constructs share, the registries of the app-wide
 * checks). Nothing is kept on the constructs themselves.
 */
export class AppContext {
  /** The context of the app `scope` belongs to, made on first use. */
  public static of(scope: IConstruct): AppContext {
    const root = scope.node.root;
    let context = AppContext.contexts.get(root);
    if (!context) {
      context = new AppContext(root);
      AppContext.contexts.set(root, context);
    }
    return context;
  }

  private static readonly contexts = new WeakMap<IConstruct, AppContext>();

  /**
   * What the current validation pass has rendered. cdk8s validates the whole
   * app in one synchronous pre-order walk that starts at the root; the
   * context registers its root validation before any check, so each pass
   * starts from nothing, and nothing can change an object between two checks
   * of one pass.
   */
  public readonly pass: RenderPass = { rendered: new Map() };

  private readonly values = new Map<AppSlot<unknown>, unknown>();
  private readonly warned = new Set<string>();

  private constructor(public readonly root: IConstruct) {
    root.node.addValidation({
      validate: () => {
        this.forgetPass();
        return [];
      },
    });
  }

  /** The slot's value for this app, made on first use. */
  public get<T>(slot: AppSlot<T>): T {
    if (!this.values.has(slot)) this.values.set(slot, slot.create(this.root));
    return this.values.get(slot) as T;
  }

  /**
   * Prints a warning of a check to stderr, once per app however many passes
   * find it (a synth succeeds with warnings; cdk8s has no channel for them).
   */
  public warn(text: string): void {
    if (this.warned.has(text)) return;
    this.warned.add(text);
    process.stderr.write(`${text}\n`);
  }

  /** The warnings printed so far, in order. */
  public get warnings(): readonly string[] {
    return [...this.warned];
  }

  /** Drops what the last pass rendered. */
  public forgetPass(): void {
    this.pass.rendered.clear();
    this.pass.constructs = undefined;
  }
}
