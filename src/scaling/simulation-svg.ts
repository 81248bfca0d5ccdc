import { SimulationResult, SimulationStep } from './simulate';
import { MetricTargetType } from './scaling-metric';

/** Options of {@link renderSimulationSvg}. */
export interface SimulationSvgOptions {
  /**
   * Title above the chart.
   * @default - "HPA <namespace>/<name>"
   */
  readonly title?: string;
  /**
   * Width in pixels.
   * @default 960
   */
  readonly width?: number;
}

const COLORS = { replicas: '#1f6feb', desired: '#d97706', bound: '#8b949e', value: '#8250df', target: '#57606a', up: '#1a7f37', down: '#cf222e',
  band: '#eaeef2', pending: '#cf222e', provisioning: '#57606a' };
/** One color per node group, in the order the steps name them. */
const GROUP_COLORS = ['#0969da', '#1a7f37', '#9a6700', '#8250df', '#bf3989', '#57606a'];
const NODES_HEIGHT = 120;
const MARGIN = { left: 64, right: 24 };
const REPLICAS_HEIGHT = 240;
const METRIC_HEIGHT = 150;
const GAP = 56;

/** Text safe inside SVG. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

/** A "nice" step for about `count` ticks over `span`. */
function tickStep(span: number, count: number): number {
  const raw = span / count;
  const pow = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map(m => m * pow).find(s => s >= raw) ?? 10 * pow;
}

/** Axis label of a value: 1.5k, 512Mi-like figures stay readable. */
function label(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${num(v / 1e9)}G`;
  if (a >= 1e6) return `${num(v / 1e6)}M`;
  if (a >= 1e4) return `${num(v / 1e3)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0+$/, '').replace(/\.$/, '');
}

/** A step line (the value holds until the next sync): a segment where the value changes, and one to the end. */
function stepPath(points: [number, number][]): string {
  const parts: string[] = [];
  points.forEach(([x, y], i) => {
    if (i === 0) parts.push(`M${num(x)},${num(y)}`);
    else if (y !== points[i - 1][1] || i === points.length - 1) parts.push(`H${num(x)}V${num(y)}`);
  });
  return parts.join('');
}

interface Panel {
  readonly top: number;
  readonly height: number;
  readonly yMax: number;
  x(t: number): number;
  y(v: number): number;
}

/**
 * A standalone SVG chart of a simulation: replicas and the replicas the
 * metrics asked for over time (with min and max), each metric against its
 * target and tolerance band, and the controller's events (scale-ups,
 * scale-downs, limits and stabilization) marked with their reasons. No
 * external assets; hovering a marker shows its reasons.
 */
export function renderSimulationSvg(result: SimulationResult, options: SimulationSvgOptions = {}): string {
  const width = options.width ?? 960;
  const steps = result.steps;
  const end = steps.length ? steps[steps.length - 1].time + result.syncPeriod : result.syncPeriod;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const x = (t: number) => MARGIN.left + (t / end) * plotWidth;
  const metricNames = [...new Set(steps.flatMap(s => s.metrics.map(m => m.name)))];
  const groups = Object.keys(steps.find(s => s.nodes)?.nodes ?? {});
  const nodesSpace = groups.length ? NODES_HEIGHT + GAP : 0;
  const height = 70 + REPLICAS_HEIGHT + nodesSpace + metricNames.length * (METRIC_HEIGHT + GAP) + 50;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, `
      + `sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="bold">${esc(options.title ?? `HPA ${result.hpa}`)}</text>`,
    `<text x="${MARGIN.left}" y="44" fill="#57606a">${esc(summaryLine(result))}</text>`,
  ];
  const peak = Math.max(result.maxReplicas, ...steps.map(s => Math.max(s.replicas, s.desiredReplicas, s.currentReplicas)));
  const replicas = panel(70, REPLICAS_HEIGHT, peak * 1.08, x);
  out.push(...offHoursBands(replicas, steps, result));
  out.push(...axes(replicas, end, plotWidth, 'replicas'));
  out.push(...replicaLines(replicas, steps, result, end));
  out.push(...eventMarkers(replicas, steps));
  if (groups.length) out.push(...nodesPanel(groups, steps, 70 + REPLICAS_HEIGHT + GAP, end, plotWidth, x));
  metricNames.forEach((name, i) => out.push(...metricPanel(name, steps, result.tolerance,
    70 + REPLICAS_HEIGHT + nodesSpace + GAP + i * (METRIC_HEIGHT + GAP), end, plotWidth, x)));
  out.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${height - 14}" text-anchor="middle" fill="#57606a">minutes</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function summaryLine(r: SimulationResult): string {
  const s = r.summary;
  return [
    `min ${r.minReplicas}, max ${r.maxReplicas}`,
    s.timeToTarget === undefined ? 'never reached the target' : `on target after ${num(s.timeToTarget)} s`,
    `peak ${s.peakReplicas}`, `${s.replicaChanges} replica changes`, s.settled ? 'settled' : 'never settled', `${num(s.podHours)} pod-hours`,
    ...(s.longestPending !== undefined ? [`longest Pending ${num(s.longestPending)} s`] : []),
    ...(s.nodeHours ? [`${num(Object.values(s.nodeHours).reduce((a, b) => a + b, 0))} node-hours`] : []),
  ].join(' · ');
}

/** Shaded spans of the syncs at which an off-hours schedule had lowered the HPA's floor. */
function offHoursBands(p: Panel, steps: SimulationStep[], r: SimulationResult): string[] {
  const out: string[] = [];
  for (let i = 0; i < steps.length; i++) {
    if (steps[i].minReplicas >= r.minReplicas) continue;
    let j = i;
    while (j + 1 < steps.length && steps[j + 1].minReplicas < r.minReplicas) j++;
    const [x0, x1] = [p.x(steps[i].time), p.x(j + 1 < steps.length ? steps[j + 1].time : steps[j].time + r.syncPeriod)];
    out.push(`<rect x="${num(x0)}" y="${p.top}" width="${num(x1 - x0)}" height="${p.height}" fill="${COLORS.band}"><title>off hours: floor `
      + `${steps[i].minReplicas} instead of ${r.minReplicas}</title></rect>`);
    i = j;
  }
  return out;
}

function panel(top: number, height: number, yMax: number, x: (t: number) => number): Panel {
  const max = yMax > 0 ? yMax : 1;
  return { top, height, yMax: max, x, y: v => top + height - (Math.max(0, Math.min(v, max)) / max) * height };
}

function axes(p: Panel, end: number, plotWidth: number, yTitle: string): string[] {
  const out = [`<rect x="${MARGIN.left}" y="${p.top}" width="${plotWidth}" height="${p.height}" fill="none" stroke="#d0d7de"/>`];
  const xStep = tickStep(end / 60, 10) * 60;
  for (let t = 0; t <= end; t += xStep) {
    out.push(`<line x1="${num(p.x(t))}" y1="${p.top}" x2="${num(p.x(t))}" y2="${p.top + p.height}" stroke="#f0f2f4"/>`);
    out.push(`<text x="${num(p.x(t))}" y="${p.top + p.height + 14}" text-anchor="middle" fill="#57606a">${num(t / 60)}</text>`);
  }
  const yStep = tickStep(p.yMax, 5);
  for (let v = 0; v <= p.yMax; v += yStep) {
    out.push(`<text x="${MARGIN.left - 6}" y="${num(p.y(v) + 4)}" text-anchor="end" fill="#57606a">${label(v)}</text>`);
  }
  out.push(`<text x="14" y="${p.top + p.height / 2}" transform="rotate(-90 14 ${p.top + p.height / 2})" text-anchor="middle" `
    + `fill="#57606a">${esc(yTitle)}</text>`);
  return out;
}

function replicaLines(p: Panel, steps: SimulationStep[], r: SimulationResult, end: number): string[] {
  const series = (f: (s: SimulationStep) => number): [number, number][] => [
    ...steps.map(s => [p.x(s.time), p.y(f(s))] as [number, number]),
    ...(steps.length ? [[p.x(end), p.y(f(steps[steps.length - 1]))] as [number, number]] : []),
  ];
  const bound = (v: number, name: string) => [
    `<line x1="${MARGIN.left}" y1="${num(p.y(v))}" x2="${num(p.x(end))}" y2="${num(p.y(v))}" stroke="${COLORS.bound}" stroke-dasharray="2 4"/>`,
    `<text x="${num(p.x(end) - 4)}" y="${num(p.y(v) - 4)}" text-anchor="end" fill="${COLORS.bound}">${name} ${v}</text>`,
  ];
  const legendY = p.top - 8;
  const pending = steps.some(s => s.pendingPods !== undefined) ? [
    `<path d="${stepPath(series(s => s.pendingPods ?? 0))}" fill="none" stroke="${COLORS.pending}" stroke-width="1.5" stroke-dasharray="2 2"/>`,
    `<line x1="${MARGIN.left + 490}" y1="${legendY - 4}" x2="${MARGIN.left + 514}" y2="${legendY - 4}" stroke="${COLORS.pending}" `
      + `stroke-width="1.5" stroke-dasharray="2 2"/>`,
    `<text x="${MARGIN.left + 520}" y="${legendY}">Pending (no room on a node)</text>`,
  ] : [];
  return [
    ...bound(r.maxReplicas, 'max'), ...bound(r.minReplicas, 'min'), ...pending,
    `<path d="${stepPath(series(s => s.desiredReplicas))}" fill="none" stroke="${COLORS.desired}" stroke-width="1.5" stroke-dasharray="6 3"/>`,
    `<path d="${stepPath(series(s => s.replicas))}" fill="none" stroke="${COLORS.replicas}" stroke-width="2.5"/>`,
    `<line x1="${MARGIN.left + 200}" y1="${legendY - 4}" x2="${MARGIN.left + 224}" y2="${legendY - 4}" stroke="${COLORS.replicas}" `
      + `stroke-width="2.5"/>`,
    `<text x="${MARGIN.left + 230}" y="${legendY}">replicas</text>`,
    `<line x1="${MARGIN.left + 300}" y1="${legendY - 4}" x2="${MARGIN.left + 324}" y2="${legendY - 4}" stroke="${COLORS.desired}" `
      + `stroke-width="1.5" stroke-dasharray="6 3"/>`,
    `<text x="${MARGIN.left + 330}" y="${legendY}">asked for by the metrics</text>`,
  ];
}

/**
 * A marker per sync that changed the replicas (up or down) or was held back
 * (limits, stabilization, failed metrics); consecutive syncs held back alike
 * share the first one's marker.
 */
function eventMarkers(p: Panel, steps: SimulationStep[]): string[] {
  const out: string[] = [];
  const heldAlike = (a: SimulationStep, b: SimulationStep) => a.replicas === a.currentReplicas && b.replicas === b.currentReplicas
    && a.replicas === b.replicas && a.desiredReplicas === b.desiredReplicas && a.reasons.join() === b.reasons.join();
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const changed = s.replicas !== s.currentReplicas;
    if (!changed && !s.reasons.length) continue;
    if (!changed && i > 0 && heldAlike(steps[i - 1], s)) continue;
    let last = i;
    while (!changed && last + 1 < steps.length && heldAlike(s, steps[last + 1])) last++;
    const cx = num(p.x(s.time));
    const why = `${num(s.time)} s${last > i ? ` to ${num(steps[last].time)} s` : ''}: ${s.currentReplicas} → ${s.replicas} (metrics asked for `
      + `${s.desiredReplicas})${s.reasons.length ? `; ${s.reasons.join(', ')}` : ''}`;
    if (changed) {
      const up = s.replicas > s.currentReplicas;
      const y = p.y(s.replicas);
      const shape = up ? `${cx},${num(y - 9)} ${num(+cx - 5)},${num(y - 1)} `
        + `${num(+cx + 5)},${num(y - 1)}` : `${cx},${num(y + 9)} ${num(+cx - 5)},${num(y + 1)} ${num(+cx + 5)},${num(y + 1)}`;
      out.push(`<polygon points="${shape}" fill="${up ? COLORS.up : COLORS.down}"><title>${esc(why)}</title></polygon>`);
    } else {
      out.push(`<rect x="${num(+cx - 1)}" y="${p.top + p.height - 8}" width="2" height="8" `
        + `fill="${COLORS.desired}"><title>${esc(why)}</title></rect>`);
    }
  }
  return out;
}

/** Ready nodes per node group (one line each), and Ready plus provisioning nodes in all (dashed). */
function nodesPanel(groups: string[], steps: SimulationStep[], top: number, end: number, plotWidth: number, x: (t: number) => number): string[] {
  const total = (s: SimulationStep) => groups.reduce((n, g) => n + (s.nodes?.[g] ?? 0), 0) + (s.provisioningNodes ?? 0);
  const p = panel(top, NODES_HEIGHT, Math.max(1, ...steps.map(total)) * 1.15, x);
  const series = (f: (s: SimulationStep) => number): [number, number][] => [
    ...steps.map(s => [p.x(s.time), p.y(f(s))] as [number, number]),
    ...(steps.length ? [[p.x(end), p.y(f(steps[steps.length - 1]))] as [number, number]] : []),
  ];
  const out = [`<text x="${MARGIN.left}" y="${top - 10}" font-weight="bold">nodes</text>`, ...axes(p, end, plotWidth, 'nodes'),
    `<path d="${stepPath(series(total))}" fill="none" stroke="${COLORS.provisioning}" stroke-width="1.5" stroke-dasharray="6 3"/>`,
    `<line x1="${MARGIN.left + 60}" y1="${top - 14}" x2="${MARGIN.left + 84}" y2="${top - 14}" stroke="${COLORS.provisioning}" `
      + 'stroke-width="1.5" stroke-dasharray="6 3"/>',
    `<text x="${MARGIN.left + 90}" y="${top - 10}">with nodes provisioning</text>`];
  groups.forEach((g, i) => {
    const color = GROUP_COLORS[i % GROUP_COLORS.length];
    const lx = MARGIN.left + 250 + i * 150;
    out.push(`<path d="${stepPath(series(s => s.nodes?.[g] ?? 0))}" fill="none" stroke="${color}" stroke-width="2.5"/>`,
      `<line x1="${lx}" y1="${top - 14}" x2="${lx + 24}" y2="${top - 14}" stroke="${color}" stroke-width="2.5"/>`,
      `<text x="${lx + 30}" y="${top - 10}">${esc(g)} (Ready)</text>`);
  });
  return out;
}

function metricPanel(name: string, steps: SimulationStep[], tolerance: number, top: number, end: number, plotWidth: number,
  x: (t: number) => number): string[] {
  const points = steps.map(s => ({ time: s.time, m: s.metrics.find(m => m.name === name) }));
  const first = points.find(q => q.m)?.m;
  if (!first) return [];
  const values = points.map(q => q.m?.value).filter((v): v is number => v !== undefined);
  const p = panel(top, METRIC_HEIGHT, Math.max(first.target * (1 + tolerance), ...values) * 1.1, x);
  const unit = first.targetType === MetricTargetType.UTILIZATION ? ' (% of requests)'
    : first.targetType === MetricTargetType.AVERAGE_VALUE ? ' per pod' : '';
  const out = [
    `<text x="${MARGIN.left}" y="${top - 10}" font-weight="bold">${esc(`${first.type} ${name}${unit}`)}</text>`,
    `<rect x="${MARGIN.left}" y="${num(p.y(first.target * (1 + tolerance)))}" width="${plotWidth}" `
      + `height="${num(p.y(first.target * (1 - tolerance)) - p.y(first.target * (1 + tolerance)))}" fill="${COLORS.band}"/>`,
    ...axes(p, end, plotWidth, ''),
    `<line x1="${MARGIN.left}" y1="${num(p.y(first.target))}" x2="${num(x(end))}" y2="${num(p.y(first.target))}" stroke="${COLORS.target}" `
      + `stroke-dasharray="6 3"/>`,
    `<text x="${num(x(end) - 4)}" y="${num(p.y(first.target) - 4)}" text-anchor="end" fill="${COLORS.target}">target ${label(first.target)} ± `
      + `${num(tolerance * 100)}%</text>`,
  ];
  // The value line, broken where the metric failed.
  let segment: [number, number][] = [];
  const flush = () => {
    if (segment.length) out.push(`<path d="${stepPath(segment)}" fill="none" stroke="${COLORS.value}" stroke-width="2"/>`);
    segment = [];
  };
  points.forEach((q, i) => {
    const v = q.m?.value;
    if (v === undefined) {
      flush();
      out.push(`<rect x="${num(x(q.time) - 1)}" y="${p.top}" width="2" height="${p.height}" fill="${COLORS.down}" `
        + `opacity="0.5"><title>${esc(`${num(q.time)} s: ${q.m?.type ?? ''} metric ${name} could not be computed`)}</title></rect>`);
      return;
    }
    segment.push([x(q.time), p.y(v)]);
    const next = points[i + 1];
    if (!next) segment.push([x(end), p.y(v)]);
  });
  flush();
  return out;
}
