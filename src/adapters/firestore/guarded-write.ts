import {
  GrpcStatus,
  type DocumentReference,
  type Firestore,
  type Timestamp,
  type WriteBatch,
} from '@google-cloud/firestore';
import { RetryableError } from '../../domain/errors';
import { fromStored, toUpdateData } from './codec';
import type { OpCounter } from './op-counter';

/** What one run of a guarded update decided, given the document as read. */
export type GuardedStep<T, R> =
  | { result: R }
  | {
      update: Partial<T>;
      /** Further writes committed atomically with the update; returns how many it added. */
      alsoWrite?: (batch: WriteBatch) => number;
      /** The result, given the update time the commit gave the document. */
      result: (updateTime: Timestamp) => R;
    };

export interface GuardedWriteContext {
  db: Firestore;
  ops: OpCounter;
  maxAttempts: number;
}

/**
 * A single-document optimistic transaction: read the document, decide, and commit the update
 * with a `lastUpdateTime` precondition equal to the read's update time, so it applies only if
 * nothing wrote the document in between; otherwise read and decide again.
 *
 * Why not `runTransaction`: server SDK transactions lock what they read, and concurrent
 * read-then-write transactions on one document deadlock until the lock times out (the emulator
 * gives up with "Transaction lock timeout"). A precondition never blocks, costs the same
 * (1 read + the writes), and its commit returns the new update time, which is what a claim
 * token needs and `runTransaction` does not expose.
 */
export async function guardedWrite<T extends object, R>(
  { db, ops, maxAttempts }: GuardedWriteContext,
  ref: DocumentReference,
  decide: (current: T | null) => GuardedStep<T, R>,
): Promise<R> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1) {
      ops.retried();
      await backoff(attempt);
    }
    const snap = await ref.get();
    ops.lookups(1);
    const step = decide(snap.exists ? fromStored<T>(snap.data()) : null);
    if (!('update' in step)) return step.result;
    if (snap.updateTime === undefined) throw new Error(`read of ${ref.path} has no update time`);
    // An empty patch changes nothing, so there is nothing to guard (Firestore refuses it too).
    const guarded = Object.keys(step.update).length > 0;
    const batch = db.batch();
    if (guarded) batch.update(ref, toUpdateData(step.update), { lastUpdateTime: snap.updateTime });
    const writes = (guarded ? 1 : 0) + (step.alsoWrite?.(batch) ?? 0);
    if (writes === 0) return step.result(snap.updateTime);
    try {
      const [first] = await batch.commit();
      ops.committed(writes);
      return step.result(guarded ? first!.writeTime : snap.updateTime);
    } catch (err) {
      if (!isGuardFailure(err)) throw err;
    }
  }
  throw new RetryableError(`${ref.path} kept changing under ${maxAttempts} guarded updates`, {
    code: 'store.contention',
    retryAfterSeconds: 1,
  });
}

/** The precondition failed: the document changed (or vanished) since it was read. */
export function isGuardFailure(err: unknown): boolean {
  const code = grpcCode(err);
  return code === GrpcStatus.FAILED_PRECONDITION || code === GrpcStatus.NOT_FOUND;
}

export function isAlreadyExists(err: unknown): boolean {
  return grpcCode(err) === GrpcStatus.ALREADY_EXISTS;
}

function grpcCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/** The first retry is immediate (the usual loser just re-reads and declines); then jittered. */
async function backoff(attempt: number): Promise<void> {
  if (attempt <= 2) return;
  const ceilingMs = Math.min(1000, 10 * 2 ** (attempt - 2));
  await new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
}
