// The emulator fixture first: it makes the BigQuery client's HTTP layer load under Jest.
import { apiError, useBigQueryEmulator, type EmulatorFixture } from '../bigquery/emulator-fixture';
import type { BigQueryEmulatorOptions, Seed } from '../../../emulators/bigquery';
import {
  createBigQueryClient,
  createBigQueryWarehouse,
  type BigQueryWarehouseOptions,
} from '../../../src/adapters/bigquery/bigquery-warehouse';
import type { ConfigIssue, ExecutorContext, ExecutorResult } from '../../../src/executors/contract';
import {
  createBigQueryExecutors,
  type BigQueryExecutorOptions,
} from '../../../src/executors/bigquery';
import type { Warehouse } from '../../../src/ports/warehouse';
import { createRecordSink } from '../../../src/app/record-sets';
import { executorContext, executorNamed } from '../../helpers/executor-context';
import { createMemoryRecordStore } from '../../helpers/memory-record-store';
import { exportedRows, type ExportedRows } from '../../helpers/exported-rows';

export const MiB = 2 ** 20;
/** What BigQuery bills the smallest statement over one table: 10 MiB at $6.25/TiB. */
export const TEN_MIB_COST = { bytesBilled: 10 * MiB, usd: 0.000059605 };

export const ADA = { email: 'ada@example.com', userId: 'u-ada' };

/**
 * A small warehouse. `crm.contacts` has 4 rows, 2 of them Ada's; its size by BigQuery's rules is
 * emails 17+17+17+16, names 5+7+5, timestamps 3×8, visits 3×8 = 132 bytes.
 */
export function demoSeed(extraTables: NonNullable<Seed['datasets']>[number]['tables'] = []): Seed {
  return {
    datasets: [
      {
        datasetId: 'crm',
        tables: [
          {
            tableId: 'contacts',
            schema: [
              { name: 'email', type: 'STRING', mode: 'REQUIRED' },
              { name: 'name', type: 'STRING' },
              { name: 'signed_up', type: 'TIMESTAMP' },
              { name: 'visits', type: 'INT64' },
            ],
            rows: [
              {
                email: ADA.email,
                name: 'Ada',
                signed_up: '2024-01-02T03:04:05.123456Z',
                visits: 3,
              },
              { email: ADA.email, name: 'Ada L', signed_up: '2024-02-01T00:00:00Z', visits: 1 },
              {
                email: 'bob@example.com',
                name: 'Bob',
                signed_up: '2024-03-01T00:00:00Z',
                visits: 7,
              },
              { email: 'cy@example.com' },
            ],
          },
          {
            tableId: 'entries',
            schema: [
              { name: 'owner_id', type: 'STRING' },
              { name: 'owner_email', type: 'STRING' },
              { name: 'note', type: 'STRING' },
            ],
            rows: [
              { owner_id: ADA.userId, owner_email: ADA.email, note: 'first' },
              { owner_id: ADA.userId, owner_email: ADA.email, note: 'second' },
              { owner_id: 'u-bob', owner_email: 'bob@example.com', note: 'third' },
            ],
          },
          ...(extraTables ?? []),
        ],
      },
    ],
  };
}

/** A table of `count` rows of 1 MiB each, all Ada's: any DML over it bills more than 10 MiB. */
export function blobsTable(count = 11) {
  return {
    tableId: 'blobs',
    schema: [
      { name: 'owner_id', type: 'STRING' },
      { name: 'payload', type: 'STRING' },
    ],
    rows: Array.from({ length: count }, () => ({ owner_id: ADA.userId, payload: 'x'.repeat(MiB) })),
  };
}

export interface ExecutorsFixture {
  emu: EmulatorFixture;
  warehouse: Warehouse;
  run(
    name: string,
    config: unknown,
    overrides?: Partial<ExecutorContext<unknown>>,
  ): Promise<ExecutorResult>;
  poll(name: string, config: unknown, handle: string): Promise<ExecutorResult>;
  /** What registration's check of the config against the warehouse finds wrong. */
  check(name: string, config: unknown): Promise<readonly ConfigIssue[]>;
  /** Reads a table through the official client, straight from the emulator. */
  select<T>(sql: string): Promise<T[]>;
  /** An export result's records output, with its rows read back from the record store. */
  exported(result: ExecutorResult): Promise<ExportedRows>;
}

/**
 * An emulator seeded with the demo warehouse (reset before each test), the Warehouse adapter
 * over an official client, and the BigQuery executors; `run`/`poll` call them as run-task would.
 */
export function useBigQueryExecutors(
  projectId: string,
  options: {
    emulator?: BigQueryEmulatorOptions;
    warehouse?: BigQueryWarehouseOptions;
    executors?: Partial<BigQueryExecutorOptions>;
  } = {},
): ExecutorsFixture {
  const emu = useBigQueryEmulator(projectId, { seed: demoSeed(), ...options.emulator });
  let executors: ReturnType<typeof createBigQueryExecutors> = [];
  const records = createMemoryRecordStore();
  const fixture: ExecutorsFixture = {
    emu,
    warehouse: undefined as unknown as Warehouse,
    async run(name, config, overrides = {}) {
      const executor = executorNamed(executors, name);
      return executor.run(executorContext(executor, config, { subject: ADA, ...overrides }));
    },
    async poll(name, config, handle) {
      const executor = executorNamed(executors, name);
      if (executor.poll === undefined) throw new Error(`${name} cannot poll`);
      return executor.poll({ ...executorContext(executor, config, { subject: ADA }), handle });
    },
    async check(name, config) {
      const executor = executorNamed(executors, name);
      const parsed = executor.configSchema.parse(config);
      return (await executor.checkConfig?.(parsed, new AbortController().signal)) ?? [];
    },
    async select<T>(sql: string): Promise<T[]> {
      const [rows] = await emu.bigquery.query(sql);
      return rows as T[];
    },
    // run() gives the executors requestId req-1 and taskId task-1 (executorContext).
    exported: (result) => exportedRows(records, result, { requestId: 'req-1', taskId: 'task-1' }),
  };
  beforeAll(() => {
    // host:port, as BIGQUERY_EMULATOR_HOST is usually written.
    const client = createBigQueryClient(projectId, emu.emulator.url.replace(/^http:\/\//, ''));
    fixture.warehouse = createBigQueryWarehouse(client, options.warehouse);
    executors = createBigQueryExecutors({
      warehouse: fixture.warehouse,
      defaultProjectId: projectId,
      pricePerTiB: 6.25,
      pollIntervalSeconds: 30,
      records: createRecordSink(records),
      ...options.executors,
    });
  });
  beforeEach(() => emu.emulator.reset());
  return fixture;
}

/** The error `promise` rejects with; fails the test if it resolves. */
export const rejection: (promise: Promise<unknown>) => Promise<Error> = apiError;
