import { FieldValue, Timestamp, type Firestore, type WriteBatch } from '@google-cloud/firestore';
import type { LifecycleEvent } from '../../domain/lifecycle-events';
import type { EventOutbox, PendingEvent } from '../../ports/event-outbox';
import { boundedMethods } from './availability';
import { stripUndefined, TTL_FIELD } from './codec';

/** `outbox/{ceId}`: lifecycle events, pending until published. */
export const OUTBOX_COLLECTION = 'outbox';

/** A published event is kept this long (its TTL) for inquiries, then Firestore deletes it. */
export const PUBLISHED_RETENTION_DAYS = 7;

/**
 * Adds the events to `batch`, pending, in their order. `pendingSince` is the commit's server
 * time: writes of one request are serialised by its document's guard, so their events sort in
 * the order the changes happened. Only pending entries have the field, so the single-field
 * index on it lists exactly the pending ones. An event derived again (same change, same ce-id)
 * overwrites its entry and is sent again: subscribers deduplicate by ce-id.
 */
export function writeOutbox(
  db: Firestore,
  batch: WriteBatch,
  events: readonly LifecycleEvent[],
): number {
  events.forEach((event, seq) => {
    batch.set(
      db.collection(OUTBOX_COLLECTION).doc(event.id),
      stripUndefined({
        ...event,
        requestId: event.subject,
        seq,
        pendingSince: FieldValue.serverTimestamp(),
      }),
    );
  });
  return events.length;
}

interface StoredEntry extends LifecycleEvent {
  requestId: string;
  seq: number;
  pendingSince?: Timestamp;
}

/** The outbox on Firestore. It takes a client and never creates one. */
export function createFirestoreEventOutbox(
  db: Firestore,
  opts: { operationTimeoutMs?: number } = {},
): EventOutbox {
  const outbox = db.collection(OUTBOX_COLLECTION);
  const impl: EventOutbox = {
    async listPending(limit) {
      const size = Math.max(1, Math.floor(limit));
      const snap = await outbox.orderBy('pendingSince', 'asc').limit(size).get();
      const entries = snap.docs.map((d) => d.data() as StoredEntry);
      const pending = entries.map(
        ({
          id,
          type,
          source,
          subject,
          time,
          data,
          seq,
          pendingSince,
        }): PendingEvent & {
          millis: number;
        } => ({
          event: { id, type, source, subject, time, data },
          seq,
          pendingSince: (pendingSince ?? Timestamp.now()).toDate().toISOString(),
          millis: pendingSince?.toMillis() ?? 0,
        }),
      );
      pending.sort((a, b) => a.millis - b.millis || a.seq - b.seq);
      // A full page may end in the middle of one write's events: leave that write for the next
      // page, so no event is sent before an earlier one of its write.
      const last = pending[pending.length - 1];
      const whole =
        snap.size < size || last === undefined
          ? pending
          : pending.filter((p) => p.millis !== last.millis);
      return (whole.length > 0 ? whole : pending).map(({ millis: _m, ...p }) => p);
    },

    async markPublished(ids, at) {
      const expireAt = Timestamp.fromMillis(at.getTime() + PUBLISHED_RETENTION_DAYS * 86_400_000);
      for (let i = 0; i < ids.length; i += 500) {
        const batch = db.batch();
        for (const id of ids.slice(i, i + 500)) {
          batch.update(outbox.doc(id), {
            pendingSince: FieldValue.delete(),
            publishedAt: at.toISOString(),
            [TTL_FIELD]: expireAt,
          });
        }
        await batch.commit();
      }
    },
  };
  return boundedMethods(impl, opts.operationTimeoutMs ?? 10_000, []);
}
