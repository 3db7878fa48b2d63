import { block, blocks, evaluate, instancesOf, type Block, type TfModule } from './terraform';

/**
 * The log-based metrics in infra/, and a check of them against captured log lines: each
 * metric's filter must match lines the code writes, and every field it extracts must be present
 * in those lines with the type the metric declares.
 *
 * Use it on any lines the functions print to stdout (one JSON object a line; other lines are
 * ignored), e.g. from the e2e run:
 *   const problems = checkLogLinesAgainstMetrics(logMetricsOf(await loadModule()), logLines, {
 *     requireMatch: ['dsr_run_outcomes', ...],
 *   });
 *   expect(problems).toEqual([]);
 */

export interface LogMetric {
  /** Terraform resource name (google_logging_metric.<this>). */
  resourceName: string;
  /** The metric id (logging.googleapis.com/user/<name>). */
  name: string;
  filter: string;
  valueType: string;
  valueExtractor: string | undefined;
  labels: { key: string; valueType: string }[];
  labelExtractors: Record<string, string>;
}

/** The log-based metrics, one per for_each key, with their expressions evaluated. */
export function logMetricsOf(mod: TfModule): LogMetric[] {
  return instancesOf({ mod, vars: {} }, 'google_logging_metric').map(
    ({ name: resourceName, key, body, ctx }) => {
      const get = (value: unknown) => evaluate(value, ctx);
      const descriptor = block(body, 'metric_descriptor');
      return {
        resourceName: key === undefined ? resourceName : `${resourceName}["${key}"]`,
        name: String(get(body['name'])),
        filter: String(get(body['filter'])),
        valueType: String(get(descriptor['value_type'])),
        valueExtractor: optionalText(get(body['value_extractor'])),
        labels: blocks(descriptor, 'labels').map((l: Block) => ({
          key: String(get(l['key'])),
          valueType: optionalText(get(l['value_type'])) ?? 'STRING',
        })),
        labelExtractors: (get(body['label_extractors']) ?? {}) as Record<string, string>,
      };
    },
  );
}

function optionalText(value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new Error(`expected a string, got ${JSON.stringify(value)}`);
}

// ---------------------------------------------------------------------------------------------
// The subset of the Logging query language the metrics use: a conjunction of comparisons.
// ---------------------------------------------------------------------------------------------

export interface Comparison {
  /** A LogEntry path, e.g. jsonPayload.event, labels.taskId, severity, resource.type. */
  path: string[];
  op: '=' | '>=';
  /** One value, or the alternatives of `path=("a" OR "b")`. */
  values: string[];
}

/**
 * Parses `a="x" AND b=("y" OR "z") AND severity>=ERROR`. Anything outside that subset throws,
 * so a filter the check cannot evaluate fails loudly instead of passing unchecked.
 */
export function parseLogFilter(filter: string): Comparison[] {
  const clauses = filter.trim().split(/\s+AND\s+/);
  return clauses.map((clause) => {
    const m =
      /^((?:[A-Za-z_][\w]*|"[^"]+")(?:\.(?:[A-Za-z_][\w]*|"[^"]+"))*)\s*(>=|=)\s*(.+)$/s.exec(
        clause.trim(),
      );
    if (m?.[1] === undefined || m[2] === undefined || m[3] === undefined) {
      throw new Error(`unsupported log filter clause: ${clause}`);
    }
    const path = (m[1].match(/[A-Za-z_][\w]*|"[^"]+"/g) ?? []).map((s) => s.replace(/^"|"$/g, ''));
    const rhs = m[3].trim();
    let values: string[];
    const alternatives = /^\((.*)\)$/s.exec(rhs);
    if (alternatives?.[1] !== undefined) {
      values = alternatives[1].split(/\s+OR\s+/).map(unquote);
    } else values = [unquote(rhs)];
    return { path, op: m[2] as Comparison['op'], values };
  });
}

function unquote(token: string): string {
  const t = token.trim();
  if (/^"[^"]*"$/.test(t)) return t.slice(1, -1);
  if (/^[\w.-]+$/.test(t)) return t;
  throw new Error(`unsupported log filter value: ${token}`);
}

/** The `jsonPayload.event` values a filter selects (empty when it does not select by event). */
export function eventsOf(filter: string): string[] {
  return parseLogFilter(filter)
    .filter((c) => c.path.join('.') === 'jsonPayload.event')
    .flatMap((c) => c.values);
}

const SEVERITY_RANK = [
  'DEFAULT',
  'DEBUG',
  'INFO',
  'NOTICE',
  'WARNING',
  'ERROR',
  'CRITICAL',
  'ALERT',
  'EMERGENCY',
];

/** The field a LogEntry path names, read from a stdout line (structured logging's layout). */
export function readField(
  line: Record<string, unknown>,
  path: readonly string[],
): { platform: true } | { value: unknown } {
  const [head, ...rest] = path;
  let value: unknown;
  switch (head) {
    case 'resource':
    case 'logName':
    case 'timestamp':
      // Set by Cloud Run, not by the code: functions log as cloud_run_revision.
      return { platform: true };
    case 'jsonPayload':
      value = line;
      break;
    case 'labels':
      value = line['logging.googleapis.com/labels'];
      break;
    case 'severity':
      return { value: line['severity'] };
    case 'trace':
      return { value: line['logging.googleapis.com/trace'] };
    default:
      throw new Error(`unsupported LogEntry field ${path.join('.')}`);
  }
  for (const segment of rest) {
    value =
      value !== null && typeof value === 'object'
        ? (value as Record<string, unknown>)[segment]
        : undefined;
  }
  return { value };
}

export function filterMatches(
  comparisons: readonly Comparison[],
  line: Record<string, unknown>,
): boolean {
  return comparisons.every((c) => {
    const field = readField(line, c.path);
    if ('platform' in field) return true;
    if (c.op === '>=') {
      if (c.path[0] !== 'severity') throw new Error('>= is only supported on severity');
      const min = SEVERITY_RANK.indexOf(c.values[0] ?? '');
      return SEVERITY_RANK.indexOf(String(field.value)) >= min;
    }
    return c.values.includes(String(field.value));
  });
}

/** EXTRACT(path) => path segments. */
export function extractorPath(extractor: string): string[] {
  const m = /^EXTRACT\(([^)]+)\)$/.exec(extractor.trim());
  if (m?.[1] === undefined)
    throw new Error(`unsupported extractor ${extractor} (only EXTRACT(field))`);
  return (m[1].match(/[A-Za-z_@][\w]*|"[^"]+"/g) ?? []).map((s) => s.replace(/^"|"$/g, ''));
}

type Expected = 'number' | 'string' | 'boolean' | 'integer';

/** Every field a metric reads, with the type the line must hold for it. */
export function extractedFields(
  metric: LogMetric,
): { what: string; path: string[]; expected: Expected }[] {
  const fields: { what: string; path: string[]; expected: Expected }[] = [];
  if (metric.valueExtractor !== undefined) {
    fields.push({ what: 'value', path: extractorPath(metric.valueExtractor), expected: 'number' });
  }
  for (const [key, extractor] of Object.entries(metric.labelExtractors)) {
    const declared = metric.labels.find((l) => l.key === key);
    const expected: Expected =
      declared?.valueType === 'INT64'
        ? 'integer'
        : declared?.valueType === 'BOOL'
          ? 'boolean'
          : 'string';
    fields.push({ what: `label ${key}`, path: extractorPath(extractor), expected });
  }
  return fields;
}

function hasType(value: unknown, expected: Expected): boolean {
  switch (expected) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string' && value !== '';
  }
}

function parseJsonObject(line: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    return Object.fromEntries(Object.entries(parsed));
  } catch {
    return undefined; // not a structured line (e.g. a start-up message)
  }
}

export interface CheckOptions {
  /** Metric names that must match at least one line (default: none required). */
  requireMatch?: readonly string[] | 'all';
}

/**
 * Checks captured log lines against the metrics: each line a metric's filter selects must carry
 * every field the metric extracts, with the declared type. Returns the problems found (empty
 * means fine), including metrics in `requireMatch` that no line exercised.
 */
export function checkLogLinesAgainstMetrics(
  metrics: readonly LogMetric[],
  lines: readonly (string | Record<string, unknown>)[],
  options: CheckOptions = {},
): string[] {
  const entries = lines.flatMap((l): Record<string, unknown>[] => {
    if (typeof l !== 'string') return [l];
    const parsed = parseJsonObject(l);
    return parsed === undefined ? [] : [parsed];
  });
  const problems: string[] = [];
  const required =
    options.requireMatch === 'all' ? metrics.map((m) => m.name) : (options.requireMatch ?? []);
  for (const metric of metrics) {
    const comparisons = parseLogFilter(metric.filter);
    const matched = entries.filter((e) => filterMatches(comparisons, e));
    if (matched.length === 0 && required.includes(metric.name)) {
      problems.push(`${metric.name}: no captured line matches its filter`);
    }
    for (const field of extractedFields(metric)) {
      for (const entry of matched) {
        const read = readField(entry, field.path);
        if ('platform' in read) continue;
        if (!hasType(read.value, field.expected)) {
          problems.push(
            `${metric.name}: ${field.what} reads ${field.path.join('.')}, expected ${field.expected} but the ${String(entry['event'])} line has ${JSON.stringify(read.value)}`,
          );
        }
      }
    }
  }
  return problems;
}
