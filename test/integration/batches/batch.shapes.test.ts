import { FILER, useBatchFixture } from './harness';
import { registerTask } from '../../../src/app/tasks';
import { getRequestView, listRuns } from '../../../src/app/request-views';
import type { Seed } from '../../../emulators/bigquery';

const PROJECT = 'batch-shapes';
const props = (email: string) => [
  { key: 'plan', value: { string_value: 'pro' } },
  { key: 'email', value: { string_value: email } },
];
const propsSchema = {
  name: 'props',
  type: 'RECORD',
  mode: 'REPEATED',
  fields: [
    { name: 'key', type: 'STRING' },
    { name: 'value', type: 'RECORD', fields: [{ name: 'string_value', type: 'STRING' }] },
  ],
};
const SEED: Seed = {
  datasets: [
    {
      datasetId: 'crm',
      tables: [
        {
          tableId: 'profiles',
          schema: [{ name: 'id', type: 'INT64' }, { name: 'phone', type: 'STRING' }, propsSchema],
          rows: [0, 1, 2, 3, 4].map((i) => ({
            id: i,
            phone: `+4400${i}`,
            props: props(i === 3 ? ` S${i}@Example.com` : `s${i}@example.com`),
          })),
        },
        ...['20240101', '20240102'].map((day) => ({
          tableId: `daily_${day}`,
          schema: [
            { name: 'email', type: 'STRING' },
            { name: 'n', type: 'INT64' },
          ],
          rows: [0, 1, 2, 3, 4].map((i) => ({ email: `s${i}@example.com`, n: i })),
        })),
      ],
    },
  ],
};

// Parts of at most two values (each value counts its bytes plus 16).
const f = useBatchFixture(PROJECT, SEED, { executors: { batchParameterBytes: 70 } });

const register = (id: string, executor: string, config: Record<string, unknown>) =>
  registerTask(
    f.deps(),
    {
      id,
      name: id,
      jobType: 'deletion',
      executor,
      config: { ...config, identifier: 'email', batch: { maxSubjects: 100, maxWaitSeconds: 30 } },
      timeoutSeconds: 120,
      maxAttempts: 3,
      retryPolicy: { minBackoffSeconds: 10, maxBackoffSeconds: 60, maxDoublings: 2 },
    },
    FILER,
  );

async function settle(ids: string[]): Promise<void> {
  await f.drain(async () => {
    const views = await Promise.all(ids.map((id) => getRequestView(f.deps(), id)));
    return views.every((v) => v.status !== 'in_progress');
  }, 400);
}

describe('batches of every statement shape', () => {
  it('nullifies by a key/value match, in parts that keep each statement under the parameter budget, counting each subject’s own rows', async () => {
    await register('profiles-null', 'bigquery.nullify', {
      table: 'crm.profiles',
      columns: ['phone'],
      match: { path: 'props', kind: 'keyValue', key: 'email', normalise: 'email' },
    });
    const ids = [];
    for (const i of [0, 1, 3]) ids.push(await f.file(i));
    await settle(ids);

    const [line] = f.events('batch.flushed');
    // Three values of about 20 bytes: parts of two, then one.
    expect(line).toMatchObject({ batchMembers: 3, statements: 2, affectedRows: 3 });
    const [rows] = await f.emu.bigquery.query('SELECT id, phone FROM crm.profiles ORDER BY id');
    expect(rows).toEqual([
      { id: 0, phone: null },
      { id: 1, phone: null },
      { id: 2, phone: '+44002' },
      { id: 3, phone: null },
      { id: 4, phone: '+44004' },
    ]);
    for (const id of ids) {
      const runs = await listRuns(f.deps(), id);
      expect(runs[runs.length - 1]?.evidence).toMatchObject({ affectedRows: 1, remainingRows: 0 });
    }
  });

  it('runs one statement per shard of a sharded table, and sums each subject’s rows across them', async () => {
    await register('daily-delete', 'bigquery.delete', {
      table: 'crm.daily_*',
      match: { path: 'email', normalise: 'email' },
    });
    const ids = [await f.file(1), await f.file(2)];
    await settle(ids);

    const [line] = f.events('batch.flushed');
    expect(line).toMatchObject({ batchMembers: 2, statements: 2, affectedRows: 4 });
    for (const id of ids) {
      expect((await getRequestView(f.deps(), id)).status).toBe('completed');
      const runs = await listRuns(f.deps(), id);
      expect(runs[runs.length - 1]?.evidence.affectedRows).toBe(2);
      expect(runs[runs.length - 1]?.evidence.touched).toEqual([
        `${PROJECT}.crm.daily_20240101`,
        `${PROJECT}.crm.daily_20240102`,
      ]);
    }
    const [left] = await f.emu.bigquery.query('SELECT email FROM `crm.daily_*` ORDER BY email');
    expect((left as { email: string }[]).map((r) => r.email)).toEqual(
      ['s0', 's0', 's3', 's3', 's4', 's4'].map((s) => `${s}@example.com`),
    );
  });
});
