/**
 * The queue's token bucket (pure; time is passed in). Tokens accrue continuously at `rate` per
 * second up to `capacity`, so fractional rates such as 0.5/s work and a late wake-up loses nothing.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private rate: number,
    private capacity: number,
    nowMs: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = nowMs;
  }

  /** Takes a token and returns 0, or returns the milliseconds until one will be available. */
  take(nowMs: number): number {
    this.refill(nowMs);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    // The epsilon keeps float dust (0.98 tokens + 1 ms at 20/s) from costing a whole extra ms.
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.rate - 1e-6));
  }

  /** Applies new limits without forgetting the tokens already earned. */
  reconfigure(rate: number, capacity: number, nowMs: number): void {
    this.refill(nowMs);
    this.rate = rate;
    this.capacity = capacity;
    this.tokens = Math.min(this.tokens, capacity);
  }

  private refill(nowMs: number): void {
    if (nowMs <= this.updatedAt) return;
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((nowMs - this.updatedAt) * this.rate) / 1000,
    );
    this.updatedAt = nowMs;
  }
}

/**
 * maxBurstSize is output-only and "picked by Cloud Tasks based on maxDispatchesPerSecond". The
 * service's default queue (500/s) shows 100; we scale with the rate (a fifth of a second's worth)
 * between 1 and 100.
 */
export function deriveMaxBurstSize(maxDispatchesPerSecond: number): number {
  return Math.min(100, Math.max(1, Math.ceil(maxDispatchesPerSecond / 5)));
}
