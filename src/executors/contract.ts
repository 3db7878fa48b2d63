import type { ZodType, ZodTypeDef } from 'zod';
import type { Cost, RunEvidence, Subject } from '../domain/model';
import type { Logger } from '../ports/logger';

/** What an executor gets for one attempt. */
export interface ExecutorContext<C> {
  subject: Subject;
  config: C;
  /** Fires at the task timeout (or on shutdown); executors must stop work when it does. */
  signal: AbortSignal;
  requestId: string;
  taskId: string;
  attempt: number;
  /** Audit mode: report what would be touched and the estimated cost; change nothing. */
  dryRun: boolean;
  log: Logger;
}

export type ExecutorOutcome = 'succeeded' | 'not_found' | 'waiting';

/**
 * An executor's answer. Failures are thrown instead: `RetryableError` or `PermanentError`;
 * anything else thrown counts as retryable.
 */
export interface ExecutorResult {
  outcome: ExecutorOutcome;
  message: string;
  cost: Cost;
  affectedRows?: number;
  output?: unknown;
  /** For `waiting`: what `poll` needs to find the long job again (e.g. a BigQuery job id). */
  handle?: string;
  /** For `waiting`: when to poll next. */
  pollAfterSeconds?: number;
  /** What an auditor will ask: tables or endpoints touched, job ids. */
  evidence?: Pick<RunEvidence, 'touched' | 'jobIds'>;
}

/** A named unit of work. Registered in code, selected by name; never loaded with eval. */
export interface Executor<C = unknown> {
  name: string;
  description: string;
  /** Checked when a task is registered or updated, and again before each run. */
  configSchema: ZodType<C, ZodTypeDef, unknown>;
  /** Identifiers the executor reads from the subject, given its config. */
  requiredIdentifiers?(config: C): string[];
  run(ctx: ExecutorContext<C>): Promise<ExecutorResult>;
  /** For long jobs: check on a `waiting` handle. */
  poll?(ctx: ExecutorContext<C> & { handle: string }): Promise<ExecutorResult>;
}

/** Lets executors be declared with their config type inferred, and stored in one registry. */
export function defineExecutor<C>(executor: Executor<C>): Executor<unknown> {
  return executor;
}
