import { randomBytes } from 'node:crypto';
import type { ErrorCode } from '../domain/error-codes';
import type {
  Cost,
  Instance,
  Run,
  RunEvidence,
  RunStatus,
  RunSummary,
  Task,
} from '../domain/model';
import type { Logger } from '../ports/logger';
import type { UnsealedRun } from '../ports/request-store';

/**
 * The one builder of run records and of the lines that report them, shared by run-task (an
 * attempt or poll that finished), the watchdog (an attempt abandoned) and, later, batch
 * flushes: each run gets its id, its task version, its approvers and its evidence the same way.
 */

/** A run id: sortable within an instance, random across instances (no hot index range). */
export function newRunId(instance: Pick<Instance, 'series' | 'attempt'>): string {
  return `${runIdPrefix(instance)}-${randomBytes(4).toString('hex')}`;
}

/** The run id of an abandoned attempt: one per (series, attempt), so it is recorded once. */
export function abandonedRunId(instance: Pick<Instance, 'series' | 'attempt'>): string {
  return `${runIdPrefix(instance)}-abandoned`;
}

function runIdPrefix({ series, attempt }: Pick<Instance, 'series' | 'attempt'>): string {
  return `s${series}-a${String(attempt).padStart(3, '0')}`;
}

/** Who to contact about a task's failures. */
export function ownerOf(task: Pick<Task, 'teamContact' | 'team'> | undefined): string {
  return task?.teamContact ?? task?.team ?? 'the task owner';
}

/** What the run record of one attempt is built from. */
export interface RunFacts {
  runId: string;
  instance: Instance;
  /** The task that ran (absent when it is gone); its version is the one the claim pinned. */
  task: Pick<Task, 'executor'> | undefined;
  poll?: number;
  status: RunStatus;
  message: string;
  willRetry: boolean;
  startedAt: string;
  finishedAt: string;
  cost: Cost;
  error?: { code: ErrorCode; message: string };
  delivery?: Run['delivery'];
  evidence?: RunEvidence;
  output?: unknown;
  dryRun: boolean;
}

/** The run record, before the store seals it onto the instance's chain. */
export function buildRun(f: RunFacts): UnsealedRun {
  const { instance } = f;
  const approvers = (instance.approvals ?? []).map((a) => a.actor);
  return {
    runId: f.runId,
    requestId: instance.requestId,
    taskId: instance.taskId,
    executor: f.task?.executor ?? instance.executor,
    attempt: instance.attempt,
    series: instance.series,
    ...(f.poll === undefined ? {} : { poll: f.poll }),
    ...(instance.taskVersion === undefined
      ? {}
      : { taskVersion: instance.taskVersion.version, taskVersionHash: instance.taskVersion.hash }),
    status: f.status,
    message: f.message,
    willRetry: f.willRetry,
    startedAt: f.startedAt,
    finishedAt: f.finishedAt,
    durationMs: Math.max(0, Date.parse(f.finishedAt) - Date.parse(f.startedAt)),
    cost: f.cost,
    ...(f.error === undefined ? {} : { error: f.error }),
    ...(f.delivery === undefined ? {} : { delivery: f.delivery }),
    evidence: {
      ...f.evidence,
      bytesBilled: f.cost.bytesBilled,
      ...(approvers.length === 0 ? {} : { approvedBy: approvers }),
    },
    ...(f.output === undefined ? {} : { output: f.output }),
    dryRun: f.dryRun,
  };
}

/** The summary of a run kept on its instance. */
export function runSummary(
  run: Pick<Run, 'runId' | 'attempt' | 'status' | 'message' | 'finishedAt'>,
): RunSummary {
  return {
    runId: run.runId,
    attempt: run.attempt,
    status: run.status,
    message: run.message,
    finishedAt: run.finishedAt,
  };
}

/**
 * The line that reports a finished run: `run.failed` (ERROR, with the advice) when the instance
 * failed for good, else `run.finished`. The run metrics and the "a run failed" alert read them.
 */
export function logRunEnd(
  log: Logger,
  run: UnsealedRun,
  fields: Record<string, unknown>,
  end: { failed: true; advice: string } | { failed: false; note?: string },
): void {
  const common = {
    attempt: run.attempt,
    outcome: run.status,
    executor: run.executor,
    durationMs: run.durationMs,
    bytesBilled: run.cost.bytesBilled,
    costUsd: run.cost.usd,
    willRetry: run.willRetry,
    errorCode: run.error?.code,
    ...fields,
  };
  if (end.failed) {
    log.log('ERROR', 'run.failed', `attempt ${run.attempt} failed terminally: ${run.message}`, {
      ...common,
      advice: end.advice,
    });
  } else {
    log.info(
      'run.finished',
      `attempt ${run.attempt} ${run.status}${end.note === undefined ? '' : `; ${end.note}`}`,
      common,
    );
  }
}
