import { z } from 'zod';
import {
  BATCH_ID_PATTERN,
  batchSlot,
  memberKey,
  shapeKeyOf,
  type Batch,
  type BatchMember,
  type BatchSettings,
  memberPollAfterSeconds,
} from '../domain/batch';
import { coerceError, isRetryable, PermanentError, RetryableError } from '../domain/errors';
import type { Instance, Task } from '../domain/model';
import { withSpend, type BatchSupport, type ExecutorResult } from '../executors/contract';
import type { BatchStore } from '../ports/batch-store';
import type { Logger } from '../ports/logger';
import type { AttemptSubject, ExecutorOutcome } from './attempt';
import { armFlush } from './batch-arm';
import type { AppDeps } from './deps';

/**
 * A batched task's attempt, for one member: a new attempt joins its shape's open batch and
 * waits with the batch as its handle; each poll looks at the batch, and once it is flushed
 * finishes the run with the member's own rows, proof and share of the cost.
 */

const handleSchema = z.object({ batch: z.string().regex(BATCH_ID_PATTERN) });

/** The batch a waiting handle names, if it is a batch handle. */
export function batchOfHandle(handle: string | undefined): string | undefined {
  if (handle === undefined) return undefined;
  try {
    const parsed = handleSchema.safeParse(JSON.parse(handle));
    return parsed.success ? parsed.data.batch : undefined;
  } catch {
    return undefined;
  }
}

/** How a task batches, when it does (its executor can, and its config does not turn it off). */
export function batchingOf(
  deps: Pick<AppDeps, 'executors' | 'batches'>,
  task: Task,
): { support: BatchSupport<unknown>; settings: BatchSettings; config: unknown } | undefined {
  if (deps.batches === undefined) return undefined;
  const support = deps.executors.get(task.executor).batch;
  if (support === undefined) return undefined;
  const config = deps.executors.parseConfig(task.executor, task.config);
  const settings = support.settings(config);
  return settings === undefined ? undefined : { support, settings, config };
}

/**
 * The attempt (or poll) of a batched task: undefined where the task does not batch, or for a
 * dry run (an audit reports what the batch would do, and runs alone), or for a poll of a job
 * handle an earlier, unbatched attempt left.
 */
export async function batchedAttempt(
  deps: AppDeps,
  task: Task,
  instance: Instance,
  request: AttemptSubject,
  pollHandle: string | undefined,
  log: Logger,
): Promise<ExecutorOutcome | undefined> {
  if (request.dryRun || deps.batches === undefined) return undefined;
  try {
    const rejoin = joinAgainOf(pollHandle);
    if (pollHandle !== undefined && rejoin === undefined) {
      const batchId = batchOfHandle(pollHandle);
      if (batchId === undefined) return undefined;
      return { result: await lookAtBatch(deps, deps.batches, batchId, instance) };
    }
    const batching = batchingOf(deps, task);
    if (batching === undefined) return undefined;
    const firstTry = rejoin ?? deps.clock.now();
    try {
      // A join the store did not answer may still have landed: find it before joining again.
      const landed =
        rejoin === undefined
          ? undefined
          : await joinedAt(deps.batches, task, instance, batching, rejoin);
      if (landed !== undefined) {
        return { result: await lookAtBatch(deps, deps.batches, landed, instance) };
      }
      return { result: await join(deps, deps.batches, task, instance, batching, log) };
    } catch (thrown) {
      const error = coerceError(thrown);
      if (!isRetryable(error)) throw error;
      // The store did not answer in time (many joining at once): not a failed attempt; the
      // instance waits a few seconds, spread at random, and tries to join again.
      const seconds = 3 + Math.floor(Math.random() * 6);
      return {
        result: {
          outcome: 'waiting',
          message: `could not join a batch yet (${error.message}); trying again in ${seconds} s`,
          cost: { bytesBilled: 0, usd: 0 },
          handle: JSON.stringify({ join: firstTry.toISOString() }),
          pollAfterSeconds: seconds,
        },
      };
    }
  } catch (thrown) {
    return { failure: coerceError(thrown) };
  }
}

/**
 * The batch this attempt joined when its join was first tried at `at` (the store answered too
 * late, but the join landed): the batches of that period, in order, that hold its member.
 */
async function joinedAt(
  batches: BatchStore,
  task: Task,
  instance: Instance,
  batching: NonNullable<ReturnType<typeof batchingOf>>,
  at: Date,
): Promise<string | undefined> {
  const shapeKey = shapeKeyOf(task.id, batching.support.shape(batching.config));
  const key = memberKey(instance.requestId, instance.taskId);
  for (let seq = 1; seq <= 1000; seq++) {
    const { id } = batchSlot(shapeKey, batching.settings, at, seq);
    const [batch, member] = await Promise.all([batches.get(id), batches.getMember(id, key)]);
    if (batch === null) return undefined;
    if (member?.attempt === instance.attempt && member.series === instance.series) return id;
  }
  return undefined;
}

/** When an attempt that could not join yet first tried (its handle says), else undefined. */
export function joinAgainOf(handle: string | undefined): Date | undefined {
  if (handle === undefined) return undefined;
  try {
    const parsed = z.object({ join: z.string().datetime() }).strict().safeParse(JSON.parse(handle));
    return parsed.success ? new Date(parsed.data.join) : undefined;
  } catch {
    return undefined;
  }
}

async function join(
  deps: AppDeps,
  batches: BatchStore,
  task: Task,
  instance: Instance,
  batching: NonNullable<ReturnType<typeof batchingOf>>,
  log: Logger,
): Promise<ExecutorResult> {
  const now = deps.clock.now();
  const { settings, support, config } = batching;
  const joined = await batches.join(
    {
      shapeKey: shapeKeyOf(task.id, support.shape(config)),
      taskId: task.id,
      executor: task.executor,
      settings,
      maxAttempts: task.maxAttempts,
    },
    {
      requestId: instance.requestId,
      taskId: instance.taskId,
      series: instance.series,
      attempt: instance.attempt,
    },
    now,
  );
  const { batch } = joined;
  if (joined.opened) await armFlush(deps, batch, task, 'due', new Date(batch.closesAt), log);
  let full = false;
  if (joined.members >= settings.maxSubjects && (await batches.close(batch.id, now))) {
    full = true;
    await armFlush(deps, batch, task, 'full', now, log);
  }
  log
    .child({ labels: { batchId: batch.id } })
    .info(
      'batch.joined',
      `joined batch ${batch.id} (${joined.members} of ${settings.maxSubjects} subjects)`,
      {
        batchMembers: joined.members,
        batchOpened: joined.opened,
        batchFull: full,
      },
    );
  const closes = full
    ? 'it is full and flushes now'
    : `it closes at ${batch.closesAt} or when full`;
  return waitingFor(
    batch,
    `joined batch ${batch.id}: ${joined.members} of ${settings.maxSubjects} subjects; ${closes}`,
    full
      ? memberPollAfterSeconds(batch, now, deps.settings.pollIntervalSeconds, true)
      : secondsUntil(batch.closesAt, now) + 2,
  );
}

async function lookAtBatch(
  deps: AppDeps,
  batches: BatchStore,
  batchId: string,
  instance: Instance,
): Promise<ExecutorResult> {
  const key = memberKey(instance.requestId, instance.taskId);
  const [batch, member] = await Promise.all([
    batches.get(batchId),
    batches.getMember(batchId, key),
  ]);
  if (batch === null) {
    throw new PermanentError(`batch ${batchId} no longer exists`, 'task_missing');
  }
  const unserved = batch.state === 'flushed' && member?.result === undefined;
  if (
    member === null ||
    member.left !== undefined ||
    member.attempt !== instance.attempt ||
    unserved
  ) {
    throw new RetryableError(
      `this attempt left batch ${batchId} before its flush (${member?.left ?? (unserved ? 'the flush did not serve it' : 'not a member')}); the next attempt joins a new one`,
      { code: 'batch.left' },
    );
  }
  if (batch.state === 'failed') {
    const error = batch.error ?? { code: 'permanent' as const, message: 'the flush failed' };
    throw withSpend(
      new PermanentError(`batch ${batchId} failed: ${error.message}`, error.code),
      spendOf(batch, member),
    );
  }
  if (batch.state === 'flushed' && member.result !== undefined) return finished(batch, member);
  const now = deps.clock.now();
  const doing =
    batch.state === 'open'
      ? `batch ${batchId} is open until ${batch.closesAt}`
      : batch.state === 'closed' && batch.lastError !== undefined
        ? `batch ${batchId}'s flush attempt ${batch.attempt} failed (${batch.lastError.message}); it runs again at ${batch.dueAt}`
        : `batch ${batchId} is ${batch.state === 'flushing' ? 'being flushed' : 'closed and waiting for its flush'}`;
  // Open, or closed until a retry or its window: look again just after it is due; flushing:
  // the flush's end nudges this poll, so look only at its lease end, as a safety net.
  return waitingFor(
    batch,
    doing,
    memberPollAfterSeconds(batch, now, deps.settings.pollIntervalSeconds),
  );
}

function waitingFor(batch: Batch, message: string, pollAfterSeconds: number): ExecutorResult {
  return {
    outcome: 'waiting',
    message: `${message}; next check in ${pollAfterSeconds} s`,
    cost: { bytesBilled: 0, usd: 0 },
    handle: JSON.stringify({ batch: batch.id }),
    pollAfterSeconds,
    evidence: { batch: { id: batch.id } },
  };
}

function finished(batch: Batch, member: BatchMember): ExecutorResult {
  const result = member.result as NonNullable<BatchMember['result']>;
  const total = batch.result;
  const rows = result.affectedRows;
  return {
    outcome: rows === 0 ? 'not_found' : 'succeeded',
    message:
      `${result.message ?? (rows === 0 ? 'no rows of the subject' : `${rows} ${rows === 1 ? 'row' : 'rows'} of the subject`)} ` +
      `in batch ${batch.id} of ${total?.members ?? 0} subjects (${total?.message ?? ''}); ` +
      `this request's share: ${result.share.bytesBilled} bytes billed, $${result.share.usd.toFixed(9).replace(/\.?0+$/, '')}`,
    cost: result.share,
    affectedRows: rows,
    evidence: {
      touched: total?.touched ?? [],
      jobIds: batch.jobs.map((j) => j.jobId),
      ...(result.remainingRows === undefined ? {} : { remainingRows: result.remainingRows }),
      ...(result.remainingRows === undefined
        ? {}
        : {
            verification: {
              jobIds: batch.jobs.filter((j) => j.role === 'verify').map((j) => j.jobId),
              ...result.verificationShare,
            },
          }),
      batch: {
        id: batch.id,
        members: total?.members ?? 0,
        statements: total?.statements ?? 0,
        affectedRows: total?.affectedRows ?? 0,
        bytesBilled: total?.bytesBilled ?? 0,
        usd: total?.usd ?? 0,
      },
    },
    ...(result.output === undefined ? {} : { output: result.output }),
  };
}

function spendOf(batch: Batch, member: BatchMember) {
  return {
    cost: member.result?.share ?? { bytesBilled: 0, usd: 0 },
    evidence: { jobIds: batch.jobs.map((j) => j.jobId), batch: { id: batch.id } },
  };
}

function secondsUntil(iso: string, now: Date): number {
  return Math.max(0, Math.ceil((Date.parse(iso) - now.getTime()) / 1000));
}
