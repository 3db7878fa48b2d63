import { MiB, rejection, TEN_MIB_COST, useBigQueryExecutors } from './fixture';

const PROJECT = 'bqx-audit';
const f = useBigQueryExecutors(PROJECT);
const TABLE = `${PROJECT}.crm.contacts`;
const deleteConfig = { table: 'crm.contacts', column: 'email', identifier: 'email' };
const audit = { dryRun: true };

interface Snapshot {
  contacts: unknown[];
  entries: unknown[];
}
async function snapshot(): Promise<Snapshot> {
  return {
    contacts: await f.select('SELECT * FROM crm.contacts'),
    entries: await f.select('SELECT * FROM crm.entries'),
  };
}

describe('audit mode (ctx.dryRun)', () => {
  it('reports what a delete would touch and cost, changes nothing, and records the COUNT cost', async () => {
    const before = await snapshot();
    const result = await f.run(
      'bigquery.delete',
      { ...deleteConfig, maxBytesBilled: 10 * MiB },
      audit,
    );
    expect(result).toMatchObject({
      outcome: 'succeeded',
      // COUNT(*) … WHERE email = @subject scans the email column (67 bytes): the 10 MiB minimum.
      cost: TEN_MIB_COST,
      evidence: { touched: [TABLE], jobIds: [expect.stringMatching(/^dsr_/)] },
    });
    expect(result.output).toEqual({
      audit: {
        wouldAffectRows: 2,
        // The email column (67) plus the whole table (132), as BigQuery bills DML; then the
        // COUNT that verifies it: 10 MiB each.
        estimatedBytesProcessed: 199,
        estimatedBytesBilled: 20 * MiB,
        estimatedUsd: 0.000119209,
        maxBytesBilled: 10 * MiB,
        withinMaxBytesBilled: true,
        statement: `DELETE FROM \`${TABLE}\` WHERE \`email\` = @subject`,
        touched: [TABLE],
        // Batched (the default): a full batch's grouped count, DELETE and grouped verification,
        // 10 MiB each, shared by up to 1000 subjects.
        batch: {
          maxSubjects: 1000,
          maxWaitSeconds: 900,
          statement: `DELETE FROM \`${TABLE}\` WHERE \`email\` IN UNNEST(@subjects)`,
          estimatedBytesBilled: 30 * MiB,
          estimatedUsd: 0.000178814,
          estimatedShareBytesBilled: Math.ceil((30 * MiB) / 1000),
          estimatedShareUsd: 1.79e-7,
        },
      },
    });
    expect(result.message).toBe(
      `audit: would delete 2 rows from ${TABLE}, estimated 20 MiB billed, $0.000119209; batched (up to 1000 subjects a statement) its share would be 0.03 MiB billed, $0.000000179 when the batch is full; the COUNT query cost 10 MiB billed, $0.000059605`,
    );
    expect(await snapshot()).toEqual(before);

    // The estimate is the bill: the real run costs what the audit said.
    const real = await f.run('bigquery.delete', deleteConfig);
    expect(real).toMatchObject({
      affectedRows: 2,
      cost: { bytesBilled: 20 * MiB, usd: 0.000119209 },
    });
  });

  it('audits a nullify and an export the same way', async () => {
    const before = await snapshot();
    const nullify = await f.run(
      'bigquery.nullify',
      {
        table: 'crm.entries',
        columns: ['owner_id'],
        whereColumn: 'owner_id',
        identifier: 'userId',
      },
      audit,
    );
    // owner_id column 21 bytes, plus the table: owner_id 21 + owner_email 51 + note 22.
    expect(nullify.output).toMatchObject({
      audit: { wouldAffectRows: 2, estimatedBytesProcessed: 115, estimatedBytesBilled: 20 * MiB },
    });
    const exported = await f.run('bigquery.export', deleteConfig, audit);
    // SELECT * reads every column: the whole table.
    expect(exported.output).toMatchObject({
      audit: {
        wouldAffectRows: 2,
        estimatedBytesProcessed: 132,
        statement: `SELECT * FROM \`${TABLE}\` WHERE \`email\` = @subject`,
      },
    });
    expect(await snapshot()).toEqual(before);
  });

  it('reports zero rows for a subject with none', async () => {
    const result = await f.run('bigquery.delete', deleteConfig, {
      ...audit,
      subject: { email: 'nobody@example.com' },
    });
    expect(result).toMatchObject({
      outcome: 'succeeded',
      output: { audit: { wouldAffectRows: 0 } },
    });
  });

  it('fails permanently on a bad statement before anything is billed', async () => {
    const err = await rejection(
      f.run('bigquery.delete', { ...deleteConfig, column: 'no_such_column' }, audit),
    );
    expect(err).toMatchObject({ name: 'PermanentError', code: 'bigquery.invalid_query' });
    expect(err.message).toContain('Unrecognized name: no_such_column');
    const [jobs] = await f.emu.bigquery.getJobs();
    expect(jobs).toEqual([]);
  });
});
