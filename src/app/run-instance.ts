import { z } from 'zod';
import { coerceError, ValidationError } from '../domain/errors';
import { parseRequestId, parseTaskId } from '../domain/ids';
import { settleAttempt } from '../domain/lifecycle';
import { decideClaimUnlessPaused } from '../domain/pause';
import { zeroCost, type Instance, type Request, type Task } from '../domain/model';
import { identifierRedactor, redactionSubject } from '../domain/subject';
import type { Claim } from '../ports/request-store';
import { judgeAttempt, runExecutor, type AttemptSubject } from './attempt';
import { batchedAttempt } from './batch-member';
import type { AppDeps } from './deps';
import { runTaskInput, type RunTaskPayload } from './enqueue';
import { giveBackIfPaused } from './task-pause';
import { buildRun, logRunEnd, newRunId, runSummary } from './run-record';
import { spendOf } from '../executors/contract';

/** What Cloud Tasks told us about this delivery (X-CloudTasks-* headers of a verified call). */
export interface Delivery {
  taskName?: string;
  retryCount?: number;
  executionCount?: number;
}

/** The answer run-task gives Cloud Tasks: 2xx ends the Cloud Task, 503 makes it retry. */
export interface RunAnswer {
  status: 200 | 503;
  retryAfterSeconds?: number;
  body: {
    result: string;
    requestId: string;
    taskId: string;
    runId?: string;
    state?: Instance['state'];
  };
}

/**
 * Per-instance caches of what never changes under a key: a task at a given version (tasks that
 * need no approval only: an approved run always reads the task, so a change after approval is
 * seen), and a request's subject and mode (immutable after intake).
 */
const taskCache = new Map<string, Task>();
type RequestCore = AttemptSubject & Pick<Request, 'subjectHash'>;
const requestCache = new Map<string, RequestCore>();

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= 1000) cache.clear();
  cache.set(key, value);
}

/**
 * Fresh reads of a cached task, to see a pause: one read per task per second, shared by the
 * deliveries in between, so a busy instance does not read the task on every attempt (a pause
 * is seen within about a second; bench/README.md, "Pipeline").
 */
const FRESH_TASK_READ_MS = 1000;
const freshTaskReads = new Map<string, { at: number; read: Promise<Task | null> }>();

function freshTask(deps: AppDeps, taskId: string): Promise<Task | null> {
  const now = deps.clock.now().getTime();
  const last = freshTaskReads.get(taskId);
  if (last !== undefined && now - last.at >= 0 && now - last.at < FRESH_TASK_READ_MS) {
    return last.read;
  }
  const read = deps.store.getTask(taskId);
  read.catch(() => undefined); // observed after the claim
  remember(freshTaskReads, taskId, { at: now, read });
  return read;
}

/**
 * One delivery from Cloud Tasks: claim the instance (only what the queue would have
 * delivered), run its executor under the task timeout, record the run and the new state, and
 * tell Cloud Tasks whether to try again.
 */
export async function runInstance(
  deps: AppDeps,
  body: unknown,
  delivery: Delivery,
): Promise<RunAnswer> {
  const payload = parsePayload(body);
  const { requestId, taskId } = payload;
  const log = deps.log.child({ labels: { requestId, taskId } });
  const answer = (
    status: 200 | 503,
    result: string,
    extra: Partial<RunAnswer['body']> = {},
    retryAfterSeconds?: number,
  ): RunAnswer => ({
    status,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    body: { result, requestId, taskId, ...extra },
  });

  // The request's subject is needed only once the claim holds; reading it alongside the task
  // and the claim takes one round trip off every attempt's critical path.
  const requestLoad = loadRequest(deps, requestId);
  requestLoad.catch(() => undefined); // observed after the claim; a refused claim ignores it
  const cacheKey = `${taskId}@${payload.taskVersion}`;
  const cached = taskCache.has(cacheKey);
  const task = await loadTask(deps, taskId, payload.taskVersion);
  // A cached task may have been paused since: a fresh read (at most one a second per task)
  // goes alongside the claim (no wait added), and a claim it shows paused is given back
  // before anything runs.
  const fresh = cached ? freshTask(deps, taskId) : undefined;
  if (task === null) {
    log.warn('run.task_missing', 'the task no longer exists; nothing to run');
    return answer(200, 'task_missing');
  }
  const now = deps.clock.now();
  let polling = false;
  let dueAt: Date | undefined;
  const outcome = await deps.store.claimInstance(requestId, taskId, (current) => {
    const decision = decideClaimUnlessPaused(
      current,
      payload,
      task,
      now,
      deps.settings.leaseGraceSeconds,
    );
    if ('refuse' in decision) {
      dueAt = decision.dueAt;
      return {
        refuse: decision.refuse,
        ...(decision.patch === undefined ? {} : { write: decision.patch }),
      };
    }
    polling = decision.polling;
    return { patch: decision.claim };
  });
  if (!outcome.claimed) {
    if (outcome.reason === 'not_due' && dueAt !== undefined) {
      const wait = Math.ceil((dueAt.getTime() - now.getTime()) / 1000);
      return answer(503, 'not_due', { state: outcome.instance?.state }, Math.max(1, wait));
    }
    if (outcome.reason === 'paused') {
      log.info(
        'run.paused',
        `task ${taskId} is paused: the instance waits in paused (no attempt spent) until it resumes`,
        { cloudTaskName: delivery.taskName, pausedSince: task.paused?.at },
      );
    } else if (outcome.reason === 'approval_stale') {
      log.warn(
        'instance.approval_stale',
        `task ${taskId} changed after approval (now version ${task.version}): back to approval`,
        { taskVersion: task.version },
      );
    } else {
      log.info('run.duplicate_delivery', `delivery ignored: instance is ${outcome.reason}`, {
        reason: outcome.reason,
        cloudTaskName: delivery.taskName,
        retryCount: delivery.retryCount,
      });
    }
    return answer(
      200,
      outcome.reason,
      outcome.instance === undefined ? {} : { state: outcome.instance.state },
    );
  }
  // A poll watches a job already running: a pause does not stop it (src/domain/pause.ts).
  if (
    fresh !== undefined &&
    !polling &&
    (await giveBackIfPaused(deps, outcome.claim, fresh, log))
  ) {
    taskCache.delete(cacheKey);
    freshTaskReads.delete(taskId);
    return answer(200, 'paused', { state: 'paused' });
  }
  return executeClaimed(
    deps,
    task,
    outcome.claim,
    await requestLoad,
    delivery,
    polling ? payload.poll : undefined,
  );
}

/** Runs a claimed attempt (or poll), records its run and the instance's new state. */
async function executeClaimed(
  deps: AppDeps,
  task: Task,
  claim: Claim,
  request: RequestCore,
  delivery: Delivery,
  poll: number | undefined,
): Promise<RunAnswer> {
  const instance = claim.instance;
  const { requestId, taskId, attempt } = instance;
  const runId = newRunId(instance);
  // Every line of this run, the executor's own included, has the subject's values redacted.
  const log = deps.log.child({
    labels: { requestId, taskId, runId },
    redact: redactionSubject(request.subject, request.subjectAsGiven),
  });
  const startedAt = deps.clock.now();
  log.info('run.started', `attempt ${attempt} of ${instance.maxAttempts} started`, {
    attempt,
    executor: task.executor,
    jobType: task.jobType,
    taskVersion: task.version,
    subjectHash: request.subjectHash,
  });

  const pollHandle = poll === undefined ? undefined : instance.waitingHandle;
  const outcome =
    (await batchedAttempt(deps, task, instance, request, pollHandle, log)) ??
    (await runExecutor(deps, task, instance, request, pollHandle, log));
  const finishedAt = deps.clock.now();
  // Executors should not quote the subject in what they report; if one does, the run record
  // (which the API shows and lines are logged from) keeps the kind, not the value.
  const redact = identifierRedactor(redactionSubject(request.subject, request.subjectAsGiven));
  const verdict = judgeAttempt(
    outcome,
    instance,
    task,
    finishedAt,
    poll,
    deps.settings.pollIntervalSeconds,
    redact,
  );
  const result = 'result' in outcome ? outcome.result : undefined;
  // A failed attempt may still have spent (a job that ran) and shown something (rows left).
  const spent = 'failure' in outcome ? spendOf(outcome.failure) : undefined;
  const cost = result?.cost ?? spent?.cost ?? zeroCost();
  const evidence = result?.evidence ?? spent?.evidence;
  const run = buildRun({
    runId,
    instance,
    task,
    ...(poll === undefined ? {} : { poll }),
    status: verdict.status,
    message: verdict.message,
    willRetry: verdict.willRetry,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    cost,
    // A failure leaves no result: its message is the run's.
    ...('failure' in outcome && verdict.error !== undefined ? { error: verdict.error } : {}),
    delivery,
    evidence: {
      ...(evidence?.jobIds === undefined ? {} : { jobIds: evidence.jobIds }),
      ...(evidence?.touched === undefined ? {} : { touched: evidence.touched.map(redact) }),
      ...(evidence?.remainingRows === undefined ? {} : { remainingRows: evidence.remainingRows }),
      ...(evidence?.verification === undefined ? {} : { verification: evidence.verification }),
      ...(evidence?.batch === undefined ? {} : { batch: evidence.batch }),
      ...(result?.affectedRows === undefined ? {} : { affectedRows: result.affectedRows }),
      ...(task.jobType === 'deletion' &&
      verdict.status === 'succeeded' &&
      cost.bytesBilled > 0 &&
      !request.dryRun
        ? {
            unrecoverableAfter: new Date(
              finishedAt.getTime() + (deps.settings.timeTravelDays + 7) * 86_400_000,
            ).toISOString(),
          }
        : {}),
    },
    ...(result?.output === undefined ? {} : { output: result.output }),
    dryRun: request.dryRun,
  });
  const patch = settleAttempt(instance, verdict.settlement, cost, runSummary(run));
  const { applied, run: sealed } = await deps.store.finishAttempt(claim, run, patch);
  // Not applied: either an earlier try of this very write landed (the instance carries this
  // run), or the watchdog expired the lease and moved the instance on (superseded).
  const superseded =
    !applied && (await deps.store.getInstance(requestId, taskId))?.lastRun?.runId !== runId;
  if (!superseded && patch.state === 'waiting') {
    await schedulePoll(deps, task, { ...instance, ...patch }, log);
  }
  const fields = {
    jobType: task.jobType,
    applied,
    superseded,
    taskVersion: task.version,
    // The chain head, logged: Cloud Logging keeps an independent copy of every run's hash.
    ...(sealed === null ? {} : { chainSeq: sealed.seq, chainHash: sealed.hash }),
  };
  if (verdict.settlement.kind === 'failed' && !superseded) {
    logRunEnd(log, run, fields, { failed: true, advice: verdict.settlement.advice });
  } else {
    logRunEnd(log, run, fields, {
      failed: false,
      ...(verdict.willRetry ? { note: `retry in ${verdict.retryAfterSeconds} s` } : {}),
    });
  }

  // The request document is not touched here: 50 instances may finish in the same second.
  // GET /requests/:id derives the status from the instances; dispatch persists the roll-up.
  if (superseded) {
    // The run is recorded beside the watchdog's `abandoned` one; this Cloud Task must not
    // come back, since the instance has moved on to its next attempt (or failed).
    return { status: 200, body: { result: 'superseded', requestId, taskId, runId } };
  }
  if (verdict.willRetry) {
    return {
      status: 503,
      ...(verdict.retryAfterSeconds === undefined
        ? {}
        : { retryAfterSeconds: verdict.retryAfterSeconds }),
      body: { result: 'retry_scheduled', requestId, taskId, runId, state: 'retry_scheduled' },
    };
  }
  return {
    status: 200,
    body: {
      result: verdict.status,
      requestId,
      taskId,
      runId,
      ...(patch.state === undefined ? {} : { state: patch.state }),
    },
  };
}

async function loadTask(deps: AppDeps, taskId: string, version: number): Promise<Task | null> {
  const key = `${taskId}@${version}`;
  const cached = taskCache.get(key);
  if (cached !== undefined) return cached;
  const task = await deps.store.getTask(taskId);
  if (task !== null && task.version === version && (task.approvalsRequired ?? 0) === 0) {
    remember(taskCache, key, task);
  }
  return task;
}

async function loadRequest(deps: AppDeps, requestId: string): Promise<RequestCore> {
  const cached = requestCache.get(requestId);
  if (cached !== undefined) return cached;
  const request = await deps.store.getRequest(requestId);
  if (request === null) throw new Error(`request ${requestId} vanished under one of its instances`);
  const core: RequestCore = {
    subject: request.subject,
    subjectAsGiven: { ...request.subject, ...request.subjectAsGiven },
    dryRun: request.dryRun,
    subjectHash: request.subjectHash,
  };
  remember(requestCache, requestId, core);
  return core;
}

/**
 * A long job is polled by a delayed Cloud Task of its own, named per (attempt, poll), so a
 * repeat is harmless. If it cannot be created, dispatch finds the waiting instance past its
 * `nextAttemptAt` and schedules the poll again.
 */
async function schedulePoll(
  deps: AppDeps,
  task: Task,
  instance: Instance,
  log: AppDeps['log'],
): Promise<void> {
  const poll = instance.polls ?? 1;
  try {
    await deps.queue.enqueue(
      runTaskInput(instance, task, deps.settings.dispatchDeadlineMarginSeconds, {
        attempt: instance.attempt,
        poll,
        ...(instance.nextAttemptAt === undefined ? {} : { at: instance.nextAttemptAt }),
      }),
    );
  } catch (err) {
    log.warn(
      'instance.enqueue_failed',
      `could not schedule poll ${poll}; dispatch will retry: ${coerceError(err).message}`,
    );
  }
}

const count = z.number().int().min(0).max(10_000);
const payloadSchema = z
  .object({
    requestId: z.string(),
    taskId: z.string(),
    series: count.min(1),
    attempt: count,
    taskVersion: count.min(1),
    poll: count.min(1).optional(),
    early: z.literal(true).optional(),
  })
  .strict();

/**
 * The run-task body, with its ids parsed like the API's path parameters. A malformed one is a
 * poison message: functions/run-task.ts answers it 200 after logging, so Cloud Tasks does not
 * retry it for ever.
 */
function parsePayload(body: unknown): RunTaskPayload {
  const parsed = payloadSchema.safeParse(body);
  if (!parsed.success) {
    throw new ValidationError('Invalid run-task payload', [
      {
        path: '',
        message: 'expected { requestId, taskId, series, attempt, taskVersion, poll?, early? }',
      },
    ]);
  }
  const p = parsed.data;
  return {
    ...p,
    requestId: parseRequestId(p.requestId, 'requestId'),
    taskId: parseTaskId(p.taskId, 'taskId'),
  };
}
