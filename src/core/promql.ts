import { parser } from '@prometheus-io/lezer-promql';

/**
 * Sample values for prometheus-adapter's metricsQuery template fields, used
 * to turn a template into a PromQL expression that can be parsed.
 */
export interface TemplateSamples {
  /** `<<.Series>>`: the series name. */
  readonly series: string;
  /** `<<.LabelMatchers>>`: label matchers without braces. */
  readonly labelMatchers: string;
  /** `<<.GroupBy>>`: comma-separated label names. */
  readonly groupBy: string;
}

/** Sample values shaped like what the adapter passes for a per-pod query. */
const DEFAULT_SAMPLES: TemplateSamples = {
  series: 'sample_series_total',
  labelMatchers: 'namespace="default",pod=~"web-0|web-1"',
  groupBy: 'namespace,pod',
};

const FIELD = /<<\s*([^>]*?)\s*>>/g;

/**
 * The template fields a query uses, e.g. `['.Series', '.LabelMatchers']`.
 */
export function templateFields(query: string): string[] {
  return [...query.matchAll(FIELD)].map(m => m[1]);
}

/**
 * Fills prometheus-adapter's Go-template fields (`<<.Series>>`,
 * `<<.LabelMatchers>>`, `<<.GroupBy>>`, `<<.LabelValuesByName.x>>`) with
 * sample values. Any other template action is refused: it cannot be checked.
 */
export function fillTemplate(query: string, samples: TemplateSamples = DEFAULT_SAMPLES): string {
  return query.replace(FIELD, (whole, field: string) => {
    if (field === '.Series') return samples.series;
    if (field === '.LabelMatchers') return samples.labelMatchers;
    if (field === '.GroupBy') return samples.groupBy;
    if (/^\.LabelValuesByName\.[A-Za-z_][A-Za-z0-9_]*$/.test(field)) return 'sample-value';
    throw new Error(`unsupported template action ${whole}: use <<.Series>>, <<.LabelMatchers>>, <<.GroupBy>> or <<.LabelValuesByName.<label>>>`);
  });
}

/** Verdicts of {@link promqlSyntaxError}, by expression: the grammar's answer depends on the text alone. */
const verdicts = new Map<string, string | undefined>();

/**
 * Parses `expr` with the Prometheus project's own PromQL grammar
 * (@prometheus-io/lezer-promql). Returns `undefined` when it parses, else a
 * message naming the position, e.g. `syntax error at column 17: "...by (a"`.
 * Each distinct text is parsed once per process: the checks of every
 * validation pass ask about the same queries.
 */
export function promqlSyntaxError(expr: string): string | undefined {
  if (!verdicts.has(expr)) verdicts.set(expr, parseVerdict(expr));
  return verdicts.get(expr);
}

function parseVerdict(expr: string): string | undefined {
  if (!expr.trim()) return 'the expression is empty';
  const tree = parser.parse(expr);
  let at: number | undefined;
  tree.iterate({
    enter: (node) => {
      if (at === undefined && node.type.isError) at = node.from;
      return at === undefined;
    },
  });
  if (at === undefined) return undefined;
  const start = Math.max(0, at - 20);
  const context = `${start > 0 ? '…' : ''}${expr.slice(start, at)}⟨here⟩${expr.slice(at, at + 20)}${at + 20 < expr.length ? '…' : ''}`;
  return `PromQL syntax error at column ${at + 1}: ${context.replace(/\s+/g, ' ')}`;
}
