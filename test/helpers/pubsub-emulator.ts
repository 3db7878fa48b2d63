import { spawn } from 'node:child_process';
import { freePort } from './free-port';
import { stopProcessGroup } from './firestore-emulator';
import { waitFor } from './wait-for';

/**
 * The real Pub/Sub emulator (`gcloud beta emulators pubsub start`, the
 * google-cloud-cli-pubsub-emulator package; it needs Java, as the Firestore emulator does), for
 * the lifecycle-event tests and the local stack. Like the Firestore emulator it runs in a
 * process group of its own (gcloud starts a script that starts Java) and is stopped by
 * signalling the group. Its admin calls (topics, subscriptions, pull) go over its REST API.
 */
export interface PubSubEmulator extends PubSubAdmin {
  /** `127.0.0.1:PORT`, the value for PUBSUB_EMULATOR_HOST. */
  host: string;
  pid: number;
  stop(): Promise<void>;
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

const running = new Set<PubSubEmulator>();

export async function startPubSubEmulator({
  readyTimeoutMs = 60_000,
  attempts = 3,
}: { readyTimeoutMs?: number; attempts?: number } = {}): Promise<PubSubEmulator> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(await freePort(), readyTimeoutMs);
    } catch (err) {
      const portTaken =
        err instanceof Error && /address already in use|BindException/i.test(err.message);
      if (!portTaken || attempt >= attempts) throw err;
    }
  }
}

async function startOnce(port: number, readyTimeoutMs: number): Promise<PubSubEmulator> {
  const host = `127.0.0.1:${port}`;
  const child = spawn('gcloud', ['beta', 'emulators', 'pubsub', 'start', `--host-port=${host}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
  });
  let exit: string | undefined;
  child.on('error', (err) => (exit = `failed to start: ${err.message}`));
  child.on('exit', (code, signal) => (exit = `exited (${signal ?? code})`));
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error('could not spawn gcloud (is the Google Cloud SDK installed?)');
  }
  child.unref();
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000);
    });
    (stream as unknown as { unref?: () => void }).unref?.();
  }
  const killOnExit = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);

  const emulator: PubSubEmulator = {
    ...pubSubAdmin(host),
    host,
    pid,
    async stop() {
      running.delete(emulator);
      process.removeListener('exit', killOnExit);
      await stopProcessGroup(pid);
    },
  };
  running.add(emulator);
  try {
    await waitFor(
      async () => {
        if (exit !== undefined) {
          throw new Error(`Pub/Sub emulator ${exit} before it was ready:\n${output}`);
        }
        return isReady(host);
      },
      (ready) => ready,
      { timeoutMs: readyTimeoutMs, intervalMs: 50, what: `the Pub/Sub emulator on ${host}` },
    );
  } catch (err) {
    await emulator.stop();
    throw err;
  }
  return emulator;
}

async function isReady(host: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
    return res.ok && (await res.text()).trim() === 'Ok';
  } catch {
    return false;
  }
}

/** Fails the suite if a Pub/Sub emulator this test file started is still running. */
export function guardPubSubLeaks(): void {
  const before = new Set(running);
  afterAll(async () => {
    const leaked = [...running].filter((e) => !before.has(e));
    await Promise.all(leaked.map((e) => e.stop()));
    if (leaked.length > 0) {
      throw new Error(
        `left running: Pub/Sub emulator(s) on ${leaked.map((e) => e.host).join(', ')}`,
      );
    }
  });
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
