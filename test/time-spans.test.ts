// kube-downscaler's time-spec grammar (GoKubeDownscaler 1.3): cases from its documentation and its own tests
// (internal/pkg/values/timespan_test.go), valid and invalid, and where the spans match.
import { inTimeSpec, isTimeZone, parseTimeSpec } from '../src/scaling/time-spans';

const at = (iso: string) => Date.parse(iso);
const matches = (spec: string, iso: string, zone?: string) => {
  const parsed = parseTimeSpec(spec);
  if ('error' in parsed) throw new Error(parsed.error);
  return inTimeSpec(parsed.spans, at(iso), zone);
};

describe('parseTimeSpec', () => {
  test.each([
    'Mon-Fri 07:00-16:00 UTC', 'Sat-Sun 20:00-06:00 UTC', 'Mon-Fri 00:00-24:00 UTC', 'Mon-Fri 07:30-20:30 Europe/Berlin',
    'mon-fri 7:30-20:30 America/New_York', 'Sun-Fri 23:30-24:00 Europe/Berlin,Mon-Fri 00:00-09:30 Europe/Berlin',
    '2024-02-27T00:00:00Z-2024-02-29T00:00:00Z', '2024-02-27T00:00:00Z - 2024-02-29T00:00:00Z',
    '2026-12-24T18:00:00+01:00-2026-12-27T08:00:00+01:00', 'from 2026-12-24T18:00:00+01:00', 'until 2027-01-04T06:00:00+01:00',
    'always', 'never', 'true', 'false', 'Mon-Fri 08:00-20:00',
  ])('accepts %s', spec => {
    expect(parseTimeSpec(spec)).toEqual({ spans: expect.any(Array) });
  });

  test.each<[string, string]>([
    ['Mon-Fri 07:00-16:00 Invalid', '"Invalid" in "Mon-Fri 07:00-16:00 Invalid" is not an IANA time zone'],
    ['Mon-Fri 03:00-04-00 UTC', '"03:00-04-00" in "Mon-Fri 03:00-04-00 UTC" is not a time range HH:MM-HH:MM from 00:00 to 24:00'],
    ['Mon-Fri -03:00-04:00 UTC', 'is not a time range'],
    ['Mon-Fri 00:00-26:00 UTC', '"00:00-26:00" in "Mon-Fri 00:00-26:00 UTC" is not a time range'],
    ['2024-07Z - 2024-07-29T16:00:00+02:00', 'is not an absolute span <RFC3339>-<RFC3339>'],
    ['09:00-16:00', '"09:00-16:00" is not a span'],
    ['Mon-Fr 08:00-20:00 UTC', '"Mon-Fr" in "Mon-Fr 08:00-20:00 UTC" is not a weekday range such as Mon-Fri'],
    ['Mon-Fri 08:00-20:00 UTC,', 'is not a span'],
    ['', 'the time spec is empty'],
    ['Mon-Fri 08:00-20:00 Local', 'is not an IANA time zone'],
  ])('refuses %s', (spec, message) => {
    expect(parseTimeSpec(spec)).toEqual({ error: expect.stringContaining(message) });
  });

  test('time zones: IANA names this machine knows, not "Local" or abbreviations of nothing', () => {
    expect(['UTC', 'Europe/Berlin', 'America/Port-au-Prince', 'Etc/GMT+1'].every(isTimeZone)).toBe(true);
    expect(['Local', 'Mars/Olympus', 'Berlin', ''].some(isTimeZone)).toBe(false);
  });
});

describe('inTimeSpec', () => {
  test('a weekday range, from inclusive, to exclusive', () => {
    expect(matches('Mon-Fri 06:00-20:00 UTC', '2024-04-10T16:00:00Z')).toBe(true); // Wednesday
    expect(matches('Mon-Fri 06:00-20:00 UTC', '2024-04-10T06:00:00Z')).toBe(true);
    expect(matches('Mon-Fri 06:00-20:00 UTC', '2024-04-10T20:00:00Z')).toBe(false);
    expect(matches('Mon-Fri 06:00-20:00 UTC', '2024-04-13T12:00:00Z')).toBe(false); // Saturday
  });

  test('reversed ranges: the night around midnight, on the weekdays listed; weekdays that wrap', () => {
    expect(matches('Mon-Fri 18:00-04:00 UTC', '2024-04-10T03:00:00Z')).toBe(true);
    expect(matches('Mon-Fri 18:00-04:00 UTC', '2024-04-10T04:00:00Z')).toBe(false);
    expect(matches('Mon-Fri 18:00-04:00 UTC', '2024-04-10T18:00:00Z')).toBe(true);
    expect(matches('Sat-Sun 20:00-06:00 UTC', '2024-04-13T21:00:00Z')).toBe(true); // Saturday
    expect(matches('Sat-Sun 20:00-06:00 UTC', '2024-04-15T01:00:00Z')).toBe(false); // Monday
    expect(matches('Sat-Mon 00:00-24:00 UTC', '2024-04-15T12:00:00Z')).toBe(true); // Monday, in a range that wraps
  });

  test('00:00-24:00 is the whole day; equal times and 24:00-00:00 never match', () => {
    expect(matches('Mon-Sun 00:00-24:00 UTC', '2024-04-10T23:59:59Z')).toBe(true);
    expect(matches('Mon-Sun 00:00-24:00 UTC', '2024-04-10T00:00:00Z')).toBe(true);
    expect(matches('Mon-Sun 00:00-00:00 UTC', '2024-04-10T00:00:00Z')).toBe(false);
    expect(matches('Mon-Sun 24:00-00:00 UTC', '2024-04-10T18:00:00Z')).toBe(false);
  });

  test('absolute and directional spans; lists match when any span does; always and never', () => {
    expect(matches('2024-06-03T20:00:00Z-2024-06-10T06:00:00Z', '2024-06-09T12:34:02Z')).toBe(true);
    expect(matches('2024-11-01T22:00:00Z-2024-11-22T05:00:00Z', '2024-11-22T05:00:00Z')).toBe(false);
    expect(matches('from 2024-11-01T22:00:00Z', '2030-01-01T00:00:00Z')).toBe(true);
    expect(matches('until 2024-11-01T22:00:00Z', '2024-11-01T22:00:00Z')).toBe(false);
    expect(matches('Sat-Sun 00:00-24:00 UTC,Mon-Fri 20:00-08:00 UTC', '2024-04-10T21:00:00Z')).toBe(true);
    expect(matches('always', '2024-04-10T21:00:00Z')).toBe(true);
    expect(matches('never', '2024-04-10T21:00:00Z')).toBe(false);
  });

  test('in the zone of the span, across a daylight-saving change (Europe/Berlin, 29 March 2026)', () => {
    const spec = 'Mon-Fri 07:30-20:30 Europe/Berlin';
    // Friday before: CET (UTC+1), so 07:30 local is 06:30Z
    expect(matches(spec, '2026-03-27T06:29:00Z')).toBe(false);
    expect(matches(spec, '2026-03-27T06:30:00Z')).toBe(true);
    // Monday after: CEST (UTC+2), so 07:30 local is 05:30Z
    expect(matches(spec, '2026-03-30T05:29:00Z')).toBe(false);
    expect(matches(spec, '2026-03-30T05:30:00Z')).toBe(true);
    expect(matches(spec, '2026-03-30T18:30:00Z')).toBe(false);
  });

  test("a span without a zone uses the downscaler's default time zone", () => {
    expect(matches('Mon-Fri 08:00-20:00', '2026-03-30T06:30:00Z', 'Europe/Berlin')).toBe(true);
    expect(matches('Mon-Fri 08:00-20:00', '2026-03-30T06:30:00Z', 'UTC')).toBe(false);
  });
});
