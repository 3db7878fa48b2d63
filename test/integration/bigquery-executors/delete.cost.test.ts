import { rejection, TEN_MIB_COST, useBigQueryExecutors } from './fixture';

const PROJECT = 'bqx-delete';
const f = useBigQueryExecutors(PROJECT);
const config = { table: 'crm.contacts', column: 'email', identifier: 'email' };

const emails = async () =>
  (await f.select<{ email: string }>('SELECT email FROM crm.contacts')).map((r) => r.email);

describe('bigquery.delete', () => {
  it("deletes the subject's rows and records the cost by the billing rules", async () => {
    const result = await f.run('bigquery.delete', config);
    // 199 bytes processed (email column 67 + the table 132) bill the 10 MiB minimum; the
    // verification COUNT (the email column of the 2 rows left) bills another 10 MiB.
    expect(result).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 2,
      cost: { bytesBilled: 20 * 2 ** 20, usd: 0.000119209 },
      evidence: {
        touched: [`${PROJECT}.crm.contacts`],
        jobIds: [expect.stringMatching(/^dsr_/), expect.stringMatching(/^dsr_/)],
        remainingRows: 0,
        verification: { bytesBilled: 10 * 2 ** 20, usd: TEN_MIB_COST.usd },
      },
    });
    expect(result.message).toMatch(
      new RegExp(
        `^deleted 2 rows from ${PROJECT}.crm.contacts; verified: none of the subject's rows remain \\(job dsr_\\S+, 20 MiB billed, \\$0.000119209\\)$`,
      ),
    );
    expect(await emails()).toEqual(['bob@example.com', 'cy@example.com']);
    const job: unknown = (
      await f.emu.bigquery.job(result.evidence?.jobIds?.[0] ?? '').getMetadata()
    )[0];
    expect(job).toMatchObject({
      statistics: { query: { totalBytesProcessed: '199', totalBytesBilled: String(10 * 2 ** 20) } },
      configuration: {
        query: { query: 'DELETE FROM `bqx-delete.crm.contacts` WHERE `email` = @subject' },
      },
    });
  });

  it('answers not_found, at the minimum cost and with no verification, when the subject has no rows', async () => {
    const result = await f.run('bigquery.delete', config, {
      subject: { email: 'nobody@example.com' },
    });
    expect(result).toMatchObject({ outcome: 'not_found', affectedRows: 0, cost: TEN_MIB_COST });
    expect(await emails()).toHaveLength(4);
  });

  it('treats a value that looks like SQL as a plain value', async () => {
    const result = await f.run('bigquery.delete', config, {
      subject: { email: "x' OR TRUE OR email = '" },
    });
    expect(result.outcome).toBe('not_found');
    expect(await emails()).toHaveLength(4);
  });

  it('accepts a fully qualified table', async () => {
    const result = await f.run('bigquery.delete', { ...config, table: `${PROJECT}.crm.contacts` });
    expect(result.affectedRows).toBe(2);
  });

  it('fails permanently, naming the problem, for a table that does not exist', async () => {
    const err = await rejection(f.run('bigquery.delete', { ...config, table: 'crm.nope' }));
    expect(err).toMatchObject({ name: 'PermanentError', code: 'bigquery.not_found' });
    expect(err.message).toContain('Check that the table exists');
  });
});
