import {
  coerceError,
  errorCode,
  isRetryable,
  PermanentError,
  RetryableError,
} from '../domain/errors';
import { nextTaskOpening } from '../domain/execution-window';
import type { AttemptSettlement } from '../domain/lifecycle';
import type { Instance, RunStatus, Subject, Task } from '../domain/model';
import { backoffSeconds } from '../domain/retry-policy';
import type { ExecutorResult } from '../executors/contract';
import type { Logger } from '../ports/logger';
import type { AppDeps } from './deps';
import { ownerOf } from './run-record';

/** Grace beyond the task timeout before the run-task answer itself gives up on the executor. */
const ANSWER_SLACK_MS = 250;

export class TaskTimeoutError extends RetryableError {
  constructor(seconds: number) {
    super(`the executor did not finish within the task timeout of ${seconds} s`, {
      code: 'timed_out',
    });
  }
}

/** The request as an attempt sees it: its subject (normalised and as given) and mode. */
export interface AttemptSubject {
  subject: Subject;
  subjectAsGiven: Subject;
  dryRun: boolean;
}

/** What running the executor gave: a result, or the failure it threw (or the timeout). */
export type ExecutorOutcome = { result: ExecutorResult } | { failure: Error };

/**
 * Runs the task's executor for one attempt (or one poll of a waiting attempt) under the task
 * timeout. The executor's signal fires at the timeout; an executor that ignores it is not
 * waited for beyond a short slack.
 */
export async function runExecutor(
  deps: Pick<AppDeps, 'executors'>,
  task: Task,
  instance: Instance,
  request: AttemptSubject,
  pollHandle: string | undefined,
  log: Logger,
): Promise<ExecutorOutcome> {
  const executor = deps.executors.get(task.executor);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    const config = deps.executors.parseConfig(task.executor, task.config);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new TaskTimeoutError(task.timeoutSeconds);
        controller.abort(err);
        setTimeout(() => reject(err), ANSWER_SLACK_MS).unref();
      }, task.timeoutSeconds * 1000);
    });
    const ctx = {
      subject: request.subject,
      subjectAsGiven: request.subjectAsGiven,
      config,
      signal: controller.signal,
      requestId: instance.requestId,
      taskId: instance.taskId,
      attempt: instance.attempt,
      totalAttempts: instance.totalAttempts,
      dryRun: request.dryRun,
      log,
      ...(pollHandle === undefined && instance.progress !== undefined
        ? { resume: instance.progress }
        : {}),
    };
    let work: Promise<ExecutorResult>;
    if (pollHandle === undefined) work = executor.run(ctx);
    else if (executor.poll === undefined) {
      throw new PermanentError(`executor ${task.executor} cannot poll a waiting job`, 'no_poll');
    } else work = executor.poll({ ...ctx, handle: pollHandle });
    return { result: await Promise.race([work, timeout]) };
  } catch (thrown) {
    const reason: unknown = controller.signal.reason;
    return {
      failure:
        controller.signal.aborted && reason instanceof TaskTimeoutError
          ? reason
          : coerceError(thrown),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** How an attempt ends, with what its run record says. */
export interface AttemptVerdict {
  settlement: AttemptSettlement;
  status: RunStatus;
  message: string;
  willRetry: boolean;
  /** For a retry: how long Cloud Tasks should wait before redelivering. */
  retryAfterSeconds?: number;
  error?: { code: ReturnType<typeof errorCode>; message: string };
}

/**
 * Decides how an attempt ends: done, waiting for its long job, retried under the task's retry
 * policy (and window), or failed for good with advice. `redact` removes the subject's values
 * from anything the executor reported.
 */
export function judgeAttempt(
  outcome: ExecutorOutcome,
  instance: Instance,
  task: Task,
  finishedAt: Date,
  poll: number | undefined,
  pollIntervalSeconds: number,
  redact: (text: string) => string,
): AttemptVerdict {
  if ('result' in outcome) {
    const { result } = outcome;
    const message = redact(result.message);
    if (result.outcome !== 'waiting') {
      return { settlement: { kind: 'done' }, status: result.outcome, message, willRetry: false };
    }
    const pollAfter = result.pollAfterSeconds ?? pollIntervalSeconds;
    return {
      settlement: {
        kind: 'waiting',
        poll: (poll ?? 0) + 1,
        ...(result.handle === undefined ? {} : { handle: result.handle }),
        nextPollAt: new Date(finishedAt.getTime() + pollAfter * 1000),
      },
      status: 'waiting',
      message,
      willRetry: false,
    };
  }
  const err = outcome.failure;
  const status: RunStatus = err instanceof TaskTimeoutError ? 'timed_out' : 'failed';
  const message = redact(err.message);
  const error = { code: errorCode(err), message };
  const retryable = isRetryable(err);
  const { attempt, maxAttempts } = instance;
  if (retryable && attempt < maxAttempts) {
    const hinted = err instanceof RetryableError ? (err.retryAfterSeconds ?? 0) : 0;
    const delay = Math.max(backoffSeconds(task.retryPolicy, attempt - 1), hinted);
    // A retry that would fall outside the task's window waits for its next opening.
    const next = nextTaskOpening(task, new Date(finishedAt.getTime() + delay * 1000));
    return {
      settlement: { kind: 'retry', nextAttemptAt: next, error },
      status,
      message,
      willRetry: true,
      retryAfterSeconds: Math.max(1, Math.ceil((next.getTime() - finishedAt.getTime()) / 1000)),
      error,
    };
  }
  return {
    settlement: { kind: 'failed', error, advice: adviceFor(retryable, attempt, maxAttempts, task) },
    status,
    message,
    willRetry: false,
    error,
  };
}

function adviceFor(retryable: boolean, attempt: number, maxAttempts: number, task: Task): string {
  const owner = ownerOf(task);
  if (!retryable) {
    return `Permanent error: fix the cause (task config, credentials or the target system), then POST /requests/:id/instances/${task.id}/retry. Contact: ${owner}.`;
  }
  return `Gave up after ${attempt} of ${maxAttempts} attempts. Check the last error and the target system, then POST /requests/:id/instances/${task.id}/retry. Contact: ${owner}.`;
}
