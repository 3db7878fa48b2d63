import { aRequestWithInstances, aRun, at, useStore } from './fixture';

describe('Firestore store: runs', () => {
  const f = useStore();

  it('lists every run of a request across its instances, and none of another request', async () => {
    for (const id of ['r-mine', 'r-other']) {
      const { request, instances } = aRequestWithInstances(id, 2);
      await f.store.createRequest(request, instances);
    }
    const mine = [
      aRun({ requestId: 'r-mine', taskId: 't00' }, 's1-a001-aa', {
        status: 'failed',
        willRetry: true,
      }),
      aRun({ requestId: 'r-mine', taskId: 't00' }, 's1-a002-bb', { attempt: 2, startedAt: at(5) }),
      aRun({ requestId: 'r-mine', taskId: 't01' }, 's1-a001-cc', {
        output: { rows: [1, 2] },
        error: undefined,
      }),
    ];
    for (const run of mine) await f.store.recordRun(run, () => ({ updatedAt: run.finishedAt }));
    await f.store.recordRun(aRun({ requestId: 'r-other', taskId: 't00' }, 's1-a001-dd'), () => ({
      updatedAt: at(3),
    }));

    const runs = await f.store.listRuns('r-mine');

    expect(runs).toHaveLength(3);
    const unsealed = runs.map(({ seq: _s, prevHash: _p, hash: _h, ...run }) => run);
    expect(unsealed).toEqual(expect.arrayContaining(mine.map(({ error: _e, ...run }) => run)));
    expect(await f.store.listRuns('r-none')).toEqual([]);
  });
});
