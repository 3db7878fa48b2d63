import { AppError, PermanentError, RetryableError } from '../../domain/errors';

/** BigQuery's `errorProto`, as found in an error body's `errors[]` and a job's `errorResult`. */
export interface BigQueryErrorProto {
  reason?: string;
  message?: string;
}

export interface ErrorMappingOptions {
  /** How long to wait before retrying a statement refused over the streaming buffer. */
  streamingBufferRetrySeconds: number;
  /** The job the error belongs to, when there is one: it goes in the message. */
  jobId?: string;
}

export const DEFAULT_STREAMING_BUFFER_RETRY_SECONDS = 5400;
const RATE_LIMIT_RETRY_SECONDS = 60;
const OUTAGE_RETRY_SECONDS = 30;

const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'quotaExceeded', 'jobRateLimitExceeded']);
const OUTAGE_REASONS = new Set(['backendError', 'internalError']);
const DML_LIMIT_PATTERN =
  /Too many DML statements outstanding against table|Could not serialize access to table .* due to concurrent update/;
const CAP_PATTERN = /limit for bytes billed: (\d+)\. (\d+) or higher required/;

/**
 * Classifies what the BigQuery client threw (an `ApiError`, a network error) or a failed job's
 * `errorResult` into the typed errors the runner acts on.
 */
export function toWarehouseError(thrown: unknown, options: ErrorMappingOptions): AppError {
  if (thrown instanceof PermanentError || thrown instanceof RetryableError) return thrown;
  const { httpCode, proto } = describe(thrown);
  const reason = proto.reason ?? '';
  const raw = proto.message ?? (thrown instanceof Error ? thrown.message : String(thrown));
  const job = options.jobId === undefined ? 'BigQuery' : `BigQuery job ${options.jobId}`;
  const cause = { cause: thrown };

  if (reason === 'bytesBilledLimitExceeded') {
    return new PermanentError(capMessage(job, raw), 'bigquery.bytes_billed_limit', cause);
  }
  if (/streaming buffer/i.test(raw)) {
    const seconds = options.streamingBufferRetrySeconds;
    return new RetryableError(
      `${job} refused the statement: ${raw}. Rows streamed in recently cannot be updated or ` +
        `deleted until BigQuery flushes them from the streaming buffer (up to about 90 minutes); ` +
        `nothing was changed, and the statement will be retried in ${describeSeconds(seconds)}.`,
      { code: 'bigquery.streaming_buffer', retryAfterSeconds: seconds, ...cause },
    );
  }
  if (DML_LIMIT_PATTERN.test(raw)) {
    // BigQuery's per-table DML queue is full, or a concurrent change won: nothing was changed.
    return new RetryableError(`${job} could not run now: ${raw}`, {
      code: 'bigquery.rate_limited',
      retryAfterSeconds: RATE_LIMIT_RETRY_SECONDS,
      ...cause,
    });
  }
  if (RATE_LIMIT_REASONS.has(reason) || httpCode === 429) {
    return new RetryableError(`${job} is rate-limited: ${raw}`, {
      code: 'bigquery.rate_limited',
      retryAfterSeconds: RATE_LIMIT_RETRY_SECONDS,
      ...cause,
    });
  }
  if (OUTAGE_REASONS.has(reason) || (httpCode !== undefined && httpCode >= 500)) {
    return new RetryableError(`${job} is unavailable: ${raw}`, {
      code: 'bigquery.unavailable',
      retryAfterSeconds: OUTAGE_RETRY_SECONDS,
      ...cause,
    });
  }
  if (reason === 'invalidQuery') {
    return new PermanentError(
      `${job} rejected the statement: ${raw}. Check the task's table and column names.`,
      'bigquery.invalid_query',
      cause,
    );
  }
  if (reason === 'notFound' || httpCode === 404) {
    return new PermanentError(
      `${job}: ${raw}. Check that the table exists and that the service account can read it.`,
      'bigquery.not_found',
      cause,
    );
  }
  if (reason === 'accessDenied' || httpCode === 403) {
    return new PermanentError(`${job} denied access: ${raw}`, 'bigquery.access_denied', cause);
  }
  if (reason === 'stopped') {
    // Someone cancelled the job; a new attempt starts a new one.
    return new RetryableError(`${job} was cancelled: ${raw}`, {
      code: 'bigquery.stopped',
      ...cause,
    });
  }
  if (reason !== '' || (httpCode !== undefined && httpCode >= 400)) {
    return new PermanentError(`${job} refused the request: ${raw}`, 'bigquery.rejected', cause);
  }
  // No answer from the service at all (connection refused, reset, DNS): try again later.
  return new RetryableError(`could not reach BigQuery: ${raw}`, {
    code: 'bigquery.unreachable',
    retryAfterSeconds: OUTAGE_RETRY_SECONDS,
    ...cause,
  });
}

/** Reads the HTTP status and the primary errorProto from an ApiError or a bare errorResult. */
function describe(thrown: unknown): { httpCode?: number; proto: BigQueryErrorProto } {
  if (typeof thrown !== 'object' || thrown === null) return { proto: {} };
  const t = thrown as {
    code?: unknown;
    errors?: unknown;
    reason?: unknown;
    message?: unknown;
    response?: { status?: { errorResult?: BigQueryErrorProto } };
  };
  const httpCode = typeof t.code === 'number' ? t.code : undefined;
  // A job that failed at insert: the client rejects with the job's status in `response`.
  const errorResult = t.response?.status?.errorResult;
  if (errorResult !== undefined) return { httpCode, proto: errorResult };
  if (Array.isArray(t.errors) && t.errors.length > 0) {
    return { httpCode, proto: t.errors[0] as BigQueryErrorProto };
  }
  if (typeof t.reason === 'string') {
    return {
      httpCode,
      proto: { reason: t.reason, message: typeof t.message === 'string' ? t.message : '' },
    };
  }
  return { httpCode, proto: {} };
}

function capMessage(job: string, raw: string): string {
  const match = CAP_PATTERN.exec(raw);
  const advice =
    'It was stopped before changing anything. If the cost is expected, raise maxBytesBilled ' +
    "in the task's config.";
  if (match === null) return `${job} would exceed the task's maxBytesBilled (${raw}). ${advice}`;
  const [, cap, needed] = match;
  return (
    `${job} would bill at least ${formatBytes(Number(needed))}, more than the task's ` +
    `maxBytesBilled of ${formatBytes(Number(cap))}. ${advice}`
  );
}

function formatBytes(bytes: number): string {
  return `${bytes} bytes (${(bytes / 2 ** 20).toFixed(bytes % 2 ** 20 === 0 ? 0 : 2)} MiB)`;
}

function describeSeconds(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}
