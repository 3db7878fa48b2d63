import type { Table, TableMetadata } from '@google-cloud/bigquery';
import { BigQuery, first, useBigQueryEmulator } from './emulator-fixture';

const ctx = useBigQueryEmulator('tabledata-project');

const schema = [
  { name: 'id', type: 'STRING', mode: 'REQUIRED' },
  { name: 'payload', type: 'BYTES' },
  { name: 'big', type: 'INT64' },
  { name: 'ratio', type: 'FLOAT64' },
  { name: 'amount', type: 'NUMERIC' },
  { name: 'active', type: 'BOOL' },
  { name: 'seen_at', type: 'TIMESTAMP' },
  { name: 'day', type: 'DATE' },
];

async function createTable(tableId: string): Promise<Table> {
  const dataset = ctx.bigquery.dataset('data');
  if (!(await dataset.exists())[0]) await dataset.create();
  const [table] = await dataset.createTable(tableId, { schema });
  return table;
}

describe('tabledata.insertAll and tabledata.list through the official client', () => {
  it('round-trips every supported type, including microsecond timestamps', async () => {
    const table = await createTable('types');
    await table.insert([
      {
        id: 'full',
        payload: Buffer.from('hi'),
        big: BigQuery.int('9007199254740993'),
        ratio: 0.25,
        amount: '12.345',
        active: true,
        seen_at: BigQuery.timestamp('2024-01-02T03:04:05.123456Z'),
        day: BigQuery.date('2024-02-29'),
      },
      { id: 'empty' },
    ]);
    const [rows] = await table.getRows({ wrapIntegers: true });
    expect(rows).toHaveLength(2);
    const [full, empty] = rows as Array<
      Record<string, { value?: unknown; toString(): string } | null>
    >;
    expect(full?.id).toBe('full');
    expect(full?.payload).toEqual(Buffer.from('hi'));
    expect(full?.big?.value).toBe('9007199254740993');
    expect(full?.ratio).toBe(0.25);
    expect(full?.amount?.toString()).toBe('12.345');
    expect(full?.active).toBe(true);
    expect(full?.seen_at?.value).toBe('2024-01-02T03:04:05.123456000Z');
    expect(full?.day?.value).toBe('2024-02-29');
    expect(empty).toEqual({
      id: 'empty',
      payload: null,
      big: null,
      ratio: null,
      amount: null,
      active: null,
      seen_at: null,
      day: null,
    });
  });

  it('reports invalid rows and inserts nothing unless skipInvalidRows is set', async () => {
    const table = await createTable('invalid');
    const failure = await table.insert([{ id: 'ok' }, { id: 'bad', nope: 1 }, { big: 'x' }]).then(
      () => undefined,
      (error: unknown) =>
        error as {
          name: string;
          errors: Array<{ row: object; errors: Array<{ reason: string; message: string }> }>;
        },
    );
    expect(failure?.name).toBe('PartialFailureError');
    expect(failure?.errors.map((e) => e.errors.map((detail) => detail.reason))).toEqual([
      ['stopped'],
      ['invalid'],
      ['invalid', 'invalid'],
    ]);
    expect(failure?.errors[1]?.errors[0]?.message).toBe('no such field: nope.');
    expect(failure?.errors[2]?.errors.map((detail) => detail.message)).toEqual([
      'Cannot convert value of field big: Invalid INT64 value: x',
      'Missing required field: id.',
    ]);
    expect((await table.getRows())[0]).toHaveLength(0);

    await table
      .insert([{ id: 'ok' }, { id: 'bad', nope: 1 }], { skipInvalidRows: true })
      .catch(() => undefined);
    await table.insert([{ id: 'lenient', nope: 1 }], { ignoreUnknownValues: true });
    expect((await table.getRows())[0].map((row: { id: string }) => row.id)).toEqual([
      'ok',
      'lenient',
    ]);
  });

  it('pages with maxResults and page tokens, and honours selectedFields', async () => {
    const table = await createTable('paged');
    await table.insert(Array.from({ length: 5 }, (_, i) => ({ id: `r${i}`, big: i })));
    const ids: string[] = [];
    let query: object | null = { maxResults: 2, autoPaginate: false };
    let pages = 0;
    while (query !== null) {
      const [rows, next]: [Array<{ id: string }>, object | null] = (await table.getRows(
        query,
      )) as never;
      ids.push(...rows.map((row) => row.id));
      query = next;
      pages++;
    }
    expect(ids).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(pages).toBe(3);
    const [all] = await table.getRows();
    expect(all).toHaveLength(5);
    const [selected] = await table.getRows({
      selectedFields: 'big,id',
      maxResults: 1,
      autoPaginate: false,
    });
    expect(selected).toEqual([{ big: 0, id: 'r0' }]);
  });

  it('shows streamed rows in the table metadata streamingBuffer', async () => {
    const table = await createTable('buffered');
    await table.insert([{ id: 'a' }, { id: 'bc' }]);
    const metadata = await first<TableMetadata>(table.getMetadata());
    expect(metadata.streamingBuffer).toMatchObject({
      estimatedRows: '2',
      estimatedBytes: String(3 + 4),
    });
    expect(Number(metadata.streamingBuffer?.oldestEntryTime)).toBeGreaterThan(0);
  });
});
