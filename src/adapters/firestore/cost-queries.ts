import { FieldPath, type Firestore, type Query } from '@google-cloud/firestore';
import type { LedgerEntry } from '../../domain/evidence';
import { assertStoreSafeId } from '../../domain/ids';
import type { Run } from '../../domain/model';
import type { Page, RequestStore } from '../../ports/request-store';
import { decodeCursor, encodeCursor, fromStored, invalidCursor } from './codec';
import type { OpCounter } from './op-counter';

/**
 * The cost report's reads, across every request and task (collection-group queries):
 * - runs finished in a range: a range on `finishedAt`, ordered by it, which the collection-group
 *   single-field index on `runs.finishedAt` serves (indexes.ts FIELD_OVERRIDES);
 * - task audits in a range: `kind == 'audit_run'` and a range on `at`, ordered by it, served by
 *   the collection-group composite index `ledger (kind, at)`.
 * Each pages by its time then the document path, with a cursor naming both.
 */
export function costQueries(
  db: Firestore,
  ops: OpCounter,
  collections: { runs: string; ledger: string },
): Pick<RequestStore, 'queryRunsFinished' | 'queryAuditRuns'> {
  async function pageBy<T>(
    query: Query,
    field: string,
    segments: number,
    limit: number,
    cursor: string | undefined,
  ): Promise<Page<T>> {
    let q = query.orderBy(field, 'asc').orderBy(FieldPath.documentId(), 'asc');
    if (cursor !== undefined) {
      const [value, path] = decodeCursor(cursor, 2);
      q = q.startAfter(value, docAt(path, segments));
    }
    const size = Math.max(1, Math.floor(limit));
    const snap = await q.limit(size).get();
    ops.query(snap.size);
    const items = snap.docs.map((d) => fromStored<T>(d.data()));
    const last = snap.docs[snap.size - 1];
    if (snap.size < size || last === undefined) return { items };
    return { items, nextCursor: encodeCursor([last.get(field) as string, last.ref.path]) };
  }

  /** A document of the listing's shape (runs: 6 path segments, task ledgers: 4), safe ids. */
  function docAt(path: unknown, segments: number) {
    const parts = typeof path === 'string' ? path.split('/') : [];
    const leaf = segments === 6 ? collections.runs : collections.ledger;
    if (parts.length !== segments || parts[segments - 2] !== leaf) throw invalidCursor();
    try {
      parts.forEach((part, i) => i % 2 === 1 && assertStoreSafeId(part, 'cursor'));
    } catch {
      throw invalidCursor();
    }
    return db.doc(parts.join('/'));
  }

  return {
    queryRunsFinished: (from, to, limit, cursor) =>
      pageBy<Run>(
        db
          .collectionGroup(collections.runs)
          .where('finishedAt', '>=', from)
          .where('finishedAt', '<', to),
        'finishedAt',
        6,
        limit,
        cursor,
      ),
    queryAuditRuns: (from, to, limit, cursor) =>
      pageBy<LedgerEntry>(
        db
          .collectionGroup(collections.ledger)
          .where('kind', '==', 'audit_run')
          .where('at', '>=', from)
          .where('at', '<', to),
        'at',
        4,
        limit,
        cursor,
      ),
  };
}
