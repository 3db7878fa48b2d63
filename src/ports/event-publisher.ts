import type { LifecycleEvent } from '../domain/lifecycle-events';

/**
 * Sends one lifecycle event as a CloudEvent (binary content mode). Resolves once the broker
 * accepted it; rejects otherwise (the outbox keeps it for the next try).
 */
export interface EventPublisher {
  publish(event: LifecycleEvent): Promise<void>;
}
