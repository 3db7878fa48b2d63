import { apiError, first, useBigQueryEmulator } from './emulator-fixture';

/** A clock the test moves by hand: buffer age follows it, not the wall clock. */
const clock = { time: Date.parse('2026-01-01T00:00:00Z'), now: (): number => clock.time };

const ctx = useBigQueryEmulator('buffer-project', {
  clock,
  streamingBufferSeconds: 60,
  seed: {
    datasets: [
      {
        datasetId: 'app',
        tables: [
          {
            tableId: 'entries',
            schema: [
              { name: 'owner_id', type: 'STRING' },
              { name: 'note', type: 'STRING' },
            ],
            rows: [
              { owner_id: 'seeded', note: 'from the seed' },
              { owner_id: 'seeded', note: 'also seeded' },
            ],
          },
        ],
      },
    ],
  },
});

const STREAMING_ERROR =
  'UPDATE or DELETE statement over table buffer-project.app.entries would affect rows in the streaming buffer, which is not supported';

async function owners(): Promise<Array<string | null>> {
  const rows = await first<Array<{ owner_id: string | null }>>(
    ctx.bigquery.query('SELECT owner_id FROM app.entries'),
  );
  return rows.map((row) => row.owner_id);
}

describe('the streaming buffer', () => {
  it('refuses DML over rows streamed within the window, with the service message', async () => {
    const table = ctx.bigquery.dataset('app').table('entries');
    await table.insert([{ owner_id: 'streamed', note: 'fresh' }]);

    const deleteError = await apiError(
      ctx.bigquery.query({
        query: 'DELETE FROM app.entries WHERE owner_id = @id',
        params: { id: 'streamed' },
      }),
    );
    expect(deleteError.code).toBe(400);
    expect(deleteError.errors?.[0]).toMatchObject({
      reason: 'invalidQuery',
      message: STREAMING_ERROR,
    });

    // With no minimum job duration the job is DONE when inserted, so createQueryJob rejects.
    const updateError = await apiError(
      ctx.bigquery.createQueryJob({
        query: 'UPDATE app.entries SET owner_id = NULL WHERE note = @note',
        params: { note: 'fresh' },
      }),
    );
    expect(updateError.errors?.[0]).toMatchObject({
      reason: 'invalidQuery',
      message: STREAMING_ERROR,
    });
    expect(await owners()).toEqual(['seeded', 'seeded', 'streamed']);
  });

  it('lets DML touch seeded rows while streamed rows are still buffered', async () => {
    const [rows] = await ctx.bigquery.query({
      query: 'UPDATE app.entries SET owner_id = NULL WHERE owner_id = @id',
      params: { id: 'seeded' },
    });
    expect(rows).toEqual([]);
    expect(await owners()).toEqual([null, null, 'streamed']);
  });

  it('allows the statement once the rows have left the buffer', async () => {
    clock.time += 59_000;
    await apiError(ctx.bigquery.query("DELETE FROM app.entries WHERE owner_id = 'streamed'"));
    clock.time += 1_000;
    const [job] = await ctx.bigquery.createQueryJob(
      "DELETE FROM app.entries WHERE owner_id = 'streamed'",
    );
    await job.getQueryResults();
    expect(job.metadata).toMatchObject({ statistics: { query: { numDmlAffectedRows: '1' } } });
    expect(await owners()).toEqual([null, null]);
  });
});

describe('with the streaming buffer turned off', () => {
  const off = useBigQueryEmulator('buffer-off-project', { streamingBufferSeconds: 0 });

  it('deletes streamed rows at once', async () => {
    const [dataset] = await off.bigquery.createDataset('app');
    const [table] = await dataset.createTable('entries', {
      schema: [{ name: 'owner_id', type: 'STRING' }],
    });
    await table.insert([{ owner_id: 'x' }]);
    expect(
      (await first<{ streamingBuffer?: unknown }>(table.getMetadata())).streamingBuffer,
    ).toBeUndefined();
    await off.bigquery.query("DELETE FROM app.entries WHERE owner_id = 'x'");
    expect(await first<unknown[]>(table.getRows())).toEqual([]);
  });
});
