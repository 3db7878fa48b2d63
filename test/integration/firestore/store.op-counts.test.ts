import type { FirestoreOpStats } from '../../../src/adapters/firestore/op-counter';
import {
  aRequestWithInstances,
  aRun,
  aTask,
  aTaskVersion,
  at,
  claimIfQueued,
  useStore,
} from './fixture';

describe('Firestore store: operation counts', () => {
  const f = useStore();

  it('counts reads, writes and retries exactly as Firestore bills them, step by step', async () => {
    const { request, instances } = aRequestWithInstances('r1', 3);
    let token = '';
    const steps: [string, () => Promise<unknown>, Partial<FirestoreOpStats>][] = [
      ['createTask', () => f.store.createTask(aTask('a')), { writes: 1 }],
      ['getTask (found)', () => f.store.getTask('a'), { reads: 1 }],
      ['getTask (missing: still a read)', () => f.store.getTask('zz'), { reads: 1 }],
      ['listTasks (1 match)', () => f.store.listTasks(), { reads: 1 }],
      [
        'listTasks (no match: 1 read)',
        () => f.store.listTasks({ jobType: 'records' }),
        { reads: 1 },
      ],
      [
        'updateTask: read, then the task, its kept version and its ledger entry',
        () => f.store.updateTask('a', (t) => aTaskVersion(t, { active: false })),
        { reads: 1, writes: 3 },
      ],
      [
        'createRequest, 3 instances',
        () => f.store.createRequest(request, instances),
        { writes: 4 },
      ],
      [
        'createRequest again: request + 3 instances read',
        () => f.store.createRequest(request, instances),
        { reads: 4 },
      ],
      ['listInstances', () => f.store.listInstances('r1'), { reads: 3 }],
      ['countOpenInstances: one aggregation', () => f.store.countOpenInstances('r1'), { reads: 1 }],
      [
        'claimInstance',
        async () => {
          const outcome = await f.store.claimInstance('r1', 't00', claimIfQueued);
          if (outcome.claimed) token = outcome.claim.token;
        },
        { reads: 1, writes: 1 },
      ],
      [
        'claimInstance refused',
        () => f.store.claimInstance('r1', 't00', claimIfQueued),
        { reads: 1 },
      ],
      [
        'finishAttempt: run + instance in one batch',
        () =>
          f.store.finishAttempt({ instance: instances[0]!, token }, aRun(instances[0]!, 'run-1'), {
            state: 'succeeded',
          }),
        { writes: 2 },
      ],
      [
        'finishAttempt with a stale token: read the head, then the run + the head',
        () =>
          f.store.finishAttempt({ instance: instances[0]!, token }, aRun(instances[0]!, 'run-2'), {
            state: 'failed',
          }),
        { reads: 1, writes: 2 },
      ],
      [
        'updateInstance declined',
        () => f.store.updateInstance('r1', 't01', () => null),
        { reads: 1 },
      ],
      [
        'patchInstances, 2 instances',
        () =>
          f.store.patchInstances('r1', [
            { taskId: 't01', patch: { state: 'cancelled' } },
            { taskId: 't02', patch: { state: 'cancelled' } },
          ]),
        { writes: 2 },
      ],
      [
        'recordRun: read + run + instance',
        () => f.store.recordRun(aRun(instances[1]!, 'run-3'), () => ({ updatedAt: at(9) })),
        { reads: 1, writes: 2 },
      ],
      ['listRuns (3 runs)', () => f.store.listRuns('r1'), { reads: 3 }],
      ['listRuns (none: 1 read)', () => f.store.listRuns('nope'), { reads: 1 }],
      [
        'listRequests, full page of 1',
        () =>
          f.store.listRequests({
            by: { kind: 'all' },
            dryRun: false,
            orderBy: 'receivedAt',
            limit: 1,
          }),
        { reads: 1 },
      ],
      ['queryOpenRequests (r1 is open)', () => f.store.queryOpenRequests(10), { reads: 1 }],
    ];

    for (const [name, step, expected] of steps) {
      f.store.resetStats();
      await step();
      expect({ step: name, ...f.store.stats() }).toEqual({
        step: name,
        reads: 0,
        writes: 0,
        transactionRetries: 0,
        ...expected,
      });
    }
  });

  it('counts a guarded update that lost a race: one read per run, one write, one retry per rerun', async () => {
    const { request } = aRequestWithInstances('r2', 0);
    await f.store.createRequest(request, []);
    // The competing write is issued between the store's read and its commit; it usually lands
    // first. Each round checks the counts exactly, whatever the interleaving; the loop ends
    // once a round has seen its guard fail.
    for (let round = 1; ; round++) {
      f.store.resetStats();
      let runs = 0;
      let competing: Promise<unknown> | undefined;
      const updated = await f.store.updateRequest('r2', (current) => {
        runs += 1;
        competing ??= f.fs.db.doc('requests/r2').update({ notes: `other ${round}` });
        return { updatedAt: at(round), counts: { succeeded: (current.counts.succeeded ?? 0) + 1 } };
      });
      await competing;

      expect(f.store.stats()).toEqual({ reads: runs, writes: 1, transactionRetries: runs - 1 });
      expect(updated?.counts.succeeded).toBe(round);
      if (runs > 1) {
        expect(updated?.notes).toBe(`other ${round}`);
        break;
      }
      expect(round).toBeLessThan(20);
    }
  });
});
