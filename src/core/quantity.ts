import { Size, SizeRoundingBehavior } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';

/**
 * Kubernetes resource quantities (`"500m"`, `"1Gi"`, `"1e3"`), parsed as the
 * API server's `resource.ParseQuantity` does and compared exactly.
 *
 * Grammar (k8s.io/apimachinery/pkg/api/resource/quantity.go):
 *
 * ```
 * <quantity>        ::= <signedNumber><suffix>
 * <signedNumber>    ::= <number> | <sign><number>
 * <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 * <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
 * <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
 * <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
 * <decimalExponent> ::= "e" <signedInteger> | "E" <signedInteger>
 * ```
 *
 * (`n` and `u` are not in the grammar comment upstream, but the parser's
 * suffixer accepts them, and metrics.k8s.io reports cpu in `n`.)
 *
 * Values are kept as an exact fraction `numerator / 10^scale` of BigInts, so
 * `"300m"` and `"0.3"` are equal and no float rounding ever takes part in a
 * comparison. Like the API server, amounts finer than a nano-unit are rounded
 * up (away from zero) to the next nano-unit.
 */

const QUANTITY_RE = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|n|u|m|k|M|G|T|P|E|)$/;

const BINARY_EXP: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, 'k': 3, 'M': 6, 'G': 9, 'T': 12, 'P': 15, 'E': 18 };

/** The finest scale the API server keeps: 10^-9 (nano). */
const NANO_SCALE = 9;

const TEN = BigInt(10);
const ZERO = BigInt(0);
const ONE = BigInt(1);

function pow10(n: number): bigint {
  return TEN ** BigInt(n);
}

function gcdBig(a: bigint, b: bigint): bigint {
  a = a < ZERO ? -a : a;
  b = b < ZERO ? -b : b;
  while (b !== ZERO) {
    [a, b] = [b, a % b];
  }
  return a;
}

/**
 * An exact Kubernetes resource quantity.
 */
export class Quantity {
  /**
   * Parses a quantity string (or a plain number, as YAML may carry one).
   *
   * @throws Error quoting the value when it is not a valid quantity.
   */
  public static parse(value: string | number): Quantity {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        throw new Error(`invalid quantity ${value}: must be a finite number`);
      }
      value = String(value);
      if (/e/i.test(value)) {
        // JS writes 1e21 or 1e-7 in exponent form, which the grammar accepts as it is.
        value = value.replace('e+', 'e');
      }
    }
    if (typeof value !== 'string') {
      throw new Error(`invalid quantity ${JSON.stringify(value)}: must be a string such as "500m" or "1Gi"`);
    }
    const m = QUANTITY_RE.exec(value);
    if (!m) {
      throw new Error(`invalid quantity "${value}": expected a number with an optional suffix (n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei) `
        + `or exponent (e3, E-3), e.g. "500m", "1.5", "256Mi"`);
    }
    const [, sign, num, suffix] = m;
    const [intPart, fracPart = ''] = num.split('.');
    let numerator = BigInt((intPart || '0') + fracPart);
    let scale = fracPart.length;
    if (sign === '-') numerator = -numerator;

    if (suffix in BINARY_EXP) {
      numerator *= BigInt(2) ** BigInt(BINARY_EXP[suffix]);
    } else {
      const exp = suffix in DECIMAL_EXP ? DECIMAL_EXP[suffix] : parseInt(suffix.slice(1), 10);
      if (Math.abs(exp) > 1000) {
        throw new Error(`invalid quantity "${value}": exponent ${exp} is out of range`);
      }
      scale -= exp;
    }
    return Quantity.fromFraction(numerator, scale, value);
  }

  /**
   * Returns `true` when `value` parses as a quantity.
   */
  public static isValid(value: string | number): boolean {
    try {
      Quantity.parse(value);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A quantity from an integer amount of thousandths (millicores, for cpu).
   */
  public static fromMillis(millis: number | bigint): Quantity {
    return Quantity.fromFraction(BigInt(millis), 3, `${millis}m`);
  }

  private static fromFraction(numerator: bigint, scale: number, text: string): Quantity {
    if (scale < 0) {
      numerator *= pow10(-scale);
      scale = 0;
    }
    if (scale > NANO_SCALE) {
      // Round away from zero to nano precision, as ParseQuantity does.
      const div = pow10(scale - NANO_SCALE);
      const q = numerator / div;
      const rem = numerator % div;
      numerator = rem === ZERO ? q : q + (numerator < ZERO ? -ONE : ONE);
      scale = NANO_SCALE;
    }
    return new Quantity(numerator, scale, text);
  }

  /** Exact value = numerator / 10^scale. */
  private constructor(
    private readonly numerator: bigint,
    private readonly scale: number,
    /** The text the quantity was written as. */
    public readonly text: string,
  ) {}

  /** -1, 0 or 1 as this quantity is less than, equal to or greater than `other`. */
  public compare(other: Quantity | string | number): number {
    const o = other instanceof Quantity ? other : Quantity.parse(other);
    const scale = Math.max(this.scale, o.scale);
    const a = this.numerator * pow10(scale - this.scale);
    const b = o.numerator * pow10(scale - o.scale);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /** Numeric equality, whatever the spelling (`"1"` equals `"1000m"`). */
  public equals(other: Quantity | string | number): boolean {
    return this.compare(other) === 0;
  }

  /** `true` when greater than zero. */
  public get isPositive(): boolean {
    return this.numerator > ZERO;
  }

  /** The sum of this and `other`. */
  public plus(other: Quantity): Quantity {
    const scale = Math.max(this.scale, other.scale);
    const n = this.numerator * pow10(scale - this.scale) + other.numerator * pow10(scale - other.scale);
    return Quantity.fromFraction(n, scale, '');
  }

  /** This quantity times a whole number. */
  public times(factor: number): Quantity {
    if (!Number.isInteger(factor)) {
      throw new Error(`Quantity.times takes a whole number, got ${factor}`);
    }
    return Quantity.fromFraction(this.numerator * BigInt(factor), this.scale, '');
  }

  /** The value in thousandths, rounded up (Kubernetes' `MilliValue()`), exactly. */
  public milliValue(): bigint {
    const n = this.numerator * BigInt(1000);
    const d = pow10(this.scale);
    const q = n / d;
    return n % d > ZERO ? q + ONE : q;
  }

  /** How many whole `divisor`s fit into this quantity, rounded up. */
  public ceilDiv(divisor: Quantity): number {
    if (!divisor.isPositive) {
      throw new Error(`cannot divide by the non-positive quantity "${divisor}"`);
    }
    const scale = Math.max(this.scale, divisor.scale);
    const a = this.numerator * pow10(scale - this.scale);
    const b = divisor.numerator * pow10(scale - divisor.scale);
    const q = a / b;
    return Number(a % b > ZERO ? q + ONE : q);
  }

  /**
   * The exact value as a plain decimal string (`"0.25"`, `"1073741824"`),
   * suitable for PromQL literals and for display.
   */
  public toDecimalString(): string {
    const neg = this.numerator < ZERO;
    let digits = (neg ? -this.numerator : this.numerator).toString();
    let out: string;
    if (this.scale === 0) {
      out = digits;
    } else {
      digits = digits.padStart(this.scale + 1, '0');
      const int = digits.slice(0, digits.length - this.scale);
      const frac = digits.slice(digits.length - this.scale).replace(/0+$/, '');
      out = frac ? `${int}.${frac}` : int;
    }
    return neg && out !== '0' ? `-${out}` : out;
  }

  /** The value as a JavaScript number (may lose precision; never use it to compare). */
  public toNumber(): number {
    return Number(this.toDecimalString());
  }

  /** A canonical, short spelling: a binary suffix when exact, else `m` or plain decimal. */
  public toCanonicalString(): string {
    for (const [suffix, exp] of Object.entries(BINARY_EXP).reverse()) {
      const unit = BigInt(2) ** BigInt(exp);
      if (this.scale === 0 && this.numerator !== ZERO && this.numerator % unit === ZERO) {
        return `${this.numerator / unit}${suffix}`;
      }
    }
    const dec = this.toDecimalString();
    if (dec.includes('.')) {
      const g = gcdBig(this.numerator, pow10(this.scale));
      if (pow10(this.scale) / g <= BigInt(1000)) {
        return `${(this.numerator * BigInt(1000)) / pow10(this.scale)}m`;
      }
    }
    return dec;
  }

  /** The text as written (or the canonical form for computed quantities). */
  public toString(): string {
    return this.text || this.toCanonicalString();
  }
}

/** An amount of cpu: cdk8s-plus's `Cpu` (`Cpu.millis(400)`, `Cpu.units(2)`) or a quantity (`"400m"`). */
export type CpuAmount = Cpu | string;

/** An amount of memory: cdk8s's `Size` (`Size.mebibytes(256)`, `Size.gibibytes(1)`) or a quantity (`"256Mi"`). */
export type MemoryAmount = Size | string;

/**
 * An amount as a quantity text: a `Cpu` as cdk8s-plus renders it, a `Size`
 * exactly, in the largest binary unit that holds it whole (`Gi`, `Mi`,
 * `Ki`, else bytes); a string as it is.
 */
export function amountText(value: Cpu | Size | string): string {
  if (value instanceof Cpu) return value.amount;
  if (value instanceof Size) {
    const kib = value.toKibibytes({ rounding: SizeRoundingBehavior.NONE });
    if (!Number.isInteger(kib)) return String(Math.round(kib * 1024));
    if (kib !== 0 && kib % (1024 * 1024) === 0) return `${kib / (1024 * 1024)}Gi`;
    if (kib !== 0 && kib % 1024 === 0) return `${kib / 1024}Mi`;
    return `${kib}Ki`;
  }
  return value;
}

/**
 * Parses `value` (a quantity, or a `Cpu` or `Size`) and names `where` in the
 * error (`ScalableFlaskApp "web": resources.cpu: invalid quantity "1x" ...`).
 */
export function parseQuantity(value: string | number | Cpu | Size, where: string): Quantity {
  try {
    return Quantity.parse(typeof value === 'number' ? value : amountText(value));
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}
