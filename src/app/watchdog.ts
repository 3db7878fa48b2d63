import { ConflictError, coerceError } from '../domain/errors';
import { abandonAttempt, moveTo } from '../domain/lifecycle';
import { zeroCost, type Instance, type Task } from '../domain/model';
import { backoffSeconds } from '../domain/retry-policy';
import type { AppDeps } from './deps';
import { pendingDelivery, queuedFields, runTaskInput, sendQueued } from './enqueue';
import { abandonedRunId, buildRun, logRunEnd, ownerOf, runSummary } from './run-record';

export { abandonedRunId } from './run-record';

/** What the watchdog did about one instance whose lease had expired. */
export type LeaseOutcome =
  /** Recorded as abandoned; the next attempt's Cloud Task was created, or it failed (the
   * instance is then in the outbox), or the next opening is beyond the horizon (parked). */
  | { expired: true; retry: true; enqueue: 'sent' | 'failed' | 'parked' }
  /** Recorded as abandoned with no attempts left: failed, with the reason and advice. */
  | { expired: true; retry: false }
  /** Someone else moved it first (its handler finished late, or another dispatch run). */
  | { expired: false };

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
  const retry = task !== undefined && attempt < maxAttempts;
  const message =
    `run-task did not answer before the lease expired at ${leaseExpiresAt} ` +
    `(timeout ${seen.timeoutSeconds} s + grace ${deps.settings.leaseGraceSeconds} s): ` +
    'the handler crashed, was killed, or could not record its result';
  const run = buildRun({
    runId,
    instance: seen,
    task,
    ...(seen.polls === undefined ? {} : { poll: seen.polls }),
    status: 'abandoned',
    message,
    willRetry: retry,
    startedAt: seen.updatedAt,
    finishedAt: now.toISOString(),
    cost: zeroCost(),
    error: { code: 'abandoned', message },
    dryRun: request?.dryRun ?? false,
  });
  const advice = abandonedAdvice(seen, task);

  let updated: Instance | null;
  try {
    updated = await deps.store.recordRun(run, (current) => {
      const next =
        task === undefined || !retry
          ? ({ retry: false, advice } as const)
          : ({
              retry: true,
              queued: queuedFields(
                current,
                task,
                now,
                new Date(now.getTime() + backoffSeconds(task.retryPolicy, attempt - 1) * 1000),
              ),
            } as const);
      return abandonAttempt(current, seen, now, runSummary(run), next);
    });
  } catch (err) {
    // The same abandoned run is recorded already: another dispatch run got there first.
    if (err instanceof ConflictError && err.code === 'run_exists') return { expired: false };
    throw err;
  }
  if (updated === null) return { expired: false };

  const fields = { maxAttempts, jobType: seen.jobType, leaseExpiresAt };
  log.warn(
    'instance.abandoned',
    `attempt ${attempt} of ${maxAttempts} abandoned: ${retry ? 'retrying' : 'no attempts left'}`,
    {
      attempt,
      outcome: run.status,
      executor: run.executor,
      durationMs: run.durationMs,
      bytesBilled: 0,
      costUsd: 0,
      willRetry: retry,
      errorCode: 'abandoned',
      ...fields,
      ...(updated.runChain === undefined
        ? {}
        : { chainSeq: updated.runChain.seq, chainHash: updated.runChain.hash }),
      ...(retry ? { nextAttemptAt: updated.nextAttemptAt } : {}),
    },
  );
  // The same run lines run-task writes, so run metrics and the "a run failed" alert see it.
  if (!retry) {
    logRunEnd(log, run, fields, { failed: true, advice });
    return { expired: true, retry: false };
  }
  logRunEnd(log, run, fields, { failed: false, note: `retry at ${updated.nextAttemptAt}` });
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
  const owner = ownerOf(task);
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
          ? moveTo(current, 'failed', {
              lastError: {
                code: 'task_missing',
                message: `task ${instance.taskId} no longer exists`,
              },
              advice: abandonedAdvice(instance, undefined),
              leaseExpiresAt: undefined,
              nextAttemptAt: undefined,
              updatedAt: now.toISOString(),
            })
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
