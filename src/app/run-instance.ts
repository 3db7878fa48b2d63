import { randomBytes } from 'node:crypto';
import {
  coerceError,
  PermanentError,
  errorCode,
  isRetryable,
  RetryableError,
  ValidationError,
} from '../domain/errors';
import {
  zeroCost,
  type Instance,
  type Request,
  type Run,
  type RunStatus,
  type Task,
} from '../domain/model';
import { nextTaskOpening } from '../domain/execution-window';
import { backoffSeconds } from '../domain/retry-policy';
import { CLAIMABLE_STATES, isTerminal } from '../domain/states';
import { identifierRedactor } from '../domain/subject';
import type { ExecutorResult } from '../executors/contract';
import type { Claim } from '../ports/request-store';
import type { AppDeps } from './deps';
import { runTaskInput, type RunTaskPayload } from './enqueue';

/** What Cloud Tasks told us about this delivery (X-CloudTasks-* headers). */
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

/** Grace beyond the task timeout before the run-task answer itself gives up on the executor. */
const ANSWER_SLACK_MS = 250;

export class TaskTimeoutError extends RetryableError {
  constructor(seconds: number) {
    super(`the executor did not finish within the task timeout of ${seconds} s`, {
      code: 'timed_out',
    });
  }
}

/**
 * Per-instance caches of what never changes under a key: a task at a given version, and a
 * request's subject and mode (immutable after intake). They keep run-task's Firestore reads
 * per attempt down to the claim and the finish.
 */
const taskCache = new Map<string, Task>();
type RequestCore = Pick<Request, 'subject' | 'dryRun' | 'subjectHash'>;
const requestCache = new Map<string, RequestCore>();

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= 1000) cache.clear();
  cache.set(key, value);
}

/**
 * One delivery from Cloud Tasks: claim the instance, run its executor under the task timeout,
 * record the run and the new state, and tell Cloud Tasks whether to try again.
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
  const task = await loadTask(deps, taskId, payload.taskVersion);
  if (task === null) {
    log.warn('run.task_missing', 'the task no longer exists; nothing to run');
    return answer(200, 'task_missing');
  }
  const now = deps.clock.now();
  let polling = false;
  const outcome = await deps.store.claimInstance(requestId, taskId, (current) => {
    if (isTerminal(current.state)) return { refuse: 'finished' };
    if (current.series > payload.series) return { refuse: 'stale' };
    // A poll that failed retryably left the instance retry_scheduled: Cloud Tasks' redelivery
    // of the poll task then starts the next attempt like any other delivery.
    polling = payload.poll !== undefined && current.state !== 'retry_scheduled';
    if (polling) {
      // A poll continues the waiting attempt; it is not a new attempt.
      if (current.state !== 'waiting' || current.waitingHandle === undefined) {
        return { refuse: current.state === 'running' ? 'leased' : 'stale' };
      }
      if (current.attempt !== payload.attempt || (current.polls ?? 0) !== payload.poll) {
        return { refuse: 'stale' };
      }
    }
    if (!polling && (current.state === 'running' || current.state === 'waiting')) {
      return { refuse: 'leased' };
    }
    if (!polling && !CLAIMABLE_STATES.includes(current.state)) return { refuse: 'finished' };
    if (
      current.nextAttemptAt !== undefined &&
      Date.parse(current.nextAttemptAt) - now.getTime() > 1000
    ) {
      return { refuse: 'not_due' };
    }
    const leaseMs = (task.timeoutSeconds + deps.settings.leaseGraceSeconds) * 1000;
    return {
      patch: {
        state: 'running',
        attempt: polling ? current.attempt : current.attempt + 1,
        totalAttempts: polling ? current.totalAttempts : current.totalAttempts + 1,
        leaseExpiresAt: new Date(now.getTime() + leaseMs).toISOString(),
        updatedAt: now.toISOString(),
      },
    };
  });
  if (!outcome.claimed) {
    if (outcome.reason === 'not_due' && outcome.instance?.nextAttemptAt !== undefined) {
      const wait = Math.ceil((Date.parse(outcome.instance.nextAttemptAt) - now.getTime()) / 1000);
      return answer(503, 'not_due', { state: outcome.instance.state }, Math.max(1, wait));
    }
    log.info('run.duplicate_delivery', `delivery ignored: instance is ${outcome.reason}`, {
      reason: outcome.reason,
      cloudTaskName: delivery.taskName,
      retryCount: delivery.retryCount,
    });
    return answer(
      200,
      outcome.reason,
      outcome.instance === undefined ? {} : { state: outcome.instance.state },
    );
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

async function executeClaimed(
  deps: AppDeps,
  task: Task,
  claim: Claim,
  request: RequestCore,
  delivery: Delivery,
  poll: number | undefined,
): Promise<RunAnswer> {
  const instance = claim.instance;
  const pollHandle = poll === undefined ? undefined : instance.waitingHandle;
  const { requestId, taskId, attempt } = instance;
  const runId = newRunId(instance);
  // Every line of this run, the executor's own included, has the subject's values redacted.
  const log = deps.log.child({ labels: { requestId, taskId, runId }, redact: request.subject });
  const executor = deps.executors.get(task.executor);
  const startedAt = deps.clock.now();
  log.info('run.started', `attempt ${attempt} of ${instance.maxAttempts} started`, {
    attempt,
    executor: task.executor,
    jobType: task.jobType,
    subjectHash: request.subjectHash,
  });

  let result: ExecutorResult | undefined;
  let failure: Error | undefined;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    const config = deps.executors.parseConfig(task.executor, task.config);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new TaskTimeoutError(task.timeoutSeconds);
        controller.abort(err);
        // The executor may ignore its signal: our answer must not wait for it.
        setTimeout(() => reject(err), ANSWER_SLACK_MS).unref();
      }, task.timeoutSeconds * 1000);
    });
    const ctx = {
      subject: request.subject,
      config,
      signal: controller.signal,
      requestId,
      taskId,
      attempt,
      dryRun: request.dryRun,
      log,
    };
    let work: Promise<ExecutorResult>;
    if (pollHandle === undefined) work = executor.run(ctx);
    else if (executor.poll === undefined) {
      throw new PermanentError(`executor ${task.executor} cannot poll a waiting job`, 'no_poll');
    } else work = executor.poll({ ...ctx, handle: pollHandle });
    result = await Promise.race([work, timeout]);
  } catch (thrown) {
    failure =
      controller.signal.aborted && controller.signal.reason instanceof TaskTimeoutError
        ? controller.signal.reason
        : coerceError(thrown);
  } finally {
    clearTimeout(timer);
  }

  const finishedAt = deps.clock.now();
  const durationMs = finishedAt.getTime() - startedAt.getTime();
  const cost = result?.cost ?? zeroCost();
  // Executors should not quote the subject in what they report; if one does, the run record
  // (which the API shows and lines are logged from) keeps the kind, not the value.
  const redact = identifierRedactor(request.subject);
  let status: RunStatus;
  let patch: Partial<Instance>;
  let message: string;
  let willRetry = false;
  let retryAfterSeconds: number | undefined;

  if (result !== undefined && result.outcome !== 'waiting') {
    status = result.outcome;
    message = redact(result.message);
    patch = { state: 'succeeded' };
  } else if (result !== undefined) {
    status = 'waiting';
    message = redact(result.message);
    const pollAfter = result.pollAfterSeconds ?? deps.settings.pollIntervalSeconds;
    patch = {
      state: 'waiting',
      polls: (poll ?? 0) + 1,
      ...(result.handle === undefined ? {} : { waitingHandle: result.handle }),
      nextAttemptAt: new Date(finishedAt.getTime() + pollAfter * 1000).toISOString(),
    };
  } else {
    const err = failure ?? new Error('executor returned nothing');
    status = err instanceof TaskTimeoutError ? 'timed_out' : 'failed';
    message = redact(err.message);
    const code = errorCode(err);
    const retryable = isRetryable(err);
    if (retryable && attempt < instance.maxAttempts) {
      willRetry = true;
      const hinted = err instanceof RetryableError ? (err.retryAfterSeconds ?? 0) : 0;
      const delay = Math.max(backoffSeconds(task.retryPolicy, attempt - 1), hinted);
      // A retry that would fall outside the task's window waits for its next opening.
      const next = nextTaskOpening(task, new Date(finishedAt.getTime() + delay * 1000));
      retryAfterSeconds = Math.max(1, Math.ceil((next.getTime() - finishedAt.getTime()) / 1000));
      patch = {
        state: 'retry_scheduled',
        nextAttemptAt: next.toISOString(),
        lastError: { code, message },
      };
    } else {
      patch = {
        state: 'failed',
        lastError: { code, message },
        advice: adviceFor(retryable, attempt, instance.maxAttempts, task),
      };
    }
  }

  const run: Run = {
    runId,
    requestId,
    taskId,
    executor: task.executor,
    attempt,
    series: instance.series,
    ...(poll === undefined ? {} : { poll }),
    status,
    message,
    willRetry,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs,
    cost,
    // A failure leaves no result: its message is the run's.
    ...(failure === undefined ? {} : { error: { code: errorCode(failure), message } }),
    delivery,
    evidence: {
      ...(result?.evidence ?? {}),
      ...(result?.evidence?.touched === undefined
        ? {}
        : { touched: result.evidence.touched.map(redact) }),
      ...(result?.affectedRows === undefined ? {} : { affectedRows: result.affectedRows }),
      bytesBilled: cost.bytesBilled,
      ...(instance.approval === undefined ? {} : { approvedBy: instance.approval.actor }),
      ...(task.jobType === 'deletion' &&
      status === 'succeeded' &&
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
  };
  const finalPatch: Partial<Instance> = {
    // Leaving the waiting state drops the job handle; a patch key set to undefined removes it.
    ...(patch.state === 'waiting' ? {} : { waitingHandle: undefined, polls: undefined }),
    ...(patch.state === 'succeeded' || patch.state === 'failed'
      ? { nextAttemptAt: undefined, leaseExpiresAt: undefined }
      : {}),
    ...patch,
    cost: {
      bytesBilled: instance.cost.bytesBilled + cost.bytesBilled,
      usd: instance.cost.usd + cost.usd,
    },
    lastRun: { runId, attempt, status, message, finishedAt: run.finishedAt },
    updatedAt: finishedAt.toISOString(),
  };
  const { applied } = await deps.store.finishAttempt(claim, run, finalPatch);
  // Not applied: either an earlier try of this very write landed (the instance carries this
  // run), or the watchdog expired the lease and moved the instance on (superseded).
  const superseded =
    !applied && (await deps.store.getInstance(requestId, taskId))?.lastRun?.runId !== runId;
  if (!superseded && patch.state === 'waiting') {
    await schedulePoll(deps, task, { ...instance, ...finalPatch }, log);
  }

  const fields = {
    attempt,
    outcome: status,
    executor: task.executor,
    jobType: task.jobType,
    durationMs,
    bytesBilled: cost.bytesBilled,
    costUsd: cost.usd,
    willRetry,
    errorCode: run.error?.code,
    applied,
    superseded,
  };
  if (patch.state === 'failed' && !superseded) {
    log.log('ERROR', 'run.failed', `attempt ${attempt} failed terminally: ${message}`, {
      ...fields,
      advice: patch.advice,
    });
  } else {
    log.info(
      'run.finished',
      `attempt ${attempt} ${status}${willRetry ? `; retry in ${retryAfterSeconds} s` : ''}`,
      fields,
    );
  }

  // The request document is not touched here: 50 instances may finish in the same second.
  // GET /requests/:id derives the status from the instances; dispatch persists the roll-up.
  if (superseded) {
    // The run is recorded beside the watchdog's `abandoned` one; this Cloud Task must not
    // come back, since the instance has moved on to its next attempt (or failed).
    return { status: 200, body: { result: 'superseded', requestId, taskId, runId } };
  }
  if (willRetry) {
    return {
      status: 503,
      retryAfterSeconds,
      body: { result: 'retry_scheduled', requestId, taskId, runId, state: 'retry_scheduled' },
    };
  }
  return {
    status: 200,
    body: {
      result: status,
      requestId,
      taskId,
      runId,
      ...(patch.state === undefined ? {} : { state: patch.state }),
    },
  };
}

function adviceFor(retryable: boolean, attempt: number, maxAttempts: number, task: Task): string {
  const owner = task.teamContact ?? task.team ?? 'the task owner';
  if (!retryable) {
    return `Permanent error: fix the cause (task config, credentials or the target system), then POST /requests/:id/instances/${task.id}/retry. Contact: ${owner}.`;
  }
  return `Gave up after ${attempt} of ${maxAttempts} attempts. Check the last error and the target system, then POST /requests/:id/instances/${task.id}/retry. Contact: ${owner}.`;
}

function newRunId(instance: Instance): string {
  // Sortable within an instance, random across instances (no hot index range).
  return `s${instance.series}-a${String(instance.attempt).padStart(3, '0')}-${randomBytes(4).toString('hex')}`;
}

async function loadTask(deps: AppDeps, taskId: string, version: string): Promise<Task | null> {
  const key = `${taskId}@${version}`;
  const cached = taskCache.get(key);
  if (cached !== undefined) return cached;
  const task = await deps.store.getTask(taskId);
  if (task !== null && task.updatedAt === version) remember(taskCache, key, task);
  return task;
}

async function loadRequest(deps: AppDeps, requestId: string): Promise<RequestCore> {
  const cached = requestCache.get(requestId);
  if (cached !== undefined) return cached;
  const request = await deps.store.getRequest(requestId);
  if (request === null) throw new Error(`request ${requestId} vanished under one of its instances`);
  const core = {
    subject: request.subject,
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

function parsePayload(body: unknown): RunTaskPayload {
  const b = (body ?? {}) as Partial<RunTaskPayload>;
  const ok =
    typeof b.requestId === 'string' &&
    typeof b.taskId === 'string' &&
    typeof b.series === 'number' &&
    typeof b.attempt === 'number' &&
    typeof b.taskVersion === 'string' &&
    (b.poll === undefined || typeof b.poll === 'number');
  if (!ok) {
    // A poison message: functions/run-task.ts answers it 200 after logging, so Cloud Tasks
    // does not retry it for ever.
    throw new ValidationError('Invalid run-task payload', [
      { path: '', message: 'expected { requestId, taskId, series, attempt, taskVersion }' },
    ]);
  }
  return b as RunTaskPayload;
}
