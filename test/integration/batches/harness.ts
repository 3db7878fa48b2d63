// The emulator fixture first: it makes the BigQuery client's HTTP layer load under Jest.
import { useBigQueryEmulator, type EmulatorFixture } from '../bigquery/emulator-fixture';
import type { Seed } from '../../../emulators/bigquery';
import {
  createBigQueryClient,
  createBigQueryWarehouse,
} from '../../../src/adapters/bigquery/bigquery-warehouse';
import { createStructuredLogger } from '../../../src/adapters/cloud-logging/structured-logger';
import { createFirestoreBatchStore } from '../../../src/adapters/firestore/batch-store';
import { createFirestoreTableLeases } from '../../../src/adapters/firestore/table-leases';
import { isFlushPayload } from '../../../src/app/batch-arm';
import { runFlush } from '../../../src/app/batch-flush';
import { DEFAULT_SETTINGS, type AppDeps } from '../../../src/app/deps';
import { fileRequest } from '../../../src/app/intake';
import { createRecordSink } from '../../../src/app/record-sets';
import { runInstance } from '../../../src/app/run-instance';
import { registerTask } from '../../../src/app/tasks';
import type { Task } from '../../../src/domain/model';
import { builtInExecutors } from '../../../src/executors';
import {
  createBigQueryExecutors,
  type BigQueryExecutorOptions,
} from '../../../src/executors/bigquery';
import { dispatch } from '../../../src/app/dispatch';
import type { BatchStore } from '../../../src/ports/batch-store';
import type { RecordStore } from '../../../src/ports/record-store';
import type { TableLeases } from '../../../src/ports/table-lease';
import type { Warehouse } from '../../../src/ports/warehouse';
import { createMemoryRecordStore } from '../../helpers/memory-record-store';
import { RecordingQueue, type LoggedLine } from '../dispatch/harness';
import { useStore, type StoreFixture } from '../firestore/fixture';

export const FILER = { identity: 'filer@example.com' };
export const T0 = new Date('2030-03-01T12:00:00.000Z');

/** `crm.events`: two rows per subject `s<i>@example.com` (i < subjects), plus other people's. */
export function eventsSeed(subjects: number, others = 5): Seed {
  const rows = [
    ...Array.from({ length: subjects }, (_, i) => [
      { email: `s${i}@example.com`, kind: 'view', n: i },
      { email: `S${i}@Example.com `, kind: 'click', n: i },
    ]).flat(),
    ...Array.from({ length: others }, (_, i) => ({
      email: `other${i}@example.com`,
      kind: 'view',
      n: i,
    })),
  ];
  return {
    datasets: [
      {
        datasetId: 'crm',
        tables: [
          {
            tableId: 'events',
            schema: [
              { name: 'email', type: 'STRING' },
              { name: 'kind', type: 'STRING' },
              { name: 'n', type: 'INT64' },
            ],
            rows,
          },
        ],
      },
    ],
  };
}

/** A Cloud Task the simulated queue still holds. */
interface Held {
  taskName: string;
  at: number;
  body: unknown;
}

export interface BatchFixture {
  emu: EmulatorFixture;
  store: StoreFixture;
  queue: RecordingQueue;
  batches: BatchStore;
  leases: TableLeases;
  warehouse: Warehouse;
  lines: LoggedLine[];
  now: Date;
  /** Where exports keep the records packages. */
  records: RecordStore;
  deps(): AppDeps;
  events(event: string): LoggedLine[];
  /** Registers a bigquery.delete task on crm.events (email, normalised), batching as given. */
  deleteTask(id: string, batch: unknown, extra?: Record<string, unknown>): Promise<Task>;
  /** Files a deletion request for `s<i>@example.com`; returns its id. */
  file(i: number, extra?: Record<string, unknown>): Promise<string>;
  /**
   * Delivers every held Cloud Task as Cloud Tasks would (runTask, flushes included), moving the
   * clock to the next scheduled one when nothing is due, until none is left or `until` holds.
   */
  drain(until?: () => Promise<boolean>, maxSteps?: number): Promise<void>;
  /** Deliveries so far, by kind. */
  delivered: { flushes: string[]; runs: number };
  /** Emails left in crm.events. */
  emails(): Promise<string[]>;
}

/**
 * The use cases on the Firestore emulator and the BigQuery emulator (whose clock is the
 * fixture's), with a simulated Cloud Tasks queue and Cloud Scheduler (dispatch every minute).
 */
export function useBatchFixture(
  projectId: string,
  seed: Seed,
  options: { executors?: Partial<BigQueryExecutorOptions>; streamingBufferSeconds?: number } = {},
): BatchFixture {
  const emu = useBigQueryEmulator(projectId, {
    seed,
    ...(options.streamingBufferSeconds === undefined
      ? {}
      : { streamingBufferSeconds: options.streamingBufferSeconds }),
    clock: { now: () => f.now.getTime() },
  });
  const store = useStore();
  const records = createMemoryRecordStore();
  const held: Held[] = [];
  let consumed = 0;
  let nextDispatch = T0.getTime() + 60_000;
  let executors: ReturnType<typeof builtInExecutors>;
  const f: BatchFixture = {
    emu,
    store,
    queue: new RecordingQueue(),
    batches: undefined as unknown as BatchStore,
    leases: undefined as unknown as TableLeases,
    warehouse: undefined as unknown as Warehouse,
    lines: [],
    now: T0,
    records,
    delivered: { flushes: [], runs: 0 },
    deps: () => ({
      store: store.store,
      queue: f.queue,
      clock: { now: () => new Date(f.now) },
      log: createStructuredLogger({
        projectId: 'test',
        service: { name: 'runTask', revision: 'runTask-1' },
        write: (line) => f.lines.push(JSON.parse(line) as LoggedLine),
      }),
      executors,
      settings: { ...DEFAULT_SETTINGS, leaseGraceSeconds: 10, pollIntervalSeconds: 5 },
      batches: f.batches,
    }),
    events: (event) => f.lines.filter((l) => l.event === event),
    deleteTask: (id, batch, extra = {}) =>
      registerTask(
        f.deps(),
        {
          id,
          name: `delete ${id}`,
          jobType: 'deletion',
          executor: 'bigquery.delete',
          config: {
            table: 'crm.events',
            identifier: 'email',
            match: { path: 'email', normalise: 'email' },
            ...(batch === undefined ? {} : { batch }),
          },
          timeoutSeconds: 120,
          maxAttempts: 3,
          retryPolicy: { minBackoffSeconds: 10, maxBackoffSeconds: 60, maxDoublings: 2 },
          ...extra,
        },
        FILER,
      ),
    async file(i, extra = {}) {
      const { view } = await fileRequest(
        f.deps(),
        {
          type: 'deletion',
          regulation: 'gdpr',
          subject: { email: `s${i}@example.com` },
          ...extra,
        },
        FILER,
      );
      return view.id;
    },
    async drain(until, maxSteps = 200) {
      for (let step = 0; step < maxSteps; step++) {
        if (until !== undefined && (await until())) return;
        if (f.now.getTime() >= nextDispatch) {
          nextDispatch = Math.floor(f.now.getTime() / 60_000) * 60_000 + 60_000;
          await dispatch(f.deps());
        }
        for (const t of f.queue.created.slice(consumed)) {
          held.push({
            taskName: t.taskName,
            at: t.scheduleTime?.getTime() ?? f.now.getTime(),
            body: t.body,
          });
        }
        consumed = f.queue.created.length;
        const now = f.now.getTime();
        const due = held.filter((t) => t.at <= now);
        if (due.length === 0) {
          if (held.length === 0 && until === undefined) return;
          // Cloud Scheduler runs dispatch every minute; a quiet queue skips straight to its next task.
          f.now = new Date(held.length === 0 ? nextDispatch : Math.min(...held.map((t) => t.at)));
          continue;
        }
        for (const t of due) held.splice(held.indexOf(t), 1);
        const deps = f.deps();
        await Promise.all(
          due.map(async (t) => {
            const answer = isFlushPayload(t.body)
              ? (f.delivered.flushes.push(t.taskName), await runFlush(deps, t.body))
              : ((f.delivered.runs += 1),
                await runInstance(deps, t.body, { taskName: t.taskName }));
            if (answer.status === 503) {
              held.push({ ...t, at: now + (answer.retryAfterSeconds ?? 10) * 1000 });
            }
          }),
        );
      }
      if (until !== undefined && !(await until())) throw new Error('drain: condition not met');
    },
    async emails() {
      const [rows] = await emu.bigquery.query('SELECT email FROM crm.events ORDER BY email');
      return (rows as { email: string }[]).map((r) => r.email);
    },
  };
  beforeAll(() => {
    const client = createBigQueryClient(projectId, emu.emulator.url.replace(/^http:\/\//, ''));
    f.warehouse = createBigQueryWarehouse(client, { streamingBufferRetrySeconds: 120 });
    f.batches = createFirestoreBatchStore(store.fs.db);
    f.leases = createFirestoreTableLeases(store.fs.db, { now: () => new Date(f.now) });
    executors = builtInExecutors({
      secrets: () => undefined,
      extra: createBigQueryExecutors({
        warehouse: f.warehouse,
        defaultProjectId: projectId,
        records: createRecordSink(records),
        leases: f.leases,
        now: () => new Date(f.now),
        ...options.executors,
      }),
    });
  });
  beforeEach(() => {
    emu.emulator.reset();
    f.queue = new RecordingQueue();
    held.splice(0);
    consumed = 0;
    nextDispatch = T0.getTime() + 60_000;
    f.lines.splice(0);
    f.now = T0;
    f.delivered = { flushes: [], runs: 0 };
  });
  return f;
}
