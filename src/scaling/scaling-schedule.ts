import { inTimeSpec, parseTimeSpec, TimeSpan } from './time-spans';

/** The kube-downscaler that applies schedules: the annotation names differ between its implementations. */
export enum DownscalerImplementation {
  /** caas-team/GoKubeDownscaler, the maintained Go rewrite (what `KubeDownscaler` renders): `downscaler/downscale-replicas`. */
  GO = 'go',
  /** caas-team/py-kube-downscaler, the Python fork: `downscaler/downtime-replicas`. */
  PYTHON = 'python',
}

/** How a schedule says when the HPA's floor is lowered. */
export enum ScheduleKind {
  /** The spec says when the full floor holds; off hours are the rest (`downscaler/uptime`). */
  UPTIME = 'uptime',
  /** The spec says when the floor is lowered (`downscaler/downtime`). */
  DOWNTIME = 'downtime',
}

/** Options of a {@link ScalingSchedule}. */
export interface OffHoursOptions {
  /**
   * The HPA's floor (`minReplicas`) off hours: at least 1 (an HPA's floor cannot be 0) and below its `minReplicas`.
   */
  readonly offHoursMinReplicas: number;
}

/** The annotation that tells the downscaler to leave an object alone (a scheduled HPA's target). */
export const DOWNSCALER_EXCLUDE_ANNOTATION = 'downscaler/exclude';

/**
 * Off-hours for an autoscaler: kube-downscaler lowers the HPA's
 * `minReplicas` to `offHoursMinReplicas` outside the uptime (or inside the
 * downtime) and restores it after. The HPA keeps scaling above the floor on
 * its metrics. The spec follows the downscaler's grammar: `Mon-Fri 07:30-20:30
 * Europe/Berlin`, reversed ranges (`Mon-Fri 20:00-07:30 Europe/Berlin`),
 * absolute `<RFC3339>-<RFC3339>` spans, comma lists.
 */
export class ScalingSchedule {
  /** The full floor during `spec`; `offHoursMinReplicas` the rest of the time. */
  public static uptime(spec: string, options: OffHoursOptions): ScalingSchedule {
    return new ScalingSchedule(ScheduleKind.UPTIME, spec, options);
  }

  /** `offHoursMinReplicas` during `spec`; the full floor the rest of the time. */
  public static downtime(spec: string, options: OffHoursOptions): ScalingSchedule {
    return new ScalingSchedule(ScheduleKind.DOWNTIME, spec, options);
  }

  /** Uptime or downtime. */
  public readonly kind: ScheduleKind;
  /** The time spec, as the annotation carries it. */
  public readonly spec: string;
  /** The floor off hours. */
  public readonly offHoursMinReplicas: number;
  private readonly parsed: { readonly spans: readonly TimeSpan[] } | { readonly error: string };

  private constructor(kind: ScheduleKind, spec: string, options: OffHoursOptions) {
    this.kind = kind;
    this.spec = spec;
    this.offHoursMinReplicas = options?.offHoursMinReplicas;
    this.parsed = parseTimeSpec(spec);
  }

  /**
   * What is wrong with the schedule for an HPA whose floor is `minReplicas`.
   * @internal
   */
  public _problems(minReplicas: number): string[] {
    const out: string[] = [];
    if ('error' in this.parsed) out.push(`schedule: ${this.parsed.error}`);
    const n = this.offHoursMinReplicas;
    if (!Number.isInteger(n) || n < 1) {
      out.push(`schedule: offHoursMinReplicas must be a whole number >= 1 (an HPA's minReplicas cannot be 0; the downscaler refuses it), got ${n}`);
    } else if (n >= minReplicas) {
      out.push(`schedule: offHoursMinReplicas (${n}) must be below minReplicas (${minReplicas}), or off hours change nothing; lower it, or raise `
        + 'minReplicas');
    }
    return out;
  }

  /**
   * Whether a relative span of the spec has no zone of its own (the downscaler's default time zone then applies).
   * @internal
   */
  public get _needsDefaultZone(): boolean {
    return 'spans' in this.parsed && this.parsed.spans.some(s => s.kind === 'relative' && s.zone === undefined);
  }

  /** Whether the instant `at` is off hours (the floor lowered); `defaultTimeZone` for spans without a zone. */
  public isOffHours(at: Date | number, defaultTimeZone = 'UTC'): boolean {
    if ('error' in this.parsed) throw new Error(`ScalingSchedule: ${this.parsed.error}`);
    const inSpec = inTimeSpec(this.parsed.spans, typeof at === 'number' ? at : at.getTime(), defaultTimeZone);
    return this.kind === ScheduleKind.UPTIME ? !inSpec : inSpec;
  }

  /**
   * The HPA's annotations for the downscaler implementation that applies them.
   * @internal
   */
  public _annotations(implementation: DownscalerImplementation): Record<string, string> {
    const replicas = implementation === DownscalerImplementation.GO ? 'downscaler/downscale-replicas' : 'downscaler/downtime-replicas';
    return { [`downscaler/${this.kind}`]: this.spec, [replicas]: String(this.offHoursMinReplicas) };
  }
}
