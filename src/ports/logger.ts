import type { LogEvent } from './log-events';

/** Labels that Cloud Logging indexes (`logging.googleapis.com/labels`). */
export interface LogLabels {
  requestId?: string;
  taskId?: string;
  runId?: string;
  batchId?: string;
  /** A bulk operation (`operations/{id}`). */
  operationId?: string;
}

/** Extra structured fields. Never put a raw identifier here: use `subjectHash`. */
export type LogFields = Record<string, unknown>;

export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

/** What a child logger adds to every line it (and its own children) writes. */
export interface LogBindings {
  labels?: LogLabels;
  trace?: string;
  spanId?: string;
  /**
   * The current subject's identifiers by kind (`{ email: 'ada@example.com' }`): any of these
   * values in a message or field is written as `[redacted:email]`.
   */
  redact?: Readonly<Record<string, string>>;
}

/** One structured logger; every line names its `event`. */
export interface Logger {
  log(severity: Severity, event: LogEvent, message: string, fields?: LogFields): void;
  info(event: LogEvent, message: string, fields?: LogFields): void;
  warn(event: LogEvent, message: string, fields?: LogFields): void;
  error(event: LogEvent, message: string, error: unknown, fields?: LogFields): void;
  child(bindings: LogBindings): Logger;
}
