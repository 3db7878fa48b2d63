import { createRecordSink } from '../../../src/app/record-sets';
import { builtInExecutors } from '../../../src/executors';
import { createBigQueryExecutors } from '../../../src/executors/bigquery';
import type { Warehouse } from '../../../src/ports/warehouse';
import { createMemoryRecordStore } from '../../helpers/memory-record-store';

/** Job types are decided from the config alone: a warehouse that is never called. */
const unusedWarehouse: Warehouse = {
  startQuery: () => Promise.reject(new Error('not called')),
  getJob: () => Promise.reject(new Error('not called')),
  getRows: () => Promise.reject(new Error('not called')),
  estimate: () => Promise.reject(new Error('not called')),
  getTable: () => Promise.reject(new Error('not called')),
  listTables: () => Promise.reject(new Error('not called')),
};

const registry = builtInExecutors({
  secrets: () => undefined,
  origins: { allowedOrigins: ['https://partner.example'], secretOrigins: {} },
  extra: createBigQueryExecutors({
    warehouse: unusedWarehouse,
    defaultProjectId: 'acme-prod',
    records: createRecordSink(createMemoryRecordStore()),
  }),
});

const serves = (executor: string, config: object) =>
  registry.get(executor).jobTypes(registry.parseConfig(executor, config));

const url = 'https://partner.example/users/{{subject.email}}';
const table = { table: 'crm.contacts', column: 'email', identifier: 'email' };

const CASES: [string, object, string[]][] = [
  ['noop', {}, ['deletion', 'records']],
  ['demo.sleep', { ms: 1 }, ['deletion', 'records']],
  ['demo.flaky', { failAttempts: 2 }, ['deletion', 'records']],
  ['http.request', { url, method: 'GET' }, ['records']],
  ['http.request', { url, method: 'POST' }, ['deletion']],
  ['http.request', { url }, ['deletion']], // POST by default
  ['http.request', { url, method: 'PUT' }, ['deletion']],
  ['http.request', { url, method: 'PATCH' }, ['deletion']],
  ['http.request', { url, method: 'DELETE' }, ['deletion']],
  ['bigquery.export', table, ['records']],
  ['bigquery.delete', table, ['deletion']],
  [
    'bigquery.nullify',
    { table: 'crm.contacts', columns: ['phone'], whereColumn: 'email', identifier: 'email' },
    ['deletion'],
  ],
  ['bigquery.statement', { sql: 'SELECT * FROM d.t WHERE email = @email' }, ['records']],
  ['bigquery.statement', { sql: 'DELETE FROM d.t WHERE email = @email' }, ['deletion']],
  ['bigquery.statement', { sql: 'UPDATE d.t SET email = NULL WHERE email = @email' }, ['deletion']],
  [
    'bigquery.statement',
    { sql: 'MERGE d.t USING d.u ON TRUE WHEN MATCHED THEN DELETE' },
    ['deletion'],
  ],
];

describe('executors declare the job types they may serve', () => {
  it.each(CASES)('%s with %j serves %j', (executor, config, expected) => {
    expect([...serves(executor, config)].sort()).toEqual(expected);
  });

  it('covers every built-in executor', () => {
    expect([...new Set(CASES.map(([name]) => name))].sort()).toEqual(registry.names());
  });
});
