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

    // The first two finish together, changing the same (only) partition: the first commits,
    // the second conflicts and runs again, as the service retries it; the next in line starts.
    clock.time += MIN_JOB_MS;
    expect(await Promise.all(jobs.slice(0, 5).map(state))).toEqual([
      'DONE',
      'RUNNING',
      'RUNNING',
      'PENDING',
      'PENDING',
    ]);
    // Each wave, one commits and the other runs again.
    for (let wave = 0; wave < 30; wave++) {
      clock.time += MIN_JOB_MS;
      await Promise.all(jobs.map(state));
    }
    expect(await Promise.all(jobs.map(state))).toEqual(jobs.map(() => 'DONE'));
    // All on one partition: a job that kept losing to its neighbours' commits failed with the
    // service's error, changing nothing; every other deleted its row.
    const errors = await Promise.all(
      jobs.map(async (job) => (await first<JobMetadata>(job.getMetadata())).status?.errorResult),
    );
    const failed = errors.filter((e) => e !== undefined);
    for (const e of failed) expect(e?.message).toMatch(/^Could not serialize access to table/);
    expect(await rows()).toBe(8 + failed.length);
  });

  it('runs again a statement that lost to a concurrent change of its partition, and after 3 retries fails it with the service error', async () => {
    // Ids 22-29 are left. The first job deletes id 23; the victim, started with it, id 22; the
    // others, queued, ids 24-29: each commits to the table's one partition while the victim runs.
    const others: Job[] = [];
    const create = async (id: number) =>
      (await ctx.bigquery.createQueryJob({ query: `DELETE FROM d.t WHERE id = ${id}` }))[0];
    others.push(await create(23));
    const victim = await create(22);
    for (let id = 24; id <= 29; id++) others.push(await create(id));
    let victimState = await state(victim);
    for (let tick = 0; tick < 20 && victimState !== 'DONE'; tick++) {
      clock.time += MIN_JOB_MS;
      victimState = await state(victim);
    }
    const meta = await first<JobMetadata>(victim.getMetadata());
    expect(meta.status?.errorResult).toEqual({
      reason: 'invalidQuery',
      message: 'Could not serialize access to table dml-limits:d.t due to concurrent update',
    });
    // The victim changed nothing; the others each deleted their row.
    for (let tick = 0; tick < 20; tick++) {
      clock.time += MIN_JOB_MS;
      if ((await Promise.all(others.map(state))).every((s) => s === 'DONE')) break;
    }
    const [left] = await ctx.bigquery.dataset('d').table('t').getRows();
    const ids = (left as { id: number }[]).map((r) => r.id);
    expect(ids).toContain(22);
    expect(ids.filter((id) => id > 22)).toEqual([]);
  });
});
