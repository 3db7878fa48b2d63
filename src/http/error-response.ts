import type { ErrorCode } from '../domain/error-codes';
import {
  AppError,
  ConfigError,
  ConflictError,
  ForbiddenError,
  GoneError,
  MethodNotAllowedError,
  coerceError,
  NotFoundError,
  PayloadTooLargeError,
  PermanentError,
  RetryableError,
  UnauthenticatedError,
  ValidationError,
  type FieldIssue,
} from '../domain/errors';
import type { Logger } from '../ports/logger';
import type { HttpResponse } from './types';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; issues?: FieldIssue[] };
}

/** The one mapping from errors to HTTP answers. Unknown errors are 500 and logged with their stack. */
export function errorResponse(thrown: unknown, log: Logger): HttpResponse {
  const err = coerceError(thrown);
  const body = (code: ErrorCode, message: string, issues?: FieldIssue[]): ErrorBody => ({
    error: { code, message, ...(issues === undefined ? {} : { issues }) },
  });
  if (err instanceof ValidationError)
    return { status: 400, body: body(err.code, err.message, err.issues) };
  if (err instanceof UnauthenticatedError) {
    // Which check failed, never the token: calls that name no verifiable caller are visible.
    log.warn('http.unauthenticated', err.message, { errorCode: err.code });
    return {
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer' },
      body: body(err.code, err.message),
    };
  }
  if (err instanceof ForbiddenError) return { status: 403, body: body(err.code, err.message) };
  if (err instanceof NotFoundError) return { status: 404, body: body(err.code, err.message) };
  if (err instanceof MethodNotAllowedError) {
    return {
      status: 405,
      headers: { Allow: err.allow.join(', ') },
      body: body(err.code, err.message),
    };
  }
  if (err instanceof ConflictError) return { status: 409, body: body(err.code, err.message) };
  if (err instanceof GoneError) return { status: 410, body: body(err.code, err.message) };
  if (err instanceof PayloadTooLargeError)
    return { status: 413, body: body(err.code, err.message) };
  if (err instanceof RetryableError) {
    const retryAfter = String(Math.max(1, Math.ceil(err.retryAfterSeconds ?? 5)));
    log.warn('http.unavailable', err.message, { errorCode: err.code });
    return {
      status: 503,
      headers: { 'Retry-After': retryAfter },
      body: body(err.code, err.message),
    };
  }
  if (err instanceof PermanentError) return { status: 422, body: body(err.code, err.message) };
  if (err instanceof ConfigError) {
    log.error('http.config_error', 'the service is misconfigured', err);
    return { status: 500, body: body(err.code, 'the service is misconfigured') };
  }
  log.error('http.internal_error', 'unhandled error', err);
  const code = err instanceof AppError ? err.code : 'internal';
  return { status: 500, body: body(code, 'internal error; see the logs for details') };
}
