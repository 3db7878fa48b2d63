import { answersOk, gcloudEmulators, type GcloudEmulator } from './gcloud-emulator';
import { waitFor } from './wait-for';

/**
 * The real Pub/Sub emulator (`gcloud beta emulators pubsub start`, the
 * google-cloud-cli-pubsub-emulator package; it needs Java, as the Firestore emulator does), for
 * the lifecycle-event tests and the local stack. Like the Firestore emulator it runs in a
 * process group of its own (gcloud starts a script that starts Java) and is stopped by
 * signalling the group (see gcloud-emulator.ts). Its admin calls (topics, subscriptions, pull)
 * go over its REST API.
 */
export interface PubSubEmulator extends PubSubAdmin, GcloudEmulator {
  /** `127.0.0.1:PORT`, the value for PUBSUB_EMULATOR_HOST. */
  host: string;
}

/** The emulator's admin and subscriber calls, over its REST API. */
export interface PubSubAdmin {
  createTopic(projectId: string, topic: string): Promise<void>;
  /** A pull subscription; `ordering` enables message ordering (per ordering key). */
  createSubscription(
    projectId: string,
    topic: string,
    subscription: string,
    opts?: { ordering?: boolean },
  ): Promise<void>;
  /** Pulls what is available (up to `max`) and acknowledges it. */
  pull(projectId: string, subscription: string, max?: number): Promise<PulledMessage[]>;
}

export interface PulledMessage {
  messageId: string;
  /** The message's data, decoded from base64 as UTF-8. */
  data: string;
  attributes: Record<string, string>;
  orderingKey?: string;
}

const pubSubEmulators = gcloudEmulators<PubSubEmulator>({
  args: ['beta', 'emulators', 'pubsub', 'start'],
  name: 'Pub/Sub emulator',
  isReady: answersOk,
  build: (started) => ({ ...pubSubAdmin(started.host), ...started }),
});

export function startPubSubEmulator(
  opts: { readyTimeoutMs?: number; attempts?: number } = {},
): Promise<PubSubEmulator> {
  return pubSubEmulators.start(opts);
}

/** Fails the suite if a Pub/Sub emulator this test file started is still running. */
export function guardPubSubLeaks(): void {
  pubSubEmulators.guardLeaks();
}

/** Pulls until `done(all so far)` holds (or the wait times out), acknowledging as it goes. */
export async function pullUntil(
  emulator: PubSubAdmin,
  projectId: string,
  subscription: string,
  done: (messages: readonly PulledMessage[]) => boolean,
  opts: { timeoutMs?: number; what?: string } = {},
): Promise<PulledMessage[]> {
  const all: PulledMessage[] = [];
  await waitFor(
    async () => {
      all.push(...(await emulator.pull(projectId, subscription)));
      return all;
    },
    done,
    { timeoutMs: opts.timeoutMs ?? 20_000, intervalMs: 100, what: opts.what ?? 'messages' },
  );
  return all;
}

/** The REST calls of an emulator at `host` (also the local stack's and `npm run events`'). */
export function pubSubAdmin(host: string): PubSubAdmin {
  const base = `http://${host}/v1/projects`;
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${base}/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`Pub/Sub emulator ${method} ${path}: ${res.status} ${text}`);
    return text === '' ? {} : (JSON.parse(text) as unknown);
  };

  return {
    async createTopic(projectId, topic) {
      await call('PUT', `${projectId}/topics/${topic}`);
    },
    async createSubscription(projectId, topic, subscription, opts = {}) {
      await call('PUT', `${projectId}/subscriptions/${subscription}`, {
        topic: `projects/${projectId}/topics/${topic}`,
        enableMessageOrdering: opts.ordering ?? false,
        ackDeadlineSeconds: 60,
      });
    },
    async pull(projectId, subscription, max = 100) {
      const answer = (await call('POST', `${projectId}/subscriptions/${subscription}:pull`, {
        maxMessages: max,
        returnImmediately: true,
      })) as {
        receivedMessages?: {
          ackId: string;
          message: {
            messageId: string;
            data?: string;
            attributes?: Record<string, string>;
            orderingKey?: string;
          };
        }[];
      };
      const received = answer.receivedMessages ?? [];
      if (received.length > 0) {
        await call('POST', `${projectId}/subscriptions/${subscription}:acknowledge`, {
          ackIds: received.map((r) => r.ackId),
        });
      }
      return received.map(({ message }) => ({
        messageId: message.messageId,
        data: Buffer.from(message.data ?? '', 'base64').toString('utf8'),
        attributes: message.attributes ?? {},
        ...(message.orderingKey === undefined || message.orderingKey === ''
          ? {}
          : { orderingKey: message.orderingKey }),
      }));
    },
  };
}
