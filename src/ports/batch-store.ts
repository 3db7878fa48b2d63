import type { Batch, BatchJob, BatchMember, BatchSettings, FlushClaim } from '../domain/batch';

/** Who joins: an instance's attempt. */
export interface Joiner {
  requestId: string;
  taskId: string;
  series: number;
  attempt: number;
}

/** A new batch's fixed fields, used when a joiner opens one. */
export interface BatchSeed {
  shapeKey: string;
  taskId: string;
  executor: string;
  settings: BatchSettings;
  maxAttempts: number;
}

export interface Joined {
  batch: Batch;
  /** This joiner opened the batch (and so arms its flush). */
  opened: boolean;
  /** Members now in the batch (not counting those that left). */
  members: number;
}

/**
 * Batches and their members (`batches/{id}`, `batches/{id}/members/{requestId:taskId}`). A
 * member joins in a transaction that reads the batch, so a join and the batch's close are
 * ordered: a member either joined before the close (and is flushed) or joins the next batch.
 */
export interface BatchStore {
  /** Joins the open batch of the shape for this period, opening one if none is open. */
  join(seed: BatchSeed, joiner: Joiner, now: Date): Promise<Joined>;
  /** Closes an open batch (it filled). False when it was not open. */
  close(batchId: string, now: Date): Promise<boolean>;
  /** Takes a member out of an open batch (its request was cancelled). False once it closed. */
  leave(batchId: string, key: string, reason: 'cancelled'): Promise<boolean>;
  get(batchId: string): Promise<Batch | null>;
  getMember(batchId: string, key: string): Promise<BatchMember | null>;
  /** Every member, those that left included, in key order. */
  listMembers(batchId: string): Promise<BatchMember[]>;
  /** Applies `decide` to the batch in a transaction; writes its claim or abandonment. */
  claim(batchId: string, decide: (batch: Batch) => FlushClaim): Promise<FlushClaim | null>;
  /**
   * Writes a patch if the batch is still flushing under `attempt` (a flush that lost its lease
   * writes nothing). False when it was not applied.
   */
  update(batchId: string, attempt: number, patch: Partial<Batch>): Promise<boolean>;
  /** Records jobs that finished, and the executor's progress, under the flush's attempt. */
  saveProgress(batchId: string, attempt: number, progress: string, jobs: BatchJob[]): Promise<void>;
  /** Marks members as left (their attempt moved on before the flush). */
  markLeft(batchId: string, keys: readonly string[], reason: 'superseded'): Promise<void>;
  /** Writes members' results, then the batch's final patch. */
  finish(
    batchId: string,
    attempt: number,
    results: ReadonlyMap<string, BatchMember['result']>,
    patch: Partial<Batch>,
  ): Promise<boolean>;
  /** Moves an unclaimed batch's flush to `dueAt` (its task's window opens then). */
  setDue(batchId: string, dueAt: Date): Promise<void>;
  /** Batches not finished whose `dueAt` is before `before` (their flush may be lost). */
  listDue(before: Date, limit: number): Promise<Batch[]>;
}
