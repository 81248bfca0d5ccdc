/*
 * kube-downscaler's time specs, as the Go rewrite (caas-team/GoKubeDownscaler
 * 1.3) reads them: `always`/`true` and `never`/`false`, or a comma-separated
 * list of spans, any of which matches:
 * - relative: `<Wd>-<Wd> <HH:MM>-<HH:MM> [<IANA zone>]`, weekdays Mon..Sun
 *   (case-insensitive, ranges may wrap: `Sat-Mon`), times from 00:00 to 24:00,
 *   `from <= t < to`; a reversed range (`20:00-08:00`) is the night around
 *   midnight, on the weekdays listed; equal times never match. Without a
 *   zone, the downscaler's default time zone applies;
 * - absolute: `<RFC3339>-<RFC3339>` (spaces around the dash allowed),
 *   `from <= t < to`;
 * - directional: `from <RFC3339>` or `until <RFC3339>`.
 */

/** Weekdays as JavaScript numbers them (Sunday 0). */
const WEEKDAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** One span of a time spec. */
export type TimeSpan =
  | { readonly kind: 'relative'; readonly fromDay: number; readonly toDay: number; readonly from: number; readonly to: number;
    readonly zone?: string }
  | { readonly kind: 'absolute'; readonly from: number; readonly to: number }
  | { readonly kind: 'constant'; readonly matches: boolean };

/** A parsed time spec: its spans, or why it does not parse. */
export type ParsedTimeSpec = { readonly spans: readonly TimeSpan[] } | { readonly error: string };

/** Whether `zone` is an IANA time zone this machine's time zone database knows (as the downscaler's Go runtime would). */
export function isTimeZone(zone: string): boolean {
  if (!zone || zone === 'Local') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Milliseconds since the epoch of an RFC 3339 timestamp, or undefined when it is not one. */
function rfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text.trim());
  if (!m) return undefined;
  const [, , mo, d, h, mi, s] = m.map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const ms = Date.parse(text.trim());
  return Number.isNaN(ms) ? undefined : ms;
}

/** Minutes since midnight of `H:MM`/`HH:MM` (00:00 to 24:00), or undefined. */
function dayTime(text: string): number | undefined {
  const m = /^(\d{1,2}):(\d\d)$/.exec(text);
  if (!m) return undefined;
  const [h, min] = [Number(m[1]), Number(m[2])];
  if (h > 24 || min > 59 || (h === 24 && min > 0)) return undefined;
  return h * 60 + min;
}

function parseSpan(text: string): TimeSpan | string {
  const directional = /^(from|until)\s+(\S+)$/i.exec(text);
  if (directional) {
    const at = rfc3339(directional[2]);
    if (at === undefined) return `"${directional[2]}" is not an RFC 3339 timestamp (e.g. 2026-12-24T18:00:00+01:00)`;
    return directional[1].toLowerCase() === 'from' ? { kind: 'absolute', from: at, to: Infinity } : { kind: 'absolute', from: -Infinity, to: at };
  }
  if (/^\d{4}-/.test(text)) {
    const m = /^(\S+?(?:Z|[+-]\d\d:\d\d))\s*-\s*(\S+)$/.exec(text);
    const [from, to] = m ? [rfc3339(m[1]), rfc3339(m[2])] : [undefined, undefined];
    if (from === undefined || to === undefined) {
      return `"${text}" is not an absolute span <RFC3339>-<RFC3339> (e.g. 2026-12-24T00:00:00+01:00-2026-12-27T00:00:00+01:00)`;
    }
    return { kind: 'absolute', from, to };
  }
  const parts = text.split(/\s+/);
  if (parts.length < 2 || parts.length > 3) {
    return `"${text}" is not a span: write "<Wd>-<Wd> <HH:MM>-<HH:MM> <zone>" (e.g. Mon-Fri 07:30-20:30 Europe/Berlin) or "<RFC3339>-<RFC3339>"`;
  }
  const days = /^([a-zA-Z]{3})-([a-zA-Z]{3})$/.exec(parts[0]);
  const [fromDay, toDay] = days ? [WEEKDAYS[days[1].toLowerCase()], WEEKDAYS[days[2].toLowerCase()]] : [undefined, undefined];
  if (fromDay === undefined || toDay === undefined) return `"${parts[0]}" in "${text}" is not a weekday range such as Mon-Fri`;
  const times = /^([^-]+)-([^-]+)$/.exec(parts[1]);
  const [from, to] = times ? [dayTime(times[1]), dayTime(times[2])] : [undefined, undefined];
  if (from === undefined || to === undefined) return `"${parts[1]}" in "${text}" is not a time range HH:MM-HH:MM from 00:00 to 24:00`;
  const zone = parts[2];
  if (zone !== undefined && !isTimeZone(zone)) return `"${zone}" in "${text}" is not an IANA time zone (e.g. Europe/Berlin, UTC)`;
  return { kind: 'relative', fromDay, toDay, from, to, ...(zone !== undefined ? { zone } : {}) };
}

/** Parses a time spec by the downscaler's grammar. */
export function parseTimeSpec(text: string): ParsedTimeSpec {
  const spec = (text ?? '').trim();
  if (/^(always|true)$/i.test(spec)) return { spans: [{ kind: 'constant', matches: true }] };
  if (/^(never|false)$/i.test(spec)) return { spans: [{ kind: 'constant', matches: false }] };
  if (!spec) return { error: 'the time spec is empty' };
  const spans: TimeSpan[] = [];
  for (const part of spec.split(',').map(p => p.trim())) {
    const span = parseSpan(part);
    if (typeof span === 'string') return { error: span };
    spans.push(span);
  }
  return { spans };
}

/** Local weekday and minutes since midnight of `at` in `zone`. */
const formatters = new Map<string, Intl.DateTimeFormat>();
function localTime(at: number, zone: string): { weekday: number; minutes: number } {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(zone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(at)).map(p => [p.type, p.value]));
  return { weekday: WEEKDAYS[parts.weekday.toLowerCase()], minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

function inSpan(span: TimeSpan, at: number, defaultZone: string): boolean {
  if (span.kind === 'constant') return span.matches;
  if (span.kind === 'absolute') return span.from <= at && at < span.to;
  const { weekday, minutes } = localTime(at, span.zone ?? defaultZone);
  const day = span.fromDay <= span.toDay ? weekday >= span.fromDay && weekday <= span.toDay : weekday >= span.fromDay || weekday <= span.toDay;
  const time = span.from > span.to ? minutes >= span.from || minutes < span.to : span.from <= minutes && minutes < span.to;
  return day && time;
}

/** Whether the instant `at` (ms since the epoch) is in any span; relative spans without a zone use `defaultZone`. */
export function inTimeSpec(spans: readonly TimeSpan[], at: number, defaultZone = 'UTC'): boolean {
  return spans.some(s => inSpan(s, at, defaultZone));
}

/** Whether a relative span of the spec has no zone of its own (so it needs the downscaler's default time zone). */
export function needsDefaultZone(spans: readonly TimeSpan[]): boolean {
  return spans.some(s => s.kind === 'relative' && s.zone === undefined);
}
