import { createStructuredLogger } from '../../../src/adapters/cloud-logging/structured-logger';
import {
  ConflictError,
  NotFoundError,
  PermanentError,
  RetryableError,
  ValidationError,
} from '../../../src/domain/errors';
import { errorResponse } from '../../../src/http/error-response';

describe('errorResponse: the one error → HTTP mapping', () => {
  const lines: string[] = [];
  const log = createStructuredLogger({
    projectId: 'test',
    service: { name: 'api', revision: 'api-1' },
    write: (line) => lines.push(line),
  });
  beforeEach(() => lines.splice(0));

  it('answers an unreachable store 503 with Retry-After and the reason', () => {
    const err = new RetryableError('the request store (Firestore) is unavailable', {
      code: 'store.unavailable',
      retryAfterSeconds: 5,
    });
    expect(errorResponse(err, log)).toEqual({
      status: 503,
      headers: { 'Retry-After': '5' },
      body: {
        error: {
          code: 'store.unavailable',
          message: 'the request store (Firestore) is unavailable',
        },
      },
    });
    expect(lines.map((l) => JSON.parse(l) as { event: string })).toEqual([
      expect.objectContaining({ event: 'http.unavailable', severity: 'WARNING' }),
    ]);
  });

  it.each<[string, Error, number]>([
    ['validation', new ValidationError('bad', [{ path: 'type', message: 'bad' }]), 400],
    ['not found', new NotFoundError('none'), 404],
    ['conflict', new ConflictError('busy'), 409],
    ['permanent', new PermanentError('no'), 422],
    ['retryable without a hint (Retry-After 5)', new RetryableError('later'), 503],
    ['anything else', new Error('bug'), 500],
  ])('%s', (_name, err, status) => {
    const answer = errorResponse(err, log);
    expect(answer.status).toBe(status);
    if (status === 503) expect(answer.headers).toEqual({ 'Retry-After': '5' });
  });
});
