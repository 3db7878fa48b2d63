import type { BigQueryTimestamp, JobMetadata } from '@google-cloud/bigquery';
import { BigQuery, first, useBigQueryEmulator } from './emulator-fixture';

const people = Array.from({ length: 12 }, (_, i) => ({
  user_id: `u${i}`,
  email: i % 3 === 0 ? null : `u${i}@example.com`,
  age: 20 + i,
  score: i / 4,
  balance: `${i}.5`,
  active: i % 2 === 0,
  seen_at: `2024-01-0${1 + (i % 9)}T00:00:00.00000${i % 10}Z`,
  birthday: `2000-01-${String(1 + i).padStart(2, '0')}`,
  token: Buffer.from(`t${i}`).toString('base64'),
}));

const ctx = useBigQueryEmulator('select-project', {
  seed: {
    datasets: [
      {
        datasetId: 'crm',
        tables: [
          {
            tableId: 'people',
            schema: [
              { name: 'user_id', type: 'STRING', mode: 'REQUIRED' },
              { name: 'email', type: 'STRING' },
              { name: 'age', type: 'INT64' },
              { name: 'score', type: 'FLOAT64' },
              { name: 'balance', type: 'NUMERIC' },
              { name: 'active', type: 'BOOL' },
              { name: 'seen_at', type: 'TIMESTAMP' },
              { name: 'birthday', type: 'DATE' },
              { name: 'token', type: 'BYTES' },
            ],
            rows: people,
          },
        ],
      },
    ],
  },
});

const ids = (rows: readonly unknown[]): string[] =>
  (rows as Array<{ user_id: string }>).map((row) => row.user_id);

describe('SELECT jobs through the official client', () => {
  it('filters with parameters of every scalar type', async () => {
    const { bigquery } = ctx;
    const cases: Array<[string, Record<string, unknown>, Record<string, string>?]> = [
      ['user_id = @v', { v: 'u4' }],
      ['age = @v', { v: 25 }],
      ['score = @v', { v: 1.5 }],
      ['balance = @v', { v: '7.50' }, { v: 'NUMERIC' }],
      ['active = @v AND age > 29', { v: true }],
      ['seen_at = @v', { v: BigQuery.timestamp('2024-01-03T00:00:00.000002Z') }],
      ['birthday = @v', { v: BigQuery.date('2000-01-09') }],
      // The client sends a Buffer as JSON, not base64: BYTES parameters are passed as base64.
      ['token = @v', { v: Buffer.from('t10').toString('base64') }, { v: 'BYTES' }],
    ];
    const results: string[][] = [];
    for (const [where, params, types] of cases) {
      const [rows] = await bigquery.query({
        query: `SELECT user_id FROM \`select-project.crm.people\` WHERE ${where}`,
        params,
        ...(types ? { types } : {}),
      });
      results.push(ids(rows));
    }
    expect(results).toEqual([['u4'], ['u5'], ['u6'], ['u7'], ['u10'], ['u2'], ['u8'], ['u10']]);
  });

  it('matches ARRAY parameters with IN UNNEST, and handles NULL logic', async () => {
    const { bigquery } = ctx;
    const [inList] = await bigquery.query({
      query: 'SELECT user_id FROM crm.people WHERE user_id IN UNNEST(@ids) AND email IS NOT NULL',
      params: { ids: ['u1', 'u3', 'u5', 'nobody'] },
    });
    expect(ids(inList)).toEqual(['u1', 'u5']);
    const [empty] = await bigquery.query({
      query: 'SELECT user_id FROM crm.people WHERE user_id IN UNNEST(@ids)',
      params: { ids: [] },
      types: { ids: ['STRING'] },
    });
    expect(empty).toEqual([]);
    const [notNull] = await bigquery.query(
      "SELECT user_id FROM crm.people WHERE NOT (email != 'u1@example.com') OR (email IS NULL AND age < 23)",
    );
    expect(ids(notNull)).toEqual(['u0', 'u1']);
  });

  it('counts, orders, limits and aliases', async () => {
    const { bigquery } = ctx;
    const count = await first<unknown[]>(
      bigquery.query({
        query: 'SELECT COUNT(*) AS n FROM crm.people WHERE active = @active',
        params: { active: false },
      }),
    );
    expect(count).toEqual([{ n: 6 }]);
    const anonymous = await first<unknown[]>(bigquery.query('SELECT COUNT(*) FROM crm.people'));
    expect(anonymous).toEqual([{ f0_: 12 }]);
    const [top] = await bigquery.query({
      query: 'SELECT user_id AS who, age FROM crm.people ORDER BY age DESC LIMIT @n',
      params: { n: 3 },
    });
    expect(top).toEqual([
      { who: 'u11', age: 31 },
      { who: 'u10', age: 30 },
      { who: 'u9', age: 29 },
    ]);
  });

  it('round-trips TIMESTAMP values with microseconds', async () => {
    const { bigquery } = ctx;
    const [row] = await first<Array<{ seen_at: BigQueryTimestamp; birthday: { value: string } }>>(
      bigquery.query({
        query: 'SELECT seen_at, birthday FROM crm.people WHERE user_id = @id',
        params: { id: 'u7' },
      }),
    );
    expect(row?.seen_at.value).toBe('2024-01-08T00:00:00.000007000Z');
    expect(row?.birthday.value).toBe('2000-01-08');
    const [again] = await bigquery.query({
      query: 'SELECT user_id FROM crm.people WHERE seen_at = @ts',
      params: { ts: row?.seen_at },
    });
    expect(ids(again)).toEqual(['u7']);
  });

  it('pages getQueryResults with maxResults and page tokens', async () => {
    const { bigquery } = ctx;
    const [job] = await bigquery.createQueryJob('SELECT user_id FROM crm.people');
    const seen: string[] = [];
    let query: object | null = { maxResults: 5, autoPaginate: false };
    let pages = 0;
    while (query !== null) {
      const [rows, next]: [Array<{ user_id: string }>, object | null] = (await job.getQueryResults(
        query,
      )) as never;
      seen.push(...ids(rows));
      query = next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(people.map((person) => person.user_id));
    const [all] = await job.getQueryResults();
    expect(all).toHaveLength(12);
  });

  it('pages jobs.query results too', async () => {
    const { bigquery } = ctx;
    const [rows] = await bigquery.query(
      { query: 'SELECT user_id FROM crm.people' },
      { maxResults: 4 },
    );
    expect(rows).toHaveLength(4);
    const [first, next] = await bigquery.query('SELECT user_id FROM crm.people', {
      maxResults: 4,
      autoPaginate: false,
    });
    expect(first).toHaveLength(4);
    expect(next).toMatchObject({ pageToken: expect.any(String) as unknown });
  });

  it('writes results to a destinationTable', async () => {
    const { bigquery } = ctx;
    const destination = bigquery.dataset('crm').table('adults');
    const [job] = await bigquery.createQueryJob({
      query: 'SELECT user_id, age FROM crm.people WHERE age IN (30, 31)',
      destination,
    });
    await job.getQueryResults();
    const [rows] = await destination.getRows();
    expect(rows).toEqual([
      { user_id: 'u10', age: 30 },
      { user_id: 'u11', age: 31 },
    ]);
    const metadata = await first<JobMetadata>(job.getMetadata());
    expect(metadata.configuration?.query?.destinationTable).toMatchObject({ tableId: 'adults' });
    const [again] = await bigquery.createQueryJob({
      query: 'SELECT user_id, age FROM crm.people WHERE age = 20',
      destination,
      writeDisposition: 'WRITE_APPEND',
    });
    await again.getQueryResults();
    expect((await destination.getRows())[0]).toHaveLength(3);
  });
});
