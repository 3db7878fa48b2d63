import {
  batchSlot,
  memberKey,
  type Batch,
  type BatchMember,
  type FlushClaim,
} from '../../../src/domain/batch';
import type { BatchStore } from '../../../src/ports/batch-store';

/**
 * A plain in-memory BatchStore, just faithful enough to drive the real join and flush use cases
 * so that the infra tests see the batch lines the code really writes. It answers as the
 * Firestore store does where the use cases depend on it: one open batch per shape and period
 * (a full one sends the next joiner to the next slot), writes under a flush's attempt only while
 * that attempt holds the batch, and a field patched to undefined is removed.
 * It is not a Firestore stand-in: no transactions, no indexes.
 */
export function createMemoryBatchStore(): BatchStore {
  const batches = new Map<string, Batch>();
  const members = new Map<string, Map<string, BatchMember>>();
  const copy = <T>(value: T): T => structuredClone(value);
  const membersOf = (batchId: string): Map<string, BatchMember> => {
    const of = members.get(batchId) ?? new Map<string, BatchMember>();
    members.set(batchId, of);
    return of;
  };
  const patchBatch = (batchId: string, patch: Partial<Batch>) => {
    const current = batches.get(batchId);
    if (current === undefined) return;
    const next: Record<string, unknown> = { ...current };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete next[k];
      else next[k] = copy(v);
    }
    batches.set(batchId, next as unknown as Batch);
  };
  const holds = (batchId: string, attempt: number) => {
    const batch = batches.get(batchId);
    return batch?.state === 'flushing' && batch.attempt === attempt;
  };

  const store: BatchStore = {
    async join(seed, joiner, now) {
      for (let seq = 1; seq <= 1000; seq++) {
        const slot = batchSlot(seed.shapeKey, seed.settings, now, seq);
        const existing = batches.get(slot.id);
        if (existing !== undefined && existing.state !== 'open') continue;
        const key = memberKey(joiner.requestId, joiner.taskId);
        membersOf(slot.id).set(key, { key, ...joiner, joinedAt: now.toISOString() });
        if (existing === undefined) {
          batches.set(slot.id, {
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
          });
        }
        const batch = batches.get(slot.id) as Batch;
        const count = [...membersOf(slot.id).values()].filter((m) => m.left === undefined).length;
        return { batch: copy(batch), opened: existing === undefined, members: count };
      }
      throw new Error(`no open batch slot for shape ${seed.shapeKey} in this period`);
    },
    async close(batchId, now) {
      if (batches.get(batchId)?.state !== 'open') return false;
      patchBatch(batchId, {
        state: 'closed',
        closedAt: now.toISOString(),
        dueAt: now.toISOString(),
      });
      return true;
    },
    async leave(batchId, key, reason) {
      const member = membersOf(batchId).get(key);
      if (batches.get(batchId)?.state !== 'open' || member === undefined) return false;
      member.left = reason;
      return true;
    },
    async get(batchId) {
      const batch = batches.get(batchId);
      return batch === undefined ? null : copy(batch);
    },
    async getMember(batchId, key) {
      const member = membersOf(batchId).get(key);
      return member === undefined ? null : copy(member);
    },
    async listMembers(batchId) {
      return [...membersOf(batchId).values()].sort((a, b) => a.key.localeCompare(b.key)).map(copy);
    },
    async claim(batchId, decide) {
      const batch = batches.get(batchId);
      if (batch === undefined) return null;
      const decision: FlushClaim = decide(copy(batch));
      if ('claim' in decision) patchBatch(batchId, decision.claim);
      if ('abandon' in decision) patchBatch(batchId, decision.abandon);
      return decision;
    },
    async update(batchId, attempt, patch) {
      if (!holds(batchId, attempt)) return false;
      patchBatch(batchId, patch);
      return true;
    },
    async saveProgress(batchId, attempt, progress, jobs) {
      if (!holds(batchId, attempt)) return;
      const known = new Set(batches.get(batchId)?.jobs.map((j) => j.jobId));
      patchBatch(batchId, {
        progress,
        jobs: [...(batches.get(batchId)?.jobs ?? []), ...jobs.filter((j) => !known.has(j.jobId))],
      });
    },
    async markLeft(batchId, keys, reason) {
      for (const key of keys) {
        const member = membersOf(batchId).get(key);
        if (member !== undefined) member.left = reason;
      }
    },
    async finish(batchId, attempt, results, patch) {
      for (const [key, result] of results) {
        const member = membersOf(batchId).get(key);
        if (member !== undefined && result !== undefined) member.result = copy(result);
      }
      return store.update(batchId, attempt, patch);
    },
    async setDue(batchId, dueAt) {
      const state = batches.get(batchId)?.state;
      if (state === 'open' || state === 'closed')
        patchBatch(batchId, { dueAt: dueAt.toISOString() });
    },
    async listDue(before, limit) {
      return [...batches.values()]
        .filter((b) => ['open', 'closed', 'flushing'].includes(b.state))
        .filter((b) => b.dueAt < before.toISOString())
        .sort((a, b) => a.dueAt.localeCompare(b.dueAt))
        .slice(0, limit)
        .map(copy);
    },
  };
  return store;
}
