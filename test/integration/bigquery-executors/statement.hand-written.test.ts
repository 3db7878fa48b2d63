import { rejection, useBigQueryExecutors } from './fixture';

const PROJECT = 'bqx-statement';
const f = useBigQueryExecutors(PROJECT);

const emails = async () =>
  (await f.select<{ email: string }>('SELECT email FROM crm.contacts ORDER BY email')).map(
    (r) => r.email,
  );

describe('bigquery.statement', () => {
  const remove = {
    sql: 'DELETE FROM crm.contacts WHERE LOWER(email) = LOWER(@email)',
    verifySql: 'SELECT COUNT(*) FROM crm.contacts WHERE LOWER(email) = LOWER(@email)',
  };

  it('runs a hand-written DELETE with the subject as parameters, then its verification', async () => {
    const result = await f.run('bigquery.statement', remove);
    expect(result).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 2,
      evidence: { remainingRows: 0, verification: { jobIds: [expect.stringMatching(/^dsr_/)] } },
    });
    expect(result.message).toMatch(
      /^DELETE changed 2 rows; verified: none of the subject's rows remain/,
    );
    expect(await emails()).toEqual(['bob@example.com', 'cy@example.com']);
  });

  it('returns the rows of a hand-written SELECT as a records set', async () => {
    const result = await f.run('bigquery.statement', {
      sql: 'SELECT name, visits FROM crm.contacts WHERE email = @email ORDER BY visits',
    });
    expect((await f.exported(result)).rows).toEqual([
      { name: 'Ada L', visits: 1 },
      { name: 'Ada', visits: 3 },
    ]);
  });

  it("refuses a statement that holds the subject's value instead of a parameter", async () => {
    const failure = await rejection(
      f.run('bigquery.statement', {
        sql: "DELETE FROM crm.contacts WHERE email = 'ADA@example.com'",
      }),
    );
    expect(failure).toMatchObject({ code: 'bigquery.interpolated_value' });
    expect(await emails()).toHaveLength(4);
  });

  it('audits with the dry run estimate, changing nothing', async () => {
    const result = await f.run('bigquery.statement', remove, { dryRun: true });
    // The email column (67 bytes) and the table (132), as BigQuery bills a DELETE.
    expect(result.output).toMatchObject({
      audit: { estimatedBytesProcessed: 199, estimatedBytesBilled: 10 * 2 ** 20 },
    });
    expect(await emails()).toHaveLength(4);
  });

  it('is checked at registration by a BigQuery dry run', async () => {
    expect(await f.check('bigquery.statement', remove)).toEqual([]);
    expect(
      await f.check('bigquery.statement', { sql: 'DELETE FROM crm.contacts WHERE mail = @email' }),
    ).toEqual([
      {
        path: ['sql'],
        message: expect.stringContaining('Unrecognized name: mail at [1:32]') as unknown,
      },
    ]);
    expect(
      await f.check('bigquery.statement', { sql: 'DELETE FROM crm.gone WHERE email = @email' }),
    ).toEqual([
      { path: ['sql'], message: expect.stringContaining(`${PROJECT}:crm.gone`) as unknown },
    ]);
  });
});
