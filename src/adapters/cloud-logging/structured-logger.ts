import type { LogFields, LogLabels, Logger, Severity } from '../../ports/logger';

const ERROR_EVENT_TYPE =
  'type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent';

export interface StructuredLoggerOptions {
  projectId: string;
  service: { name: string; revision: string };
  /** Where each JSON line goes; stdout by default (Cloud Run ships it to Cloud Logging). */
  write?: (line: string) => void;
  minSeverity?: Severity;
}

const RANK: Record<Severity, number> = { DEBUG: 0, INFO: 1, NOTICE: 2, WARNING: 3, ERROR: 4 };

/**
 * Cloud Logging structured JSON: one object a line, with `severity`, `message`, `event`, the
 * indexed labels, the trace, and Error Reporting fields on errors.
 */
export function createStructuredLogger(options: StructuredLoggerOptions): Logger {
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const min = RANK[options.minSeverity ?? 'DEBUG'];
  return build({ labels: {}, trace: undefined, spanId: undefined });

  function build(ctx: {
    labels: LogLabels;
    trace: string | undefined;
    spanId: string | undefined;
  }): Logger {
    const emit = (severity: Severity, event: string, message: string, fields: LogFields = {}) => {
      if (RANK[severity] < min) return;
      const entry: Record<string, unknown> = {
        severity,
        message,
        event,
        ...fields,
        time: new Date().toISOString(),
      };
      if (Object.keys(ctx.labels).length > 0) {
        entry['logging.googleapis.com/labels'] = stringLabels(ctx.labels);
      }
      if (ctx.trace !== undefined) {
        entry['logging.googleapis.com/trace'] = `projects/${options.projectId}/traces/${ctx.trace}`;
        if (ctx.spanId !== undefined) entry['logging.googleapis.com/spanId'] = ctx.spanId;
      }
      write(JSON.stringify(entry, jsonReplacer));
    };
    return {
      log: emit,
      info: (event, message, fields) => emit('INFO', event, message, fields),
      warn: (event, message, fields) => emit('WARNING', event, message, fields),
      error: (event, message, error, fields) => {
        const err = error instanceof Error ? error : new Error(String(error));
        emit('ERROR', event, `${message}: ${err.message}`, {
          ...fields,
          '@type': ERROR_EVENT_TYPE,
          stack_trace: err.stack ?? `${err.name}: ${err.message}`,
          serviceContext: { service: options.service.name, version: options.service.revision },
          errorCode: (err as { code?: unknown }).code,
        });
      },
      child: (bindings) =>
        build({
          labels: { ...ctx.labels, ...bindings.labels },
          trace: bindings.trace ?? ctx.trace,
          spanId: bindings.spanId ?? ctx.spanId,
        }),
    };
  }
}

function stringLabels(labels: LogLabels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (v !== undefined) out[k] = String(v);
  return out;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * The trace of an incoming request: W3C `traceparent` first, then `X-Cloud-Trace-Context`
 * (`TRACE/SPAN;o=1`, whose span is decimal and is written here as 16 hex digits).
 */
export function parseTraceHeaders(
  headers: Record<string, string | string[] | undefined>,
): { trace: string; spanId?: string } | undefined {
  const tp = first(headers['traceparent']);
  const w3c = tp && /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/i.exec(tp.trim());
  if (w3c && w3c[1] !== undefined && !/^0+$/.test(w3c[1])) {
    return { trace: w3c[1].toLowerCase(), spanId: w3c[2]?.toLowerCase() };
  }
  const xc = first(headers['x-cloud-trace-context']);
  const legacy = xc && /^([0-9a-f]{32})(?:\/(\d+))?/i.exec(xc.trim());
  if (legacy && legacy[1] !== undefined) {
    const span = legacy[2];
    return {
      trace: legacy[1].toLowerCase(),
      spanId:
        span === undefined ? undefined : BigInt(span).toString(16).padStart(16, '0').slice(-16),
    };
  }
  return undefined;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
