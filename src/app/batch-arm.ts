import { z } from 'zod';
import { BATCH_ID_PATTERN, type Batch } from '../domain/batch';
import { coerceError, ValidationError } from '../domain/errors';
import type { Task } from '../domain/model';
import { shortHash } from '../domain/subject';
import type { Logger } from '../ports/logger';
import type { EnqueueInput } from '../ports/task-queue';
import type { AppDeps } from './deps';
import { dispatchDeadlineSeconds } from './enqueue';

/**
 * A batch's flush is its own Cloud Task to run-task, `{ batchId, flush }`, named per batch and
 * reason (`due`, `full`, `a2` for a retry, `w…`/`l…` for a window or a held table), so arming
 * it twice is harmless. Dispatch re-arms a batch whose flush is overdue.
 */

export interface FlushPayload {
  batchId: string;
  flush: string;
}

const flushPayloadSchema = z
  .object({ batchId: z.string(), flush: z.string().regex(/^[a-z0-9]{1,24}$/) })
  .strict();

/** Whether a run-task body is a flush (`{ batchId, flush }`) rather than an instance's delivery. */
export function isFlushPayload(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'batchId' in body;
}

export function parseFlushPayload(body: unknown): FlushPayload {
  const parsed = flushPayloadSchema.safeParse(body);
  if (!parsed.success || !BATCH_ID_PATTERN.test(parsed.data.batchId)) {
    throw new ValidationError('Invalid flush payload', [
      { path: '', message: 'expected { batchId: "b-…", flush }' },
    ]);
  }
  return parsed.data;
}

/** The Cloud Task of a flush: named per (batch, reason), so arming it twice is harmless. */
export function flushTaskInput(
  batch: Pick<Batch, 'id'>,
  task: Pick<Task, 'timeoutSeconds'>,
  marginSeconds: number,
  reason: string,
  at?: Date,
): EnqueueInput {
  const name = `flush-${batch.id}-${reason}`;
  return {
    taskName: `${shortHash(name, 8)}-${name}`,
    ...(at === undefined ? {} : { scheduleTime: at }),
    dispatchDeadlineSeconds: dispatchDeadlineSeconds(task.timeoutSeconds, marginSeconds),
    body: { batchId: batch.id, flush: reason } satisfies FlushPayload,
  };
}

/** Creates a flush's Cloud Task; a failure is logged (dispatch re-arms due batches). */
export async function armFlush(
  deps: Pick<AppDeps, 'queue' | 'settings'>,
  batch: Pick<Batch, 'id'>,
  task: Pick<Task, 'timeoutSeconds'>,
  reason: string,
  at: Date,
  log: Logger,
): Promise<void> {
  const input = flushTaskInput(
    batch,
    task,
    deps.settings.dispatchDeadlineMarginSeconds,
    reason,
    at,
  );
  try {
    await deps.queue.enqueue(input);
  } catch (err) {
    log.warn(
      'batch.enqueue_failed',
      `could not arm the flush of ${batch.id}; dispatch will: ${coerceError(err).message}`,
      {
        batchId: batch.id,
        cloudTaskName: input.taskName,
      },
    );
  }
}

/**
 * Dispatch's part: batches whose flush is overdue (an open batch past its wait whose flush task
 * was lost, a retry that could not be armed, a flush whose lease ran out) get their flush armed
 * again, under the name the next attempt would have. Returns how many were re-armed.
 */
export async function rearmDueBatches(deps: AppDeps, now: Date): Promise<number> {
  const batches = deps.batches;
  if (batches === undefined) return 0;
  const late = new Date(now.getTime() - deps.settings.leaseGraceSeconds * 1000);
  const due = await batches.listDue(late, deps.settings.dispatchPageSize);
  let rearmed = 0;
  for (const batch of due) {
    const task = await deps.store.getTask(batch.taskId);
    if (task === null) continue;
    const reason =
      batch.state === 'flushing' || batch.lastError !== undefined
        ? `a${batch.attempt + 1}`
        : `r${Math.floor(Date.parse(batch.dueAt) / 1000)}`;
    const input = flushTaskInput(batch, task, deps.settings.dispatchDeadlineMarginSeconds, reason);
    try {
      if ((await deps.queue.enqueue(input)) === 'created') {
        rearmed += 1;
        deps.log
          .child({ labels: { batchId: batch.id } })
          .info(
            'batch.rearmed',
            `batch ${batch.id} (${batch.state}) was overdue; its flush is armed again`,
            {
              state: batch.state,
              cloudTaskName: input.taskName,
            },
          );
      }
    } catch (err) {
      deps.log.warn(
        'batch.enqueue_failed',
        `could not re-arm batch ${batch.id}: ${coerceError(err).message}`,
      );
    }
  }
  return rearmed;
}
