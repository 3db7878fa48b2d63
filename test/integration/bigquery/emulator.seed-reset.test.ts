import { BigQuery, first, useBigQueryEmulator } from './emulator-fixture';
import { startBigQueryEmulator } from '../../../emulators/bigquery';

const ctx = useBigQueryEmulator('seed-project', {
  seed: {
    datasets: [
      {
        datasetId: 'warehouse',
        tables: [
          {
            tableId: 'contacts',
            schema: { fields: [{ name: 'email', type: 'STRING', mode: 'REQUIRED' }] },
            rows: [{ email: 'one@example.com' }, { email: 'two@example.com' }],
          },
        ],
      },
      { datasetId: 'elsewhere', projectId: 'other-project', tables: [] },
    ],
  },
});

async function emails(bigquery: BigQuery): Promise<string[]> {
  const rows = await first<Array<{ email: string }>>(
    bigquery.query('SELECT email FROM warehouse.contacts'),
  );
  return rows.map((row) => row.email);
}

describe('seeding and reset', () => {
  it('seeds datasets, tables and rows, in the default project unless one is named', async () => {
    expect(await emails(ctx.bigquery)).toEqual(['one@example.com', 'two@example.com']);
    const other = new BigQuery({ projectId: 'other-project', apiEndpoint: ctx.emulator.url });
    expect((await other.dataset('elsewhere').exists())[0]).toBe(true);
  });

  it('reset() drops everything and re-applies the seed', async () => {
    await ctx.bigquery.query("DELETE FROM warehouse.contacts WHERE email = 'one@example.com'");
    await ctx.bigquery.createDataset('scratch');
    ctx.emulator.reset();
    expect(await emails(ctx.bigquery)).toEqual(['one@example.com', 'two@example.com']);
    expect((await ctx.bigquery.dataset('scratch').exists())[0]).toBe(false);
  });

  it('serves clients configured through BIGQUERY_EMULATOR_HOST', async () => {
    process.env.BIGQUERY_EMULATOR_HOST = ctx.emulator.url;
    try {
      const viaEnv = new BigQuery({ projectId: 'seed-project' });
      expect(await emails(viaEnv)).toHaveLength(2);
    } finally {
      delete process.env.BIGQUERY_EMULATOR_HOST;
    }
  });

  it('refuses an invalid seed with the table and row at fault', async () => {
    await expect(
      startBigQueryEmulator({
        seed: {
          datasets: [
            {
              datasetId: 'bad',
              tables: [
                {
                  tableId: 't',
                  schema: [{ name: 'n', type: 'INT64' }],
                  rows: [{ n: 1 }, { n: 'x' }],
                },
              ],
            },
          ],
        },
      }),
    ).rejects.toThrow(
      'Invalid BigQuery emulator seed for table local-project.bad.t: row 1: Cannot convert value of field n',
    );
  });
});
