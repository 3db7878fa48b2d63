import type { Job, JobMetadata } from '@google-cloud/bigquery';
import { apiError, first, useBigQueryEmulator } from './emulator-fixture';

/** The emulator's clock: jobs take MIN_JOB_MS of it, and it moves only when a test says. */
const clock = { time: Date.UTC(2024, 0, 1), now: () => clock.time };
const MIN_JOB_MS = 1000;

const ctx = useBigQueryEmulator('dml-limits', {
  clock,
  minJobMs: MIN_JOB_MS,
  seed: {
    datasets: [
      {
        datasetId: 'd',
        tables: [
          {
            tableId: 't',
            schema: [{ name: 'id', type: 'INT64' }],
            rows: Array.from({ length: 30 }, (_, id) => ({ id })),
          },
          { tableId: 'other', schema: [{ name: 'id', type: 'INT64' }], rows: [{ id: 1 }] },
        ],
      },
    ],
  },
});

/** Through tabledata.list: a query would be a job, and jobs here wait for the clock. */
const rows = async () =>
  (await first<unknown[]>(ctx.bigquery.dataset('d').table('t').getRows())).length;
const state = async (job: Job) => (await first<JobMetadata>(job.getMetadata())).status?.state;

describe("BigQuery's limits on mutating DML per table", () => {
  it('runs 2 at a time, queues 20 as PENDING, refuses the next with the service error, and starts the queued in order', async () => {
    const jobs: Job[] = [];
    for (let id = 0; id < 22; id++) {
      const [job] = await ctx.bigquery.createQueryJob({
        query: `DELETE FROM d.t WHERE id = ${id}`,
      });
      jobs.push(job);
    }
    clock.time += 1;
    expect(await Promise.all(jobs.slice(0, 3).map(state))).toEqual([
      'RUNNING',
      'RUNNING',
      'PENDING',
    ]);
    expect(await state(jobs[21] as Job)).toBe('PENDING');

    const refused = await apiError(
      ctx.bigquery.createQueryJob({ query: 'DELETE FROM d.t WHERE id = 22' }),
    );
    expect(refused.message).toBe(
      'Resources exceeded during query execution: Too many DML statements outstanding against table dml-limits:d.t, limit is 20.',
    );
    expect(refused.errors?.[0]).toMatchObject({ reason: 'resourcesExceeded' });
    // Other tables, and reads, are not held up.
    const [other] = await ctx.bigquery.createQueryJob({
      query: 'DELETE FROM d.other WHERE id = 1',
    });
    clock.time += 1;
    expect(await state(other)).toBe('RUNNING');
    expect(await rows()).toBe(30);

    // The first two finish; the next two in line start.
    clock.time += MIN_JOB_MS;
    expect(await Promise.all(jobs.slice(0, 5).map(state))).toEqual([
      'DONE',
      'DONE',
      'RUNNING',
      'RUNNING',
      'PENDING',
    ]);
    // Each wave of two starts when the emulator sees the one before it done.
    for (let wave = 0; wave < 10; wave++) {
      clock.time += MIN_JOB_MS;
      await Promise.all(jobs.map(state));
    }
    expect(await Promise.all(jobs.map(state))).toEqual(jobs.map(() => 'DONE'));
    expect(await rows()).toBe(8);
  });
});
