/**
 * Shared set-up for the Cloud Tasks emulator tests: an emulator on free ports, the official
 * client pointed at it, and a local receiver that records what the emulator delivers.
 */
import { CloudTasksClient } from '@google-cloud/tasks';
import { grpc } from 'google-gax';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  startCloudTasksEmulator,
  type CloudTasksEmulator,
  type CloudTasksEmulatorOptions,
} from '../../../emulators/cloud-tasks';

// The client would otherwise probe for a GCE metadata server it does not need.
process.env['METADATA_SERVER_DETECTION'] = 'none';

export const PROJECT = 'emulator-test';
export const LOCATION = 'us-central1';
export const LOCATION_PATH = `projects/${PROJECT}/locations/${LOCATION}`;
export const queuePath = (id: string): string => `${LOCATION_PATH}/queues/${id}`;

export interface Harness {
  emulator: CloudTasksEmulator;
  client: CloudTasksClient;
  stop(): Promise<void>;
}

export async function startHarness(options: CloudTasksEmulatorOptions = {}): Promise<Harness> {
  const emulator = await startCloudTasksEmulator({ grpcPort: 0, httpPort: 0, ...options });
  const client = new CloudTasksClient({
    apiEndpoint: '127.0.0.1',
    port: emulator.grpcPort,
    sslCreds: grpc.credentials.createInsecure(),
  });
  return {
    emulator,
    client,
    stop: async () => {
      await client.close();
      await emulator.stop();
    },
  };
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() on arrival. */
  at: number;
  /** Set when the emulator gave up on the request (the dispatch deadline passed). */
  aborted: boolean;
}

/** What the receiver answers: a status, or `'hang'` to never answer. */
export type Respond = (request: ReceivedRequest, index: number) => number | 'hang';

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  stop(): Promise<void>;
}

export async function startReceiver(respond: Respond = () => 200): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
        aborted: false,
      };
      const index = requests.length;
      const answer = respond(received, index);
      if (answer === 'hang') {
        hanging.add(res);
        res.on('close', () => {
          received.aborted = !res.writableEnded;
          hanging.delete(res);
        });
        requests.push(received);
        return;
      }
      res.writeHead(answer, { 'Content-Type': 'text/plain' }).end('ok');
      requests.push(received);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/task`,
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface EmulatorAndReceiver {
  h: Harness;
  receiver: Receiver;
}

/**
 * Starts a receiver and an emulator before the suite and stops both after it. The fields are
 * filled in beforeAll, so read them inside tests.
 */
export function useEmulatorAndReceiver(
  options: CloudTasksEmulatorOptions = {},
  respond?: Respond,
): EmulatorAndReceiver {
  const setup = {} as EmulatorAndReceiver;
  beforeAll(async () => {
    setup.receiver = await startReceiver(respond);
    setup.h = await startHarness(options);
  });
  afterAll(async () => {
    await setup.h.stop();
    await setup.receiver.stop();
  });
  return setup;
}

/** The gRPC status code of a rejected call, or undefined if the call succeeded. */
export async function codeOf(call: Promise<unknown>): Promise<{ code?: number; message: string }> {
  try {
    await call;
    return { message: 'no error' };
  } catch (err) {
    const e = err as { code?: number; details?: string; message: string };
    return { code: e.code, message: e.details ?? e.message };
  }
}

export const Status = grpc.status;
