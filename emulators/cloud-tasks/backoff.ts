/** Retry maths from the Cloud Tasks reference; pure, so the documented sequences are unit-tested. */

export interface RetryPolicy {
  /** Attempts in all, the first included; -1 means unlimited. */
  maxAttempts: number;
  /** Measured from the first attempt; 0 means unlimited. */
  maxRetryDurationMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  maxDoublings: number;
}

/**
 * The wait before retry `k` (k = 0 for the first retry): doubling while k <= maxDoublings, then
 * growing linearly by the last doubled interval, always capped at maxBackoff.
 */
export function backoffMs(policy: RetryPolicy, k: number): number {
  const { minBackoffMs, maxBackoffMs, maxDoublings } = policy;
  const raw =
    k <= maxDoublings
      ? minBackoffMs * 2 ** k
      : minBackoffMs * 2 ** maxDoublings * (k - maxDoublings + 1);
  return Math.min(maxBackoffMs, raw);
}

/**
 * Whether a task that has just failed its `attempts`-th attempt is given up. The service retries
 * until *both* limits are reached; a limit that is unlimited (-1 attempts, 0 duration) sets no
 * bound of its own, so with both unlimited the task is retried for ever.
 */
export function retriesExhausted(
  policy: RetryPolicy,
  attempts: number,
  sinceFirstAttemptMs: number,
): boolean {
  const attemptsUnlimited = policy.maxAttempts === -1;
  const durationUnlimited = policy.maxRetryDurationMs <= 0;
  if (attemptsUnlimited && durationUnlimited) return false;
  const attemptsReached = attemptsUnlimited || attempts >= policy.maxAttempts;
  const durationReached = durationUnlimited || sinceFirstAttemptMs >= policy.maxRetryDurationMs;
  return attemptsReached && durationReached;
}
