import { ManualClock } from '../../../../emulators/cloud-tasks/clock';

describe('ManualClock', () => {
  it('fires due timers in order, each seeing its own due time', () => {
    const clock = new ManualClock(1000);
    const seen: string[] = [];
    clock.setTimer(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimer(() => seen.push(`a@${clock.now()}`), 10);
    const cancelled = clock.setTimer(() => seen.push('never'), 15);
    clock.clearTimer(cancelled);
    clock.advance(15);
    expect(seen).toEqual(['a@1010']);
    expect(clock.now()).toBe(1015);
    expect(clock.nextTimerAt()).toBe(1020);
    clock.advanceToNextTimer();
    expect(seen).toEqual(['a@1010', 'b@1020']);
  });

  it('fires timers set by timers when they fall within the same advance', () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    clock.setTimer(() => {
      seen.push(clock.now());
      clock.setTimer(() => seen.push(clock.now()), 5);
    }, 5);
    clock.advance(10);
    expect(seen).toEqual([5, 10]);
  });
});
