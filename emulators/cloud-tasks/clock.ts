/**
 * Time for the emulator. Every rule that depends on time (schedule times, backoff, dispatch
 * deadlines, rate limits, the 30-day and name-reservation windows) reads this clock, so tests can
 * drive those rules with a ManualClock instead of waiting.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once `delayMs` has passed on this clock. */
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Opaque: only the clock that made a handle can clear it. */
export type TimerHandle = unknown;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (callback, delayMs) => setTimeout(callback, Math.max(0, delayMs)),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface ManualTimer {
  at: number;
  seq: number;
  callback: () => void;
}

/**
 * A clock that moves only when told to. Timers fire synchronously inside `advance`, in due order,
 * each seeing `now()` equal to its own due time, as they would on a real clock.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, ManualTimer>();

  constructor(startMs: number = Date.UTC(2030, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.current + Math.max(0, delayMs), seq: id, callback });
    return id;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /** The due time of the earliest pending timer, if any. */
  nextTimerAt(): number | undefined {
    return this.earliest()?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let next = this.earliest(); next !== undefined && next.at <= target;) {
      this.timers.delete(next.seq);
      this.current = Math.max(this.current, next.at);
      next.callback();
      next = this.earliest();
    }
    this.current = target;
  }

  /** Moves time to the earliest pending timer and fires it (and any due with it). */
  advanceToNextTimer(): void {
    const at = this.nextTimerAt();
    if (at !== undefined) this.advance(Math.max(0, at - this.current));
  }

  private earliest(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const timer of this.timers.values()) {
      if (
        best === undefined ||
        timer.at < best.at ||
        (timer.at === best.at && timer.seq < best.seq)
      )
        best = timer;
    }
    return best;
  }
}
