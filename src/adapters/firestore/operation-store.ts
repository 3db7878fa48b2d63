import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import { OPERATION_ID_PATTERN, type Operation } from '../../domain/bulk-operation';
import { ConflictError, ValidationError } from '../../domain/errors';
import type { OperationStore } from '../../ports/operation-store';
import { boundedMethods } from './availability';
import { applyPatch, fromStored, stripUndefined } from './codec';
import { guardedWrite, isAlreadyExists } from './guarded-write';
import { OpCounter } from './op-counter';

/** `operations/{id}`: bulk actions and their progress. */
export const OPERATIONS = 'operations';

const DEFAULT_OPERATION_TIMEOUT_MS = 10_000;

/** The id is checked again here, whatever the caller parsed: it names a document. */
function checkedId(id: string): string {
  if (typeof id !== 'string' || !OPERATION_ID_PATTERN.test(id)) {
    const message = 'not an operation id (op- and 32 hex digits)';
    throw new ValidationError(`Invalid input: operationId: ${message}`, [
      { path: 'operationId', message },
    ]);
  }
  return id;
}

/** Operations on Firestore; progress is written with guarded (precondition) updates. */
export function createFirestoreOperationStore(
  db: Firestore,
  opts: { operationTimeoutMs?: number; maxGuardedAttempts?: number } = {},
): OperationStore {
  const ops = new OpCounter();
  const guard = { db, ops, maxAttempts: opts.maxGuardedAttempts ?? 10 };
  const ref = (id: string): DocumentReference => db.collection(OPERATIONS).doc(checkedId(id));

  const store: OperationStore = {
    async create(operation) {
      try {
        await ref(operation.id).create(stripUndefined(operation));
      } catch (err) {
        if (isAlreadyExists(err)) {
          throw new ConflictError(`operation ${operation.id} exists already`, 'conflict');
        }
        throw err;
      }
      return stripUndefined(operation);
    },

    async get(id) {
      const snap = await ref(id).get();
      return snap.exists ? fromStored<Operation>(snap.data()) : null;
    },

    update: (id, mutate) =>
      guardedWrite<Operation, Operation | null>(guard, ref(id), (current) => {
        const patch = current === null ? null : mutate(current);
        if (current === null || patch === null) return { result: null };
        return { update: patch, result: () => applyPatch(current, patch) };
      }),

    // One equality filter: the automatic single-field index serves it (no composite declared).
    async listRunning(limit) {
      const snap = await db
        .collection(OPERATIONS)
        .where('state', '==', 'running')
        .limit(Math.max(1, Math.floor(limit)))
        .get();
      return snap.docs
        .map((d) => fromStored<Operation>(d.data()))
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    },
  };
  return boundedMethods(store, opts.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS, []);
}
