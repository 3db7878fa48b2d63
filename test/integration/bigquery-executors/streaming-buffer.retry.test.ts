// The fixture first: it must come before anything that loads the BigQuery client.
import { rejection, useBigQueryExecutors } from './fixture';
import { createBigQueryWarehouse } from '../../../src/adapters/bigquery/bigquery-warehouse';
import { RetryableError } from '../../../src/domain/errors';

const f = useBigQueryExecutors('bqx-buffer', {
  emulator: { streamingBufferSeconds: 3600 },
  warehouse: { streamingBufferRetrySeconds: 1800 },
});
const EVE = { email: 'eve@example.com' };
const config = { table: 'crm.contacts', column: 'email', identifier: 'email' };

async function streamEve() {
  await f.emu.bigquery
    .dataset('crm')
    .table('contacts')
    .insert([{ email: EVE.email, name: 'Eve' }]);
}
const eves = () => f.select("SELECT name FROM crm.contacts WHERE email = 'eve@example.com'");

describe('the streaming buffer', () => {
  it('makes a DELETE over streamed rows retryable after the configured delay, saying why', async () => {
    await streamEve();
    const err = await rejection(f.run('bigquery.delete', config, { subject: EVE }));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err).toMatchObject({ code: 'bigquery.streaming_buffer', retryAfterSeconds: 1800 });
    expect(err.message).toMatch(
      /^BigQuery job dsr_\S+ refused the statement: UPDATE or DELETE statement over table bqx-buffer\.crm\.contacts would affect rows in the streaming buffer, which is not supported\. .*retried in 30 min\.$/,
    );
    expect(await eves()).toEqual([{ name: 'Eve' }]);
  });

  it('does the same for a nullify', async () => {
    await streamEve();
    const err = await rejection(
      f.run(
        'bigquery.nullify',
        { table: config.table, columns: ['name'], whereColumn: 'email', identifier: 'email' },
        { subject: EVE },
      ),
    );
    expect(err).toMatchObject({ code: 'bigquery.streaming_buffer', retryAfterSeconds: 1800 });
    expect(await eves()).toEqual([{ name: 'Eve' }]);
  });

  it('waits 90 minutes unless configured otherwise', async () => {
    await streamEve();
    const warehouse = createBigQueryWarehouse(f.emu.bigquery);
    const err = await rejection(
      warehouse.startQuery({
        sql: 'DELETE FROM `bqx-buffer.crm.contacts` WHERE email = @subject',
        params: { subject: EVE.email },
      }),
    );
    expect(err).toMatchObject({ code: 'bigquery.streaming_buffer', retryAfterSeconds: 5400 });
  });

  it('leaves rows outside the buffer to be deleted', async () => {
    await streamEve();
    expect(await f.run('bigquery.delete', config)).toMatchObject({
      outcome: 'succeeded',
      affectedRows: 2,
    });
  });
});
