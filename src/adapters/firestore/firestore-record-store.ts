import type { Firestore } from '@google-cloud/firestore';
import {
  MAX_RECORD_CHUNK_BYTES,
  type RecordSetKey,
  type RecordStore,
} from '../../ports/record-store';
import { COLLECTIONS, instanceDoc, MAX_BATCH_WRITES } from './firestore-store';

/** The subcollection of an instance that holds its records packages' chunks. */
export const RECORDS_COLLECTION = COLLECTIONS.records;

/** A commit carries at most 10 MiB; stay well below it. */
const MAX_BATCH_BYTES = 8 * 2 ** 20;

/**
 * The RecordStore on Firestore: chunk `n` of a set is the document
 * `requests/{requestId}/instances/{taskId}/records/{setId}-{n}`, holding the bytes as a Bytes
 * field (so its size is exact: at most MAX_RECORD_CHUNK_BYTES plus a few dozen bytes of names,
 * far below the 1 MiB document limit). Ids start with the set id, a BigQuery job id, so they
 * have no monotonic prefix.
 */
export function createFirestoreRecordStore(db: Firestore): RecordStore {
  const chunkRef = (set: RecordSetKey, index: number) =>
    instanceDoc(db, set.requestId, set.taskId)
      .collection(RECORDS_COLLECTION)
      .doc(`${set.setId}-${String(index).padStart(6, '0')}`);

  return {
    async putChunks(set, firstIndex, chunks) {
      let batch = db.batch();
      let writes = 0;
      let bytes = 0;
      for (const [i, chunk] of chunks.entries()) {
        if (chunk.length > MAX_RECORD_CHUNK_BYTES) {
          throw new RangeError(
            `a record chunk holds at most ${MAX_RECORD_CHUNK_BYTES} bytes, not ${chunk.length}`,
          );
        }
        if (writes > 0 && (writes >= MAX_BATCH_WRITES || bytes + chunk.length > MAX_BATCH_BYTES)) {
          await batch.commit();
          batch = db.batch();
          writes = 0;
          bytes = 0;
        }
        const index = firstIndex + i;
        batch.set(chunkRef(set, index), {
          setId: set.setId,
          index,
          data: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length),
        });
        writes += 1;
        bytes += chunk.length;
      }
      if (writes > 0) await batch.commit();
    },

    async getChunks(set, indexes) {
      if (indexes.length === 0) return [];
      const snaps = await db.getAll(...indexes.map((i) => chunkRef(set, i)));
      return snaps.map((snap, i) => {
        const data: unknown = snap.get('data');
        if (!snap.exists || !(data instanceof Uint8Array)) {
          throw new Error(`record set ${set.setId} has no chunk ${indexes[i]}`);
        }
        return data;
      });
    },
  };
}
