import {
  billedOf,
  decideFlushClaim,
  type Batch,
  type BatchJob,
  type BatchMember,
  type MemberResult,
} from '../domain/batch';
import { shareCost } from '../domain/cost-shares';
import { bigQueryCost } from '../domain/cost';
import {
  coerceError,
  errorCode,
  isRetryable,
  PermanentError,
  RetryableError,
} from '../domain/errors';
import { nextTaskOpening } from '../domain/execution-window';
import type { Instance, Task } from '../domain/model';
import { backoffSeconds } from '../domain/retry-policy';
import { abortReason, type BatchFlushResult, type BatchSubject } from '../executors/contract';
import { armFlush, parseFlushPayload } from './batch-arm';
import type { BatchStore } from '../ports/batch-store';
import type { Logger } from '../ports/logger';
import { TaskTimeoutError } from './attempt';
import { batchingOf } from './batch-member';
import type { AppDeps } from './deps';
import { runTaskInput } from './enqueue';
/**
 * A batch's flush, delivered as its own Cloud Task to run-task: claim the batch (closed, or
 * open past its wait, or abandoned by a flush that stopped answering), inside its task's window;
 * run the executor's statements for every member; then write each member's rows and share of
 * the cost, and nudge the members' polls. A failed flush is retried as a whole under the task's
 * retry policy and attempts; a permanent failure fails every member with the same error.
 */
export interface FlushAnswer {
  status: 200 | 503;
  retryAfterSeconds?: number;
  body: { result: string; batchId: string; state?: Batch['state'] };
}

/** How often a batch of a paused task looks again (its members' polls follow its dueAt). */
const PAUSED_FLUSH_RECHECK_SECONDS = 300;

/** One flush delivery. */
export async function runFlush(deps: AppDeps, body: unknown): Promise<FlushAnswer> {
  const { batchId } = parseFlushPayload(body);
  const log = deps.log.child({ labels: { batchId } });
  const answer = (
    result: string,
    state?: Batch['state'],
    status: 200 | 503 = 200,
    retryAfterSeconds?: number,
  ): FlushAnswer => ({
    status,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    body: { result, batchId, ...(state === undefined ? {} : { state }) },
  });
  const batches = deps.batches;
  if (batches === undefined) return answer('batches_off');
  const stored = await batches.get(batchId);
  if (stored === null) return answer('batch_missing');
  const task = await deps.store.getTask(stored.taskId);
  const now = deps.clock.now();
  if (task?.paused !== undefined && stored.state !== 'flushed' && stored.state !== 'failed') {
    // A paused task flushes nothing: the batch keeps its members, looks again every few
    // minutes (dispatch re-arms it, under a new name, once it is due), and flushes once resumed.
    const recheck = new Date(now.getTime() + PAUSED_FLUSH_RECHECK_SECONDS * 1000);
    await batches.setDue(batchId, recheck);
    log.info('batch.paused', `task ${task.id} is paused: batch ${batchId} waits to flush`, {
      pausedSince: task.paused.at,
      recheckAt: recheck.toISOString(),
    });
    return answer('paused', stored.state);
  }
  if (task !== null && stored.state !== 'flushed' && stored.state !== 'failed') {
    // A batch flushes only inside its task's window: a nightly window gathers the day's subjects.
    const opening = nextTaskOpening(task, now);
    if (opening.getTime() > now.getTime()) {
      await batches.setDue(batchId, opening);
      await armFlush(deps, stored, task, `w${Math.floor(opening.getTime() / 1000)}`, opening, log);
      log.info(
        'batch.outside_window',
        `batch ${batchId} flushes when its task's window opens, at ${opening.toISOString()}`,
        {
          opensAt: opening.toISOString(),
        },
      );
      return answer('outside_window', stored.state);
    }
  }
  const leaseSeconds = (task?.timeoutSeconds ?? 600) + deps.settings.leaseGraceSeconds;
  const decision = await batches.claim(batchId, (b) => decideFlushClaim(b, now, leaseSeconds));
  if (decision === null) return answer('batch_missing');
  if ('refuse' in decision) {
    if (decision.refuse === 'not_due' && decision.dueAt !== undefined) {
      const wait = Math.max(1, Math.ceil((decision.dueAt.getTime() - now.getTime()) / 1000));
      return answer('not_due', stored.state, 503, wait);
    }
    return answer(decision.refuse, stored.state);
  }
  if ('abandon' in decision) {
    log.error(
      'batch.failed',
      `batch ${batchId} failed: its last flush attempt stopped answering`,
      new PermanentError(
        `flush attempt ${stored.attempt} of ${stored.maxAttempts} stopped answering`,
        'abandoned',
      ),
      { attempt: stored.attempt },
    );
    await nudgeMembers(deps, batches, batchId, task, log);
    return answer('failed', 'failed');
  }
  const batch: Batch = { ...stored, ...decision.claim };
  if (task === null) {
    await failBatch(
      deps,
      batches,
      batch,
      [],
      new PermanentError(`task ${batch.taskId} no longer exists`, 'task_missing'),
      log,
    );
    return answer('failed', 'failed');
  }
  return flushClaimed(deps, batches, batch, task, log);
}

async function flushClaimed(
  deps: AppDeps,
  batches: BatchStore,
  batch: Batch,
  task: Task,
  log: Logger,
): Promise<FlushAnswer> {
  const started = deps.clock.now();
  const answer = (result: string, state: Batch['state']): FlushAnswer => ({
    status: 200,
    body: { result, batchId: batch.id, state },
  });
  const members = await activeMembers(deps, batches, batch);
  log.info(
    'batch.flush_started',
    `flush attempt ${batch.attempt} of ${batch.maxAttempts}: ${members.length} subjects`,
    {
      attempt: batch.attempt,
      batchMembers: members.length,
      waitMs: started.getTime() - Date.parse(batch.openedAt),
    },
  );
  let result: BatchFlushResult;
  try {
    const batching = batchingOf(deps, task);
    if (batching === undefined) {
      throw new PermanentError(
        `task ${task.id} no longer batches (its executor or config changed)`,
        'permanent',
      );
    }
    result = await withTimeout(task.timeoutSeconds, (signal) =>
      members.length === 0
        ? Promise.resolve(emptyResult())
        : batching.support.flush({
            batchId: batch.id,
            taskId: task.id,
            config: batching.config,
            members,
            signal,
            log,
            ...(batch.progress === undefined ? {} : { resume: batch.progress }),
            save: (progress, jobs) =>
              batches.saveProgress(batch.id, batch.attempt, progress, [...jobs]),
          }),
    );
  } catch (thrown) {
    const error = coerceError(thrown);
    const code = errorCode(error);
    if (isRetryable(error) && batch.attempt < batch.maxAttempts) {
      const delay = Math.max(
        backoffSeconds(task.retryPolicy, batch.attempt - 1),
        error instanceof RetryableError ? (error.retryAfterSeconds ?? 0) : 0,
      );
      const at = nextTaskOpening(task, new Date(deps.clock.now().getTime() + delay * 1000));
      const lastError = { code, message: error.message };
      await batches.update(batch.id, batch.attempt, {
        state: 'closed',
        lastError,
        leaseExpiresAt: undefined,
        dueAt: at.toISOString(),
      });
      await armFlush(deps, batch, task, `a${batch.attempt + 1}`, at, log);
      log.warn(
        'batch.flush_failed',
        `flush attempt ${batch.attempt} of ${batch.maxAttempts} failed; retrying at ${at.toISOString()}: ${error.message}`,
        {
          attempt: batch.attempt,
          errorCode: code,
          willRetry: true,
        },
      );
      return answer('retry_scheduled', 'closed');
    }
    await failBatch(deps, batches, batch, members, error, log, task);
    return answer('failed', 'failed');
  }
  if (result.outcome === 'blocked') {
    const at = new Date(deps.clock.now().getTime() + result.retryAfterSeconds * 1000);
    await batches.update(batch.id, batch.attempt, {
      state: 'closed',
      attempt: batch.attempt - 1,
      leaseExpiresAt: undefined,
      dueAt: at.toISOString(),
    });
    await armFlush(deps, batch, task, `l${Math.floor(at.getTime() / 1000)}`, at, log);
    log.info(
      'batch.blocked',
      `${result.message}; the flush looks again in ${result.retryAfterSeconds} s`,
      {
        retryAfterSeconds: result.retryAfterSeconds,
      },
    );
    return answer('blocked', 'closed');
  }

  // Every job the flushes ran, failed attempts' included, is split among the members.
  const jobs = await allJobs(batches, batch.id, result.jobs);
  const billed = billedOf(jobs);
  const total = bigQueryCost(billed.total, deps.settings.pricePerTiB);
  const shares = shareCost(total, Math.max(1, members.length));
  const verifyShares = shareCost(
    bigQueryCost(billed.verify, deps.settings.pricePerTiB),
    Math.max(1, members.length),
  );
  const results = new Map<string, MemberResult>();
  members.forEach((member, i) => {
    const own = result.members.get(member.key);
    results.set(member.key, {
      affectedRows: own?.affectedRows ?? 0,
      ...(own?.remainingRows === undefined ? {} : { remainingRows: own.remainingRows }),
      ...(own?.message === undefined ? {} : { message: own.message }),
      share: shares[i] ?? { bytesBilled: 0, usd: 0 },
      verificationShare: verifyShares[i] ?? { bytesBilled: 0, usd: 0 },
      ...(own?.output === undefined ? {} : { output: own.output }),
    });
  });
  const finishedAt = deps.clock.now();
  const left = (await batches.listMembers(batch.id)).filter((m) => m.left !== undefined).length;
  const applied = await batches.finish(batch.id, batch.attempt, results, {
    state: 'flushed',
    jobs,
    leaseExpiresAt: undefined,
    finishedAt: finishedAt.toISOString(),
    result: {
      members: members.length,
      left,
      statements: result.statements,
      affectedRows: result.affectedRows,
      touched: result.touched,
      bytesBilled: total.bytesBilled,
      usd: total.usd,
      message: result.message,
    },
  });
  if (!applied) {
    log.warn(
      'batch.superseded',
      `flush attempt ${batch.attempt} lost its lease before it finished; another attempt owns the batch`,
    );
    return answer('superseded', 'flushing');
  }
  const perRequest = perRequestEstimate(jobs, members.length, result.touched.length);
  log.info('batch.flushed', `batch ${batch.id} flushed: ${result.message}`, {
    attempt: batch.attempt,
    batchMembers: members.length,
    batchLeft: left,
    statements: result.statements,
    affectedRows: result.affectedRows,
    bytesBilled: total.bytesBilled,
    usd: total.usd,
    waitMs: Date.parse(batch.flushStartedAt ?? started.toISOString()) - Date.parse(batch.openedAt),
    flushMs: finishedAt.getTime() - started.getTime(),
    bytesSaved: Math.max(0, perRequest - total.bytesBilled),
  });
  await nudgeMembers(deps, batches, batch.id, task, log);
  return answer('flushed', 'flushed');
}

/**
 * The members the flush serves. On its first attempt, members whose attempt has moved on (the
 * watchdog retried it, or it finished otherwise) leave; later attempts serve the same set.
 */
async function activeMembers(
  deps: AppDeps,
  batches: BatchStore,
  batch: Batch,
): Promise<BatchSubject[]> {
  const listed = (await batches.listMembers(batch.id)).filter((m) => m.left === undefined);
  const instances = await inChunks(listed, (m) => deps.store.getInstance(m.requestId, m.taskId));
  const current = listed.filter((m, i) => belongs(m, instances[i] ?? null));
  const gone = listed.filter((m, i) => !belongs(m, instances[i] ?? null)).map((m) => m.key);
  if (gone.length > 0) await batches.markLeft(batch.id, gone, 'superseded');
  const requests = await inChunks(current, (m) => deps.store.getRequest(m.requestId));
  return current.flatMap((m, i) => {
    const request = requests[i];
    if (request === null || request === undefined) return [];
    return [
      {
        key: m.key,
        requestId: m.requestId,
        subject: request.subject,
        subjectAsGiven: { ...request.subject, ...request.subjectAsGiven },
      },
    ];
  });
}

function belongs(member: BatchMember, instance: Instance | null): boolean {
  return (
    instance !== null &&
    instance.series === member.series &&
    instance.attempt === member.attempt &&
    (instance.state === 'running' || instance.state === 'waiting')
  );
}

async function allJobs(
  batches: BatchStore,
  batchId: string,
  ran: readonly BatchJob[],
): Promise<BatchJob[]> {
  const saved = (await batches.get(batchId))?.jobs ?? [];
  const known = new Set(saved.map((j) => j.jobId));
  return [...saved, ...ran.filter((j) => !known.has(j.jobId))];
}

async function failBatch(
  deps: AppDeps,
  batches: BatchStore,
  batch: Batch,
  members: readonly BatchSubject[],
  error: Error,
  log: Logger,
  task?: Task,
): Promise<void> {
  const jobs = await allJobs(batches, batch.id, []);
  const billed = billedOf(jobs);
  const n = Math.max(1, members.length);
  const shares = shareCost(bigQueryCost(billed.total, deps.settings.pricePerTiB), n);
  const verifyShares = shareCost(bigQueryCost(billed.verify, deps.settings.pricePerTiB), n);
  const results = new Map<string, MemberResult>();
  members.forEach((m, i) => {
    results.set(m.key, {
      affectedRows: 0,
      share: shares[i] ?? { bytesBilled: 0, usd: 0 },
      verificationShare: verifyShares[i] ?? { bytesBilled: 0, usd: 0 },
    });
  });
  const failure = { code: errorCode(error), message: error.message };
  await batches.finish(batch.id, batch.attempt, results, {
    state: 'failed',
    error: failure,
    lastError: failure,
    leaseExpiresAt: undefined,
    finishedAt: deps.clock.now().toISOString(),
  });
  log.error(
    'batch.failed',
    `batch ${batch.id} failed after flush attempt ${batch.attempt} of ${batch.maxAttempts}`,
    error,
    { attempt: batch.attempt, batchMembers: members.length },
  );
  await nudgeMembers(deps, batches, batch.id, task ?? null, log);
}

/** Polls every waiting member now, so it finishes its run without waiting for its next check. */
async function nudgeMembers(
  deps: AppDeps,
  batches: BatchStore,
  batchId: string,
  task: Task | null,
  log: Logger,
): Promise<void> {
  if (task === null) return;
  const members = (await batches.listMembers(batchId)).filter((m) => m.left === undefined);
  const instances = await inChunks(members, (m) => deps.store.getInstance(m.requestId, m.taskId));
  await inChunks(instances, async (instance) => {
    if (instance?.state !== 'waiting' || instance.polls === undefined) return;
    const input = runTaskInput(instance, task, deps.settings.dispatchDeadlineMarginSeconds, {
      attempt: instance.attempt,
      poll: instance.polls,
    });
    await deps.queue
      .enqueue({
        ...input,
        taskName: `${input.taskName}-n`,
        // Claimed at once: the member's scheduled poll may be far off (a batch that filled).
        body: { ...(input.body as object), early: true },
      })
      .catch((err: unknown) => {
        log.warn(
          'batch.enqueue_failed',
          `could not nudge a member's poll: ${coerceError(err).message}`,
          {
            cloudTaskName: input.taskName,
          },
        );
      });
  });
}

/** What the members would have billed one statement each: per table, the change and its count. */
function perRequestEstimate(jobs: readonly BatchJob[], members: number, tables: number): number {
  const changes = jobs.filter((j) => j.role !== 'count');
  const statements = Math.max(1, jobs.filter((j) => j.role === 'change').length);
  const perStatementSet =
    changes.reduce((sum, j) => sum + j.bytesBilled, 0) / (statements / Math.max(1, tables));
  return Math.round(perStatementSet * members);
}

function emptyResult(): BatchFlushResult {
  return {
    outcome: 'done',
    message: 'every member left before the flush; nothing ran',
    members: new Map(),
    jobs: [],
    touched: [],
    affectedRows: 0,
    statements: 0,
  };
}

async function withTimeout<T>(
  seconds: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new TaskTimeoutError(seconds);
      controller.abort(err);
      reject(err);
    }, seconds * 1000);
  });
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } catch (err) {
    throw controller.signal.aborted ? abortReason(controller.signal) : err;
  } finally {
    clearTimeout(timer);
  }
}

/** Maps in chunks of 50 concurrent calls (members may be thousands). */
async function inChunks<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += 50) {
    out.push(...(await Promise.all(items.slice(i, i + 50).map(fn))));
  }
  return out;
}
