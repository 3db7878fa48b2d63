import { createHash } from 'node:crypto';
import { first } from '../bigquery/emulator-fixture';
import { GA4_SCHEMA } from '../../../scripts/lib/demo-warehouse';
import { demoSeed, MiB, useBigQueryExecutors } from './fixture';

const PROJECT = 'bqx-shapes';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const ADA_HASH = sha('ada@example.com');

/** Ada as the request gave her: mixed case, a stray space; intake normalised `subject`. */
const AS_GIVEN = {
  subject: { email: 'ada@example.com' },
  subjectAsGiven: { email: ' Ada@Example.COM' },
};

const property = (key: string, value: string) => ({ key, value: { string_value: value } });
const event = (day: string, props: Array<ReturnType<typeof property>>, user = 'u-x') => ({
  event_date: day,
  event_name: 'page_view',
  user_pseudo_id: user,
  user_properties: props,
});
/** The demo warehouse's GA4 export shape. */
const eventsSchema = GA4_SCHEMA;

const crm = demoSeed([
  {
    tableId: 'people',
    schema: [
      {
        name: 'user',
        type: 'RECORD',
        fields: [
          { name: 'email', type: 'STRING' },
          { name: 'name', type: 'STRING' },
        ],
      },
      { name: 'emails', type: 'STRING', mode: 'REPEATED' },
      { name: 'email_sha', type: 'STRING' },
      { name: 'note', type: 'STRING' },
    ],
    rows: [
      {
        user: { email: ' Ada@Example.com ', name: 'Ada' },
        emails: ['ADA@example.com', 'a2@x.io'],
        email_sha: ADA_HASH,
        note: 'r1',
      },
      {
        user: { email: 'bob@example.com', name: 'Bob' },
        emails: ['bob@example.com'],
        email_sha: sha('bob@example.com'),
        note: 'r2',
      },
      {
        user: { email: 'carol@example.com', name: 'Carol' },
        emails: ['Ada@Example.com '],
        note: 'r3',
      },
      { emails: [], email_sha: ADA_HASH, note: 'r4' },
    ],
  },
  {
    tableId: 'visits',
    timePartitioning: { type: 'DAY', field: 'day', requirePartitionFilter: true },
    schema: [
      { name: 'day', type: 'DATE' },
      { name: 'email', type: 'STRING' },
    ],
    rows: [
      { day: '2024-03-30', email: 'ada@example.com' },
      { day: '2024-03-01', email: 'ada@example.com' },
      { day: '2023-01-01', email: 'ada@example.com' },
      { day: '2024-03-30', email: 'bob@example.com' },
    ],
  },
]);

const f = useBigQueryExecutors(PROJECT, {
  emulator: {
    seed: {
      datasets: [
        ...(crm.datasets ?? []),
        {
          datasetId: 'analytics',
          tables: [
            {
              tableId: 'events_20240101',
              schema: eventsSchema,
              rows: [
                event(
                  '20240101',
                  [property('email', ' ADA@example.com'), property('plan', 'pro')],
                  'p-ada',
                ),
                event('20240101', [property('email', 'bob@example.com')]),
              ],
            },
            {
              tableId: 'events_20240102',
              schema: eventsSchema,
              rows: [event('20240102', [property('email', 'bob@example.com')])],
            },
            {
              tableId: 'events_20240103',
              schema: eventsSchema,
              rows: [event('20240103', [property('email', 'ada@example.com')], 'p-ada')],
            },
            {
              tableId: 'events_intraday_20240104',
              schema: eventsSchema,
              rows: [event('20240104', [property('email', 'ada@example.com')], 'p-ada')],
            },
          ],
        },
      ],
    },
  },
  executors: { now: () => new Date('2024-03-31T12:00:00Z') },
});

const people = { table: 'crm.people', identifier: 'email' };
const notes = async () =>
  (await f.select<{ note: string }>('SELECT note FROM crm.people')).map((r) => r.note);

describe('match rules on real warehouse shapes', () => {
  it.each([
    [
      'a STRUCT path, email-normalised on both sides',
      { path: 'user.email', normalise: 'email' },
      ['r1'],
    ],
    ['the same path compared as given: the silent mismatch', { path: 'user.email' }, []],
    [
      'any element of an ARRAY, email-normalised',
      { path: 'emails', kind: 'array', normalise: 'email' },
      ['r1', 'r3'],
    ],
    ['an ARRAY compared as given', { path: 'emails', kind: 'array' }, []],
    [
      'a hashed column (SHA-256 hex of the normalised email)',
      { path: 'email_sha', normalise: 'email', hash: 'sha256_hex' },
      ['r1', 'r4'],
    ],
  ])('exports the rows %s finds', async (_what, match, expected) => {
    const result = await f.run(
      'bigquery.export',
      { ...people, match, selectColumns: ['note'] },
      AS_GIVEN,
    );
    const exported = await f.exported(result);
    expect(exported.rows.map((row) => row.note)).toEqual(expected);
    expect(result.outcome).toBe(expected.length === 0 ? 'not_found' : 'succeeded');
  });

  it('deletes by a STRUCT path, bills the path and the table, and verifies nothing is left', async () => {
    const result = await f.run(
      'bigquery.delete',
      { ...people, match: { path: 'user.email', normalise: 'email' } },
      AS_GIVEN,
    );
    expect(result).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 1,
      evidence: { remainingRows: 0 },
    });
    expect(await notes()).toEqual(['r2', 'r3', 'r4']);
    const [change, verify] = result.evidence?.jobIds ?? [];
    // user.email: ' Ada@Example.com ' 19, bob 17, carol 19, NULL 0 = 55 bytes read; the table as
    // the DELETE starts: user.email 55 + user.name 5+5+7 + emails 17+9+17+18 + email_sha 3×66 +
    // note 4×4 = 347. 55 + 347 = 402.
    expect(await processed(change)).toBe(402);
    // The count afterwards reads user.email over the 3 rows left: 17 + 19 = 36.
    expect(await processed(verify)).toBe(36);
    expect(result.cost).toEqual({ bytesBilled: 20 * MiB, usd: 0.000119209 });
  });

  it('nullifies inside a STRUCT and empties an ARRAY, matched by the hashed column', async () => {
    const result = await f.run(
      'bigquery.nullify',
      {
        ...people,
        columns: ['user.email', 'emails'],
        match: { path: 'email_sha', normalise: 'email', hash: 'sha256_hex' },
      },
      AS_GIVEN,
    );
    expect(result).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 2,
      evidence: { remainingRows: 0 },
    });
    const rows = await f.select<{ note: string; email: string | null; n: number }>(
      'SELECT note, user.email AS email, ARRAY_LENGTH(emails) AS n FROM crm.people ORDER BY note',
    );
    expect(rows).toEqual([
      { note: 'r1', email: null, n: 0 },
      { note: 'r2', email: 'bob@example.com', n: 1 },
      { note: 'r3', email: 'carol@example.com', n: 1 },
      { note: 'r4', email: null, n: 0 },
    ]);
  });
});

describe('date-sharded tables (GA4 export)', () => {
  const ga4 = {
    table: 'analytics.events_*',
    identifier: 'email',
    match: { path: 'user_properties', kind: 'keyValue', key: 'email', normalise: 'email' },
  };

  it('deletes shard by shard within the days given, naming each shard', async () => {
    const result = await f.run(
      'bigquery.delete',
      { ...ga4, shards: { from: '2024-01-01', to: '2024-01-03' } },
      AS_GIVEN,
    );
    expect(result).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 2,
      evidence: {
        touched: [
          `${PROJECT}.analytics.events_20240101`,
          `${PROJECT}.analytics.events_20240102`,
          `${PROJECT}.analytics.events_20240103`,
        ],
        remainingRows: 0,
      },
    });
    expect(result.message).toMatch(
      /^deleted 2 rows from 3 shards of bqx-shapes.analytics.events_\*; verified/,
    );
    // Two shards had rows (a change and a count each); the one without had its change only.
    // The count over 20240103, empty once Ada's one row is gone, reads 0 bytes: not billed.
    expect(result.evidence?.jobIds).toHaveLength(5);
    expect(result.cost.bytesBilled).toBe(4 * 10 * MiB);
    const left = await f.select<{ n: number }>(
      'SELECT COUNT(*) AS n FROM `analytics.events_*` WHERE user_pseudo_id = "p-ada"',
    );
    expect(left).toEqual([{ n: 1 }]); // the intraday shard, outside the days given
  });

  it("exports every shard in one query, with each row's suffix", async () => {
    const result = await f.run(
      'bigquery.export',
      { ...ga4, selectColumns: ['event_date'] },
      AS_GIVEN,
    );
    const exported = await f.exported(result);
    expect(exported.rows).toEqual([
      { event_date: '20240101', _table_suffix: '20240101' },
      { event_date: '20240103', _table_suffix: '20240103' },
      { event_date: '20240104', _table_suffix: 'intraday_20240104' },
    ]);
    expect(result.evidence?.jobIds).toHaveLength(1);
  });

  it('refuses at registration a wildcard that matches no table', async () => {
    expect(await f.check('bigquery.delete', { ...ga4, table: 'analytics.sessions_*' })).toEqual([
      { path: ['table'], message: `no table matches ${PROJECT}.analytics.sessions_*` },
    ]);
  });
});

describe('partitioned tables', () => {
  const visits = {
    table: 'crm.visits',
    identifier: 'email',
    match: { path: 'email', normalise: 'email' },
  };

  it('refuses a task without a lookback where the table requires a partition filter', async () => {
    expect(await f.check('bigquery.delete', visits)).toEqual([
      {
        path: ['partitionLookbackDays'],
        message: `${PROJECT}.crm.visits requires a partition filter on day: set partitionLookbackDays (for example the table's retention period) (in ${PROJECT}.crm.visits)`,
      },
    ]);
    expect(await f.check('bigquery.delete', { ...visits, partitionLookbackDays: 60 })).toEqual([]);
  });

  it('deletes within the lookback, billing only the partitions it scans', async () => {
    const result = await f.run(
      'bigquery.delete',
      { ...visits, partitionLookbackDays: 60 },
      AS_GIVEN,
    );
    expect(result).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 2,
      evidence: { remainingRows: 0 },
    });
    const days = await f.select<{ day: { value: string } }>(
      'SELECT day FROM crm.visits WHERE day >= "2000-01-01" ORDER BY day',
    );
    expect(days.map((r) => r.day.value)).toEqual(['2023-01-01', '2024-03-30']);
    // Partitions 2024-03-01 and 2024-03-30 only: email 17+17+17 = 51 and day 3×8 = 24 read, the
    // scanned partitions whole (email 51 + day 24) = 75: 150 in all. 2023-01-01 is not read.
    expect(await processed(result.evidence?.jobIds?.[0])).toBe(150);
  });
});

describe('registration checks against the schema', () => {
  it.each([
    [
      { ...people, match: { path: 'user.mail' } },
      ['match', 'path'],
      'the table has no field user.mail',
    ],
    [
      { ...people, match: { path: 'note', kind: 'array' } },
      ['match', 'kind'],
      'kind: array needs a repeated field, and note is not repeated',
    ],
    [
      { ...people, match: { path: 'emails' } },
      ['match', 'kind'],
      'emails is repeated (an ARRAY): use kind: array',
    ],
    [{ ...people, column: 'nope' }, ['column'], 'the table has no field nope'],
    [
      {
        table: 'analytics.events_20240101',
        identifier: 'email',
        match: {
          path: 'user_properties',
          kind: 'keyValue',
          key: 'uid',
          valueField: 'value.int_value',
          hash: 'sha256_hex',
        },
      },
      ['match', 'hash'],
      'user_properties.value.int_value is INT64; only a STRING can be hashed (sha256_hex)',
    ],
    [
      { table: 'crm.missing', identifier: 'email', column: 'email' },
      ['table'],
      `table ${PROJECT}.crm.missing was not found`,
    ],
  ])('refuses %j', async (config, path, message) => {
    const issues = await f.check('bigquery.delete', config);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toEqual(path);
    expect(issues[0]?.message).toContain(message);
  });

  it('refuses to nullify a REQUIRED column', async () => {
    const issues = await f.check('bigquery.nullify', {
      table: 'crm.contacts',
      identifier: 'email',
      columns: ['email'],
      whereColumn: 'email',
    });
    expect(issues.map((i) => i.message)).toEqual([
      `email is REQUIRED: it cannot be set to NULL (delete the rows instead) (in ${PROJECT}.crm.contacts)`,
    ]);
  });
});

async function processed(jobId: string | undefined): Promise<number> {
  const metadata = await first<{ statistics: { query: { totalBytesProcessed: string } } }>(
    f.emu.bigquery.job(jobId ?? '').getMetadata(),
  );
  return Number(metadata.statistics.query.totalBytesProcessed);
}
