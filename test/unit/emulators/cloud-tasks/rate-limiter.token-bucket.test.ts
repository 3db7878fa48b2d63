import { deriveMaxBurstSize, TokenBucket } from '../../../../emulators/cloud-tasks/rate-limiter';

describe('TokenBucket', () => {
  it('starts full, then gives one token per 1/rate seconds', () => {
    const bucket = new TokenBucket(20, 4, 0);
    expect([0, 0, 0, 0].map((t) => bucket.take(t))).toEqual([0, 0, 0, 0]);
    expect(bucket.take(0)).toBe(50);
    expect(bucket.take(49)).toBe(1);
    expect(bucket.take(50)).toBe(0);
  });

  it('works at fractional rates: 0.5/s is one token every 2 s', () => {
    const bucket = new TokenBucket(0.5, 1, 0);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(1000)).toBe(1000);
    expect(bucket.take(2000)).toBe(0);
  });

  it('never holds more than its capacity, and loses nothing to a late wake-up', () => {
    const bucket = new TokenBucket(500, 100, 0);
    let taken = 0;
    while (bucket.take(0) === 0) taken++;
    expect(taken).toBe(100);
    // 1 s later, 500 tokens have accrued but only 100 fit.
    taken = 0;
    while (bucket.take(1000) === 0) taken++;
    expect(taken).toBe(100);
    // Woken 7 ms late at 2 ms a token: all 3.5 earned tokens are there (3 whole ones).
    taken = 0;
    while (bucket.take(1007) === 0) taken++;
    expect(taken).toBe(3);
  });

  it('keeps earned tokens when reconfigured', () => {
    const bucket = new TokenBucket(1, 1, 0);
    bucket.take(0);
    // Half a token earned at 1/s; the other half takes 50 ms at 10/s.
    bucket.reconfigure(10, 2, 500);
    expect(bucket.take(500)).toBe(50);
    expect(bucket.take(600)).toBe(0);
  });
});

describe('deriveMaxBurstSize', () => {
  it.each([
    [500, 100],
    [20, 4],
    [10, 2],
    [1, 1],
    [0.5, 1],
  ])('%d/s gives a burst of %d', (rate, burst) => {
    expect(deriveMaxBurstSize(rate)).toBe(burst);
  });
});
