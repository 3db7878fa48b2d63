import { CloudTasksClient } from '@google-cloud/tasks';
import { grpc } from 'google-gax';
import { PermanentError, RetryableError } from '../../domain/errors';
import type { Config } from '../../config';
import type { EnqueueInput, EnqueueResult, TaskQueue } from '../../ports/task-queue';

export interface CloudTasksQueueOptions {
  projectId: string;
  location: string;
  queueId: string;
  /** The run-task function's URL: every task is an HTTP POST there. */
  targetUrl: string;
  /** Cloud Tasks signs an OIDC token as this service account... */
  invokerServiceAccount: string;
  /** ...for this audience (default: the target URL). */
  audience?: string;
}

/** The queue's options as the deployed config gives them (the composition root and the infra test). */
export function cloudTasksQueueOptions(
  config: Pick<
    Config,
    'projectId' | 'location' | 'queueId' | 'runTaskUrl' | 'invokerServiceAccount' | 'oidcAudience'
  >,
): CloudTasksQueueOptions {
  return {
    projectId: config.projectId,
    location: config.location,
    queueId: config.queueId,
    targetUrl: config.runTaskUrl,
    invokerServiceAccount: config.invokerServiceAccount,
    audience: config.oidcAudience,
  };
}

const RETRYABLE_CODES = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.ABORTED,
  grpc.status.INTERNAL,
  grpc.status.UNKNOWN,
  grpc.status.CANCELLED,
]);

/** Creates the SDK client: against the emulator (plain gRPC) when a host is given. */
export function createCloudTasksClient(emulatorHost?: string): CloudTasksClient {
  if (emulatorHost === undefined || emulatorHost === '') return new CloudTasksClient();
  const [host, port] = splitHost(emulatorHost);
  return new CloudTasksClient({
    apiEndpoint: host,
    port,
    sslCreds: grpc.credentials.createInsecure(),
  });
}

/** The TaskQueue port on Cloud Tasks: one HTTP task per instance attempt, with an OIDC token. */
export function createCloudTasksQueue(
  client: CloudTasksClient,
  options: CloudTasksQueueOptions,
): TaskQueue {
  const parent = client.queuePath(options.projectId, options.location, options.queueId);
  return {
    async enqueue(input: EnqueueInput): Promise<EnqueueResult> {
      const scheduleTime = input.scheduleTime ?? new Date();
      try {
        await client.createTask({
          parent,
          task: {
            name: `${parent}/tasks/${input.taskName}`,
            scheduleTime: {
              seconds: Math.floor(scheduleTime.getTime() / 1000),
              nanos: (scheduleTime.getTime() % 1000) * 1e6,
            },
            dispatchDeadline: { seconds: input.dispatchDeadlineSeconds },
            httpRequest: {
              url: options.targetUrl,
              httpMethod: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: Buffer.from(JSON.stringify(input.body)),
              oidcToken: {
                serviceAccountEmail: options.invokerServiceAccount,
                audience: options.audience ?? options.targetUrl,
              },
            },
          },
        });
        return 'created';
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === grpc.status.ALREADY_EXISTS) return 'exists';
        const message = `Cloud Tasks refused task ${input.taskName}: ${(err as Error).message}`;
        if (typeof code === 'number' && !RETRYABLE_CODES.has(code)) {
          throw new PermanentError(message, 'queue.rejected', { cause: err });
        }
        throw new RetryableError(message, {
          code: 'queue.unavailable',
          retryAfterSeconds: 30,
          cause: err,
        });
      }
    },
  };
}

function splitHost(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  const port = Number(hostPort.slice(i + 1));
  if (i < 0 || !Number.isInteger(port)) throw new Error(`expected host:port, got ${hostPort}`);
  return [hostPort.slice(0, i), port];
}
