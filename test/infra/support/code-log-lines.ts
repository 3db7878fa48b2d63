import { createStructuredLogger } from '../../../src/adapters/cloud-logging/structured-logger';
import { DEFAULT_SETTINGS, type AppDeps } from '../../../src/app/deps';
import { dispatch } from '../../../src/app/dispatch';
import { lifecycleEvents } from '../../../src/domain/lifecycle-events';
import { fileRequest } from '../../../src/app/requests';
import { runInstance } from '../../../src/app/run-instance';
import { registerTask } from '../../../src/app/tasks';
import { pauseTask } from '../../../src/app/task-pause';
import { builtInExecutors } from '../../../src/executors';
import { errorResponse } from '../../../src/http/error-response';
import type { Logger } from '../../../src/ports/logger';
import type { RequestStore } from '../../../src/ports/request-store';
import type { EnqueueInput, TaskQueue } from '../../../src/ports/task-queue';
import { createMemoryStore } from './memory-store';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Drives the real use cases with the real structured logger (only the store, queue, clock and
 * the executors' fetch are stand-ins) and returns every line written, as Cloud Run would ship
 * them:
 * - api: five tasks registered, four requests filed (one due within hours, one long overdue,
 *   one held for identity verification).
 *   `archive-deletion` has a `notBefore` 40 days out, so its instances are parked;
 * - dispatch, run 1: reports the at-risk and the overdue request, and fails to publish the one
 *   pending lifecycle event (Pub/Sub down: events.publish_failed, a backlog line with an age);
 * - dispatch, run 2 publishes it (events.published, a backlog line with none left);
 * - run-task: each enqueued attempt, one succeeding (noop), one failing for good (http.request
 *   answered 400, a permanent error, with maxAttempts 1), and two whose handler hangs
 *   (`slow-export` with an attempt left, `slow-once` without);
 * - dispatch, run 2, ten minutes later: the watchdog expires the hung attempts' leases
 *   (instance.abandoned, then run.finished with outcome abandoned, or run.failed), and one
 *   request's roll-up throws (dispatch.item_failed);
 * - run-task: the hung handlers answer late, and their runs are kept as superseded;
 * - dispatch, run 3, twelve days later: the parked instances come within the Cloud Tasks
 *   horizon (instance.rearmed, reason parked), the retries whose Cloud Task never ran are
 *   created again (reason lost_task), and the request filed pending identity verification has
 *   waited past VERIFICATION_ALERT_HOURS (request.verification_overdue);
 * - dispatch, run 4: a task paused while a request waits on it (task.paused_open);
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
  const t0 = new Date('2031-03-10T12:00:00.000Z');
  let now = t0;
  const advance = (ms: number) => {
    now = new Date(now.getTime() + ms);
  };
  const enqueued: EnqueueInput[] = [];
  const queue: TaskQueue = {
    enqueue: async (input) => {
      enqueued.push(input);
      return 'created';
    },
  };
  // partner.invalid answers 400; slow.invalid answers only when released.
  const hung: (() => void)[] = [];
  const fetchStub: typeof fetch = async (input) => {
    const url = input instanceof Request ? input.url : input.toString();
    if (!url.includes('slow.invalid')) return new Response(null, { status: 400 });
    return new Promise((resolve) => hung.push(() => resolve(new Response(null, { status: 204 }))));
  };
  // One request's roll-up fails once, as a document dispatch cannot read would.
  const memory = createMemoryStore();
  const failRollupOf = new Set<string>();
  const store: RequestStore = {
    ...memory,
    listInstances: async (requestId) => {
      if (failRollupOf.delete(requestId)) throw new Error('simulated unreadable instance');
      return memory.listInstances(requestId);
    },
  };
  const base: Omit<AppDeps, 'log'> = {
    store,
    queue,
    clock: { now: () => new Date(now) },
    executors: builtInExecutors({
      secrets: () => undefined,
      fetch: fetchStub,
      origins: {
        allowedOrigins: ['https://partner.invalid', 'https://slow.invalid'],
        secretOrigins: {},
      },
    }),
    settings: DEFAULT_SETTINGS,
  };
  const api: AppDeps = { ...base, log: logger('api') };
  const ADMIN = { identity: 'admin@example.com' };
  const runTask: AppDeps = { ...base, log: logger('run-task') };
  // Lifecycle events: one pending in the outbox, which Pub/Sub refuses in run 1 and accepts in
  // run 2 (events.publish_failed, then events.outbox_backlog with and without a backlog).
  let eventPublished = false;
  let pubsubUp = false;
  const pendingEvent = lifecycleEvents(
    null,
    {
      id: 'r-events',
      type: 'deletion',
      subject: {},
      subjectHash: '',
      regulation: 'gdpr',
      receivedAt: t0.toISOString(),
      dueAt: t0.toISOString(),
      dryRun: false,
      status: 'in_progress',
      overdue: false,
      createdAt: t0.toISOString(),
      updatedAt: t0.toISOString(),
      createdBy: 'infra-test',
      counts: {},
      cost: { bytesBilled: 0, usd: 0 },
    },
    '//dsr-taskrunner/infra-test',
  ).map((event, seq) => ({ event, seq, pendingSince: t0.toISOString() }));
  const reconciler: AppDeps = {
    ...base,
    log: logger('dispatch'),
    events: {
      outbox: {
        listPending: async () => (eventPublished ? [] : pendingEvent),
        markPublished: async () => void (eventPublished = true),
      },
      publisher: {
        publish: async () => {
          if (!pubsubUp) throw new Error('simulated Pub/Sub outage');
        },
      },
    },
  };

  await registerTask(
    api,
    { id: 'noop-deletion', name: 'Nothing to delete', jobType: 'deletion', executor: 'noop' },
    ADMIN,
  );
  await registerTask(
    api,
    {
      id: 'partner-deletion',
      name: 'Partner API deletion',
      jobType: 'deletion',
      executor: 'http.request',
      config: { url: 'https://partner.invalid/v1/users/delete', method: 'POST' },
      maxAttempts: 1,
    },
    ADMIN,
  );
  for (const [id, maxAttempts] of [
    ['slow-export', 3],
    ['slow-once', 1],
  ] as const) {
    await registerTask(
      api,
      {
        id,
        name: `Slow partner deletion (${id})`,
        jobType: 'deletion',
        executor: 'http.request',
        config: { url: `https://slow.invalid/v1/${id}`, method: 'POST' },
        timeoutSeconds: 60,
        maxAttempts,
      },
      ADMIN,
    );
  }
  await registerTask(
    api,
    {
      id: 'archive-deletion',
      name: 'Archive purge after the backup rotation',
      jobType: 'deletion',
      executor: 'noop',
      notBefore: new Date(t0.getTime() + 40 * DAY_MS).toISOString(),
    },
    ADMIN,
  );
  const actor = { identity: 'infra-test' };
  const onTime = await fileRequest(
    api,
    { type: 'deletion', subject: { email: 'on-time@example.com' } },
    actor,
  );
  await fileRequest(
    api,
    {
      type: 'deletion',
      subject: { email: 'at-risk@example.com' },
      // 10 hours left of a 30-day period: under 25 % of it, so at risk.
      receivedAt: new Date(now.getTime() - 30 * DAY_MS).toISOString(),
      dueAt: new Date(now.getTime() + 10 * HOUR_MS).toISOString(),
    },
    actor,
  );
  // Held for identity verification, and never verified: run 3 warns of it.
  await fileRequest(
    api,
    { type: 'deletion', subject: { email: 'unverified@example.com' }, verification: 'pending' },
    actor,
  );
  await fileRequest(
    api,
    {
      type: 'deletion',
      subject: { email: 'overdue@example.com' },
      regulation: 'gdpr',
      receivedAt: new Date(now.getTime() - 40 * DAY_MS).toISOString(),
    },
    actor,
  );

  advance(60_000);
  await dispatch(reconciler);

  // Every enqueued attempt runs; the slow ones hang after their claim, holding a lease.
  const lateAnswers: Promise<unknown>[] = [];
  for (const task of enqueued.splice(0)) {
    const answer = runInstance(runTask, task.body, {
      taskName: task.taskName,
      retryCount: 0,
      executionCount: 1,
    });
    if (task.taskName.includes('-slow-')) lateAnswers.push(answer);
    else await answer;
  }
  for (let i = 0; hung.length < lateAnswers.length; i++) {
    if (i > 1000)
      throw new Error(`only ${hung.length} of ${lateAnswers.length} slow attempts started`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (lateAnswers.length === 0) throw new Error('no slow attempt was enqueued');

  // Past the leases (60 s timeout + LEASE_GRACE_SECONDS), short of REARM_AFTER_SECONDS.
  advance(10 * 60_000);
  pubsubUp = true;
  failRollupOf.add(onTime.view.id);
  await dispatch(reconciler);
  for (const release of hung.splice(0)) release();
  await Promise.all(lateAnswers);

  // The parked instances' notBefore is now 28 days out, within the 29-day horizon; the
  // retries of slow-export were enqueued but never delivered.
  advance(12 * DAY_MS);
  await dispatch(reconciler);

  // A task paused while a request waits on it: dispatch reports it (task.paused_open).
  await registerTask(
    api,
    { id: 'paused-deletion', name: 'CRM deletion', jobType: 'deletion', executor: 'noop' },
    ADMIN,
  );
  await pauseTask(api, 'paused-deletion', { reason: 'CRM API outage' }, ADMIN);
  await fileRequest(api, { type: 'deletion', subject: { email: 'waiting@example.com' } }, actor);
  advance(60_000);
  await dispatch(reconciler);

  errorResponse(new Error('simulated unhandled error'), api.log);
  return lines;
}
