import { apiError, useBigQueryEmulator } from './emulator-fixture';

const ctx = useBigQueryEmulator('unsupported-project', {
  seed: {
    datasets: [
      {
        datasetId: 'd',
        tables: [{ tableId: 't', schema: [{ name: 'a', type: 'INT64' }], rows: [{ a: 1 }] }],
      },
    ],
  },
});

describe('SQL outside the subset', () => {
  it.each([
    ['SELECT a FROM d.t JOIN d.t USING (a)', 'JOIN ... USING'],
    ['SELECT a FROM d.t, d.t AS u', 'JOIN of two tables'],
    ['SELECT REGEXP_CONTAINS(CAST(a AS STRING), "1") FROM d.t', 'function REGEXP_CONTAINS()'],
    ['INSERT INTO d.t (a) VALUES (2)', 'INSERT statement'],
    ['MERGE d.t USING d.t AS s ON TRUE WHEN MATCHED THEN DELETE', 'MERGE statement'],
  ])('answers %s with a 400 invalidQuery naming %s', async (query, construct) => {
    for (const run of [() => ctx.bigquery.query(query), () => ctx.bigquery.createQueryJob(query)]) {
      const error = await apiError(run());
      expect(error.code).toBe(400);
      expect(error.errors?.[0]).toMatchObject({ reason: 'invalidQuery', location: 'query' });
      expect(error.message).toContain(`Unsupported construct: ${construct}`);
    }
  });

  it('answers unknown names, tables and parameters as the service does', async () => {
    const unknownColumn = await apiError(ctx.bigquery.query('SELECT b FROM d.t'));
    expect(unknownColumn.message).toBe('Unrecognized name: b at [1:8]');
    const unknownTable = await apiError(ctx.bigquery.query('SELECT a FROM d.nope'));
    expect(unknownTable.code).toBe(404);
    expect(unknownTable.message).toBe(
      'Not found: Table unsupported-project:d.nope was not found in location US',
    );
    const missingParam = await apiError(
      ctx.bigquery.query({ query: 'SELECT a FROM d.t WHERE a = @x', params: { y: 1 } }),
    );
    expect(missingParam.message).toBe("Query parameter 'x' not found at [1:29]");
    const mismatch = await apiError(
      ctx.bigquery.query({ query: 'SELECT a FROM d.t WHERE a = @x', params: { x: 'one' } }),
    );
    expect(mismatch.message).toContain(
      'No matching signature for operator = for argument types: INT64, STRING',
    );
  });

  it('refuses legacy SQL and positional parameters', async () => {
    const legacy = await apiError(
      ctx.bigquery.query({ query: 'SELECT a FROM [d.t]', useLegacySql: true }),
    );
    expect(legacy.message).toContain('Unsupported construct: legacy SQL');
    const positional = await apiError(
      ctx.bigquery.query({ query: 'SELECT a FROM d.t WHERE a = ?', params: [1] }),
    );
    expect(positional.message).toContain('Unsupported construct: positional query parameters');
  });
});
