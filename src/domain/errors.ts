import type { ZodIssue } from 'zod';
import type { ErrorCode } from './error-codes';

/** A field-level problem, as returned in the HTTP `issues` array. */
export interface FieldIssue {
  path: string;
  message: string;
}

/**
 * The base of every typed error. `code` is a stable dotted identifier that operators, logs and
 * API clients can match on; `name` is stable too, so `instanceof` is not needed across realms.
 */
export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Retrying will not help: bad config, a 4xx from a third party, a bytes-billed cap. */
export class PermanentError extends AppError {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'permanent', options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A transient failure; the caller may try again after `retryAfterSeconds`. */
export class RetryableError extends AppError {
  readonly code: ErrorCode;
  readonly retryAfterSeconds: number | undefined;
  constructor(
    message: string,
    {
      code = 'retryable',
      retryAfterSeconds,
      cause,
    }: { code?: ErrorCode; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { cause });
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class NotFoundError extends AppError {
  readonly code = 'not_found' as const;
}

/** The request is well-formed but conflicts with the current state (e.g. approve a finished instance). */
export class ConflictError extends AppError {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'conflict') {
    super(message);
    this.code = code;
  }
}

/** What was asked for existed but has been removed for good (e.g. minimised personal data). */
export class GoneError extends AppError {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'gone') {
    super(message);
    this.code = code;
  }
}

/** Bad input. Carries field-level issues; maps to HTTP 400. */
export class ValidationError extends AppError {
  readonly code: ErrorCode;
  readonly issues: FieldIssue[];
  constructor(message: string, issues: FieldIssue[], code: ErrorCode = 'validation_failed') {
    super(message);
    this.issues = issues;
    this.code = code;
  }

  static fromZod(
    issues: readonly ZodIssue[],
    prefix: readonly (string | number)[] = [],
  ): ValidationError {
    const fieldIssues = issues.map((issue) => ({
      path: formatPath([...prefix, ...issue.path]),
      message: describeZodIssue(issue),
    }));
    const summary = fieldIssues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ');
    return new ValidationError(`Invalid input: ${summary}`, fieldIssues);
  }
}

/** No verifiable caller identity; maps to HTTP 401. */
export class UnauthenticatedError extends AppError {
  readonly code = 'unauthenticated' as const;
}

/** A verified caller that may not do this (a missing role, or approving their own request); 403. */
export class ForbiddenError extends AppError {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'forbidden') {
    super(message);
    this.code = code;
  }
}

/** The route exists, but not for this method; maps to 405 with an `Allow` header. */
export class MethodNotAllowedError extends AppError {
  readonly code = 'method_not_allowed' as const;
  constructor(
    message: string,
    readonly allow: readonly string[],
  ) {
    super(message);
  }
}

/** A body that is too large to read; maps to HTTP 413. */
export class PayloadTooLargeError extends AppError {
  readonly code = 'payload_too_large' as const;
}

/** A configuration problem found by `loadConfig`; lists every issue at once. */
export class ConfigError extends AppError {
  readonly code = 'config_invalid' as const;
  readonly issues: FieldIssue[];
  constructor(issues: FieldIssue[]) {
    super(`Invalid configuration: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/** Normalises anything thrown into an Error, keeping the original as `cause`. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  let text: string;
  try {
    text = JSON.stringify(thrown) ?? String(thrown);
  } catch {
    text = String(thrown);
  }
  return new Error(`Non-error thrown: ${text}`, { cause: thrown });
}

/** Executors' rule: anything thrown that is not explicitly permanent is retried. */
export function isRetryable(err: unknown): boolean {
  return !(
    err instanceof PermanentError ||
    err instanceof ValidationError ||
    err instanceof NotFoundError
  );
}

export function errorCode(err: unknown): ErrorCode {
  if (err instanceof AppError) return err.code;
  if (err instanceof Error && err.name === 'AbortError') return 'aborted';
  return 'internal';
}

function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function describeZodIssue(issue: ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
  return issue.message;
}
