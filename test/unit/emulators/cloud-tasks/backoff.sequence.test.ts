import {
  backoffMs,
  retriesExhausted,
  type RetryPolicy,
} from '../../../../emulators/cloud-tasks/backoff';

const policy = (p: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maxAttempts: 100,
  maxRetryDurationMs: 0,
  minBackoffMs: 10_000,
  maxBackoffMs: 300_000,
  maxDoublings: 3,
  ...p,
});

describe('backoffMs', () => {
  it('gives the documented sequence for min 10 s, max 300 s, 3 doublings', () => {
    const seconds = Array.from({ length: 9 }, (_, k) => backoffMs(policy(), k) / 1000);
    expect(seconds).toEqual([10, 20, 40, 80, 160, 240, 300, 300, 300]);
  });

  it('grows linearly at once with 0 doublings, and only doubles with many', () => {
    expect(
      [0, 1, 2, 3].map((k) => backoffMs(policy({ maxDoublings: 0, maxBackoffMs: 1e9 }), k)),
    ).toEqual([10_000, 20_000, 30_000, 40_000]);
    expect(
      [0, 1, 2, 3].map((k) => backoffMs(policy({ maxDoublings: 16, maxBackoffMs: 1e9 }), k)),
    ).toEqual([10_000, 20_000, 40_000, 80_000]);
  });
});

describe('retriesExhausted', () => {
  it.each([
    // maxAttempts, maxRetryDurationMs, attempts, sinceFirstMs, exhausted
    [100, 0, 99, 1e9, false],
    [100, 0, 100, 0, true],
    [3, 60_000, 3, 59_999, false],
    [3, 60_000, 2, 60_000, false],
    [3, 60_000, 3, 60_000, true],
    [-1, 0, 10_000, 1e12, false],
    [-1, 60_000, 10_000, 59_999, false],
    [-1, 60_000, 1, 60_000, true],
  ])(
    'maxAttempts %d, maxRetryDuration %d ms, after %d attempts over %d ms: %s',
    (maxAttempts, maxRetryDurationMs, attempts, since, exhausted) => {
      expect(retriesExhausted(policy({ maxAttempts, maxRetryDurationMs }), attempts, since)).toBe(
        exhausted,
      );
    },
  );
});
