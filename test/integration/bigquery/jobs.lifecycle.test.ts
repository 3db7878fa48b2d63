import type { Job, JobMetadata } from '@google-cloud/bigquery';
import { waitFor } from '../../helpers/wait-for';
import { apiError, first, useBigQueryEmulator } from './emulator-fixture';

/** Job timing follows this clock: a job is DONE once it has advanced by minJobMs. */
const clock = { time: Date.parse('2026-03-01T12:00:00Z'), now: (): number => clock.time };
const MIN_JOB_MS = 5_000;

const ctx = useBigQueryEmulator('jobs-project', {
  clock,
  minJobMs: MIN_JOB_MS,
  deterministicJobIds: true,
  seed: {
    datasets: [
      {
        datasetId: 'app',
        tables: [
          {
            tableId: 'events',
            schema: [{ name: 'user_id', type: 'STRING' }],
            rows: ['a', 'a', 'b', 'c', 'd'].map((user_id) => ({ user_id })),
          },
        ],
      },
    ],
  },
});

async function metadata(job: Job): Promise<JobMetadata> {
  return first<JobMetadata>(job.getMetadata());
}

async function users(): Promise<string[]> {
  const [job] = await ctx.bigquery.createQueryJob('SELECT user_id FROM app.events');
  clock.time += MIN_JOB_MS;
  const rows = await first<Array<{ user_id: string }>>(job.getQueryResults());
  return rows.map((row) => row.user_id);
}

describe('job lifecycle', () => {
  it('goes PENDING → RUNNING → DONE and applies DML only when DONE', async () => {
    const [job] = await ctx.bigquery.createQueryJob({
      query: 'DELETE FROM app.events WHERE user_id = @id',
      params: { id: 'a' },
    });
    expect(job.metadata).toMatchObject({
      status: { state: 'PENDING' },
      jobReference: { location: 'US' },
    });
    clock.time += 1;
    expect((await metadata(job)).status).toEqual({ state: 'RUNNING' });
    clock.time += MIN_JOB_MS - 2;
    expect((await metadata(job)).status).toEqual({ state: 'RUNNING' });
    clock.time += 1;
    const done = await metadata(job);
    expect(done.status).toEqual({ state: 'DONE' });
    expect(done.statistics).toMatchObject({
      startTime: expect.any(String) as unknown,
      endTime: String(clock.time),
      query: { numDmlAffectedRows: '2', dmlStats: { deletedRowCount: '2' } },
    });
    expect(await users()).toEqual(['b', 'c', 'd']);
  });

  it('is polled with jobs.get until DONE', async () => {
    const [job] = await ctx.bigquery.createQueryJob(
      "UPDATE app.events SET user_id = 'z' WHERE user_id = 'd'",
    );
    const final = await waitFor(
      async () => {
        clock.time += 1_000;
        return metadata(job);
      },
      (meta) => meta.status?.state === 'DONE',
      { what: 'the UPDATE job to finish' },
    );
    expect(final.statistics?.query).toMatchObject({
      numDmlAffectedRows: '1',
      statementType: 'UPDATE',
    });
  });

  it('answers jobComplete:false from jobs.query and getQueryResults until the job is done', async () => {
    const { bigquery } = ctx;
    const notYet = await apiError(
      bigquery.query('SELECT user_id FROM app.events', { timeoutMs: 30 }),
    );
    expect(notYet.message).toBe('The query did not complete before 30ms');
    const [listed] = await bigquery.getJobs({ maxResults: 1, autoPaginate: false });
    const job = listed[0] as Job;
    expect(job.id).toMatch(/^job_\d{6}$/);
    await expect(job.getQueryResults({ timeoutMs: 20 })).rejects.toThrow(
      'did not complete before 20ms',
    );
    clock.time += MIN_JOB_MS;
    const rows = await first<unknown[]>(job.getQueryResults());
    expect(rows).toEqual([{ user_id: 'b' }, { user_id: 'c' }, { user_id: 'z' }]);
  });

  it('assigns sequential job ids to jobs.query when asked for deterministic ids', async () => {
    const { bigquery } = ctx;
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      await apiError(bigquery.query('SELECT user_id FROM app.events', { timeoutMs: 1 }));
      const [[latest]] = await bigquery.getJobs({ maxResults: 1, autoPaginate: false });
      ids.push(latest?.id ?? '');
    }
    const [a, b] = ids.map((id) => Number(id.slice('job_'.length)));
    expect(b).toBe((a ?? 0) + 1);
  });

  it('cancels a running job: it ends stopped and changes nothing', async () => {
    const [job] = await ctx.bigquery.createQueryJob("DELETE FROM app.events WHERE user_id = 'b'");
    const [response] = await job.cancel();
    expect(response).toMatchObject({
      kind: 'bigquery#jobCancelResponse',
      job: { status: { state: 'DONE', errorResult: { reason: 'stopped' } } },
    });
    clock.time += MIN_JOB_MS;
    expect((await metadata(job)).status?.errorResult?.reason).toBe('stopped');
    expect(await users()).toContain('b');
  });

  it('reports a cap exceeded by a long job on jobs.get, not at insert', async () => {
    const [job] = await ctx.bigquery.createQueryJob({
      query: "DELETE FROM app.events WHERE user_id = 'b'",
      maximumBytesBilled: '100',
    });
    expect(job.metadata).toMatchObject({ status: { state: 'PENDING' } });
    clock.time += MIN_JOB_MS;
    const failed = await metadata(job);
    expect(failed.status).toMatchObject({
      state: 'DONE',
      errorResult: { reason: 'bytesBilledLimitExceeded' },
      errors: [{ reason: 'bytesBilledLimitExceeded' }],
    });
    const resultsError = await apiError(job.getQueryResults());
    expect(resultsError.code).toBe(400);
    expect(await users()).toContain('b');
  });

  it('lists, gets and deletes jobs, and answers 404 for unknown ones', async () => {
    const { bigquery } = ctx;
    const [job] = await bigquery.createQueryJob({
      query: 'SELECT user_id FROM app.events',
      jobId: 'my-own-id',
    });
    expect(job.id).toBe('my-own-id');
    const [jobs] = await bigquery.getJobs();
    expect(jobs.map((j) => j.id)).toContain('my-own-id');
    const duplicate = await apiError(
      bigquery.createQueryJob({ query: 'SELECT user_id FROM app.events', jobId: 'my-own-id' }),
    );
    expect(duplicate.code).toBe(409);
    await job.delete();
    const missing = await apiError(bigquery.job('my-own-id').getMetadata());
    expect(missing.code).toBe(404);
    expect(missing.message).toBe('Not found: Job jobs-project:my-own-id');
  });
});
