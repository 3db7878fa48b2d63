import { toWarehouseError } from '../../../../src/adapters/bigquery/bigquery-errors';
import { AppError, PermanentError, RetryableError } from '../../../../src/domain/errors';

const options = { streamingBufferRetrySeconds: 5400 };

/** An error as the client's ApiError carries it: HTTP code and errorProtos. */
function apiError(code: number | undefined, reason: string, message: string) {
  return Object.assign(new Error(message), { code, errors: [{ reason, message }] });
}

function mapped(thrown: unknown, jobId?: string): AppError {
  return toWarehouseError(thrown, { ...options, ...(jobId === undefined ? {} : { jobId }) });
}

describe('toWarehouseError', () => {
  it('makes the bytes-billed cap a permanent error that says what was needed', () => {
    const err = mapped(
      apiError(
        undefined,
        'bytesBilledLimitExceeded',
        'Query exceeded limit for bytes billed: 10485760. 12582912 or higher required.',
      ),
      'job_1',
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe('bigquery.bytes_billed_limit');
    expect(err.message).toBe(
      "BigQuery job job_1 would bill at least 12582912 bytes (12 MiB), more than the task's maxBytesBilled of " +
        "10485760 bytes (10 MiB). It was stopped before changing anything. If the cost is expected, raise maxBytesBilled in the task's config.",
    );
  });

  it('makes the streaming buffer retryable after the configured delay, saying why', () => {
    const err = toWarehouseError(
      {
        reason: 'invalidQuery',
        message:
          'UPDATE or DELETE statement over table p.d.t would affect rows in the streaming buffer, which is not supported',
      },
      { streamingBufferRetrySeconds: 1800, jobId: 'job_9' },
    );
    expect(err).toBeInstanceOf(RetryableError);
    expect(err).toMatchObject({ code: 'bigquery.streaming_buffer', retryAfterSeconds: 1800 });
    expect(err.message).toMatch(
      /^BigQuery job job_9 refused the statement: UPDATE or DELETE statement/,
    );
    expect(err.message).toMatch(/streaming buffer .*retried in 30 min\.$/);
  });

  it('reads the primary error of a job that failed at insert from the response', () => {
    const thrown = Object.assign(new Error('x'), {
      errors: [{ reason: 'other', message: 'x' }],
      response: {
        status: { errorResult: { reason: 'bytesBilledLimitExceeded', message: 'odd text' } },
      },
    });
    expect(mapped(thrown)).toMatchObject({
      code: 'bigquery.bytes_billed_limit',
      message: expect.stringContaining(
        "would exceed the task's maxBytesBilled (odd text)",
      ) as unknown,
    });
  });

  it.each([
    [
      apiError(400, 'invalidQuery', 'Unrecognized name: x'),
      PermanentError,
      'bigquery.invalid_query',
      undefined,
    ],
    [
      apiError(404, 'notFound', 'Not found: Table p:d.t'),
      PermanentError,
      'bigquery.not_found',
      undefined,
    ],
    [apiError(403, 'accessDenied', 'no'), PermanentError, 'bigquery.access_denied', undefined],
    [apiError(400, 'invalid', 'bad'), PermanentError, 'bigquery.rejected', undefined],
    [apiError(403, 'rateLimitExceeded', 'slow down'), RetryableError, 'bigquery.rate_limited', 60],
    [apiError(403, 'quotaExceeded', 'quota'), RetryableError, 'bigquery.rate_limited', 60],
    [
      {
        reason: 'resourcesExceeded',
        message:
          'Resources exceeded during query execution: Too many DML statements outstanding against table p:d.t, limit is 20.',
      },
      RetryableError,
      'bigquery.rate_limited',
      60,
    ],
    [
      apiError(
        400,
        'invalidQuery',
        'Could not serialize access to table p:d.t due to concurrent update',
      ),
      RetryableError,
      'bigquery.rate_limited',
      60,
    ],
    [apiError(500, 'backendError', 'oops'), RetryableError, 'bigquery.unavailable', 30],
    [apiError(503, '', 'unavailable'), RetryableError, 'bigquery.unavailable', 30],
    [{ reason: 'internalError', message: 'oops' }, RetryableError, 'bigquery.unavailable', 30],
    [
      { reason: 'stopped', message: 'Job cancelled' },
      RetryableError,
      'bigquery.stopped',
      undefined,
    ],
    [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9050'), { code: 'ECONNREFUSED' }),
      RetryableError,
      'bigquery.unreachable',
      30,
    ],
  ])('maps %p', (thrown, type, code, retryAfterSeconds) => {
    const err = mapped(thrown);
    expect(err).toBeInstanceOf(type);
    expect(err.code).toBe(code);
    if (err instanceof RetryableError) expect(err.retryAfterSeconds).toBe(retryAfterSeconds);
    expect(err.cause).toBe(thrown);
  });

  it('passes typed errors through', () => {
    const err = new PermanentError('already typed', 'permanent');
    expect(mapped(err)).toBe(err);
  });
});
