import { ValidationError } from '../../../src/domain/errors';
import { headOf, verifyChain, type LedgerAction } from '../../../src/domain/evidence';
import type { Run } from '../../../src/domain/model';
import type { Claim } from '../../../src/ports/request-store';
import { aRequestWithInstances, aRun, aTask, at, claimIfQueued, useStore } from './fixture';

const filed: LedgerAction = { kind: 'filed', actor: 'filer@example.com', at: at(0) };

/** Sorts one instance's runs into chain order. */
const chainOf = (runs: Run[], taskId: string) =>
  runs.filter((r) => r.taskId === taskId).sort((a, b) => a.seq - b.seq);

describe('Firestore store: hash-chained runs and ledgers', () => {
  const f = useStore();

  async function claim(requestId: string, taskId: string): Promise<Claim> {
    const outcome = await f.store.claimInstance(requestId, taskId, claimIfQueued);
    if (!outcome.claimed) throw new Error(`${taskId} not claimed: ${outcome.reason}`);
    return outcome.claim;
  }

  it('writes the filed entry and the ledger head with the request, in the intake batch', async () => {
    const { request, instances } = aRequestWithInstances('r-filed', 2);
    f.store.resetStats();

    const result = await f.store.createRequest(request, instances, filed);

    expect(f.store.stats().writes).toBe(4); // request, 2 instances, 1 ledger entry
    const entries = await f.store.listLedger({ kind: 'request', requestId: 'r-filed' });
    expect(entries).toEqual([expect.objectContaining({ ...filed, requestId: 'r-filed', seq: 1 })]);
    expect(result.request.ledgerHead).toEqual(headOf(entries[0]!));
    expect((await f.store.getRequest('r-filed'))?.ledgerHead).toEqual(headOf(entries[0]!));
    const ids = await f.fs.db.collection('requests/r-filed/ledger').listDocuments();
    expect(ids.map((d) => d.id)).toEqual(['000001']);

    // A repeat of the intake returns what is stored and writes no second entry.
    const again = await f.store.createRequest(request, instances, { ...filed, at: at(5) });
    expect(again.created).toBe(false);
    expect(await f.store.listLedger({ kind: 'request', requestId: 'r-filed' })).toEqual(entries);
  });

  it('50 instances of one request finish at once: each chain is sealed, nothing contends, the request is not written', async () => {
    const { request, instances } = aRequestWithInstances('r-burst', 50);
    await f.store.createRequest(request, instances, filed);
    const before = await f.fs.db.doc('requests/r-burst').get();
    const claims = await Promise.all(instances.map((i) => claim('r-burst', i.taskId)));
    f.store.resetStats();

    const outcomes = await Promise.all(
      claims.map((c) =>
        f.store.finishAttempt(c, aRun(c.instance, `s1-a001-${c.instance.taskId}`), {
          state: 'succeeded',
          updatedAt: at(2),
        }),
      ),
    );

    expect(outcomes.every((o) => o.applied && o.run?.seq === 1)).toBe(true);
    // Two writes each (run + instance), no read, no retry: no document is shared.
    expect(f.store.stats()).toEqual({ reads: 0, writes: 100, transactionRetries: 0 });
    const after = await f.fs.db.doc('requests/r-burst').get();
    expect(after.updateTime?.isEqual(before.updateTime!)).toBe(true);
    const runs = await f.store.listRuns('r-burst');
    for (const instance of await f.store.listInstances('r-burst')) {
      expect(verifyChain(chainOf(runs, instance.taskId), instance.runChain ?? null)).toEqual({
        verified: true,
        problems: [],
      });
    }
  });

  it('chains a late, superseded run without voiding the claim of the attempt that replaced it', async () => {
    const { request, instances } = aRequestWithInstances('r-late', 1);
    await f.store.createRequest(request, instances);
    const first = await claim('r-late', 't00');
    // The watchdog abandons attempt 1 and queues attempt 2, which is claimed.
    await f.store.recordRun(
      aRun(first.instance, 's1-a001-abandoned', { status: 'abandoned', willRetry: true }),
      (current) => (current.state === 'running' ? { state: 'queued', updatedAt: at(15) } : null),
    );
    const second = await claim('r-late', 't00');

    // Attempt 1's handler finishes late: its run is chained, the instance is left as it is.
    const late = await f.store.finishAttempt(
      first,
      aRun(first.instance, 's1-a001-0000late', { finishedAt: at(16) }),
      { state: 'succeeded', updatedAt: at(16) },
    );
    expect(late).toMatchObject({ applied: false, run: { seq: 2 } });
    expect(await f.store.getInstance('r-late', 't00')).toEqual({
      ...second.instance,
      runChain: headOf(late.run!),
    });

    // Attempt 2 finishes: only the head moved since its claim, so its claim still holds.
    const done = await f.store.finishAttempt(
      second,
      aRun(second.instance, 's1-a002-00000002', { attempt: 2, finishedAt: at(17) }),
      { state: 'succeeded', updatedAt: at(17) },
    );
    expect(done).toMatchObject({ applied: true, run: { seq: 3, prevHash: late.run!.hash } });
    const instance = await f.store.getInstance('r-late', 't00');
    expect(instance).toMatchObject({ state: 'succeeded', runChain: headOf(done.run!) });

    const runs = chainOf(await f.store.listRuns('r-late'), 't00');
    expect(runs.map((r) => [r.seq, r.runId])).toEqual([
      [1, 's1-a001-abandoned'],
      [2, 's1-a001-0000late'],
      [3, 's1-a002-00000002'],
    ]);
    expect(verifyChain(runs, instance?.runChain)).toEqual({ verified: true, problems: [] });
  });

  it('concurrent appends to one ledger make one gap-free chain', async () => {
    const { request, instances } = aRequestWithInstances('r-ledger', 1);
    await f.store.createRequest(request, instances, filed);
    const scope = { kind: 'request', requestId: 'r-ledger' } as const;

    const appended = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        f.store.appendLedger(scope, {
          kind: 'records_read',
          actor: `reader${i}@example.com`,
          at: at(i + 1),
          details: { n: i },
        }),
      ),
    );

    const entries = await f.store.listLedger(scope);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(new Set(appended.map((e) => e.seq)).size).toBe(20);
    const head = (await f.store.getRequest('r-ledger'))?.ledgerHead;
    expect(verifyChain(entries, head)).toEqual({ verified: true, problems: [] });
    const docs = await f.fs.db.collection('requests/r-ledger/ledger').listDocuments();
    expect(docs.map((d) => d.id).sort()).toEqual(
      entries.map((e) => String(e.seq).padStart(6, '0')),
    );
  });

  it('keeps a task ledger under the task, and refuses a ledger of a missing parent', async () => {
    await f.store.createTask(aTask('crm'));
    const scope = { kind: 'task', taskId: 'crm' } as const;
    await f.store.appendLedger(scope, {
      kind: 'registered',
      actor: 'admin@example.com',
      at: at(0),
    });
    await f.store.appendLedger(scope, {
      kind: 'changed',
      actor: 'admin@example.com',
      at: at(1),
      details: { version: 2 },
    });

    const entries = await f.store.listLedger(scope);
    expect(entries.map((e) => [e.seq, e.kind, e.taskId])).toEqual([
      [1, 'registered', 'crm'],
      [2, 'changed', 'crm'],
    ]);
    const task = (await f.fs.db.doc('tasks/crm').get()).data();
    expect(verifyChain(entries, task?.['ledgerHead'] as { seq: number; hash: string })).toEqual({
      verified: true,
      problems: [],
    });
    await expect(
      f.store.appendLedger({ kind: 'request', requestId: 'nope' }, filed),
    ).rejects.toMatchObject({ code: 'not_found' });
    expect(await f.store.listLedger({ kind: 'request', requestId: 'nope' })).toEqual([]);
  });

  it.each([
    ['a request id with a slash', () => f.store.getRequest('r1/instances/t00')],
    ['a dot-dot request id', () => f.store.listInstances('..')],
    ['a reserved task id', () => f.store.getTask('__x__')],
    [
      'a ledger of a reserved id',
      () => f.store.appendLedger({ kind: 'task', taskId: '__x__' }, filed),
    ],
    [
      'a run id with a slash',
      () => f.store.recordRun(aRun({ requestId: 'r1', taskId: 't00' }, 'a/b'), () => ({})),
    ],
    ['an empty task id', () => f.store.getInstance('r1', '')],
  ])('refuses %s before any store call (400, nothing written)', async (_what, call) => {
    f.store.resetStats();
    await expect(call()).rejects.toBeInstanceOf(ValidationError);
    expect(f.store.stats()).toEqual({ reads: 0, writes: 0, transactionRetries: 0 });
  });
});
