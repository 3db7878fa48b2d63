import { createStructuredLogger } from '../../../src/adapters/cloud-logging/structured-logger';
import { isFlushPayload } from '../../../src/app/batch-arm';
import { runFlush } from '../../../src/app/batch-flush';
import { DEFAULT_SETTINGS, type AppDeps } from '../../../src/app/deps';
import { dispatch } from '../../../src/app/dispatch';
import { createRecordSink } from '../../../src/app/record-sets';
import { fileRequest } from '../../../src/app/requests';
import { runInstance } from '../../../src/app/run-instance';
import { registerTask } from '../../../src/app/tasks';
import { RetryableError } from '../../../src/domain/errors';
import { builtInExecutors } from '../../../src/executors';
import { createBigQueryExecutors } from '../../../src/executors/bigquery';
import { SUBJECTS_PARAM } from '../../../src/executors/bigquery/match';
import { MATCHED_ALIAS, SUBJECT_VALUE_ALIAS } from '../../../src/executors/bigquery/sql';
import type { Logger } from '../../../src/ports/logger';
import type { EnqueueInput, TaskQueue } from '../../../src/ports/task-queue';
import type { JsonValue, Warehouse, WarehouseJob } from '../../../src/ports/warehouse';
import { createMemoryRecordStore } from '../../helpers/memory-record-store';
import { createMemoryBatchStore } from './memory-batch-store';
import { createMemoryStore } from './memory-store';

const GIB = 1024 ** 3;

/**
 * Drives batched BigQuery deletions through the real use cases (join, flush, the members'
 * polls) with the real structured logger, and returns every line written. Only the stores, the
 * queue, the clock and the warehouse are stand-ins: the warehouse bills a whole 200 GiB table
 * per DELETE and 2 GiB per grouped count, and `crm.audit` is unavailable throughout.
 * - api: two batched bigquery.delete tasks, four deletion requests;
 * - run-task: `events-erasure` (3 subjects a batch) fills a batch, which flushes at once, and
 *   opens a second one (batch.joined, batch.flush_started, batch.flushed);
 * - the second batch's flush task is lost: dispatch, run every 5 minutes, finds the batch past
 *   its dueAt and arms its flush again (batch.rearmed, batchesRearmed), which flushes it;
 * - run-task: `audit-erasure` (2 attempts) gathers all four; its flush fails, is retried
 *   (batch.flush_failed), fails again and fails the batch (batch.failed), and every member's
 *   run with it.
 */
export async function captureBatchLogLines(): Promise<string[]> {
  const lines: string[] = [];
  const logger = (service: string): Logger =>
    createStructuredLogger({
      projectId: 'infra-test',
      service: { name: service, revision: `${service}-00001-abc` },
      write: (line) => lines.push(line),
    });
  let now = new Date('2031-04-01T09:00:00.000Z');
  const advance = (ms: number) => {
    now = new Date(now.getTime() + ms);
  };

  // A Cloud Task is held until its scheduleTime; names are unique, as Cloud Tasks keeps them.
  // The flush the second batch of a period arms when it opens is lost (a purged queue).
  const held: { at: number; input: EnqueueInput }[] = [];
  const names = new Set<string>();
  const queue: TaskQueue = {
    enqueue: async (input) => {
      if (names.has(input.taskName)) return 'exists';
      names.add(input.taskName);
      if (!input.taskName.endsWith('-2-due')) {
        held.push({ at: input.scheduleTime?.getTime() ?? now.getTime(), input });
      }
      return 'created';
    },
  };

  // Every subject has two rows in each table until a DELETE names it.
  const deleted = new Set<string>();
  const results = new Map<string, Array<Record<string, JsonValue>>>();
  let jobs = 0;
  const job = (bytesBilled: number, affectedRows?: number): WarehouseJob => ({
    jobId: `job-${++jobs}`,
    location: 'EU',
    done: true,
    bytesProcessed: bytesBilled,
    bytesBilled,
    ...(affectedRows === undefined ? {} : { affectedRows }),
  });
  const warehouse: Warehouse = {
    startQuery: async ({ sql, params }) => {
      if (sql.includes('.crm.audit`')) {
        throw new RetryableError('BigQuery answered 503 for crm.audit', {
          code: 'bigquery.unavailable',
        });
      }
      const subjects = (params[SUBJECTS_PARAM] ?? []) as string[];
      const present = subjects.filter((s) => !deleted.has(s));
      if (/^\s*DELETE\b/i.test(sql)) {
        advance(20_000);
        for (const s of present) deleted.add(s);
        return job(200 * GIB, present.length * 2);
      }
      advance(2_000);
      const counted = job(2 * GIB);
      results.set(
        counted.jobId,
        present.map((s) => ({ [SUBJECT_VALUE_ALIAS]: s, [MATCHED_ALIAS]: 2 })),
      );
      return counted;
    },
    getJob: async (jobId) => ({ ...job(0), jobId }),
    getRows: async (jobId) => {
      const rows = results.get(jobId) ?? [];
      return { columns: [SUBJECT_VALUE_ALIAS, MATCHED_ALIAS], rows, totalRows: rows.length };
    },
    estimate: async () => ({ bytesProcessed: 200 * GIB }),
    getTable: async () => ({ fields: [{ name: 'email', type: 'STRING', mode: 'NULLABLE' }] }),
    listTables: async () => [],
  };

  const base: Omit<AppDeps, 'log'> = {
    store: createMemoryStore(),
    queue,
    clock: { now: () => new Date(now) },
    executors: builtInExecutors({
      secrets: () => undefined,
      extra: createBigQueryExecutors({
        warehouse,
        defaultProjectId: 'infra-test',
        records: createRecordSink(createMemoryRecordStore()),
        now: () => new Date(now),
      }),
    }),
    settings: DEFAULT_SETTINGS,
    batches: createMemoryBatchStore(),
  };
  const api: AppDeps = { ...base, log: logger('api') };
  const runTask: AppDeps = { ...base, log: logger('run-task') };
  const reconciler: AppDeps = { ...base, log: logger('dispatch') };

  const ADMIN = { identity: 'admin@example.com' };
  for (const [id, table, maxSubjects, maxAttempts] of [
    ['events-erasure', 'crm.events', 3, 3],
    ['audit-erasure', 'crm.audit', 100, 2],
  ] as const) {
    await registerTask(
      api,
      {
        id,
        name: `Batched deletion from ${table}`,
        jobType: 'deletion',
        executor: 'bigquery.delete',
        config: {
          table,
          identifier: 'email',
          match: { path: 'email', normalise: 'email' },
          batch: { maxSubjects, maxWaitSeconds: 600 },
        },
        timeoutSeconds: 120,
        maxAttempts,
        retryPolicy: { minBackoffSeconds: 10, maxBackoffSeconds: 60, maxDoublings: 2 },
      },
      ADMIN,
    );
  }
  for (const name of ['ada', 'grace', 'edsger', 'barbara']) {
    await fileRequest(
      api,
      { type: 'deletion', subject: { email: `${name}@example.com` } },
      { identity: 'infra-test' },
    );
  }
  await dispatch(reconciler);

  // Deliver every Cloud Task when it is due, one at a time, moving the clock to the next one;
  // Cloud Scheduler calls dispatch every 5 minutes on the way.
  let nextDispatch = now.getTime() + 5 * 60_000;
  for (let step = 0; held.length > 0; step++) {
    if (step > 500) throw new Error(`batch capture did not settle: ${held.length} tasks left`);
    held.sort((a, b) => a.at - b.at);
    const next = held.shift();
    if (next === undefined) break;
    while (nextDispatch <= next.at) {
      now = new Date(Math.max(now.getTime(), nextDispatch));
      nextDispatch += 5 * 60_000;
      await dispatch(reconciler);
    }
    if (next.at > now.getTime()) now = new Date(next.at);
    const { body, taskName } = next.input;
    const answer = isFlushPayload(body)
      ? await runFlush(runTask, body)
      : await runInstance(runTask, body, { taskName, retryCount: 0, executionCount: 1 });
    if (answer.status === 503) {
      held.push({ at: now.getTime() + (answer.retryAfterSeconds ?? 10) * 1000, input: next.input });
    }
  }
  return lines;
}
