// A week of the reference web app's daily load, Monday 23 to Sunday 29 March 2026 in Berlin (the clocks go
// forward on the Sunday): office hours on weekdays, a quiet night, a quieter weekend.
const HOUR = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', weekday: 'short', hour: 'numeric', hourCycle: 'h23' });
const START = '2026-03-23T00:00:00+01:00';

/** Total cores the web app's pods are asked for at `time` seconds after the start. */
function cpu({ time }) {
  const parts = Object.fromEntries(HOUR.formatToParts(new Date(Date.parse(START) + time * 1000)).map(p => [p.type, p.value]));
  const hour = Number(parts.hour);
  if (parts.weekday === 'Sat' || parts.weekday === 'Sun') return 0.4;
  if (hour < 8 || hour >= 20) return 0.3;
  return 1.4 + 0.6 * Math.sin(((hour - 8) / 12) * Math.PI);
}

module.exports = { start: START, duration: 7 * 24 * 3600, syncPeriod: 60, initialReplicas: 3, podStartup: 30, load: { cpu, memory: '100Mi' } };
