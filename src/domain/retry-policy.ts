import type { RetryPolicy } from './model';

/**
 * Delay before retry k (k = 0 for the first retry), with Cloud Tasks' shape: doubling up to
 * `maxDoublings`, then linear growth, capped at `maxBackoffSeconds`.
 */
export function backoffSeconds(policy: RetryPolicy, retryIndex: number): number {
  const { minBackoffSeconds: min, maxBackoffSeconds: max, maxDoublings: d } = policy;
  const k = Math.max(0, retryIndex);
  const raw = k <= d ? min * 2 ** k : min * 2 ** d * (k - d + 1);
  return Math.min(max, raw);
}
