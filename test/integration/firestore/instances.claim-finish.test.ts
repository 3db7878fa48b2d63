import { GENESIS_HASH, headOf, sealEntry, verifyChain } from '../../../src/domain/evidence';
import type { Claim } from '../../../src/ports/request-store';
import { aRequestWithInstances, aRun, at, claimIfQueued, useStore } from './fixture';

describe('Firestore store: claim, finish and guarded instance updates', () => {
  const f = useStore();

  beforeEach(async () => {
    const { request, instances } = aRequestWithInstances('r1', 2);
    await f.store.createRequest(request, instances);
  });

  async function claim(taskId = 't00'): Promise<Claim> {
    const outcome = await f.store.claimInstance('r1', taskId, claimIfQueued);
    if (!outcome.claimed) throw new Error(`expected a claim, got ${outcome.reason}`);
    return outcome.claim;
  }

  it('claims a queued instance: running, attempt counted, and a token', async () => {
    const c = await claim();

    expect(c.instance).toMatchObject({
      state: 'running',
      attempt: 1,
      totalAttempts: 1,
      leaseExpiresAt: at(10),
    });
    expect(c.token).toMatch(/^u1\./);
    expect(await f.store.getInstance('r1', 't00')).toEqual(c.instance);
  });

  it('refuses with the decision’s reason and the current instance, writing nothing', async () => {
    const first = await claim();

    const again = await f.store.claimInstance('r1', 't00', (current) =>
      current.state === 'running' ? { refuse: 'leased' } : { patch: { state: 'running' } },
    );
    const missing = await f.store.claimInstance('r1', 'nope', claimIfQueued);

    expect(again).toEqual({ claimed: false, reason: 'leased', instance: first.instance });
    expect(missing).toEqual({ claimed: false, reason: 'not_found' });
    expect(await f.store.getInstance('r1', 'nope')).toBeNull();
  });

  it('finishes a claimed attempt: the run, sealed onto the chain, and the instance patch together', async () => {
    const c = await claim();
    const run = aRun(c.instance, 'run-1');

    const result = await f.store.finishAttempt(c, run, { state: 'succeeded', updatedAt: at(3) });

    const sealed = sealEntry(undefined, run);
    expect(sealed).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(result).toEqual({ applied: true, run: sealed });
    expect(await f.store.getInstance('r1', 't00')).toEqual({
      ...c.instance,
      state: 'succeeded',
      updatedAt: at(3),
      runChain: headOf(sealed),
    });
    expect(await f.store.listRuns('r1')).toEqual([sealed]);
  });

  it('with a stale token, records the run but leaves the instance as the newer writer left it', async () => {
    const c = await claim();
    // The watchdog expires the lease and reschedules the instance meanwhile.
    const rescheduled = await f.store.updateInstance('r1', 't00', (current) =>
      current.state === 'running'
        ? { state: 'retry_scheduled', nextAttemptAt: at(20), updatedAt: at(15) }
        : null,
    );
    const run = aRun(c.instance, 'run-late', { finishedAt: at(16) });

    const result = await f.store.finishAttempt(c, run, { state: 'succeeded', updatedAt: at(16) });

    // The late run is chained all the same; only the head moves on the instance.
    const sealed = sealEntry(undefined, run);
    expect(result).toEqual({ applied: false, run: sealed });
    expect(await f.store.getInstance('r1', 't00')).toEqual({
      ...rescheduled,
      runChain: headOf(sealed),
    });
    expect(await f.store.listRuns('r1')).toEqual([sealed]);
  });

  it('a token goes stale after any write to the instance, even an unrelated one', async () => {
    const c = await claim();
    await f.store.patchInstances('r1', [{ taskId: 't00', patch: { cloudTaskName: 'late-name' } }]);

    const result = await f.store.finishAttempt(c, aRun(c.instance, 'run-x'), { state: 'failed' });

    expect(result.applied).toBe(false);
    expect(await f.store.getInstance('r1', 't00')).toMatchObject({
      state: 'running',
      cloudTaskName: 'late-name',
    });
  });

  it('a repeated finish of the same run changes nothing the second time', async () => {
    const c = await claim();
    const run = aRun(c.instance, 'run-1');
    await f.store.finishAttempt(c, run, { state: 'succeeded' });

    expect(
      await f.store.finishAttempt(c, { ...run, message: 'again' }, { state: 'failed' }),
    ).toEqual({ applied: false, run: null });
    expect(await f.store.listRuns('r1')).toEqual([sealEntry(undefined, run)]);
    expect((await f.store.getInstance('r1', 't00'))?.state).toBe('succeeded');
  });

  it('updateInstance: a patch key given as undefined removes the field; null declines', async () => {
    await f.store.updateInstance('r1', 't01', () => ({
      nextAttemptAt: at(5),
      lastError: { code: 'retryable', message: 'y' },
    }));

    const cleared = await f.store.updateInstance('r1', 't01', () => ({ nextAttemptAt: undefined }));
    const declined = await f.store.updateInstance('r1', 't01', () => null);

    const stored = await f.store.getInstance('r1', 't01');
    expect(stored).toEqual(cleared);
    expect(stored).not.toHaveProperty('nextAttemptAt');
    expect(stored?.lastError).toEqual({ code: 'retryable', message: 'y' });
    expect(declined).toBeNull();
    expect(await f.store.updateInstance('r1', 'nope', () => ({ state: 'failed' }))).toBeNull();
  });

  it('recordRun writes the run and the patch together, or nothing when the mutation declines', async () => {
    await claim('t01');
    const abandoned = aRun({ requestId: 'r1', taskId: 't01' }, 'run-abandoned', {
      status: 'abandoned',
    });
    const expire = (current: { state: string }) =>
      current.state === 'running' ? { state: 'retry_scheduled' as const, updatedAt: at(30) } : null;

    const after = await f.store.recordRun(abandoned, expire);
    const second = await f.store.recordRun({ ...abandoned, runId: 'run-abandoned-2' }, expire);

    expect(after).toMatchObject({ state: 'retry_scheduled', updatedAt: at(30) });
    expect(second).toBeNull();
    expect(await f.store.getInstance('r1', 't01')).toEqual(after);
    const runs = await f.store.listRuns('r1');
    expect(runs.map((r) => r.runId)).toEqual(['run-abandoned']);
    expect(after?.runChain).toEqual(headOf(runs[0]!));
    expect(verifyChain(runs, after?.runChain)).toEqual({ verified: true, problems: [] });

    // The same run again: refused whole, the instance patch included.
    await expect(f.store.recordRun(abandoned, () => ({ state: 'failed' }))).rejects.toMatchObject({
      code: 'run_exists',
    });
    expect(await f.store.getInstance('r1', 't01')).toEqual(after);
  });

  it('counts the instances that keep the request open', async () => {
    expect(await f.store.countOpenInstances('r1')).toBe(2);
    await f.store.patchInstances('r1', [{ taskId: 't00', patch: { state: 'succeeded' } }]);
    expect(await f.store.countOpenInstances('r1')).toBe(1);
    await f.store.patchInstances('r1', [{ taskId: 't01', patch: { state: 'skipped' } }]);
    expect(await f.store.countOpenInstances('r1')).toBe(0);
  });
});
