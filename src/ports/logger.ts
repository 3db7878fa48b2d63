import type { LogEvent } from './log-events';

/** Labels that Cloud Logging indexes (`logging.googleapis.com/labels`). */
export interface LogLabels {
  requestId?: string;
  taskId?: string;
  runId?: string;
}

/** Extra structured fields. Never put a raw identifier here: use `subjectHash`. */
export type LogFields = Record<string, unknown>;

export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

/** One structured logger; every line names its `event`. */
export interface Logger {
  log(severity: Severity, event: LogEvent, message: string, fields?: LogFields): void;
  info(event: LogEvent, message: string, fields?: LogFields): void;
  warn(event: LogEvent, message: string, fields?: LogFields): void;
  error(event: LogEvent, message: string, error: unknown, fields?: LogFields): void;
  child(bindings: { labels?: LogLabels; trace?: string; spanId?: string }): Logger;
}
