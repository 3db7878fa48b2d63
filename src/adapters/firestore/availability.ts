import { GrpcStatus } from '@google-cloud/firestore';
import { RetryableError } from '../../domain/errors';

/** How long callers wait for an unreachable store before answering 503 (seconds). */
const RETRY_AFTER_SECONDS = 5;

/** gRPC codes that mean "the store is not answering now", not "your call is wrong". */
const UNAVAILABLE_CODES: ReadonlySet<unknown> = new Set([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.ABORTED,
]);

/** Socket errors a client sees when the store's host is gone. */
const CONNECTION_CODES: ReadonlySet<unknown> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export const STORE_UNAVAILABLE = 'store.unavailable';

/**
 * The RetryableError an unreachable store becomes (the HTTP mapping answers it 503 with
 * Retry-After), or undefined for any other error, which keeps its meaning.
 */
export function asStoreUnavailable(err: unknown, operation: string): RetryableError | undefined {
  if (typeof err !== 'object' || err === null || err instanceof RetryableError) return undefined;
  const code = (err as { code?: unknown }).code;
  if (!UNAVAILABLE_CODES.has(code) && !CONNECTION_CODES.has(code)) return undefined;
  return unavailable(operation, (err as { message?: unknown }).message, err);
}

function unavailable(operation: string, detail: unknown, cause?: unknown): RetryableError {
  const why = typeof detail === 'string' ? detail.split('\n')[0] : 'no answer';
  return new RetryableError(
    `the request store (Firestore) is unavailable (${operation}: ${why}). Retry in a few seconds: ` +
      'every write is all-or-nothing, and repeating an intake with the same externalId is safe',
    { code: STORE_UNAVAILABLE, retryAfterSeconds: RETRY_AFTER_SECONDS, cause },
  );
}

/**
 * Runs one store operation with a deadline. The Firestore client retries an unreachable
 * server on its own for minutes (streamed reads back off over five attempts, commits retry
 * UNAVAILABLE for up to ten minutes); an API call must answer 503 within seconds instead.
 * Past the deadline the operation is abandoned, not cancelled: a write that was sent may still
 * land, which is why every write is atomic (one batch) and every create is keyed for a repeat.
 */
export async function withDeadline<T>(
  operation: string,
  timeoutMs: number,
  run: () => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(unavailable(operation, `no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([run(), deadline]);
  } catch (err) {
    throw asStoreUnavailable(err, operation) ?? err;
  } finally {
    clearTimeout(timer);
  }
}

/** The same object with every method bounded by `withDeadline`, except those in `exempt`. */
export function boundedMethods<S extends object>(
  target: S,
  timeoutMs: number,
  exempt: readonly (keyof S)[] = [],
): S {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(target)) {
    out[name] =
      typeof value === 'function' && !exempt.includes(name as keyof S)
        ? (...args: unknown[]) =>
            withDeadline(name, timeoutMs, () =>
              (value as (...a: unknown[]) => Promise<unknown>)(...args),
            )
        : value;
  }
  return out as S;
}
