import { TEN_MIB_COST, useBigQueryExecutors } from './fixture';

const f = useBigQueryExecutors('bqx-export');
const config = { table: 'crm.contacts', column: 'email', identifier: 'email' };

describe('bigquery.export', () => {
  it("returns the subject's rows as plain JSON, timestamps as ISO strings", async () => {
    const result = await f.run('bigquery.export', config);
    expect(result).toMatchObject({ outcome: 'succeeded', cost: TEN_MIB_COST });
    const exported = await f.exported(result);
    expect(exported).toEqual({
      setId: result.evidence?.jobIds?.[0],
      source: 'bqx-export.crm.contacts',
      columns: ['email', 'name', 'signed_up', 'visits'],
      rows: [
        {
          email: 'ada@example.com',
          name: 'Ada',
          signed_up: '2024-01-02T03:04:05.123456Z',
          visits: 3,
        },
        {
          email: 'ada@example.com',
          name: 'Ada L',
          signed_up: '2024-02-01T00:00:00.000Z',
          visits: 1,
        },
      ],
      rowCount: 2,
      totalRows: 2,
      truncated: false,
      segments: [{ rows: 2, chunks: 1 }],
    });
    // The rows are not in the run record: only where to find them.
    expect(JSON.stringify(result.output)).not.toContain('ada@example.com');
    expect(await f.select('SELECT email FROM crm.contacts')).toHaveLength(4);
  });

  it('returns only selectColumns, and at most maxRows, saying it truncated', async () => {
    const result = await f.run('bigquery.export', {
      ...config,
      selectColumns: ['visits', 'name'],
      maxRows: 1,
    });
    expect(await f.exported(result)).toMatchObject({
      columns: ['visits', 'name'],
      rows: [{ visits: 3, name: 'Ada' }],
      rowCount: 1,
      totalRows: 2,
      truncated: true,
    });
    expect(result.message).toMatch(/^exported 1 of 2 rows from bqx-export.crm.contacts/);
  });

  it('answers not_found with an empty package when the subject has no rows', async () => {
    const result = await f.run('bigquery.export', config, {
      subject: { email: 'nobody@example.com' },
    });
    expect(result).toMatchObject({
      outcome: 'not_found',
      output: { records: { rowCount: 0, totalRows: 0, truncated: false, segments: [] } },
    });
    expect((await f.exported(result)).rows).toEqual([]);
  });
});
