import type { TimerHandle } from './clock';
import { MinHeap } from './min-heap';
import type { QueueConfig } from './queue-config';
import { deriveMaxBurstSize, TokenBucket } from './rate-limiter';
import type { TaskRecord } from './task-model';

interface PendingEntry {
  dueMs: number;
  seq: number;
  task: TaskRecord;
  generation: number;
}

/**
 * One queue: its config, its tasks, the pending ones ordered by due time, its token bucket and
 * its in-flight count. Every task the queue holds is either pending or running; finished tasks
 * are removed, so an empty queue is an idle one.
 */
export class QueueState {
  readonly tasks = new Map<string, TaskRecord>();
  readonly bucket: TokenBucket;
  running = 0;
  /** The single wake-up timer: the next due time or the next token, whichever applies. */
  timer: { handle: TimerHandle; at: number } | undefined;
  /** Set when the queue is deleted, so late attempt results and timers do nothing. */
  closed = false;
  // Entries are never removed from the middle: a rescheduled or removed task bumps its
  // generation, and stale entries are dropped when they reach the top.
  private readonly pending = new MinHeap<PendingEntry>(
    (a, b) => a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq),
  );
  private seq = 0;

  constructor(
    public config: QueueConfig,
    nowMs: number,
  ) {
    this.bucket = new TokenBucket(config.maxDispatchesPerSecond, this.burst(), nowMs);
  }

  reconfigure(config: QueueConfig, nowMs: number): void {
    this.config = config;
    this.bucket.reconfigure(config.maxDispatchesPerSecond, this.burst(), nowMs);
  }

  add(task: TaskRecord): void {
    this.tasks.set(task.name, task);
    this.schedule(task);
  }

  /** (Re)queues a held task for its scheduleTime. */
  schedule(task: TaskRecord): void {
    task.generation++;
    this.pending.push({
      dueMs: task.scheduleTimeMs,
      seq: ++this.seq,
      task,
      generation: task.generation,
    });
  }

  /** Takes a task out of the pending order without removing it (RunTask dispatches it now). */
  unschedule(task: TaskRecord): void {
    task.generation++;
  }

  remove(name: string): TaskRecord | undefined {
    const task = this.tasks.get(name);
    if (task === undefined) return undefined;
    this.tasks.delete(name);
    task.generation++;
    return task;
  }

  holds(task: TaskRecord): boolean {
    return this.tasks.get(task.name) === task;
  }

  /** The earliest live pending task. */
  peekDue(): { dueMs: number; task: TaskRecord } | undefined {
    for (let top = this.pending.peek(); top !== undefined; top = this.pending.peek()) {
      if (this.holds(top.task) && top.generation === top.task.generation && !top.task.running)
        return top;
      this.pending.pop();
    }
    return undefined;
  }

  popDue(): void {
    this.pending.pop();
  }

  clear(): void {
    for (const task of this.tasks.values()) task.generation++;
    this.tasks.clear();
    this.pending.clear();
  }

  isIdle(): boolean {
    return this.tasks.size === 0 && this.running === 0;
  }

  private burst(): number {
    return deriveMaxBurstSize(this.config.maxDispatchesPerSecond);
  }
}

/**
 * Names of tasks deleted or completed recently: the service refuses to reuse them for about an
 * hour, which is what makes named tasks a de-duplication tool.
 */
export class NameReservations {
  private readonly until = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  reserve(name: string, nowMs: number): void {
    if (this.windowMs <= 0) return;
    this.until.set(name, nowMs + this.windowMs);
    if (this.until.size > 10_000) this.prune(nowMs);
  }

  isReserved(name: string, nowMs: number): boolean {
    const until = this.until.get(name);
    return until !== undefined && until > nowMs;
  }

  clear(): void {
    this.until.clear();
  }

  private prune(nowMs: number): void {
    for (const [name, until] of this.until) if (until <= nowMs) this.until.delete(name);
  }
}
