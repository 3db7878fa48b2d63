import type { LifecycleEvent } from '../domain/lifecycle-events';

/** An event waiting in the outbox: written with the request change that caused it. */
export interface PendingEvent {
  event: LifecycleEvent;
  /** When the change was committed (the outbox's order across writes). */
  pendingSince: string;
  /** Its place among the events of the same write. */
  seq: number;
}

/**
 * The lifecycle events' outbox (`outbox/{ceId}`): the store writes events into it atomically
 * with the request change; the publisher reads what is pending and marks what it sent.
 */
export interface EventOutbox {
  /** Pending events, oldest first (by commit, then by their order within the commit). */
  listPending(limit: number): Promise<PendingEvent[]>;
  /** Marks events as published: they leave the pending list. */
  markPublished(ids: readonly string[], at: Date): Promise<void>;
}
