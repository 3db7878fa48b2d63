import { PubSub, type Topic } from '@google-cloud/pubsub';
import { RetryableError } from '../../domain/errors';
import { ceTypeOf, type LifecycleEvent } from '../../domain/lifecycle-events';
import type { EventPublisher } from '../../ports/event-publisher';

/** The CloudEvents spec version the attributes follow. */
export const CE_SPEC_VERSION = '1.0';

/**
 * A Pub/Sub client: on the emulator when `emulatorHost` is given (PUBSUB_EMULATOR_HOST; the
 * client also reads that variable itself), else on Google Cloud with the ambient credentials.
 */
export function createPubSubClient(projectId: string, emulatorHost?: string): PubSub {
  return new PubSub({
    projectId,
    ...(emulatorHost === undefined ? {} : { apiEndpoint: emulatorHost, emulatorMode: true }),
  });
}

/**
 * The Pub/Sub attributes of a CloudEvent in binary content mode (CloudEvents Pub/Sub protocol
 * binding): each context attribute as `ce-<name>`, the data's media type as `content-type`.
 */
export function cloudEventAttributes(event: LifecycleEvent): Record<string, string> {
  return {
    'ce-specversion': CE_SPEC_VERSION,
    'ce-type': ceTypeOf(event.type),
    'ce-source': event.source,
    'ce-id': event.id,
    'ce-time': event.time,
    'ce-subject': event.subject,
    'content-type': 'application/json',
  };
}

export interface PubSubPublisherOptions {
  /** How long one publish may take before it counts as failed (the outbox keeps the event). */
  publishTimeoutMs?: number;
}

/**
 * Publishes lifecycle events to one topic, in binary content mode: the message's data is the
 * event's data as JSON, its attributes the `ce-*` context. The ordering key is the request id,
 * with message ordering on, so a subscriber with ordering gets a request's events in order.
 * It takes a client and never creates one.
 */
export function createPubSubPublisher(
  client: PubSub,
  topicName: string,
  opts: PubSubPublisherOptions = {},
): EventPublisher {
  const timeoutMs = opts.publishTimeoutMs ?? 10_000;
  let topic: Topic | undefined;
  const topicOf = (): Topic =>
    (topic ??= client.topic(topicName, {
      messageOrdering: true,
      // One event at a time from the outbox: no batching delay, and a bounded call.
      batching: { maxMessages: 1, maxMilliseconds: 0 },
      gaxOpts: { timeout: timeoutMs },
    }));

  return {
    async publish(event) {
      const t = topicOf();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          t.publishMessage({
            data: Buffer.from(JSON.stringify(event.data)),
            attributes: cloudEventAttributes(event),
            orderingKey: event.subject,
          }),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no answer from Pub/Sub within ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
      } catch (err) {
        // A failed publish pauses its ordering key; the outbox sends the event again later.
        t.resumePublishing(event.subject);
        throw new RetryableError(
          `publishing ${event.type} ${event.id} to ${topicName} failed: ${
            err instanceof Error ? err.message.split('\n')[0] : String(err)
          }`,
          { code: 'events.publish_failed', retryAfterSeconds: 60, cause: err },
        );
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
