import type { JobMetadata } from '@google-cloud/bigquery';
import { apiError, first, useBigQueryEmulator } from './emulator-fixture';

const MB = 2 ** 20;

// small: 4 rows; id INT64 = 4 × 8 = 32 bytes; name STRING = (2+1)+(2+2)+(2+3)+(2+4) = 18 bytes.
const small = ['a', 'bb', 'ccc', 'dddd'].map((name, id) => ({ id, name }));
// big: 11 rows; payload STRING of 1 MB each (2 + (MB - 2)) = 11 MB; id = 11 × 8 = 88 bytes.
const big = Array.from({ length: 11 }, (_, id) => ({ id, payload: 'x'.repeat(MB - 2) }));

const ctx = useBigQueryEmulator('billing-project', {
  seed: {
    datasets: [
      {
        datasetId: 'w',
        tables: [
          {
            tableId: 'small',
            schema: [
              { name: 'id', type: 'INT64' },
              { name: 'name', type: 'STRING' },
            ],
            rows: small,
          },
          {
            tableId: 'big',
            schema: [
              { name: 'id', type: 'INT64' },
              { name: 'payload', type: 'STRING' },
            ],
            rows: big,
          },
        ],
      },
    ],
  },
});

async function statistics(
  query: string,
  params?: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const [job] = await ctx.bigquery.createQueryJob({ query, ...(params ? { params } : {}) });
  await job.getQueryResults();
  const metadata = await first<JobMetadata>(job.getMetadata());
  expect(metadata.status).toEqual({ state: 'DONE' });
  return metadata.statistics?.query as Record<string, unknown>;
}

async function count(table: string): Promise<number> {
  const rows = await first<Array<{ n: number }>>(
    ctx.bigquery.query(`SELECT COUNT(*) AS n FROM w.${table}`),
  );
  return rows[0]?.n ?? -1;
}

describe('billing on worked examples', () => {
  it('bills a small SELECT the 10 MB minimum', async () => {
    expect(await statistics('SELECT name FROM w.small WHERE id = 1')).toMatchObject({
      totalBytesProcessed: String(32 + 18),
      totalBytesBilled: String(10 * MB),
      statementType: 'SELECT',
    });
  });

  it('rounds processed bytes above the minimum up to the next MB', async () => {
    expect(await statistics('SELECT payload FROM w.big')).toMatchObject({
      totalBytesProcessed: String(11 * MB),
      totalBytesBilled: String(11 * MB),
    });
    expect(await statistics('SELECT payload FROM w.big WHERE id = 3')).toMatchObject({
      totalBytesProcessed: String(11 * MB + 88),
      totalBytesBilled: String(12 * MB),
    });
  });

  it('does not bill a query that reads no column', async () => {
    expect(await statistics('SELECT COUNT(*) FROM w.big')).toMatchObject({
      totalBytesProcessed: '0',
      totalBytesBilled: '0',
    });
  });

  it('adds the whole target table to DML and reports the affected rows', async () => {
    expect(await statistics('UPDATE w.big SET id = NULL WHERE id = @id', { id: 10 })).toMatchObject(
      {
        statementType: 'UPDATE',
        // scanned id (88) + the table before the statement (11 MB + 88)
        totalBytesProcessed: String(11 * MB + 176),
        totalBytesBilled: String(12 * MB),
        numDmlAffectedRows: '1',
        dmlStats: { updatedRowCount: '1' },
      },
    );
    expect(
      await statistics('DELETE FROM w.small WHERE name = @name', { name: 'dddd' }),
    ).toMatchObject({
      statementType: 'DELETE',
      // scanned name (18) + the table (32 + 18)
      totalBytesProcessed: String(18 + 50),
      totalBytesBilled: String(10 * MB),
      numDmlAffectedRows: '1',
      dmlStats: { deletedRowCount: '1' },
    });
    expect(await count('small')).toBe(3);
  });
});

describe('maximumBytesBilled', () => {
  it('fails a job over the cap with bytesBilledLimitExceeded and changes nothing', async () => {
    const before = await count('big');
    const error = await apiError(
      ctx.bigquery.createQueryJob({
        query: 'DELETE FROM w.big WHERE id = 1',
        maximumBytesBilled: String(12 * MB - 1),
      }),
    );
    expect(error.errors?.[0]).toMatchObject({
      reason: 'bytesBilledLimitExceeded',
      message: `Query exceeded limit for bytes billed: ${12 * MB - 1}. ${12 * MB} or higher required.`,
    });
    expect(await count('big')).toBe(before);
  });

  it('fails jobs.query over the cap with a 400', async () => {
    const error = await apiError(
      ctx.bigquery.query({ query: 'SELECT name FROM w.small', maximumBytesBilled: '1000' }),
    );
    expect(error.code).toBe(400);
    expect(error.message).toBe(
      `Query exceeded limit for bytes billed: 1000. ${10 * MB} or higher required.`,
    );
  });

  it('lets a job billed exactly at the cap run', async () => {
    const rows = await first<unknown[]>(
      ctx.bigquery.query({
        query: 'SELECT name FROM w.small WHERE id = 0',
        maximumBytesBilled: String(10 * MB),
      }),
    );
    expect(rows).toEqual([{ name: 'a' }]);
  });
});

describe('dry runs', () => {
  it('estimate bytes processed without executing or keeping a job', async () => {
    const before = await count('small');
    const [job] = await ctx.bigquery.createQueryJob({
      query: 'DELETE FROM w.small WHERE id = @id',
      params: { id: 0 },
      dryRun: true,
      maximumBytesBilled: '1',
    });
    // 3 rows left: scanned id (24) + the table (24 + names 3 + 4 + 5)
    expect(job.metadata).toMatchObject({
      configuration: { dryRun: true },
      status: { state: 'DONE' },
      statistics: {
        totalBytesProcessed: String(24 + 24 + 12),
        query: {
          totalBytesProcessed: String(24 + 24 + 12),
          totalBytesBilled: '0',
          statementType: 'DELETE',
        },
      },
    });
    expect(await count('small')).toBe(before);
    const missing = await apiError(job.getMetadata());
    expect(missing.code).toBe(404);
  });

  it('return the result schema of a SELECT and no rows', async () => {
    const [job] = await ctx.bigquery.createQueryJob({
      query: 'SELECT COUNT(*) AS n FROM w.small WHERE id = 1',
      dryRun: true,
    });
    expect(job.metadata).toMatchObject({
      statistics: {
        query: {
          totalBytesProcessed: '24',
          schema: { fields: [{ name: 'n', type: 'INTEGER', mode: 'NULLABLE' }] },
        },
      },
    });
    expect(
      await first<unknown[]>(ctx.bigquery.query({ query: 'SELECT id FROM w.small', dryRun: true })),
    ).toEqual([]);
  });
});
