import {
  asStoreUnavailable,
  boundedMethods,
  STORE_UNAVAILABLE,
  withDeadline,
} from '../../../../src/adapters/firestore/availability';
import { RetryableError } from '../../../../src/domain/errors';

const grpcError = (code: number, message = 'boom') => Object.assign(new Error(message), { code });

describe('an unreachable store becomes a RetryableError (503)', () => {
  it.each([
    ['UNAVAILABLE', 14],
    ['DEADLINE_EXCEEDED', 4],
    ['RESOURCE_EXHAUSTED', 8],
    ['ABORTED', 10],
  ])('maps gRPC %s', (_name, code) => {
    const mapped = asStoreUnavailable(grpcError(code, 'No connection established'), 'getRequest');
    expect(mapped).toBeInstanceOf(RetryableError);
    expect(mapped?.code).toBe(STORE_UNAVAILABLE);
    expect(mapped?.retryAfterSeconds).toBeGreaterThan(0);
    expect(mapped?.message).toMatch(/Firestore\) is unavailable \(getRequest: No connection/);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'])('maps a socket %s', (code) => {
    expect(asStoreUnavailable(Object.assign(new Error(code), { code }), 'x')?.code).toBe(
      STORE_UNAVAILABLE,
    );
  });

  it.each([
    ['INVALID_ARGUMENT', grpcError(3)],
    ['ALREADY_EXISTS', grpcError(6)],
    ['FAILED_PRECONDITION', grpcError(9)],
    ['a plain error', new Error('bug')],
    ['a RetryableError already', new RetryableError('contention', { code: 'store.contention' })],
  ])('leaves %s alone', (_name, err) => {
    expect(asStoreUnavailable(err, 'x')).toBeUndefined();
  });
});

describe('withDeadline', () => {
  it('fails with store.unavailable when the operation does not answer in time', async () => {
    const never = new Promise<never>(() => undefined);
    const started = Date.now();
    await expect(withDeadline('createRequest', 50, () => never)).rejects.toMatchObject({
      code: STORE_UNAVAILABLE,
      message: expect.stringMatching(/createRequest: no answer within 50 ms/) as unknown,
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('passes results and unrelated errors through', async () => {
    await expect(withDeadline('a', 1000, async () => 7)).resolves.toBe(7);
    await expect(
      withDeadline('a', 1000, async () => Promise.reject(grpcError(3))),
    ).rejects.toMatchObject({ code: 3 });
  });

  it('bounds every method but the exempt ones', async () => {
    const target = {
      slow: () => new Promise<never>(() => undefined),
      stats: () => 42,
    };
    const bounded = boundedMethods(target, 20, ['stats']);
    expect(bounded.stats()).toBe(42);
    await expect(bounded.slow()).rejects.toMatchObject({ code: STORE_UNAVAILABLE });
  });
});
