import { createHash } from 'node:crypto';
import type { ErrorCode } from './error-codes';
import type { Cost } from './model';

/**
 * Batches: the subjects of many requests, gathered per task and statement shape, changed by one
 * statement per table (docs/jobs.md, "Batches"). Pure rules here; the store keeps them in
 * `batches/{id}` with a `members` subcollection, and src/app/batch-*.ts runs them.
 */

/** A task's batching: close at `maxSubjects` members, or `maxWaitSeconds` after the batch opened. */
export interface BatchSettings {
  maxSubjects: number;
  maxWaitSeconds: number;
}

export const MAX_BATCH_SUBJECTS = 10_000;
export const MAX_BATCH_WAIT_SECONDS = 86_400;
export const DEFAULT_BATCH: BatchSettings = { maxSubjects: 1000, maxWaitSeconds: 900 };

/**
 * open: members join; closed: full or due, waiting for its flush; flushing: a flush holds it
 * (until `leaseExpiresAt`); flushed: every member's result is written; failed: for good.
 */
export type BatchState = 'open' | 'closed' | 'flushing' | 'flushed' | 'failed';

/** One BigQuery job a flush ran, and its part. */
export interface BatchJob {
  jobId: string;
  bytesBilled: number;
  role: 'count' | 'change' | 'verify';
}

export interface Batch {
  id: string;
  /** The task and its statement shape (table, match rule, columns): one open batch per shape. */
  shapeKey: string;
  taskId: string;
  executor: string;
  state: BatchState;
  openedAt: string;
  /** When it closes if it does not fill first. */
  closesAt: string;
  closedAt?: string;
  maxSubjects: number;
  /** When its flush should next run (closesAt, a retry, the window's opening, a lease's end). */
  dueAt: string;
  /** Flush attempts started, and the most the task allows. */
  attempt: number;
  maxAttempts: number;
  leaseExpiresAt?: string;
  /** What the executor has done so far (a retry picks up from it). */
  progress?: string;
  /** Every job the flushes ran, failed attempts included: what the members' shares split. */
  jobs: BatchJob[];
  lastError?: { code: ErrorCode; message: string };
  /** Set when it is flushed. */
  result?: BatchResult;
  /** Set when it failed for good: every member's run fails with it. */
  error?: { code: ErrorCode; message: string };
  flushStartedAt?: string;
  finishedAt?: string;
}

export interface BatchResult {
  members: number;
  /** Members that left before the flush (cancelled, or their attempt moved on). */
  left: number;
  statements: number;
  affectedRows: number;
  touched: string[];
  bytesBilled: number;
  usd: number;
  message: string;
}

export interface BatchMember {
  /** `requestId:taskId`: members sort by it, and cost remainders go by that order. */
  key: string;
  requestId: string;
  taskId: string;
  series: number;
  attempt: number;
  joinedAt: string;
  left?: 'cancelled' | 'superseded';
  result?: MemberResult;
}

export interface MemberResult {
  affectedRows: number;
  /** After a change: what is left of the member's rows (absent for a read). */
  remainingRows?: number;
  message?: string;
  /** Its share of every job the flushes ran, and of the verification queries among them. */
  share: Cost;
  verificationShare: Cost;
  output?: unknown;
}

/** A batch id: `b-<shape key>-<period start, epoch s>-<n>`. */
export const BATCH_ID_PATTERN = /^b-[0-9a-f]{20}-\d{1,12}-\d{1,4}$/;

export function memberKey(requestId: string, taskId: string): string {
  return `${requestId}:${taskId}`;
}

/** The key a task's open batch is found by: the task, and what its statement would say. */
export function shapeKeyOf(taskId: string, shape: string): string {
  return createHash('sha256').update(`${taskId}\n${shape}`).digest('hex').slice(0, 20);
}

/**
 * Where a joiner looks first: the batch of the current wait period (`maxWaitSeconds` long, at
 * least a second, aligned to the epoch), numbered from 1 as full ones close. Deterministic, so
 * concurrent joiners meet in the same document without a shared counter.
 */
export function batchSlot(
  shapeKey: string,
  settings: BatchSettings,
  now: Date,
  seq: number,
): { id: string; openedAt: Date; closesAt: Date } {
  const period = Math.max(1, settings.maxWaitSeconds) * 1000;
  const start = Math.floor(now.getTime() / period) * period;
  return {
    id: `b-${shapeKey}-${start / 1000}-${seq}`,
    openedAt: now,
    closesAt: new Date(start + period),
  };
}

/** What a flush delivery may do with the batch as stored. */
export type FlushClaim =
  | { claim: Partial<Batch> }
  | { refuse: 'finished' | 'leased' | 'not_due'; dueAt?: Date }
  | { abandon: Partial<Batch> };

/**
 * A flush claims a closed batch, or an open one that is due (its wait is over), or one whose
 * flush stopped answering (its lease expired: a killed flush, taken over like a stuck lease).
 * A claim past the task's attempts fails the batch instead.
 */
export function decideFlushClaim(batch: Batch, now: Date, leaseSeconds: number): FlushClaim {
  if (batch.state === 'flushed' || batch.state === 'failed') return { refuse: 'finished' };
  if (batch.state === 'open' && Date.parse(batch.closesAt) > now.getTime()) {
    return { refuse: 'not_due', dueAt: new Date(batch.closesAt) };
  }
  if (batch.state === 'flushing' && Date.parse(batch.leaseExpiresAt ?? '') > now.getTime()) {
    return { refuse: 'leased' };
  }
  if (batch.state === 'flushing' && batch.attempt >= batch.maxAttempts) {
    const error = {
      code: 'abandoned' as const,
      message: `flush attempt ${batch.attempt} of ${batch.maxAttempts} stopped answering and no attempts are left`,
    };
    return {
      abandon: {
        state: 'failed',
        error,
        lastError: error,
        leaseExpiresAt: undefined,
        finishedAt: now.toISOString(),
      },
    };
  }
  const leaseExpiresAt = new Date(now.getTime() + leaseSeconds * 1000);
  return {
    claim: {
      state: 'flushing',
      attempt: batch.attempt + 1,
      leaseExpiresAt: leaseExpiresAt.toISOString(),
      dueAt: leaseExpiresAt.toISOString(),
      ...(batch.closedAt === undefined ? { closedAt: now.toISOString() } : {}),
      ...(batch.flushStartedAt === undefined ? { flushStartedAt: now.toISOString() } : {}),
    },
  };
}

/**
 * The longest a member waits between looks at a batch that is flushing, or full and about to: the
 * flush nudges every member's poll when it ends, so these looks are only a safety net, and a
 * thousand members looking every few seconds would load the store the flush itself needs.
 */
export const MEMBER_SAFETY_POLL_SECONDS = 300;

/**
 * When a waiting member should look at its batch again: just after an open or closed batch is
 * due; while it is flushing (or full, its flush armed), at the flush's lease end, at most
 * MEMBER_SAFETY_POLL_SECONDS away; never sooner than `pollIntervalSeconds`.
 */
export function memberPollAfterSeconds(
  batch: Pick<Batch, 'state' | 'dueAt' | 'leaseExpiresAt'>,
  now: Date,
  pollIntervalSeconds: number,
  full = false,
): number {
  const until = (iso: string | undefined): number =>
    iso === undefined ? 0 : Math.max(0, Math.ceil((Date.parse(iso) - now.getTime()) / 1000)) + 2;
  if (batch.state === 'flushing' || full) {
    const leaseEnd = batch.state === 'flushing' ? until(batch.leaseExpiresAt) : Infinity;
    return Math.max(pollIntervalSeconds, Math.min(leaseEnd, MEMBER_SAFETY_POLL_SECONDS));
  }
  if (batch.state === 'open' || batch.state === 'closed') {
    return Math.max(pollIntervalSeconds, until(batch.dueAt));
  }
  return pollIntervalSeconds;
}

/** The total a batch's jobs billed, and the part its verification queries billed. */
export function billedOf(jobs: readonly BatchJob[]): { total: number; verify: number } {
  return jobs.reduce(
    (sum, job) => ({
      total: sum.total + job.bytesBilled,
      verify: sum.verify + (job.role === 'verify' ? job.bytesBilled : 0),
    }),
    { total: 0, verify: 0 },
  );
}
