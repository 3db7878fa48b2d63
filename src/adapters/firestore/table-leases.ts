import { createHash } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import type { TableLeases } from '../../ports/table-lease';
import { boundedMethods } from './availability';
import { isAlreadyExists, isGuardFailure } from './guarded-write';

/** `tableLeases/{t + sha256(table)}`: one document per BigQuery table being changed. */
export const TABLE_LEASES = 'tableLeases';

interface StoredLease {
  table: string;
  holder: string;
  takenAt: string;
  expiresAt: string;
}

/**
 * Another caller wrote the lease between our read and our write: our create found it, our
 * update's precondition failed, or it was given back (deleted) under our update.
 */
function lostRace(err: unknown): boolean {
  return isAlreadyExists(err) || isGuardFailure(err);
}

/** Table leases on Firestore, taken and given back with preconditions, never transactions. */
export function createFirestoreTableLeases(
  db: Firestore,
  opts: { now: () => Date; operationTimeoutMs?: number },
): TableLeases {
  const ref = (table: string) =>
    db
      .collection(TABLE_LEASES)
      .doc(`t${createHash('sha256').update(table).digest('hex').slice(0, 40)}`);
  const leases: TableLeases = {
    // No transactions: under load many ask for one table at once, and transactions on its one
    // document abort each other. A free table is taken by `create` (one wins, the others are
    // told at once), a lease that expired or is the caller's own by an update that holds only if
    // the document is as it was read (its update time), and the same for giving it back.
    async acquire(table, holder, ttlSeconds) {
      const doc = ref(table);
      const snap = await doc.get();
      const now = opts.now();
      const held = snap.exists ? (snap.data() as StoredLease) : undefined;
      if (
        held !== undefined &&
        held.holder !== holder &&
        Date.parse(held.expiresAt) > now.getTime()
      ) {
        return false;
      }
      const lease: StoredLease = {
        table,
        holder,
        takenAt: held?.holder === holder ? held.takenAt : now.toISOString(),
        expiresAt: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
      };
      try {
        if (snap.updateTime === undefined) await doc.create(lease);
        else await doc.update({ ...lease }, { lastUpdateTime: snap.updateTime });
        return true;
      } catch (err) {
        if (lostRace(err)) return false;
        throw err;
      }
    },
    async release(table, holder) {
      const doc = ref(table);
      const snap = await doc.get();
      if (!snap.exists || (snap.data() as StoredLease).holder !== holder) return;
      await doc.delete({ lastUpdateTime: snap.updateTime }).catch((err: unknown) => {
        if (!lostRace(err)) throw err;
      });
    },
  };
  return boundedMethods(leases, opts.operationTimeoutMs ?? 10_000);
}
