import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import {
  batchSlot,
  memberKey,
  type Batch,
  type BatchMember,
  type FlushClaim,
} from '../../domain/batch';
import type { BatchStore } from '../../ports/batch-store';
import { boundedMethods } from './availability';
import { fromStored, stripUndefined, toUpdateData } from './codec';

/** `batches/{id}`, with `members/{requestId:taskId}` under each. */
export const BATCHES = 'batches';
const MEMBERS = 'members';
/** A full batch closes and the next joiner opens the next one of the period; this many at most. */
const MAX_SLOTS = 1000;
/** Firestore's limit of writes in one batch. */
const WRITES_PER_BATCH = 500;

/** gRPC's ALREADY_EXISTS: a create found the document there. */
const ALREADY_EXISTS = 6;

function newBatch(
  slot: { id: string; closesAt: Date },
  seed: Parameters<BatchStore['join']>[0],
  now: Date,
): Batch {
  return {
    id: slot.id,
    shapeKey: seed.shapeKey,
    taskId: seed.taskId,
    executor: seed.executor,
    state: 'open',
    openedAt: now.toISOString(),
    closesAt: slot.closesAt.toISOString(),
    maxSubjects: seed.settings.maxSubjects,
    dueAt: slot.closesAt.toISOString(),
    attempt: 0,
    maxAttempts: seed.maxAttempts,
    jobs: [],
  };
}

/** Batches on Firestore: joins and closes in transactions, results in batched writes. */
export function createFirestoreBatchStore(
  db: Firestore,
  opts: { operationTimeoutMs?: number } = {},
): BatchStore {
  const batchRef = (id: string) => db.collection(BATCHES).doc(id);
  const memberRef = (id: string, key: string) => batchRef(id).collection(MEMBERS).doc(key);
  const read = async (ref: DocumentReference): Promise<Batch | null> => {
    const snap = await ref.get();
    return snap.exists ? fromStored<Batch>(snap.data()) : null;
  };

  const store: BatchStore = {
    async join(seed, joiner, now) {
      const key = memberKey(joiner.requestId, joiner.taskId);
      const member: BatchMember = { key, ...joiner, joinedAt: now.toISOString() };
      for (let seq = 1; seq <= MAX_SLOTS; seq++) {
        const slot = batchSlot(seed.shapeKey, seed.settings, now, seq);
        const ref = batchRef(slot.id);
        // Plain reads and a create first: joiners only contend where they must (the join below).
        const seen = await ref.get();
        let opened = false;
        if (!seen.exists) {
          opened = await ref.create(stripUndefined(newBatch(slot, seed, now))).then(
            () => true,
            (err: unknown) => {
              if ((err as { code?: unknown }).code === ALREADY_EXISTS) return false;
              throw err;
            },
          );
        } else if ((seen.data() as Batch).state !== 'open') continue;
        // The join reads the batch in a transaction, so it is ordered with the batch's close.
        const batch = await db.runTransaction(async (tx) => {
          const snap = await tx.get(ref);
          if (!snap.exists) return null;
          const current = fromStored<Batch>(snap.data());
          if (current.state !== 'open') return null;
          tx.set(memberRef(slot.id, key), stripUndefined(member));
          return current;
        });
        if (batch === null) continue;
        const counted = await ref.collection(MEMBERS).count().get();
        return { batch, opened, members: counted.data().count };
      }
      throw new Error(`no open batch slot for shape ${seed.shapeKey} in this period`);
    },

    close(batchId, now) {
      return db.runTransaction(async (tx) => {
        const ref = batchRef(batchId);
        const snap = await tx.get(ref);
        if (!snap.exists || (snap.data() as Batch).state !== 'open') return false;
        tx.update(ref, { state: 'closed', closedAt: now.toISOString(), dueAt: now.toISOString() });
        return true;
      });
    },

    leave(batchId, key, reason) {
      return db.runTransaction(async (tx) => {
        const ref = batchRef(batchId);
        const [batch, member] = await Promise.all([tx.get(ref), tx.get(memberRef(batchId, key))]);
        if (!batch.exists || (batch.data() as Batch).state !== 'open') return false;
        if (!member.exists) return false;
        tx.update(memberRef(batchId, key), { left: reason });
        return true;
      });
    },

    get: (batchId) => read(batchRef(batchId)),

    async getMember(batchId, key) {
      const snap = await memberRef(batchId, key).get();
      return snap.exists ? fromStored<BatchMember>(snap.data()) : null;
    },

    async listMembers(batchId) {
      const snap = await batchRef(batchId).collection(MEMBERS).orderBy('key').get();
      return snap.docs.map((d) => fromStored<BatchMember>(d.data()));
    },

    claim(batchId, decide) {
      return db.runTransaction(async (tx) => {
        const ref = batchRef(batchId);
        const snap = await tx.get(ref);
        if (!snap.exists) return null;
        const decision: FlushClaim = decide(fromStored<Batch>(snap.data()));
        if ('claim' in decision) tx.update(ref, toUpdateData(decision.claim));
        if ('abandon' in decision) tx.update(ref, toUpdateData(decision.abandon));
        return decision;
      });
    },

    update(batchId, attempt, patch) {
      return db.runTransaction(async (tx) => {
        const ref = batchRef(batchId);
        const snap = await tx.get(ref);
        const batch = snap.exists ? (snap.data() as Batch) : undefined;
        if (batch?.state !== 'flushing' || batch.attempt !== attempt) return false;
        tx.update(ref, toUpdateData(patch));
        return true;
      });
    },

    async saveProgress(batchId, attempt, progress, jobs) {
      await db.runTransaction(async (tx) => {
        const ref = batchRef(batchId);
        const snap = await tx.get(ref);
        const batch = snap.exists ? (snap.data() as Batch) : undefined;
        if (batch?.state !== 'flushing' || batch.attempt !== attempt) return;
        const known = new Set(batch.jobs.map((j) => j.jobId));
        tx.update(ref, {
          progress,
          jobs: [...batch.jobs, ...jobs.filter((j) => !known.has(j.jobId))],
        });
      });
    },

    async markLeft(batchId, keys, reason) {
      for (let i = 0; i < keys.length; i += WRITES_PER_BATCH) {
        const writes = db.batch();
        for (const key of keys.slice(i, i + WRITES_PER_BATCH)) {
          writes.update(memberRef(batchId, key), { left: reason });
        }
        await writes.commit();
      }
    },

    async finish(batchId, attempt, results, patch) {
      const entries = [...results.entries()];
      for (let i = 0; i < entries.length; i += WRITES_PER_BATCH) {
        const writes = db.batch();
        for (const [key, result] of entries.slice(i, i + WRITES_PER_BATCH)) {
          writes.update(memberRef(batchId, key), { result: stripUndefined(result) });
        }
        await writes.commit();
      }
      return store.update(batchId, attempt, patch);
    },

    async setDue(batchId, dueAt) {
      await db.runTransaction(async (tx) => {
        const ref = batchRef(batchId);
        const snap = await tx.get(ref);
        const state = snap.exists ? (snap.data() as Batch).state : undefined;
        if (state === 'open' || state === 'closed') tx.update(ref, { dueAt: dueAt.toISOString() });
      });
    },

    async listDue(before, limit) {
      const snap = await db
        .collection(BATCHES)
        .where('state', 'in', ['open', 'closed', 'flushing'])
        .where('dueAt', '<', before.toISOString())
        .orderBy('dueAt')
        .limit(limit)
        .get();
      return snap.docs.map((d) => fromStored<Batch>(d.data()));
    },
  };
  return boundedMethods(store, opts.operationTimeoutMs ?? 10_000);
}
