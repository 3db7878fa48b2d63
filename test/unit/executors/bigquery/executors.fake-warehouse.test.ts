import { PermanentError } from '../../../../src/domain/errors';
import type { ExecutorContext, Executor } from '../../../../src/executors/contract';
import { createBigQueryExecutors } from '../../../../src/executors/bigquery';
import type {
  RowPage,
  RowPageRequest,
  Warehouse,
  WarehouseJob,
  WarehouseQuery,
} from '../../../../src/ports/warehouse';
import { createRecordSink } from '../../../../src/app/record-sets';
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
  resultRows: RowPage['rows'] = [];
  private checks = new Map<string, number>();

  async startQuery(query: WarehouseQuery): Promise<WarehouseJob> {
    this.queries.push(query);
    const jobId = `job_${this.queries.length}`;
    this.checks.set(jobId, 0);
    return this.job(jobId, query.sql);
  }
  async getJob(jobId: string): Promise<WarehouseJob> {
    this.checks.set(jobId, (this.checks.get(jobId) ?? 0) + 1);
    return this.job(jobId, this.queries[Number(jobId.slice(4)) - 1]?.sql ?? '');
  }
  async getRows(_jobId: string, _location: string, page: RowPageRequest): Promise<RowPage> {
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

function setup(quickWaitMs = 50) {
  const warehouse = new FakeWarehouse();
  const records = createMemoryRecordStore();
  const executors = createBigQueryExecutors({
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
  return { warehouse, byName, ctx, records };
}

const deleteConfig = { table: 'crm.contacts', column: 'email', identifier: 'email' };

describe('BigQuery executors over a fake warehouse', () => {
  it('names its executors and requires the configured identifier', () => {
    const { byName, ctx } = setup();
    const e = byName('bigquery.delete');
    expect(e.requiredIdentifiers?.(ctx('bigquery.delete', deleteConfig).config)).toEqual(['email']);
    expect(
      ['bigquery.delete', 'bigquery.nullify', 'bigquery.export'].map((n) => byName(n).name),
    ).toHaveLength(3);
  });

  it('passes the subject only as the @subject parameter, with the cap and labels', async () => {
    const { warehouse, byName, ctx } = setup();
    for (const dryRun of [false, true]) {
      await byName('bigquery.delete').run(
        ctx('bigquery.delete', { ...deleteConfig, maxBytesBilled: 20 * MiB }, { dryRun }),
      );
    }
    expect(warehouse.queries.length + warehouse.estimates.length).toBe(3);
    for (const q of [...warehouse.queries, ...warehouse.estimates]) {
      expect(q.sql).not.toContain('brien');
      expect(q.params).toEqual({ subject: SUBJECT });
    }
    expect(warehouse.queries[0]).toMatchObject({
      maximumBytesBilled: 20 * MiB,
      labels: { 'dsr-request': 'req-1', 'dsr-task': 'contacts-delete' },
    });
  });

  it('finishes a quick job with its cost, rows and evidence', async () => {
    const { byName, ctx } = setup();
    const result = await byName('bigquery.delete').run(ctx('bigquery.delete', deleteConfig));
    expect(result).toEqual({
      outcome: 'succeeded',
      message:
        'deleted 2 rows from acme-prod.crm.contacts (job job_1, 10 MiB billed, $0.000059605)',
      cost: { bytesBilled: 10 * MiB, usd: 0.000059605 },
      affectedRows: 2,
      evidence: { touched: ['acme-prod.crm.contacts'], jobIds: ['job_1'] },
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
  });

  it('answers waiting with a handle for a long job, and poll finishes it', async () => {
    const { warehouse, byName, ctx } = setup(30);
    warehouse.checksUntilDone = 1_000;
    const executor = byName('bigquery.delete');
    const waiting = await executor.run(ctx('bigquery.delete', deleteConfig));
    expect(waiting).toEqual({
      outcome: 'waiting',
      message: 'BigQuery job job_1 on acme-prod.crm.contacts is still running; next check in 45 s',
      cost: { bytesBilled: 0, usd: 0 },
      handle: JSON.stringify({ jobId: 'job_1', location: 'EU' }),
      pollAfterSeconds: 45,
      evidence: { touched: ['acme-prod.crm.contacts'], jobIds: ['job_1'] },
    });
    const handle = waiting.handle ?? '';
    expect(
      await executor.poll?.({ ...ctx('bigquery.delete', deleteConfig), handle }),
    ).toMatchObject({
      outcome: 'waiting',
    });
    warehouse.checksUntilDone = 0;
    expect(
      await executor.poll?.({ ...ctx('bigquery.delete', deleteConfig), handle }),
    ).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 2,
      cost: { bytesBilled: 10 * MiB },
    });
    expect(warehouse.queries).toHaveLength(1);
  });

  it('stops waiting at once when the signal fires, and hands the job over as waiting', async () => {
    const { warehouse, byName, ctx } = setup(60_000);
    warehouse.checksUntilDone = 1_000;
    const controller = new AbortController();
    const running = byName('bigquery.delete').run(
      ctx('bigquery.delete', deleteConfig, { signal: controller.signal }),
    );
    controller.abort(new Error('timeout'));
    await expect(running).resolves.toMatchObject({
      outcome: 'waiting',
      handle: expect.any(String) as unknown,
    });
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
    warehouse.resultRows = [{ matching_rows: 7 }];
    const result = await byName('bigquery.delete').run(
      ctx('bigquery.delete', { ...deleteConfig, maxBytesBilled: 10 * MiB }, { dryRun: true }),
    );
    expect(result.output).toEqual({
      audit: {
        wouldAffectRows: 7,
        estimatedBytesProcessed: 10 * MiB + 1,
        estimatedBytesBilled: 11 * MiB,
        estimatedUsd: 0.000065565,
        maxBytesBilled: 10 * MiB,
        withinMaxBytesBilled: false,
        statement: 'DELETE FROM `acme-prod.crm.contacts` WHERE `email` = @subject',
        touched: ['acme-prod.crm.contacts'],
      },
    });
    expect(result).toMatchObject({ outcome: 'succeeded', cost: { bytesBilled: 10 * MiB } });
    expect(warehouse.queries.map((q) => q.sql)).toEqual([
      'SELECT COUNT(*) AS matching_rows FROM `acme-prod.crm.contacts` WHERE `email` = @subject',
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
