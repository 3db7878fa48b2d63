import { identifierRedactor } from '../../domain/subject';
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
  return build({ labels: {}, trace: undefined, spanId: undefined, identifiers: {} });

  function build(
    ctx: {
      labels: LogLabels;
      trace: string | undefined;
      spanId: string | undefined;
      identifiers: Readonly<Record<string, string>>;
    },
    redact?: (text: string) => string,
  ): Logger {
    const emit = (severity: Severity, event: string, message: string, fields: LogFields = {}) => {
      if (RANK[severity] < min) return;
      const entry: Record<string, unknown> = {
        severity,
        message: redact === undefined ? message : redact(message),
        event,
        ...(redact === undefined ? fields : (redactStrings(fields, redact) as LogFields)),
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
      child: (bindings) => {
        const identifiers =
          bindings.redact === undefined
            ? ctx.identifiers
            : { ...ctx.identifiers, ...bindings.redact };
        return build(
          {
            labels: { ...ctx.labels, ...bindings.labels },
            trace: bindings.trace ?? ctx.trace,
            spanId: bindings.spanId ?? ctx.spanId,
            identifiers,
          },
          // Built once per subject-bound child; a line without one pays nothing.
          bindings.redact === undefined || Object.keys(identifiers).length === 0
            ? redact
            : identifierRedactor(identifiers),
        );
      },
    };
  }
}

function stringLabels(labels: LogLabels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (v !== undefined) out[k] = String(v);
  return out;
}

/** Every string in plain objects and arrays (and errors' messages) passed through `redact`. */
function redactStrings(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (value instanceof Error) return { name: value.name, message: redact(value.message) };
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, redact));
  if (value === null || typeof value !== 'object') return value;
  const proto: unknown = Object.getPrototypeOf(value);
  // Anything else (a Date, say) serialises through its own toJSON.
  if (proto !== Object.prototype && proto !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactStrings(v, redact)]));
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
