import { createHash } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import type { TableLeases } from '../../ports/table-lease';
import { boundedMethods } from './availability';

/** `tableLeases/{t + sha256(table)}`: one document per BigQuery table being changed. */
export const TABLE_LEASES = 'tableLeases';

interface StoredLease {
  table: string;
  holder: string;
  takenAt: string;
  expiresAt: string;
}

/** Table leases on Firestore, each taken or given back in a transaction. */
export function createFirestoreTableLeases(
  db: Firestore,
  opts: { now: () => Date; operationTimeoutMs?: number },
): TableLeases {
  const ref = (table: string) =>
    db
      .collection(TABLE_LEASES)
      .doc(`t${createHash('sha256').update(table).digest('hex').slice(0, 40)}`);
  const leases: TableLeases = {
    async acquire(table, holder, ttlSeconds) {
      // A plain read first: while another holds the table, the many who wait for it only read,
      // and never contend in transactions on its one document.
      const seen = await ref(table).get();
      const current = seen.exists ? (seen.data() as StoredLease) : undefined;
      if (
        current !== undefined &&
        current.holder !== holder &&
        Date.parse(current.expiresAt) > opts.now().getTime()
      ) {
        return false;
      }
      return db.runTransaction(async (tx) => {
        const doc = ref(table);
        const snap = await tx.get(doc);
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
        tx.set(doc, lease);
        return true;
      });
    },
    release(table, holder) {
      return db.runTransaction(async (tx) => {
        const doc = ref(table);
        const snap = await tx.get(doc);
        if (snap.exists && (snap.data() as StoredLease).holder === holder) tx.delete(doc);
      });
    },
  };
  return boundedMethods(leases, opts.operationTimeoutMs ?? 10_000);
}
