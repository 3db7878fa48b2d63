import { backoffMs, retriesExhausted } from './backoff';
import type { Clock } from './clock';
import { dispatchHeaders } from './dispatch-headers';
import { Code, codeForHttpStatus } from './errors';
import type { AttemptOutcome, HttpSender } from './http-sender';
import type { OidcSigner } from './oidc';
import type { QueueState } from './queue-state';
import type { Attempt, TaskRecord } from './task-model';

export interface DispatcherHooks {
  /** The task succeeded or ran out of retries: it leaves the queue. */
  finished(queue: QueueState, task: TaskRecord): void;
  /** Something a waitForIdle caller may care about happened. */
  changed(): void;
}

/**
 * Delivers due tasks. Event-driven: each queue has at most one timer, set for the next due time
 * or the next rate-limit token, and every event that can free a slot (a new task, an attempt's
 * end, resume, a config change) pumps the queue at once. No polling, so latency stays low.
 */
export class Dispatcher {
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly sender: HttpSender,
    private readonly signer: OidcSigner,
    private readonly hooks: DispatcherHooks,
  ) {}

  /** Starts every attempt the queue's state, limits and clock allow, then sleeps until the next. */
  pump(queue: QueueState): void {
    const wakeAt = this.startDue(queue);
    // Most pumps (a new task behind an earlier one) leave the wake-up time as it was.
    if (wakeAt !== undefined && queue.timer?.at === wakeAt) return;
    this.clearTimer(queue);
    if (wakeAt !== undefined) this.wakeAt(queue, wakeAt);
  }

  /** Starts the attempts that may start now; returns when to pump next, if a timer is needed. */
  private startDue(queue: QueueState): number | undefined {
    if (this.stopped || queue.closed || queue.config.state !== 'RUNNING') return undefined;
    const now = this.clock.now();
    for (;;) {
      const next = queue.peekDue();
      if (next === undefined) return undefined;
      if (next.dueMs > now) return next.dueMs;
      // A finishing attempt pumps again, so a full queue needs no timer.
      if (queue.running >= queue.config.maxConcurrentDispatches) return undefined;
      const wait = queue.bucket.take(now);
      if (wait > 0) return now + wait;
      queue.popDue();
      this.attempt(queue, next.task, now);
    }
  }

  /** RunTask: an attempt now, whatever the queue's state and rate limits. */
  runNow(queue: QueueState, task: TaskRecord): void {
    queue.unschedule(task);
    this.attempt(queue, task, this.clock.now());
  }

  forget(queue: QueueState): void {
    this.clearTimer(queue);
  }

  stop(): void {
    this.stopped = true;
  }

  private attempt(queue: QueueState, task: TaskRecord, now: number): void {
    const headers = dispatchHeaders(task, this.authorization(task));
    const attempt: Attempt = { scheduleTimeMs: task.scheduleTimeMs, dispatchTimeMs: now };
    // The service keeps only the dispatch time of the first attempt.
    task.firstAttempt ??= { dispatchTimeMs: now };
    task.lastAttempt = attempt;
    task.dispatchCount++;
    task.running = true;
    queue.running++;
    const { http } = task;
    void this.sender
      .send({
        url: http.url,
        method: http.httpMethod,
        headers,
        body: http.body,
        deadlineMs: task.dispatchDeadlineMs,
      })
      .then((outcome) => this.settle(queue, task, attempt, outcome));
  }

  private settle(
    queue: QueueState,
    task: TaskRecord,
    attempt: Attempt,
    outcome: AttemptOutcome,
  ): void {
    if (this.stopped) return;
    queue.running--;
    task.running = false;
    const now = this.clock.now();
    // A task deleted or purged while in flight has nothing left to record.
    if (queue.holds(task)) {
      this.record(task, attempt, outcome, now);
      const succeeded =
        outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300;
      const sinceFirst = now - (task.firstAttempt?.dispatchTimeMs ?? now);
      if (succeeded || retriesExhausted(queue.config.retry, task.dispatchCount, sinceFirst)) {
        this.hooks.finished(queue, task);
      } else {
        // Backoff is measured from the failure, retry k = 0 being the first retry.
        task.scheduleTimeMs = now + backoffMs(queue.config.retry, task.dispatchCount - 1);
        queue.schedule(task);
      }
    }
    this.pump(queue);
    this.hooks.changed();
  }

  private record(task: TaskRecord, attempt: Attempt, outcome: AttemptOutcome, now: number): void {
    if (outcome.kind === 'response') {
      attempt.responseTimeMs = now;
      const code = codeForHttpStatus(outcome.status);
      attempt.responseStatus = {
        code: Code[code],
        message: code === 'OK' ? '' : `HTTP status code ${outcome.status}`,
      };
      task.responseCount++;
      task.previousResponseStatus = outcome.status;
      // X-CloudTasks-TaskExecutionCount leaves out 5xx answers (the service's documented rule).
      if (outcome.status < 500) task.executionCount++;
      return;
    }
    if (outcome.kind === 'deadline') {
      // The service reports a timed-out attempt to the next one as a 504 (recorded), which, as
      // a 5xx, does not count as an execution.
      task.previousResponseStatus = 504;
      attempt.responseStatus = {
        code: Code.DEADLINE_EXCEEDED,
        message: 'The request exceeded the dispatch deadline.',
      };
      return;
    }
    delete task.previousResponseStatus;
    attempt.responseStatus = {
      code: Code.UNAVAILABLE,
      message: `The target could not be reached: ${outcome.message}`,
    };
  }

  private authorization(task: TaskRecord): string | undefined {
    const { oidcToken, oauthToken, url } = task.http;
    if (oidcToken) {
      return `Bearer ${this.signer.token(oidcToken.serviceAccountEmail, oidcToken.audience || url)}`;
    }
    if (oauthToken) {
      // No Google to mint a real access token; receivers in tests see a recognisable opaque one.
      return `Bearer emulator-oauth-token.${Buffer.from(oauthToken.serviceAccountEmail).toString('base64url')}`;
    }
    return undefined;
  }

  private wakeAt(queue: QueueState, at: number): void {
    queue.timer = {
      at,
      handle: this.clock.setTimer(() => {
        queue.timer = undefined;
        this.pump(queue);
      }, at - this.clock.now()),
    };
  }

  private clearTimer(queue: QueueState): void {
    if (queue.timer === undefined) return;
    this.clock.clearTimer(queue.timer.handle);
    queue.timer = undefined;
  }
}
