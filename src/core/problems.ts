/**
 * Collects the problems of a construct's props so the constructor reports
 * all of them in one error, one line each, instead of stopping at the first.
 */
export class Problems {
  private readonly lines: string[] = [];

  /** `where` names the construct in every line: `ScalableFlaskApp "web"`. */
  constructor(public readonly where: string) {}

  /** Records a problem; `message` is said without the construct's name. */
  public add(message: string): void {
    this.lines.push(`${this.where}: ${message}`);
  }

  /**
   * Runs a check that throws on bad input; records its message (naming the
   * construct, if the message does not) and returns `undefined` when it
   * throws, so the checks after it still run.
   */
  public check<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      const message = (e as Error).message;
      this.lines.push(message.startsWith(`${this.where}:`) ? message : `${this.where}: ${message}`);
      return undefined;
    }
  }

  /** Throws one error holding every problem recorded, one per line; does nothing when there is none. */
  public throwIfAny(): void {
    if (this.lines.length) throw new Error(this.lines.join('\n'));
  }
}
