import { apiError, first, useBigQueryEmulator } from './emulator-fixture';

const ctx = useBigQueryEmulator('crud-project');

describe('datasets and tables through the official client', () => {
  it('creates, gets, lists and deletes datasets', async () => {
    const { bigquery } = ctx;
    const [dataset] = await bigquery.createDataset('analytics', {
      location: 'EU',
      description: 'demo',
    });
    expect(dataset.id).toBe('analytics');
    const metadata = await first<object>(bigquery.dataset('analytics').getMetadata());
    expect(metadata).toMatchObject({
      id: 'crud-project:analytics',
      datasetReference: { projectId: 'crud-project', datasetId: 'analytics' },
      location: 'EU',
      description: 'demo',
    });
    await bigquery.createDataset('billing');
    const [datasets] = await bigquery.getDatasets();
    expect(datasets.map((d) => d.id)).toEqual(['analytics', 'billing']);
    const [exists] = await bigquery.dataset('billing').exists();
    expect(exists).toBe(true);
    await bigquery.dataset('billing').delete();
    const [afterDelete] = await bigquery.dataset('billing').exists();
    expect(afterDelete).toBe(false);
  });

  it('pages dataset lists', async () => {
    const { bigquery } = ctx;
    for (const id of ['page_a', 'page_b', 'page_c']) await bigquery.createDataset(id);
    const [first, next] = await bigquery.getDatasets({ maxResults: 2, autoPaginate: false });
    expect(first).toHaveLength(2);
    expect(next).toMatchObject({ pageToken: expect.any(String) as unknown });
    const [rest] = await bigquery.getDatasets({ ...next, autoPaginate: false });
    const ids = [...first, ...rest].map((d) => d.id);
    expect(ids).toEqual(expect.arrayContaining(['page_a', 'page_b', 'page_c']));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('answers 409 for a duplicate and 404 for a missing dataset', async () => {
    const { bigquery } = ctx;
    await bigquery.createDataset('dup');
    const duplicate = await apiError(bigquery.createDataset('dup'));
    expect(duplicate.code).toBe(409);
    expect(duplicate.message).toBe('Already Exists: Dataset crud-project:dup');
    const missing = await apiError(bigquery.dataset('nope').getMetadata());
    expect(missing.code).toBe(404);
    expect(missing.errors?.[0]).toMatchObject({ reason: 'notFound' });
  });

  it('creates tables with a schema and reports them with legacy type names', async () => {
    const { bigquery } = ctx;
    const [dataset] = await bigquery.createDataset('warehouse');
    const [table] = await dataset.createTable('events', {
      schema: [
        { name: 'user_id', type: 'STRING', mode: 'REQUIRED' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'n', type: 'INT64' },
        { name: 'ok', type: 'BOOL' },
      ],
      description: 'events',
    });
    await table.insert([{ user_id: 'abc', n: 1 }]);
    const metadata = await first<object>(table.getMetadata());
    expect(metadata).toMatchObject({
      id: 'crud-project:warehouse.events',
      tableReference: { projectId: 'crud-project', datasetId: 'warehouse', tableId: 'events' },
      type: 'TABLE',
      numRows: '1',
      numBytes: String(2 + 3 + 8),
      description: 'events',
      schema: {
        fields: [
          { name: 'user_id', type: 'STRING', mode: 'REQUIRED' },
          { name: 'ts', type: 'TIMESTAMP', mode: 'NULLABLE' },
          { name: 'n', type: 'INTEGER', mode: 'NULLABLE' },
          { name: 'ok', type: 'BOOLEAN', mode: 'NULLABLE' },
        ],
      },
    });
    await table.setMetadata({ description: 'renamed' });
    expect((await table.getMetadata())[0]).toMatchObject({ description: 'renamed' });
  });

  it('lists and deletes tables, and guards non-empty datasets', async () => {
    const { bigquery } = ctx;
    const [dataset] = await bigquery.createDataset('tables');
    await dataset.createTable('b', { schema: [{ name: 'x', type: 'STRING' }] });
    await dataset.createTable('a', { schema: [{ name: 'x', type: 'STRING' }] });
    const [tables] = await dataset.getTables();
    expect(tables.map((t) => t.id)).toEqual(['a', 'b']);
    await dataset.table('b').delete();
    expect((await dataset.getTables())[0].map((t) => t.id)).toEqual(['a']);
    const inUse = await apiError(dataset.delete());
    expect(inUse.code).toBe(400);
    expect(inUse.errors?.[0]).toMatchObject({ reason: 'resourceInUse' });
    await dataset.delete({ force: true });
    expect((await dataset.exists())[0]).toBe(false);
  });

  it('keeps RECORD, REPEATED and time-partitioned schemas as given', async () => {
    const { bigquery } = ctx;
    const [dataset] = await bigquery.createDataset('shapes');
    const schema = [
      {
        name: 'user',
        type: 'RECORD',
        mode: 'NULLABLE',
        fields: [{ name: 'email', type: 'STRING', mode: 'NULLABLE' }],
      },
      { name: 'emails', type: 'STRING', mode: 'REPEATED' },
      { name: 'day', type: 'DATE', mode: 'NULLABLE' },
    ];
    await dataset.createTable('t', {
      schema,
      timePartitioning: { type: 'DAY', field: 'day' },
      requirePartitionFilter: true,
    });
    const metadata = await first<Record<string, unknown>>(dataset.table('t').getMetadata());
    expect(metadata.schema).toEqual({ fields: schema });
    expect(metadata.timePartitioning).toEqual({ type: 'DAY', field: 'day' });
    expect(metadata.requirePartitionFilter).toBe(true);
  });

  it('refuses schemas the emulator cannot hold faithfully', async () => {
    const { bigquery } = ctx;
    const [dataset] = await bigquery.createDataset('strict');
    const geography = await apiError(
      dataset.createTable('geo', { schema: [{ name: 'g', type: 'GEOGRAPHY' }] }),
    );
    expect(geography.code).toBe(400);
    expect(geography.message).toContain('Unsupported field type GEOGRAPHY');
    const empty = await apiError(
      dataset.createTable('empty', { schema: [{ name: 'r', type: 'RECORD', fields: [] }] }),
    );
    expect(empty.message).toBe('Field r is type RECORD but has no schema');
    const badPartition = await apiError(
      dataset.createTable('part', {
        schema: [{ name: 's', type: 'STRING' }],
        timePartitioning: { type: 'DAY', field: 's' },
      }),
    );
    expect(badPartition.message).toContain('can only be of type TIMESTAMP, DATE or DATETIME');
    const ranged = await apiError(
      dataset.createTable('ranged', {
        schema: [{ name: 'n', type: 'INTEGER' }],
        rangePartitioning: { field: 'n', range: { start: '0', end: '10', interval: '1' } },
      }),
    );
    expect(ranged.message).toContain('does not support rangePartitioning');
    const missing = await apiError(dataset.table('missing').getMetadata());
    expect(missing.code).toBe(404);
    expect(missing.message).toBe('Not found: Table crud-project:strict.missing');
  });
});
