import { ConflictError, coerceError } from '../domain/errors';
import type { Instance, Run, Task } from '../domain/model';
import { backoffSeconds } from '../domain/retry-policy';
import type { AppDeps } from './deps';
import { pendingDelivery, queuedFields, runTaskInput, sendQueued } from './enqueue';

/** What the watchdog did about one instance whose lease had expired. */
export type LeaseOutcome =
  /** Recorded as abandoned; the next attempt's Cloud Task was created, or it failed (the
   * instance is then in the outbox), or the next opening is beyond the horizon (parked). */
  | { expired: true; retry: true; enqueue: 'sent' | 'failed' | 'parked' }
  /** Recorded as abandoned with no attempts left: failed, with the reason and advice. */
  | { expired: true; retry: false }
  /** Someone else moved it first (its handler finished late, or another dispatch run). */
  | { expired: false };

/** The run id of an abandoned attempt: one per (series, attempt), so it is recorded once. */
export function abandonedRunId(instance: Pick<Instance, 'series' | 'attempt'>): string {
  return `s${instance.series}-a${String(instance.attempt).padStart(3, '0')}-abandoned`;
}

/**
 * The watchdog, for one `running` instance whose lease has expired: its handler crashed, was
 * killed, or could not record a result. Records the attempt as `abandoned` (a run of its own,
 * in the same guarded write as the instance's new state), then retries it under the task's
 * retry policy, or fails it for good once `maxAttempts` is used: never an endless requeue.
 * A late finish by the original handler is still recorded (its claim token no longer matches,
 * so it adds its run and leaves the instance alone).
 */
export async function expireLease(
  deps: AppDeps,
  seen: Instance,
  task: Task | undefined,
  now: Date,
): Promise<LeaseOutcome> {
  const { requestId, taskId, attempt, maxAttempts } = seen;
  const runId = abandonedRunId(seen);
  const log = deps.log.child({ labels: { requestId, taskId, runId } });
  const request = await deps.store.getRequest(requestId);
  const leaseExpiresAt = seen.leaseExpiresAt ?? now.toISOString();
  const startedAt = seen.updatedAt;
  const durationMs = Math.max(0, now.getTime() - Date.parse(startedAt));
  const retry = task !== undefined && attempt < maxAttempts;
  const message =
    `run-task did not answer before the lease expired at ${leaseExpiresAt} ` +
    `(timeout ${seen.timeoutSeconds} s + grace ${deps.settings.leaseGraceSeconds} s): ` +
    'the handler crashed, was killed, or could not record its result';
  const lastError = { code: 'abandoned', message };
  const run: Run = {
    runId,
    requestId,
    taskId,
    executor: seen.executor,
    attempt,
    series: seen.series,
    ...(seen.polls === undefined ? {} : { poll: seen.polls }),
    status: 'abandoned',
    message,
    willRetry: retry,
    startedAt,
    finishedAt: now.toISOString(),
    durationMs,
    cost: { bytesBilled: 0, usd: 0 },
    error: lastError,
    evidence: seen.approval === undefined ? {} : { approvedBy: seen.approval.actor },
    dryRun: request?.dryRun ?? false,
  };
  const lastRun = { runId, attempt, status: run.status, message, finishedAt: run.finishedAt };
  const cleared = {
    leaseExpiresAt: undefined,
    waitingHandle: undefined,
    polls: undefined,
  } satisfies Partial<Instance>;
  const advice = abandonedAdvice(seen, task);

  let updated: Instance | null;
  try {
    updated = await deps.store.recordRun(run, (current) => {
      const same =
        current.state === 'running' &&
        current.series === seen.series &&
        current.attempt === seen.attempt &&
        current.leaseExpiresAt === seen.leaseExpiresAt &&
        current.leaseExpiresAt !== undefined &&
        Date.parse(current.leaseExpiresAt) <= now.getTime();
      if (!same) return null;
      const common = { ...cleared, lastError, lastRun, updatedAt: now.toISOString() };
      if (task === undefined || !retry) {
        return { ...common, state: 'failed', nextAttemptAt: undefined, advice };
      }
      const notBefore = new Date(
        now.getTime() + backoffSeconds(task.retryPolicy, attempt - 1) * 1000,
      );
      const fields = queuedFields(current, task, now, notBefore);
      return { ...common, ...fields, nextAttemptAt: fields.scheduleTime };
    });
  } catch (err) {
    // The same abandoned run is recorded already: another dispatch run got there first.
    if (err instanceof ConflictError && err.code === 'run_exists') return { expired: false };
    throw err;
  }
  if (updated === null) return { expired: false };

  const fields = {
    attempt,
    maxAttempts,
    outcome: run.status,
    executor: seen.executor,
    jobType: seen.jobType,
    durationMs,
    bytesBilled: 0,
    costUsd: 0,
    willRetry: retry,
    errorCode: lastError.code,
    leaseExpiresAt,
  };
  log.warn(
    'instance.abandoned',
    `attempt ${attempt} of ${maxAttempts} abandoned: ${retry ? 'retrying' : 'no attempts left'}`,
    { ...fields, ...(retry ? { nextAttemptAt: updated.nextAttemptAt } : {}) },
  );
  // The same run lines run-task writes, so run metrics and the "a run failed" alert see it.
  if (!retry) {
    log.log('ERROR', 'run.failed', `attempt ${attempt} failed terminally: ${message}`, {
      ...fields,
      advice,
    });
    return { expired: true, retry: false };
  }
  log.info(
    'run.finished',
    `attempt ${attempt} abandoned; retry at ${updated.nextAttemptAt}`,
    fields,
  );
  if (task === undefined || updated.state !== 'queued') {
    return { expired: true, retry: true, enqueue: 'parked' };
  }
  const { sent } = await sendQueued(deps, updated, task);
  return { expired: true, retry: true, enqueue: sent ? 'sent' : 'failed' };
}

function abandonedAdvice(instance: Instance, task: Task | undefined): string {
  if (task === undefined) {
    return 'Its task no longer exists, so it cannot be retried. Register the task again, then POST /requests/:id/instances/:taskId/retry.';
  }
  const owner = task.teamContact ?? task.team ?? 'the task owner';
  return (
    `Attempt ${instance.attempt} of ${instance.maxAttempts} stopped answering and no attempts are left. ` +
    'Check run-task’s logs for this instance around the lease expiry (crashes, out-of-memory, deploys), and that timeoutSeconds covers the work; ' +
    `then POST /requests/:id/instances/${task.id}/retry. Contact: ${owner}.`
  );
}

/** What re-arming one late instance did. */
export type RearmOutcome = 'created' | 'exists' | 'failed' | 'task_missing' | 'skipped';

/**
 * A `queued`, `retry_scheduled` or `waiting` instance whose delivery is long overdue may have
 * lost its Cloud Task (intake stopped between its commit and the enqueue, a poll could not be
 * scheduled, a queue was purged). Its task is created again under the same deterministic name:
 * if it still exists, Cloud Tasks answers ALREADY_EXISTS and nothing changes. An instance whose
 * task definition is gone cannot run at all, and fails with that reason.
 */
export async function rearmLate(
  deps: AppDeps,
  instance: Instance,
  task: Task | undefined,
  now: Date,
): Promise<RearmOutcome> {
  const delivery = pendingDelivery(instance);
  if (delivery === undefined) return 'skipped';
  const log = deps.log.child({
    labels: { requestId: instance.requestId, taskId: instance.taskId },
  });
  if (task === undefined) {
    const failed = await deps.store.updateInstance(
      instance.requestId,
      instance.taskId,
      (current) =>
        current.state === instance.state && current.updatedAt === instance.updatedAt
          ? {
              state: 'failed',
              lastError: {
                code: 'task_missing',
                message: `task ${instance.taskId} no longer exists`,
              },
              advice: abandonedAdvice(instance, undefined),
              leaseExpiresAt: undefined,
              nextAttemptAt: undefined,
              updatedAt: now.toISOString(),
            }
          : null,
    );
    return failed === null ? 'skipped' : 'task_missing';
  }
  const input = runTaskInput(instance, task, deps.settings.dispatchDeadlineMarginSeconds, delivery);
  try {
    const result = await deps.queue.enqueue(input);
    if (result === 'created') {
      log.info(
        'instance.rearmed',
        `${instance.state} instance had no Cloud Task; created it again`,
        {
          reason: delivery.poll === undefined ? 'lost_task' : 'lost_poll',
          state: instance.state,
          cloudTaskName: input.taskName,
          attempt: delivery.attempt,
        },
      );
    }
    return result;
  } catch (err) {
    log.warn(
      'instance.enqueue_failed',
      `re-arming failed; the next dispatch run retries: ${coerceError(err).message}`,
      {
        cloudTaskName: input.taskName,
      },
    );
    return 'failed';
  }
}
