// The fixture first: it must come before anything that loads the BigQuery client.
import {
  ADA,
  blobsTable,
  demoSeed,
  MiB,
  rejection,
  TEN_MIB_COST,
  useBigQueryExecutors,
} from './fixture';
import {
  createBigQueryClient,
  createBigQueryWarehouse,
} from '../../../src/adapters/bigquery/bigquery-warehouse';
import { createRecordSink } from '../../../src/app/record-sets';
import { createBigQueryExecutors } from '../../../src/executors/bigquery';
import { executorContext, executorNamed } from '../../helpers/executor-context';
import { createMemoryRecordStore } from '../../helpers/memory-record-store';
import type { Warehouse } from '../../../src/ports/warehouse';

/** The emulator's clock: a job is DONE once it has moved MIN_JOB_MS past the job's creation. */
const clock = { time: Date.parse('2026-05-01T09:00:00Z'), now: (): number => clock.time };
const MIN_JOB_MS = 1500;
const PROJECT = 'bqx-long-jobs';

const f = useBigQueryExecutors(PROJECT, {
  emulator: {
    clock,
    minJobMs: MIN_JOB_MS,
    streamingBufferSeconds: 600,
    seed: demoSeed([blobsTable()]),
  },
  executors: { quickWaitMs: 150, pollIntervalSeconds: 45 },
});
const config = { table: 'crm.contacts', column: 'email', identifier: 'email' };

/** Through tabledata.list: queries are jobs, and jobs here wait for the clock. */
async function countRows(table = 'contacts', field = 'email'): Promise<number> {
  const [rows] = await f.emu.bigquery
    .dataset('crm')
    .table(table)
    .getRows({ selectedFields: field });
  return rows.length;
}

describe('long jobs', () => {
  it('answers waiting with a handle, then poll answers waiting, then succeeded with the cost', async () => {
    const waiting = await f.run('bigquery.delete', config);
    expect(await countRows()).toBe(4);
    expect(waiting).toMatchObject({
      outcome: 'waiting',
      cost: { bytesBilled: 0, usd: 0 },
      pollAfterSeconds: 45,
      evidence: { touched: [`${PROJECT}.crm.contacts`], jobIds: [expect.stringMatching(/^dsr_/)] },
    });
    const handle = waiting.handle ?? '';
    const jobId = waiting.evidence?.jobIds?.[0];
    expect(JSON.parse(handle)).toEqual({
      v: 2,
      done: [],
      current: { table: `${PROJECT}.crm.contacts`, phase: 'change', jobId, location: 'US' },
    });

    clock.time += MIN_JOB_MS - 1;
    expect(await f.poll('bigquery.delete', config, handle)).toMatchObject({
      outcome: 'waiting',
      handle,
    });
    clock.time += 1;
    // The change is done (its 10 MiB is this step's); the count that verifies it now runs.
    const verifying = await f.poll('bigquery.delete', config, handle);
    expect(verifying).toMatchObject({ outcome: 'waiting', cost: TEN_MIB_COST });
    expect(await countRows()).toBe(2);
    expect(JSON.parse(verifying.handle ?? '')).toMatchObject({
      current: { phase: 'verify', rows: 2 },
    });
    clock.time += MIN_JOB_MS;
    const done = await f.poll('bigquery.delete', config, verifying.handle ?? '');
    expect(done).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 2,
      cost: TEN_MIB_COST,
      evidence: { jobIds: [jobId, expect.stringMatching(/^dsr_/)], remainingRows: 0 },
    });
  });

  it('loses nothing across a restart: a fresh client and executors finish the job from the handle', async () => {
    const waiting = await f.run('bigquery.delete', config);
    clock.time += MIN_JOB_MS;
    const executors = createBigQueryExecutors({
      warehouse: createBigQueryWarehouse(createBigQueryClient(PROJECT, f.emu.emulator.url)),
      defaultProjectId: PROJECT,
      records: createRecordSink(createMemoryRecordStore()),
    });
    const executor = executorNamed(executors, 'bigquery.delete');
    const poll = (handle: string) =>
      executor.poll?.({ ...executorContext(executor, config, { subject: ADA }), handle });
    const verifying = await poll(waiting.handle ?? '');
    clock.time += MIN_JOB_MS;
    expect(await poll(verifying?.handle ?? '')).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 2,
    });
  });

  it('finishes within run when the job is done during the brief wait', async () => {
    // The job's time passes as soon as it exists, so it is done by the executor's first check
    // within its brief wait (a condition, not a timer racing the job's creation).
    const warehouse: Warehouse = {
      startQuery: async (query) => {
        const job = await f.warehouse.startQuery(query);
        clock.time += MIN_JOB_MS;
        return job;
      },
      getJob: (jobId, location) => f.warehouse.getJob(jobId, location),
      getRows: (jobId, location, page) => f.warehouse.getRows(jobId, location, page),
      estimate: (query) => f.warehouse.estimate(query),
      getTable: (table) => f.warehouse.getTable(table),
      listTables: (dataset, prefix) => f.warehouse.listTables(dataset, prefix),
    };
    const executor = executorNamed(
      createBigQueryExecutors({
        warehouse,
        defaultProjectId: PROJECT,
        quickWaitMs: 150,
        records: createRecordSink(createMemoryRecordStore()),
      }),
      'bigquery.delete',
    );
    const result = await executor.run(executorContext(executor, config, { subject: ADA }));
    expect(result).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 2,
      cost: { bytesBilled: 20 * 2 ** 20, usd: 0.000119209 },
    });
  });

  it('exports a long SELECT once polled', async () => {
    const waiting = await f.run('bigquery.export', { ...config, selectColumns: ['name'] });
    expect(waiting.outcome).toBe('waiting');
    clock.time += MIN_JOB_MS;
    const done = await f.poll(
      'bigquery.export',
      { ...config, selectColumns: ['name'] },
      waiting.handle ?? '',
    );
    expect(done).toMatchObject({
      outcome: 'succeeded',
      output: { records: { columns: ['name'], rowCount: 2 } },
    });
    expect((await f.exported(done)).rows).toEqual([{ name: 'Ada' }, { name: 'Ada L' }]);
  });

  it('reports the bytes-billed cap when polled, changing nothing', async () => {
    const capped = {
      table: 'crm.blobs',
      column: 'owner_id',
      identifier: 'userId',
      maxBytesBilled: 10 * MiB,
    };
    const waiting = await f.run('bigquery.delete', capped);
    clock.time += MIN_JOB_MS;
    const err = await rejection(f.poll('bigquery.delete', capped, waiting.handle ?? ''));
    expect(err).toMatchObject({ name: 'PermanentError', code: 'bigquery.bytes_billed_limit' });
    expect(err.message).toContain(
      `BigQuery job ${waiting.evidence?.jobIds?.[0]} would bill at least`,
    );
    expect(await countRows('blobs', 'owner_id')).toBe(11);
  });

  it('reports the streaming buffer when polled, retryable after the default delay', async () => {
    await f.emu.bigquery
      .dataset('crm')
      .table('contacts')
      .insert([{ email: 'eve@example.com' }]);
    const eve = { subject: { email: 'eve@example.com' } };
    const waiting = await f.run('bigquery.delete', config, eve);
    clock.time += MIN_JOB_MS;
    const err = await rejection(f.poll('bigquery.delete', config, waiting.handle ?? ''));
    expect(err).toMatchObject({ code: 'bigquery.streaming_buffer', retryAfterSeconds: 5400 });
    expect(await countRows()).toBe(5);
  });
});
