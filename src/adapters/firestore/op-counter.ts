/** Firestore operations as they are billed, counted by the adapter that issues them. */
export interface FirestoreOpStats {
  /** Billed document reads. */
  reads: number;
  /** Billed document writes (creates, updates and deletes alike). */
  writes: number;
  /** Times a guarded read-modify-write ran again after losing a race (beyond its first run). */
  transactionRetries: number;
}

/**
 * The billing rules, in one place:
 * - a document lookup is 1 read, whether or not the document exists;
 * - a query is 1 read per document returned, and at least 1 when it returns none;
 * - an aggregation (`count()`) is 1 read per 1000 index entries matched, and at least 1;
 * - each write in a committed batch or transaction is 1 write; a commit that fails writes
 *   nothing and is not billed.
 */
export class OpCounter {
  private stats: FirestoreOpStats = { reads: 0, writes: 0, transactionRetries: 0 };

  lookups(documents: number): void {
    this.stats.reads += documents;
  }

  query(documentsReturned: number): void {
    this.stats.reads += Math.max(1, documentsReturned);
  }

  aggregation(indexEntries: number): void {
    this.stats.reads += Math.max(1, Math.ceil(indexEntries / 1000));
  }

  committed(writes: number): void {
    this.stats.writes += writes;
  }

  retried(): void {
    this.stats.transactionRetries += 1;
  }

  snapshot(): FirestoreOpStats {
    return { ...this.stats };
  }

  reset(): void {
    this.stats = { reads: 0, writes: 0, transactionRetries: 0 };
  }
}
