import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from './clock';
import { createTaskIdGenerator } from './ids';
import { OidcSigner } from './oidc';
import type { PQueue } from './proto-types';
import { startGrpcServer } from './grpc-server';
import { createRestServer } from './rest-server';
import { CloudTasksService } from './service';

export { ManualClock, systemClock, type Clock, type TimerHandle } from './clock';
export type { PQueue as QueueInput } from './proto-types';
export { backoffMs, retriesExhausted, type RetryPolicy } from './backoff';
export { formatEta } from './dispatch-headers';

export interface CloudTasksEmulatorOptions {
  /** gRPC port on 127.0.0.1; 0 (the default) picks a free one. */
  grpcPort?: number;
  /** HTTP port (REST, OIDC keys, emulator hooks); 0 (the default) picks a free one. */
  httpPort?: number;
  /**
   * Queues to create at start and again on every reset: full names, or Queue objects in the
   * client's shape (`{ name, rateLimits, retryConfig }`).
   */
  queues?: Array<string | PQueue>;
  /** Time source for schedules, backoff, deadlines, rate limits and windows. Default: real time. */
  clock?: Clock;
  /** Makes generated task ids a repeatable sequence. Default: random. */
  taskIdSeed?: number;
  /** How long a deleted or completed task's name stays taken. Default 1 hour. */
  nameReservationMs?: number;
  /**
   * How long a deleted queue's name cannot be created again (CreateQueue then answers
   * FAILED_PRECONDITION). Default 7 days, as the service; 0 makes names reusable at once.
   * `reset()` clears it either way.
   */
  queueNameReservationMs?: number;
}

export interface CloudTasksEmulator {
  grpcPort: number;
  httpPort: number;
  /** Stops dispatching, aborts attempts in flight and closes both ports. */
  stop(): Promise<void>;
  /** Drops all queues, tasks and name reservations, then recreates the configured queues. */
  reset(): void;
  /** The `iss` of the OIDC tokens it signs; its keys are at `${issuer}/jwks`. */
  issuer: string;
  /**
   * An OIDC ID token for `email` and `audience`, signed with the emulator's key: what Cloud
   * Scheduler would attach when calling a target as that service account (local stacks use it
   * for their scheduler stand-in).
   */
  signIdToken(email: string, audience: string): string;
  /** Resolves once nothing is pending or running in `queue` (a full name), or in every queue. */
  waitForIdle(queue?: string, options?: { timeoutMs?: number }): Promise<void>;
}

/** Starts a Cloud Tasks v2 emulator: gRPC for the official client, REST for gcloud. */
export async function startCloudTasksEmulator(
  options: CloudTasksEmulatorOptions = {},
): Promise<CloudTasksEmulator> {
  const clock = options.clock ?? systemClock;
  const signer = await OidcSigner.create(clock);
  const service = new CloudTasksService({
    clock,
    signer,
    nextTaskId: createTaskIdGenerator(options.taskIdSeed),
    reservationWindowMs: options.nameReservationMs ?? 3_600_000,
    queueReservationWindowMs: options.queueNameReservationMs ?? 7 * 24 * 3_600_000,
    initialQueues: (options.queues ?? []).map((q) => (typeof q === 'string' ? { name: q } : q)),
  });
  const reset = (): void => service.reset();
  const grpc = await startGrpcServer(service, options.grpcPort ?? 0);
  const http = createRestServer({ service, signer, reset });
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.httpPort ?? 0, '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    grpc.server.forceShutdown();
    service.stop();
    throw err;
  }
  const httpPort = (http.address() as AddressInfo).port;
  signer.issuer = `http://127.0.0.1:${httpPort}`;

  let stopped: Promise<void> | undefined;
  return {
    grpcPort: grpc.port,
    httpPort,
    issuer: signer.issuer,
    signIdToken: (email, audience) => signer.token(email, audience),
    reset,
    waitForIdle: (queue, opts) => service.waitForIdle(queue, opts?.timeoutMs),
    stop: () => {
      stopped ??= (async () => {
        service.stop();
        grpc.server.forceShutdown();
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      })();
      return stopped;
    },
  };
}
