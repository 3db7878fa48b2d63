import { dispatch } from '../../../src/app/dispatch';
import { runInstance } from '../../../src/app/run-instance';
import { cloudTaskName } from '../../../src/app/enqueue';
import { abandonedRunId } from '../../../src/app/watchdog';
import { waitFor } from '../../helpers/wait-for';
import { aRun } from '../firestore/fixture';
import { after, aTask, T0, useDispatchFixture } from './harness';

describe('dispatch watchdog: expired leases', () => {
  const f = useDispatchFixture();
  const task = aTask('crm', {
    maxAttempts: 3,
    timeoutSeconds: 30,
    retryPolicy: { minBackoffSeconds: 20, maxBackoffSeconds: 60, maxDoublings: 2 },
    teamContact: 'crm-oncall@example.com',
  });
  /** A running attempt claimed at T0 with a lease of timeout + grace (30 + 10 s). */
  const running = (attempt: number) => ({
    state: 'running' as const,
    attempt,
    totalAttempts: attempt,
    leaseExpiresAt: after(40),
    updatedAt: T0.toISOString(),
  });

  it('leaves a lease that has not expired alone', async () => {
    await f.seed('r1', task, running(1));
    f.now = new Date(Date.parse(after(39)));

    const summary = await dispatch(f.deps());

    expect(summary.expired).toBe(0);
    expect(await f.store.store.getInstance('r1', 'crm')).toMatchObject({ state: 'running' });
    expect(await f.store.store.listRuns('r1')).toEqual([]);
  });

  it('records the attempt as abandoned and queues the next one with the task backoff', async () => {
    await f.seed('r1', task, running(1));
    f.now = new Date(Date.parse(after(41)));

    const summary = await dispatch(f.deps());

    expect(summary).toMatchObject({ expired: 1, enqueueFailed: 0 });
    const runs = await f.store.store.listRuns('r1');
    expect(runs).toEqual([
      expect.objectContaining({
        runId: abandonedRunId({ series: 1, attempt: 1 }),
        attempt: 1,
        status: 'abandoned',
        willRetry: true,
        startedAt: T0.toISOString(),
        finishedAt: after(41),
        durationMs: 41_000,
        error: expect.objectContaining({ code: 'abandoned' }) as unknown,
      }),
    ]);
    const instance = await f.store.store.getInstance('r1', 'crm');
    expect(instance).toMatchObject({
      state: 'queued',
      attempt: 1,
      cloudTaskName: cloudTaskName('r1', 'crm', 1, 2),
      // backoff 20 s for the first retry, from the moment the watchdog acted
      scheduleTime: after(61),
      nextAttemptAt: after(61),
      lastError: { code: 'abandoned', message: expect.stringMatching(/lease expired/) as unknown },
      lastRun: expect.objectContaining({ status: 'abandoned', attempt: 1 }) as unknown,
    });
    expect(instance?.leaseExpiresAt).toBeUndefined();
    expect(f.queue.created.map((t) => [t.taskName, t.scheduleTime?.toISOString()])).toEqual([
      [cloudTaskName('r1', 'crm', 1, 2), after(61)],
    ]);
    expect(f.queue.created[0]?.body).toMatchObject({ attempt: 2, series: 1 });
    expect(f.events('instance.abandoned')).toEqual([
      expect.objectContaining({ severity: 'WARNING', attempt: 1, willRetry: true }),
    ]);
    expect(f.events('run.finished')).toEqual([
      expect.objectContaining({ outcome: 'abandoned', willRetry: true }),
    ]);
  });

  it('fails the instance for good on its last attempt, with the reason and advice', async () => {
    await f.seed('r1', task, running(3));
    f.now = new Date(Date.parse(after(41)));

    await dispatch(f.deps());

    expect(await f.store.store.getInstance('r1', 'crm')).toMatchObject({
      state: 'failed',
      attempt: 3,
      lastError: { code: 'abandoned' },
      advice: expect.stringMatching(
        /Attempt 3 of 3 stopped answering.*instances\/crm\/retry\. Contact: crm-oncall@example\.com/,
      ) as unknown,
    });
    expect((await f.store.store.listRuns('r1')).map((r) => [r.status, r.willRetry])).toEqual([
      ['abandoned', false],
    ]);
    expect(f.queue.calls).toEqual([]);
    expect(f.events('run.failed')).toEqual([
      expect.objectContaining({ severity: 'ERROR', outcome: 'abandoned', willRetry: false }),
    ]);
  });

  it('keeps a late finish by the original handler without letting it clobber the retry', async () => {
    await f.seed('r1', task, { state: 'queued' });
    const claimed = await f.store.store.claimInstance('r1', 'crm', () => ({
      patch: running(1),
    }));
    if (!claimed.claimed) throw new Error('expected a claim');
    f.now = new Date(Date.parse(after(41)));
    await dispatch(f.deps());

    const late = await f.store.store.finishAttempt(
      claimed.claim,
      aRun(claimed.claim.instance, 's1-a001-late', { attempt: 1, status: 'succeeded' }),
      { state: 'succeeded' },
    );

    expect(late).toMatchObject({ applied: false, run: { runId: 's1-a001-late', seq: 2 } });
    expect(await f.store.store.getInstance('r1', 'crm')).toMatchObject({ state: 'queued' });
    expect((await f.store.store.listRuns('r1')).map((r) => r.status).sort()).toEqual([
      'abandoned',
      'succeeded',
    ]);
  });

  it('two dispatch runs at once record one abandoned run and create one Cloud Task', async () => {
    for (const id of ['r1', 'r2', 'r3']) await f.seed(id, task, running(1));
    f.now = new Date(Date.parse(after(41)));

    const [a, b] = await Promise.all([dispatch(f.deps()), dispatch(f.deps())]);

    expect((a?.expired ?? 0) + (b?.expired ?? 0)).toBe(3);
    for (const id of ['r1', 'r2', 'r3']) {
      expect((await f.store.store.listRuns(id)).map((r) => r.status)).toEqual(['abandoned']);
    }
    expect(f.queue.created.map((t) => t.taskName).sort()).toEqual(
      ['r1', 'r2', 'r3'].map((id) => cloudTaskName(id, 'crm', 1, 2)).sort(),
    );
  });

  it('never requeues endlessly: an instance abandoned on every attempt ends failed', async () => {
    await f.seed('r1', task, { state: 'queued' });
    for (let attempt = 1; attempt <= 3; attempt++) {
      const claimed = await f.store.store.claimInstance('r1', 'crm', (current) => ({
        patch: {
          state: 'running',
          attempt: current.attempt + 1,
          totalAttempts: current.totalAttempts + 1,
          leaseExpiresAt: new Date(f.now.getTime() + 40_000).toISOString(),
          updatedAt: f.now.toISOString(),
        },
      }));
      expect(claimed.claimed).toBe(true);
      f.now = new Date(f.now.getTime() + 100_000);
      await dispatch(f.deps());
    }
    // Further runs find nothing to do.
    f.now = new Date(f.now.getTime() + 100_000);
    expect((await dispatch(f.deps())).expired).toBe(0);

    expect(await f.store.store.getInstance('r1', 'crm')).toMatchObject({
      state: 'failed',
      attempt: 3,
    });
    expect((await f.store.store.listRuns('r1')).map((r) => [r.attempt, r.willRetry])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(f.queue.created).toHaveLength(2);
  });

  it('answers a late handler 200 "superseded", so its Cloud Task ends, and records its run', async () => {
    const slow = aTask('slow', {
      executor: 'demo.sleep',
      config: { ms: 1500 },
      timeoutSeconds: 30,
    });
    // run-task parses the payload's ids as the API parses path parameters.
    const RID = 'f'.repeat(32);
    await f.seed(RID, slow, { state: 'queued' });
    const deps = f.deps();
    const answer = runInstance(
      deps,
      { requestId: RID, taskId: 'slow', series: 1, attempt: 1, taskVersion: slow.version },
      { taskName: cloudTaskName(RID, 'slow', 1, 1), retryCount: 0 },
    );
    // While the executor sleeps, its lease (claimed at T0 for 30 + 10 s) runs out.
    await waitFor(
      () => f.store.store.getInstance(RID, 'slow'),
      (i) => i?.state === 'running',
      { what: 'the claim' },
    );
    f.now = new Date(Date.parse(after(41)));
    expect((await dispatch(deps)).expired).toBe(1);

    expect(await answer).toMatchObject({ status: 200, body: { result: 'superseded' } });
    expect(await f.store.store.getInstance(RID, 'slow')).toMatchObject({
      state: 'queued',
      cloudTaskName: cloudTaskName(RID, 'slow', 1, 2),
    });
    expect((await f.store.store.listRuns(RID)).map((r) => [r.attempt, r.status]).sort()).toEqual([
      [1, 'abandoned'],
      [1, 'succeeded'],
    ]);
    expect(f.events('run.failed')).toEqual([]);
  });
});
