import { createStructuredLogger } from '../../../src/adapters/cloud-logging/structured-logger';
import { DEFAULT_SETTINGS, type AppDeps } from '../../../src/app/deps';
import { dispatch } from '../../../src/app/dispatch';
import { fileRequest } from '../../../src/app/requests';
import { runInstance } from '../../../src/app/run-instance';
import { registerTask } from '../../../src/app/tasks';
import { builtInExecutors } from '../../../src/executors';
import { errorResponse } from '../../../src/http/error-response';
import type { Logger } from '../../../src/ports/logger';
import type { EnqueueInput, TaskQueue } from '../../../src/ports/task-queue';
import { createMemoryStore } from './memory-store';

const HOUR_MS = 3_600_000;

/**
 * Drives the real use cases with the real structured logger (only the store, queue and clock
 * are stand-ins) and returns every line written, as Cloud Run would ship them:
 * - api: two tasks registered, three requests filed (one due within hours, one long overdue);
 * - dispatch: one run, which reports the at-risk and the overdue request;
 * - run-task: each enqueued attempt run, one succeeding (noop) and one failing for good
 *   (http.request answered 400, a permanent error, with maxAttempts 1);
 * - api: an unhandled error mapped to 500.
 */
export async function captureCodeLogLines(): Promise<string[]> {
  const lines: string[] = [];
  const logger = (service: string): Logger =>
    createStructuredLogger({
      projectId: 'infra-test',
      service: { name: service, revision: `${service}-00001-abc` },
      write: (line) => lines.push(line),
    });
  let now = new Date('2031-03-10T12:00:00.000Z');
  const enqueued: EnqueueInput[] = [];
  const queue: TaskQueue = {
    enqueue: async (input) => {
      enqueued.push(input);
      return 'created';
    },
  };
  const base: Omit<AppDeps, 'log'> = {
    store: createMemoryStore(),
    queue,
    clock: { now: () => new Date(now) },
    executors: builtInExecutors({
      secrets: () => undefined,
      fetch: async () => new Response(null, { status: 400 }),
    }),
    settings: DEFAULT_SETTINGS,
  };
  const api: AppDeps = { ...base, log: logger('api') };
  const runTask: AppDeps = { ...base, log: logger('run-task') };
  const reconciler: AppDeps = { ...base, log: logger('dispatch') };

  await registerTask(api, { id: 'noop-deletion', name: 'Nothing to delete', jobType: 'deletion', executor: 'noop' });
  await registerTask(api, {
    id: 'partner-deletion',
    name: 'Partner API deletion',
    jobType: 'deletion',
    executor: 'http.request',
    config: { url: 'https://partner.invalid/v1/users/delete', method: 'POST' },
    maxAttempts: 1,
  });
  const actor = { identity: 'infra-test' };
  await fileRequest(api, { type: 'deletion', subject: { email: 'on-time@example.com' } }, actor);
  await fileRequest(
    api,
    { type: 'deletion', subject: { email: 'at-risk@example.com' }, dueAt: new Date(now.getTime() + 10 * HOUR_MS).toISOString() },
    actor,
  );
  await fileRequest(
    api,
    {
      type: 'deletion',
      subject: { email: 'overdue@example.com' },
      regulation: 'gdpr',
      receivedAt: new Date(now.getTime() - 40 * 24 * HOUR_MS).toISOString(),
    },
    actor,
  );

  now = new Date(now.getTime() + 60_000);
  await dispatch(reconciler);

  for (const task of enqueued.splice(0)) {
    await runInstance(runTask, task.body, { taskName: task.taskName, retryCount: 0, executionCount: 1 });
  }

  errorResponse(new Error('simulated unhandled error'), api.log);
  return lines;
}
