/**
 * The exit codes of `dsr`, one table for the commands, the docs and the tests:
 * 0 ok, 1 an error (the API refused, the network failed, a bad row), 2 a usage error, and for
 * `requests watch` 3 when the request completed with errors and 4 when it was denied or cancelled.
 */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  completedWithErrors: 3,
  refused: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Request statuses in which work may still happen (the rest are closed for good). */
const OPEN_STATUSES = new Set(['awaiting_verification', 'awaiting_approval', 'in_progress']);

/** Whether a request in this status may still change (`watch` keeps polling while it is open). */
export function isOpenStatus(status: string): boolean {
  return OPEN_STATUSES.has(status) || status.startsWith('awaiting_');
}

const KNOWN_CLOSED: Readonly<Record<string, ExitCode>> = {
  completed: EXIT.ok,
  dry_run_completed: EXIT.ok,
  // Some tasks were cancelled: the request is closed but not everything it asked for was done.
  partially_completed: EXIT.completedWithErrors,
  completed_with_errors: EXIT.completedWithErrors,
  dry_run_completed_with_errors: EXIT.completedWithErrors,
  denied: EXIT.refused,
  cancelled: EXIT.refused,
};

/**
 * The exit code `watch` ends with for a closed request: 0 completed, 3 completed with errors,
 * 4 denied or cancelled (a dry run reads as its real counterpart; `partially_completed`, where
 * some tasks were cancelled, is 3). A closed status this CLI does not know yet is read by its name (a
 * status naming errors or a partial outcome is 3, one naming a refusal 4), never as success
 * by accident of being new.
 */
export function exitCodeForStatus(status: string): ExitCode {
  if (Object.hasOwn(KNOWN_CLOSED, status)) return KNOWN_CLOSED[status] ?? EXIT.ok;
  if (/error|fail|partial/.test(status)) return EXIT.completedWithErrors;
  if (/cancel|denied|refused/.test(status)) return EXIT.refused;
  return EXIT.ok;
}

/** A failure the CLI reports as one line on stderr and exits with, never with a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.error,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A command line that cannot be run as written (a bad flag value, a missing file argument). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}
