import { PermanentError, RetryableError } from '../../../../src/domain/errors';
import { spendOf, type ExecutorContext, type Executor } from '../../../../src/executors/contract';
import { createBigQueryExecutors } from '../../../../src/executors/bigquery';
import type {
  RowPage,
  RowPageRequest,
  TableInfo,
  Warehouse,
  WarehouseJob,
  WarehouseQuery,
} from '../../../../src/ports/warehouse';
import { createRecordSink } from '../../../../src/app/record-sets';
import type { TableLeases } from '../../../../src/ports/table-lease';
import { executorContext, executorNamed } from '../../../helpers/executor-context';
import { exportedRows } from '../../../helpers/exported-rows';
import { createMemoryRecordStore } from '../../../helpers/memory-record-store';

const MiB = 2 ** 20;
const SUBJECT = "o'brien@example.com";

/** A warehouse in memory: jobs finish after `checksUntilDone` getJob calls. */
class FakeWarehouse implements Warehouse {
  queries: WarehouseQuery[] = [];
  estimates: Array<Pick<WarehouseQuery, 'sql' | 'params'>> = [];
  checksUntilDone = 0;
  affectedRows = 2;
  /** What verification COUNTs answer, in turn (the last one repeats). */
  remaining: number[] = [0];
  resultRows: RowPage['rows'] = [];
  /** Table ids `tables.list` answers (for wildcards). */
  tables: string[] = [];
  failOn: string | undefined;
  private checks = new Map<string, number>();
  private counts = 0;

  async getTable(): Promise<TableInfo> {
    return { fields: [{ name: 'email', type: 'STRING', mode: 'NULLABLE' }] };
  }
  async listTables(_dataset: unknown, prefix: string): Promise<string[]> {
    return this.tables.filter((id) => id.startsWith(prefix));
  }

  async startQuery(query: WarehouseQuery): Promise<WarehouseJob> {
    if (this.failOn !== undefined && query.sql.includes(this.failOn)) {
      throw new PermanentError(`refused: ${this.failOn}`, 'bigquery.invalid_query');
    }
    this.queries.push(query);
    const jobId = `job_${this.queries.length}`;
    this.checks.set(jobId, 0);
    return this.job(jobId, query.sql);
  }
  async getJob(jobId: string): Promise<WarehouseJob> {
    this.checks.set(jobId, (this.checks.get(jobId) ?? 0) + 1);
    return this.job(jobId, this.queries[Number(jobId.slice(4)) - 1]?.sql ?? '');
  }
  async getRows(jobId: string, _location: string, page: RowPageRequest): Promise<RowPage> {
    const sql = this.queries[Number(jobId.slice(4)) - 1]?.sql ?? '';
    if (sql.startsWith('SELECT COUNT')) {
      const n = this.remaining[Math.min(this.counts++, this.remaining.length - 1)] ?? 0;
      return { columns: ['remaining_rows'], rows: [{ remaining_rows: n }], totalRows: 1 };
    }
    const start = Number(page.pageToken ?? 0);
    const end = Math.min(start + page.maxResults, this.resultRows.length);
    return {
      columns: ['email', 'n'],
      rows: this.resultRows.slice(start, end),
      totalRows: this.resultRows.length,
      ...(end < this.resultRows.length ? { pageToken: String(end) } : {}),
    };
  }
  async estimate(
    query: Pick<WarehouseQuery, 'sql' | 'params'>,
  ): Promise<{ bytesProcessed: number }> {
    this.estimates.push(query);
    return { bytesProcessed: 10 * MiB + 1 };
  }
  private job(jobId: string, sql: string): WarehouseJob {
    const done = (this.checks.get(jobId) ?? 0) >= this.checksUntilDone;
    return {
      jobId,
      location: 'EU',
      done,
      bytesProcessed: done ? 100 : 0,
      bytesBilled: done ? 10 * MiB : 0,
      ...(done && !sql.startsWith('SELECT') ? { affectedRows: this.affectedRows } : {}),
    };
  }
}

/** Table leases in memory: holder by table (no expiry needed here). */
class MemoryLeases implements TableLeases {
  held = new Map<string, string>();
  async acquire(table: string, holder: string): Promise<boolean> {
    const current = this.held.get(table);
    if (current !== undefined && current !== holder) return false;
    this.held.set(table, holder);
    return true;
  }
  async release(table: string, holder: string): Promise<void> {
    if (this.held.get(table) === holder) this.held.delete(table);
  }
}

function setup(quickWaitMs = 50) {
  const warehouse = new FakeWarehouse();
  const records = createMemoryRecordStore();
  const leases = new MemoryLeases();
  const executors = createBigQueryExecutors({
    leases,
    warehouse,
    defaultProjectId: 'acme-prod',
    pricePerTiB: 6.25,
    pollIntervalSeconds: 45,
    quickWaitMs,
    records: createRecordSink(records),
  });
  const byName = (name: string): Executor => executorNamed(executors, name);
  const ctx = (name: string, config: unknown, extra: Partial<ExecutorContext<unknown>> = {}) =>
    executorContext(byName(name), config, {
      subject: { email: SUBJECT },
      requestId: 'Req-1',
      taskId: 'contacts-delete',
      ...extra,
    });
  return { warehouse, byName, ctx, records, leases };
}

const deleteConfig = { table: 'crm.contacts', column: 'email', identifier: 'email' };

describe('BigQuery executors over a fake warehouse', () => {
  it('names its executors and requires the configured identifier', () => {
    const { byName, ctx } = setup();
    const e = byName('bigquery.delete');
    expect(e.requiredIdentifiers?.(ctx('bigquery.delete', deleteConfig).config)).toEqual(['email']);
    expect(
      ['bigquery.delete', 'bigquery.nullify', 'bigquery.export', 'bigquery.statement'].map(
        (n) => byName(n).name,
      ),
    ).toHaveLength(4);
  });

  it('passes the subject only as the @subject parameter, with the cap and labels', async () => {
    const { warehouse, byName, ctx } = setup();
    for (const dryRun of [false, true]) {
      await byName('bigquery.delete').run(
        // Unbatched: a batching task's audit also dry-runs its batch's statements.
        ctx(
          'bigquery.delete',
          { ...deleteConfig, maxBytesBilled: 20 * MiB, batch: false },
          { dryRun },
        ),
      );
    }
    // The real run: its DELETE and the COUNT that verifies it; the audit: two dry runs and a COUNT.
    expect(warehouse.queries.length + warehouse.estimates.length).toBe(5);
    for (const q of [...warehouse.queries, ...warehouse.estimates]) {
      expect(q.sql).not.toContain('brien');
      expect(q.params).toEqual({ subject: SUBJECT });
    }
    expect(warehouse.queries[0]).toMatchObject({
      maximumBytesBilled: 20 * MiB,
      labels: { 'dsr-request': 'req-1', 'dsr-task': 'contacts-delete' },
    });
  });

  it('finishes a quick job, verifies nothing is left, and reports cost, rows and evidence', async () => {
    const { warehouse, byName, ctx } = setup();
    const result = await byName('bigquery.delete').run(ctx('bigquery.delete', deleteConfig));
    expect(result).toEqual({
      outcome: 'succeeded',
      message:
        "deleted 2 rows from acme-prod.crm.contacts; verified: none of the subject's rows remain (job job_1, 20 MiB billed, $0.000119209)",
      cost: { bytesBilled: 20 * MiB, usd: 0.000119209 },
      affectedRows: 2,
      evidence: {
        touched: ['acme-prod.crm.contacts'],
        jobIds: ['job_1', 'job_2'],
        remainingRows: 0,
        verification: { jobIds: ['job_2'], bytesBilled: 10 * MiB, usd: 0.000059605 },
      },
      output: { tables: [{ table: 'acme-prod.crm.contacts', affectedRows: 2, remainingRows: 0 }] },
    });
    expect(warehouse.queries.map((q) => q.sql)).toEqual([
      'DELETE FROM `acme-prod.crm.contacts` WHERE `email` = @subject',
      'SELECT COUNT(*) AS remaining_rows FROM `acme-prod.crm.contacts` WHERE `email` = @subject',
    ]);
  });

  it('fails as retryable when the verification still counts rows, with what it spent', async () => {
    const { warehouse, byName, ctx } = setup();
    warehouse.remaining = [3];
    const failure = await byName('bigquery.delete')
      .run(ctx('bigquery.delete', deleteConfig))
      .then(
        () => undefined,
        (error: unknown) => error as Error,
      );
    expect(failure).toBeInstanceOf(RetryableError);
    expect(failure?.message).toBe(
      '3 rows of the subject remain in acme-prod.crm.contacts after the change (verification job job_2); the next attempt runs it again',
    );
    expect(spendOf(failure as Error)).toMatchObject({
      cost: { bytesBilled: 20 * MiB },
      evidence: { remainingRows: 3, verification: { jobIds: ['job_2'] } },
    });
  });

  it('answers not_found when no row matched', async () => {
    const { warehouse, byName, ctx } = setup();
    warehouse.affectedRows = 0;
    const result = await byName('bigquery.nullify').run(
      ctx('bigquery.nullify', {
        table: 'crm.contacts',
        columns: ['email'],
        whereColumn: 'email',
        identifier: 'email',
      }),
    );
    expect(result).toMatchObject({ outcome: 'not_found', affectedRows: 0 });
    // Nothing matched by this very rule: no count is billed to say none remain.
    expect(warehouse.queries).toHaveLength(1);
  });

  it('answers waiting with a handle for a long job, and polls finish it', async () => {
    const { warehouse, byName, ctx } = setup(30);
    warehouse.checksUntilDone = 1_000;
    const executor = byName('bigquery.delete');
    const waiting = await executor.run(ctx('bigquery.delete', deleteConfig));
    expect(waiting).toMatchObject({
      outcome: 'waiting',
      message:
        'BigQuery job job_1 (the change) on acme-prod.crm.contacts is still running; next check in 45 s (0 MiB billed, $0 so far in this step)',
      cost: { bytesBilled: 0, usd: 0 },
      pollAfterSeconds: 45,
    });
    const handle = waiting.handle ?? '';
    expect(JSON.parse(handle)).toEqual({
      v: 2,
      done: [],
      current: { table: 'acme-prod.crm.contacts', phase: 'change', jobId: 'job_1', location: 'EU' },
    });
    const again = await executor.poll?.({ ...ctx('bigquery.delete', deleteConfig), handle });
    expect(again).toMatchObject({ outcome: 'waiting' });
    warehouse.checksUntilDone = 0;
    expect(
      await executor.poll?.({
        ...ctx('bigquery.delete', deleteConfig),
        handle: again?.handle ?? '',
      }),
    ).toMatchObject({ outcome: 'succeeded', affectedRows: 2, cost: { bytesBilled: 20 * MiB } });
    expect(warehouse.queries).toHaveLength(2);
  });

  it('still reads a handle written before shards ({ jobId, location })', async () => {
    const { byName, ctx } = setup();
    const handle = JSON.stringify({ jobId: 'job_0', location: 'EU' });
    expect(
      await byName('bigquery.delete').poll?.({ ...ctx('bigquery.delete', deleteConfig), handle }),
    ).toMatchObject({ outcome: 'succeeded', affectedRows: 2 });
  });

  it('deletes shard by shard, and a retry resumes after the shards already done', async () => {
    const { warehouse, byName, ctx } = setup();
    warehouse.tables = ['events_20240101', 'events_20240102', 'events_20240103', 'other'];
    const config = { ...deleteConfig, table: 'analytics.events_*', shards: { from: '2024-01-02' } };
    warehouse.remaining = [0, 1];
    const failure = await byName('bigquery.delete')
      .run(ctx('bigquery.delete', config))
      .then(
        () => undefined,
        (error: unknown) => error as Error,
      );
    expect(failure?.message).toMatch(
      /^1 row of the subject remain in acme-prod.analytics.events_20240103/,
    );
    // The attempt's last handle is what run-task keeps as the series' progress.
    const progress = JSON.stringify({
      v: 2,
      done: [
        {
          table: 'acme-prod.analytics.events_20240102',
          rows: 2,
          jobId: 'job_1',
          verifyJobId: 'job_2',
        },
      ],
    });
    warehouse.remaining = [0];
    const retried = await byName('bigquery.delete').run(
      ctx('bigquery.delete', config, { resume: progress }),
    );
    expect(retried).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 4,
      evidence: {
        touched: ['acme-prod.analytics.events_20240102', 'acme-prod.analytics.events_20240103'],
      },
    });
    expect(retried.message).toMatch(
      /^deleted 4 rows from 2 shards of acme-prod.analytics.events_\*/,
    );
    expect(warehouse.queries.slice(4).map((q) => q.sql)).toEqual([
      'DELETE FROM `acme-prod.analytics.events_20240103` WHERE `email` = @subject',
      'SELECT COUNT(*) AS remaining_rows FROM `acme-prod.analytics.events_20240103` WHERE `email` = @subject',
    ]);
  });

  it('waits while another statement holds the table, and holds it only while its change runs', async () => {
    const { warehouse, byName, ctx, leases } = setup();
    leases.held.set('acme-prod.crm.contacts', 'req-other/task');
    const executor = byName('bigquery.delete');
    const blocked = await executor.run(ctx('bigquery.delete', deleteConfig));
    expect(blocked.pollAfterSeconds).toBeGreaterThanOrEqual(3);
    expect(blocked.pollAfterSeconds).toBeLessThanOrEqual(8);
    expect(blocked).toMatchObject({
      outcome: 'waiting',
      cost: { bytesBilled: 0 },
    });
    expect(blocked.message).toMatch(/^another statement is changing acme-prod.crm.contacts/);
    expect(warehouse.queries).toHaveLength(0);
    leases.held.clear();
    const done = await executor.poll?.({
      ...ctx('bigquery.delete', deleteConfig),
      handle: blocked.handle ?? '',
    });
    expect(done).toMatchObject({ outcome: 'succeeded', affectedRows: 2 });
    expect(leases.held.size).toBe(0);
  });

  it('holds the lease of the table a hand-written statement changes, and waits for it when held', async () => {
    const { warehouse, byName, ctx, leases } = setup();
    const config = { sql: 'DELETE FROM crm.contacts WHERE email = @email' };
    leases.held.set('acme-prod.crm.contacts', 'req-other/task');
    const blocked = await byName('bigquery.statement').run(ctx('bigquery.statement', config));
    // 3 to 8 s, at random, so that those waiting on one table do not ask at once.
    expect(blocked.pollAfterSeconds).toBeGreaterThanOrEqual(3);
    expect(blocked.pollAfterSeconds).toBeLessThanOrEqual(8);
    expect(blocked).toMatchObject({
      outcome: 'waiting',
      handle: '{"lease":true}',
    });
    expect(warehouse.queries).toHaveLength(0);
    leases.held.clear();
    const done = await byName('bigquery.statement').poll?.({
      ...ctx('bigquery.statement', config),
      handle: blocked.handle ?? '',
    });
    expect(done).toMatchObject({ outcome: 'succeeded', affectedRows: 2 });
    expect(leases.held.size).toBe(0);
  });

  it('gives the table back when its statement fails', async () => {
    const { warehouse, byName, ctx, leases } = setup();
    warehouse.failOn = 'DELETE';
    await expect(
      byName('bigquery.delete').run(ctx('bigquery.delete', deleteConfig)),
    ).rejects.toThrow('refused');
    expect(leases.held.size).toBe(0);
  });

  it('refuses a handle it did not make', async () => {
    const { byName, ctx } = setup();
    const poll = byName('bigquery.delete').poll?.({
      ...ctx('bigquery.delete', deleteConfig),
      handle: 'job_1',
    });
    await expect(poll).rejects.toThrow(new PermanentError('not a BigQuery job handle: job_1'));
  });

  it('fails permanently when the subject lacks the identifier', async () => {
    const { byName, ctx } = setup();
    const run = byName('bigquery.delete').run(
      ctx('bigquery.delete', deleteConfig, { subject: { userId: 'u1' } }),
    );
    await expect(run).rejects.toMatchObject({ code: 'bigquery.identifier_missing' });
  });

  it('audits: counts, estimates with the billing rule, and reports the statement', async () => {
    const { warehouse, byName, ctx } = setup();
    warehouse.remaining = [7];
    const result = await byName('bigquery.delete').run(
      ctx('bigquery.delete', { ...deleteConfig, maxBytesBilled: 10 * MiB }, { dryRun: true }),
    );
    expect(result.output).toEqual({
      audit: {
        wouldAffectRows: 7,
        estimatedBytesProcessed: 10 * MiB + 1,
        // The DELETE and the COUNT that verifies it, 11 MiB each.
        estimatedBytesBilled: 22 * MiB,
        estimatedUsd: 0.00013113,
        maxBytesBilled: 10 * MiB,
        withinMaxBytesBilled: false,
        statement: 'DELETE FROM `acme-prod.crm.contacts` WHERE `email` = @subject',
        touched: ['acme-prod.crm.contacts'],
        // A full batch's flush: its grouped count, the DELETE and the grouped verification,
        // 11 MiB each; this subject's share of it is a thousandth, rounded up.
        batch: {
          maxSubjects: 1000,
          maxWaitSeconds: 900,
          statement: 'DELETE FROM `acme-prod.crm.contacts` WHERE `email` IN UNNEST(@subjects)',
          estimatedBytesBilled: 33 * MiB,
          estimatedUsd: 0.000196695,
          estimatedShareBytesBilled: Math.ceil((33 * MiB) / 1000),
          estimatedShareUsd: 1.97e-7,
        },
      },
    });
    expect(result).toMatchObject({ outcome: 'succeeded', cost: { bytesBilled: 10 * MiB } });
    expect(warehouse.queries.map((q) => q.sql)).toEqual([
      'SELECT COUNT(*) AS remaining_rows FROM `acme-prod.crm.contacts` WHERE `email` = @subject',
    ]);
  });

  it('exports across pages and stops at maxRows', async () => {
    const { warehouse, byName, ctx, records } = setup();
    warehouse.resultRows = Array.from({ length: 12 }, (_, n) => ({ email: SUBJECT, n }));
    const result = await byName('bigquery.export').run(
      ctx('bigquery.export', {
        table: 'crm.contacts',
        column: 'email',
        identifier: 'email',
        maxRows: 10,
      }),
    );
    expect(
      await exportedRows(records, result, { requestId: 'Req-1', taskId: 'contacts-delete' }),
    ).toMatchObject({
      columns: ['email', 'n'],
      rows: warehouse.resultRows.slice(0, 10),
      rowCount: 10,
      totalRows: 12,
      truncated: true,
    });
    expect(result.message).toMatch(/^exported 10 of 12 rows from acme-prod.crm.contacts/);
  });
});
