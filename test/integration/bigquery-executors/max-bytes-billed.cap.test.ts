import { blobsTable, demoSeed, MiB, rejection, useBigQueryExecutors } from './fixture';

const f = useBigQueryExecutors('bqx-cap', { emulator: { seed: demoSeed([blobsTable()]) } });
const config = { table: 'crm.blobs', column: 'owner_id', identifier: 'userId' };
const owners = () => f.select<{ owner_id: string }>('SELECT owner_id FROM crm.blobs');

describe('maxBytesBilled', () => {
  it('stops a job over the cap with a permanent error that says why, changing nothing', async () => {
    const err = await rejection(f.run('bigquery.delete', { ...config, maxBytesBilled: 10 * MiB }));
    expect(err).toMatchObject({ name: 'PermanentError', code: 'bigquery.bytes_billed_limit' });
    // 11 rows of 1 MiB plus their owner ids: the table size alone passes 11 MiB.
    expect(err.message).toMatch(
      /^BigQuery job dsr_\S+ would bill at least 12582912 bytes \(12 MiB\), more than the task's maxBytesBilled of 10485760 bytes \(10 MiB\)\. It was stopped before changing anything\. If the cost is expected, raise maxBytesBilled in the task's config\.$/,
    );
    expect(await owners()).toHaveLength(11);
  });

  it('lets a job within the cap run, billed exactly as capped', async () => {
    const result = await f.run('bigquery.delete', { ...config, maxBytesBilled: 12 * MiB });
    expect(result).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 11,
      cost: { bytesBilled: 12 * MiB },
    });
    expect(result.cost.usd).toBe(0.000071526);
    expect(await owners()).toEqual([]);
  });
});
