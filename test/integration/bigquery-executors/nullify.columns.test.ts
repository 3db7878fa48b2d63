import { useBigQueryExecutors } from './fixture';

const f = useBigQueryExecutors('bqx-nullify');
const config = {
  table: 'crm.entries',
  columns: ['owner_id', 'owner_email'],
  whereColumn: 'owner_id',
  identifier: 'userId',
};

interface Entry {
  owner_id: string | null;
  owner_email: string | null;
  note: string;
}
const entries = () => f.select<Entry>('SELECT owner_id, owner_email, note FROM crm.entries');

describe('bigquery.nullify', () => {
  it("sets the columns to NULL in the subject's rows only, keeping the rest", async () => {
    const result = await f.run('bigquery.nullify', config);
    expect(result).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 2,
      // The UPDATE, then the COUNT of the subject's rows still holding a value: 10 MiB each.
      cost: { bytesBilled: 20 * 2 ** 20, usd: 0.000119209 },
      evidence: { touched: ['bqx-nullify.crm.entries'], remainingRows: 0 },
    });
    expect(result.message).toMatch(
      /^set owner_id, owner_email to NULL in 2 rows of bqx-nullify.crm.entries/,
    );
    expect(await entries()).toEqual([
      { owner_id: null, owner_email: null, note: 'first' },
      { owner_id: null, owner_email: null, note: 'second' },
      { owner_id: 'u-bob', owner_email: 'bob@example.com', note: 'third' },
    ]);
  });

  it('answers not_found on a second run: the rows no longer match', async () => {
    await f.run('bigquery.nullify', config);
    expect(await f.run('bigquery.nullify', config)).toMatchObject({
      outcome: 'not_found',
      affectedRows: 0,
    });
  });

  it('refuses to null a REQUIRED column, permanently and without changes', async () => {
    await expect(
      f.run('bigquery.nullify', {
        table: 'crm.contacts',
        columns: ['email'],
        whereColumn: 'email',
        identifier: 'email',
      }),
    ).rejects.toMatchObject({
      name: 'PermanentError',
      code: 'bigquery.invalid_query',
      message: expect.stringContaining('Cannot assign NULL to REQUIRED field email') as unknown,
    });
    expect(await f.select('SELECT email FROM crm.contacts')).toHaveLength(4);
  });
});
