import { z, type ZodType, type ZodTypeDef } from 'zod';
import type { ErrorCode } from '../domain/error-codes';
import type { Cost, RequestType, RunEvidence, Subject } from '../domain/model';
import type { BatchJob, BatchSettings } from '../domain/batch';
import type { Logger } from '../ports/logger';

/** What an executor gets for one attempt. */
export interface ExecutorContext<C> {
  /** The subject's identifiers as normalised at intake (emails trimmed and lower-cased). */
  subject: Subject;
  /** The identifiers exactly as the request gave them, for systems that store them unnormalised. */
  subjectAsGiven: Subject;
  config: C;
  /** Fires at the task timeout (or on shutdown); executors must stop work when it does. */
  signal: AbortSignal;
  requestId: string;
  taskId: string;
  attempt: number;
  /**
   * Attempts started across every series of this instance, this one included (a retry starts a
   * new series whose `attempt` counts from 1 again). Absent in a task audit.
   */
  totalAttempts?: number;
  /** Audit mode: report what would be touched and the estimated cost; change nothing. */
  dryRun: boolean;
  log: Logger;
  /**
   * On a retry: the last handle an earlier attempt of this series left (its progress), so an
   * executor that works in steps (one statement per shard) can skip what is done.
   */
  resume?: string;
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
  /** What an auditor will ask: tables or endpoints touched, job ids, what is left. */
  evidence?: ExecutorEvidence;
}

export type ExecutorEvidence = Pick<
  RunEvidence,
  'touched' | 'jobIds' | 'remainingRows' | 'verification' | 'batch'
>;

/** What a failed attempt had already spent and done, carried on the error it throws. */
export interface Spend {
  cost: Cost;
  evidence?: ExecutorEvidence;
}

const SPEND = Symbol('spend');

/** Marks an error with what the attempt spent before it failed, so its run record says so. */
export function withSpend<E extends Error>(error: E, spend: Spend): E {
  (error as E & { [SPEND]?: Spend })[SPEND] = spend;
  return error;
}

/** What a failed attempt spent, if its executor said. */
export function spendOf(error: Error): Spend | undefined {
  return (error as Error & { [SPEND]?: Spend })[SPEND];
}

/** A named unit of work. Registered in code, selected by name; never loaded with eval. */
export interface Executor<C = unknown> {
  name: string;
  description: string;
  /** Checked when a task is registered or updated, and again before each run. */
  configSchema: ZodType<C, ZodTypeDef, unknown>;
  /**
   * The job types a task with this config may be: `records` for what only reads, `deletion`
   * for what changes data. Registration refuses any other pairing.
   */
  jobTypes(config: C): readonly RequestType[];
  /**
   * Where this deployment forbids a config to send data (a URL off the allowlist, a secret sent
   * to an origin it is not bound to). Registration and change refuse these as a 400 naming the
   * config path; the executor checks them again before it runs (a PermanentError with `code`).
   */
  policyIssues?(config: C): readonly PolicyIssue[];
  /** Identifiers the executor reads from the subject, given its config. */
  requiredIdentifiers?(config: C): string[];
  /**
   * Checks a config against the system it will run on (a table's schema, a dry run), when a
   * task is registered or changed. Each issue refuses the task as a 400 naming the path.
   */
  checkConfig?(config: C, signal: AbortSignal): Promise<readonly ConfigIssue[]>;
  run(ctx: ExecutorContext<C>): Promise<ExecutorResult>;
  /** For long jobs: check on a `waiting` handle. */
  poll?(ctx: ExecutorContext<C> & { handle: string }): Promise<ExecutorResult>;
  /** Executors that can serve many subjects with one statement (docs/jobs.md, "Batches"). */
  batch?: BatchSupport<C>;
}

/** How an executor batches: which configs do, what makes two runs share one, and the flush. */
export interface BatchSupport<C> {
  /** The config's batching, or undefined where it is off (`batch: false`). */
  settings(config: C): BatchSettings | undefined;
  /** What the statement depends on (table, match rule, columns): runs of one shape share a batch. */
  shape(config: C): string;
  /** Runs the statements for every member of a closed batch. */
  flush(ctx: BatchFlushContext<C>): Promise<BatchFlushResult>;
}

/** What a flush did for one member: its rows, what is left of them, its output and words. */
export interface BatchMemberOutcome {
  affectedRows: number;
  /** After a change: the member's rows still there (absent for a read). */
  remainingRows?: number;
  output?: unknown;
  /** The member's own part, for its run's message (`exported 3 rows from p.d.t`). */
  message?: string;
}

/** One subject of a batch, as its request gave it. */
export interface BatchSubject {
  key: string;
  subject: Subject;
  subjectAsGiven: Subject;
  requestId: string;
}

export interface BatchFlushContext<C> {
  batchId: string;
  taskId: string;
  config: C;
  /** In key order; the members the flush serves. */
  members: readonly BatchSubject[];
  signal: AbortSignal;
  log: Logger;
  /** What an earlier attempt of this flush saved: the tables already done are skipped. */
  resume?: string;
  /** Keeps progress and the jobs that finished, so a retry neither repeats nor forgets them. */
  save(progress: string, jobs: readonly BatchJob[]): Promise<void>;
}

export type BatchFlushResult =
  | {
      outcome: 'done';
      message: string;
      /** Per member key: its rows, what is left of them, and what its run keeps as output. */
      members: ReadonlyMap<string, BatchMemberOutcome>;
      /** Every job this flush ran (those saved by earlier attempts included). */
      jobs: readonly BatchJob[];
      touched: string[];
      affectedRows: number;
      statements: number;
    }
  /** Another holder has the table: try again after this long (not a failed attempt). */
  | { outcome: 'blocked'; message: string; retryAfterSeconds: number };

/** One reason the target system refuses a config (a missing column, a failed dry run). */
export interface ConfigIssue {
  path: readonly string[];
  message: string;
}

/** One reason a deployment's policy refuses a config. */
export interface PolicyIssue {
  /** Where in the config, e.g. `['url']` or `['headers', 'Authorization']`. */
  path: readonly string[];
  /** The run's error code when the check fails at run time. */
  code: ErrorCode;
  message: string;
}

/** What to throw once the context's signal has fired: its reason, as an Error. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** Lets executors be declared with their config type inferred, and stored in one registry. */
export function defineExecutor<C>(executor: Executor<C>): Executor<unknown> {
  return executor;
}

/**
 * What an audit (dry run) says a real run would do. Executors that can tell put it in their
 * result as `output: { audit }`; the audit endpoint and dry-run requests report it.
 */
export const auditEstimateSchema = z.object({
  /** Absent where the executor cannot tell (a hand-written statement). */
  wouldAffectRows: z.number().optional(),
  estimatedBytesProcessed: z.number(),
  estimatedBytesBilled: z.number(),
  estimatedUsd: z.number(),
  maxBytesBilled: z.number().optional(),
  withinMaxBytesBilled: z.boolean().optional(),
  statement: z.string().optional(),
  touched: z.array(z.string()).optional(),
  /**
   * A batching task: what its batch's flush would run and bill for a full batch, and this
   * subject's share of that (the bill divided among `maxSubjects`, rounded up).
   */
  batch: z
    .object({
      maxSubjects: z.number(),
      maxWaitSeconds: z.number(),
      statement: z.string().optional(),
      estimatedBytesBilled: z.number(),
      estimatedUsd: z.number(),
      estimatedShareBytesBilled: z.number(),
      estimatedShareUsd: z.number(),
    })
    .optional(),
});
export type AuditEstimate = z.infer<typeof auditEstimateSchema>;

/**
 * What an export run kept for the records package, as `output: { records }`. The rows are not
 * in the run record (a document holds at most 1 MiB): they are in the RecordStore under
 * `setId`, and `segments` says where (see src/app/record-sets.ts).
 */
export const recordsOutputSchema = z.object({
  setId: z.string(),
  source: z.string(),
  columns: z.array(z.string()),
  /** Rows kept (at most the task's `maxRows`). */
  rowCount: z.number(),
  /** Rows the subject has in the source. */
  totalRows: z.number(),
  truncated: z.boolean(),
  segments: z.array(z.object({ rows: z.number(), chunks: z.number() })),
});
export type RecordsOutput = z.infer<typeof recordsOutputSchema>;

/** The audit estimate in a result's or a run's output, if it has one. */
export function auditEstimateOf(output: unknown): AuditEstimate | undefined {
  return outputPart(output, 'audit', auditEstimateSchema);
}

/** The records set in a result's or a run's output, if it has one. */
export function recordsOutputOf(output: unknown): RecordsOutput | undefined {
  return outputPart(output, 'records', recordsOutputSchema);
}

function outputPart<T>(output: unknown, key: string, schema: ZodType<T>): T | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const parsed = schema.safeParse((output as Record<string, unknown>)[key]);
  return parsed.success ? parsed.data : undefined;
}
