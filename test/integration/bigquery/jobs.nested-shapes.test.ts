import type { JobMetadata } from '@google-cloud/bigquery';
import { first, useBigQueryEmulator } from './emulator-fixture';

const ctx = useBigQueryEmulator('nested-project');

/** GA4's shape, cut down: a user STRUCT and repeated key/value STRUCTs. */
const schema = [
  { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
  {
    name: 'user',
    type: 'RECORD',
    mode: 'NULLABLE',
    fields: [
      { name: 'email', type: 'STRING', mode: 'NULLABLE' },
      { name: 'seen', type: 'TIMESTAMP', mode: 'NULLABLE' },
    ],
  },
  { name: 'tags', type: 'STRING', mode: 'REPEATED' },
  {
    name: 'props',
    type: 'RECORD',
    mode: 'REPEATED',
    fields: [
      { name: 'key', type: 'STRING', mode: 'NULLABLE' },
      {
        name: 'value',
        type: 'RECORD',
        mode: 'NULLABLE',
        fields: [{ name: 'int_value', type: 'INTEGER', mode: 'NULLABLE' }],
      },
    ],
  },
];

beforeAll(async () => {
  const [dataset] = await ctx.bigquery.createDataset('ga');
  const [table] = await dataset.createTable('events', { schema });
  await table.insert([
    {
      id: 1,
      user: { email: 'a@x.io', seen: '2024-01-02T03:04:05.000006Z' },
      tags: ['new', 'eu'],
      props: [{ key: 'visits', value: { int_value: 3 } }],
    },
    { id: 2, tags: [], props: [] },
  ]);
});

describe('STRUCT and ARRAY columns through the official client', () => {
  it('streams nested rows in and lists them back as the service writes them', async () => {
    const rows = await first<unknown[]>(ctx.bigquery.dataset('ga').table('events').getRows());
    expect(rows).toEqual([
      {
        id: 1,
        user: {
          email: 'a@x.io',
          seen: expect.objectContaining({ value: '2024-01-02T03:04:05.000006000Z' }) as unknown,
        },
        tags: ['new', 'eu'],
        props: [{ key: 'visits', value: { int_value: 3 } }],
      },
      { id: 2, user: null, tags: [], props: [] },
    ]);
  });

  it('returns STRUCT and ARRAY query results the client decodes, with their schema', async () => {
    const [job] = await ctx.bigquery.createQueryJob({
      query:
        "SELECT id, user, ARRAY(SELECT p.value.int_value FROM UNNEST(props) AS p WHERE p.key = 'visits') AS visits FROM ga.events ORDER BY id",
    });
    const [rows, , response] = await job.getQueryResults();
    expect(rows).toEqual([
      { id: 1, user: { email: 'a@x.io', seen: expect.anything() as unknown }, visits: [3] },
      { id: 2, user: null, visits: [] },
    ]);
    expect((response as { schema?: unknown } | undefined)?.schema).toEqual({
      fields: [
        { name: 'id', type: 'INTEGER', mode: 'NULLABLE' },
        { name: 'user', type: 'RECORD', mode: 'NULLABLE', fields: schema[1]?.fields },
        { name: 'visits', type: 'INTEGER', mode: 'REPEATED' },
      ],
    });
  });

  it('estimates a dry run at exactly what the query then processes, and keeps no job', async () => {
    const query =
      "SELECT id FROM ga.events WHERE EXISTS (SELECT 1 FROM UNNEST(tags) AS t WHERE t = 'eu')";
    const [dry] = await ctx.bigquery.createQueryJob({ query, dryRun: true });
    const estimated = (dry.metadata as JobMetadata).statistics?.totalBytesProcessed;
    // tags: (2+3) + (2+2) = 9; id: 2 × 8 = 16.
    expect(estimated).toBe('25');
    const [job] = await ctx.bigquery.createQueryJob({ query });
    await job.getQueryResults();
    const metadata = await first<JobMetadata>(job.getMetadata());
    expect(metadata.statistics?.query?.totalBytesProcessed).toBe('25');
    expect(metadata.statistics?.query?.totalBytesBilled).toBe(String(10 * 2 ** 20));
    const [jobs] = await ctx.bigquery.getJobs();
    // The dry run was answered at once and not kept.
    expect(jobs.map((j) => j.id)).toContain(job.id);
    expect(jobs.map((j) => j.id)).not.toContain(dry.id);
  });
});
