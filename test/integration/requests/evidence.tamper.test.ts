import { approveRequest } from '../../../src/app/approvals';
import { getEvidence, recordAction } from '../../../src/app/evidence';
import { fileRequest } from '../../../src/app/intake';
import { runInstance } from '../../../src/app/run-instance';
import { chainHash, headOf, sealEntry } from '../../../src/domain/evidence';
import type { Task } from '../../../src/domain/model';
import { aRun } from '../firestore/fixture';
import { after, aTask, useDispatchFixture } from '../dispatch/harness';

const FILER = { identity: 'filer@example.com' };
const APPROVER = { identity: 'approver@example.com' };
const AUDITOR = { identity: 'auditor@example.com' };
const READER = { identity: 'reader@example.com' };

/** A task as the registry stores it: version 1 with its hash. */
function registered(id: string, over: Partial<Task> & Record<string, unknown> = {}): Task {
  return {
    ...aTask(id, { executor: 'noop' }),
    version: 1,
    versionHash: `${id}-v1-hash`,
    approvalsRequired: 0,
    ...over,
  };
}

/**
 * A request taken through the use cases (filed, approved, every delivery run), with two more
 * runs recorded on one instance, then its evidence read while the stored documents are edited
 * and deleted directly through the Firestore client, as a database admin could.
 */
describe('evidence: the chains show an edited or removed run or ledger entry', () => {
  const f = useDispatchFixture();
  let id = '';

  const runDoc = (taskId: string, runId: string) =>
    f.store.fs.db.doc(`requests/${id}/instances/${taskId}/runs/${runId}`);
  const ledgerDoc = (seq: number) =>
    f.store.fs.db.doc(`requests/${id}/ledger/${String(seq).padStart(6, '0')}`);
  const evidence = () => getEvidence(f.deps(), id, AUDITOR);
  /** The runs of one instance as the evidence lists them (chain order). */
  const runsOf = async (taskId: string) =>
    (await evidence()).instances.find((i) => i.taskId === taskId)?.runs ?? [];

  beforeEach(async () => {
    await f.store.store.createTask(registered('crm'));
    await f.store.store.createTask(
      registered('ads', { approvalsRequired: 1, requiresApproval: true }),
    );
    ({
      view: { id },
    } = await fileRequest(
      f.deps(),
      { type: 'deletion', subject: { email: 'jane@example.com' } },
      FILER,
    ));
    await approveRequest(f.deps(), id, {}, APPROVER);
    for (const delivery of f.queue.created) await runInstance(f.deps(), delivery.body, {});
    // Two more runs of crm, recorded as the watchdog records its own.
    for (const n of [2, 3]) {
      await f.store.store.recordRun(
        aRun({ requestId: id, taskId: 'crm' }, `s1-a00${n}-0000000${n}`, {
          attempt: n,
          status: 'failed',
          cost: { bytesBilled: 1024 * n, usd: 0.01 * n },
        }),
        () => ({ updatedAt: after(n) }),
      );
    }
    await recordAction(f.deps(), id, 'records_read', READER, { tasks: [] });
  });

  it('(a) verifies an untouched request, every run naming the task version it ran', async () => {
    const read = await evidence();

    expect(read).toMatchObject({ requestId: id, verified: true, problems: [] });
    expect(read.root).toMatch(/^[0-9a-f]{64}$/);
    expect(read.ledger.entries.map((e) => [e.seq, e.kind, e.actor])).toEqual([
      [1, 'filed', FILER.identity],
      [2, 'approved', APPROVER.identity],
      [3, 'records_read', READER.identity],
    ]);
    expect(read.ledger).toMatchObject({ verified: true, head: headOf(read.ledger.entries[2]!) });
    expect(read.instances.map((i) => [i.taskId, i.runs.map((r) => r.seq), i.verified])).toEqual([
      ['ads', [1], true],
      ['crm', [1, 2, 3], true],
    ]);
    const ran = read.instances.flatMap((i) => i.runs.filter((r) => r.attempt === 1));
    for (const run of ran) {
      expect(run).toMatchObject({ taskVersion: 1, taskVersionHash: `${run.taskId}-v1-hash` });
    }
    // Reading changes nothing: the same root again.
    expect((await evidence()).root).toBe(read.root);
  });

  it('logs every ledger head and every evidence root, the copies a database admin cannot rewrite', async () => {
    const read = await evidence();
    const appended = f.events('ledger.appended');
    expect(appended.map((l) => [l['kind'], l['chainSeq'], l['chainHash']])).toEqual(
      read.ledger.entries.filter((e) => e.kind !== 'filed').map((e) => [e.kind, e.seq, e.hash]),
    );
    expect(f.events('request.evidence_read').at(-1)).toMatchObject({
      readBy: AUDITOR.identity,
      verified: true,
      root: read.root,
    });
  });

  it.each([
    ['status', { status: 'succeeded' }],
    ['cost', { cost: { bytesBilled: 0, usd: 0 } }],
    ['approvers', { evidence: { approvedBy: ['chief.privacy.officer@example.com'] } }],
  ])('(b) sees a run whose %s was edited in the database, and names it', async (_f, change) => {
    const [, second] = await runsOf('crm');
    await runDoc('crm', second!.runId).update(change);

    const read = await evidence();

    expect(read.verified).toBe(false);
    expect(read.instances.find((i) => i.taskId === 'crm')?.verified).toBe(false);
    expect(read.instances.find((i) => i.taskId === 'ads')?.verified).toBe(true);
    expect(read.problems).toEqual([
      `instance crm: seq 2 (run ${second!.runId}): edited (hash mismatch)`,
    ]);
  });

  it('(b) sees an edited run even when its hash was recomputed: the next run no longer links', async () => {
    const [, second, third] = await runsOf('crm');
    const forged = { ...second!, status: 'succeeded' as const };
    await runDoc('crm', second!.runId).update({
      status: 'succeeded',
      hash: chainHash(forged.prevHash, forged),
    });

    const read = await evidence();

    expect(read.verified).toBe(false);
    expect(read.problems).toEqual([
      expect.stringMatching(
        new RegExp(`^instance crm: seq 3 \\(run ${third!.runId}\\): chain broken`),
      ),
    ]);
  });

  it('(c) sees a deleted run, in the middle or at the end of a chain', async () => {
    const [, second, third] = await runsOf('crm');
    await runDoc('crm', second!.runId).delete();
    const middle = await evidence();
    expect(middle.verified).toBe(false);
    expect(middle.problems).toEqual([
      `instance crm: seq 2: removed (missing before seq 3 (run ${third!.runId}))`,
    ]);

    await runDoc('crm', third!.runId).delete();
    const end = await evidence();
    expect(end.problems).toEqual([
      'instance crm: seq 2-3: removed (the head is at seq 3, the last entry at seq 1)',
    ]);
  });

  it('(d) a deletion with the head rolled back too passes the chains, but not the logged root', async () => {
    const before = await evidence();
    const [, second, third] = await runsOf('crm');
    await runDoc('crm', third!.runId).delete();
    await f.store.fs.db.doc(`requests/${id}/instances/crm`).update({ runChain: headOf(second!) });

    const read = await evidence();

    // A consistent rewrite by someone with write access to the database keeps every chain
    // intact: only a copy of the head kept elsewhere (Cloud Logging) shows it.
    expect(read.verified).toBe(true);
    expect(read.root).not.toBe(before.root);
    expect(f.events('request.evidence_read').map((l) => l['root'])).toContain(before.root);
  });

  it('(e) sees an edited, a deleted and a forged ledger entry', async () => {
    await ledgerDoc(2).update({ actor: 'filer@example.com' });
    expect((await evidence()).problems).toEqual([
      'ledger: seq 2 (approved): edited (hash mismatch)',
    ]);

    await ledgerDoc(2).update({ actor: APPROVER.identity });
    expect((await evidence()).verified).toBe(true);

    // An entry appended by hand, correctly chained, but the request's head not moved.
    const [, , last] = (await evidence()).ledger.entries;
    const { seq: _s, prevHash: _p, hash: _h, ...action } = last!;
    const forged = sealEntry(headOf(last!), { ...action, actor: 'someone@example.com' });
    await ledgerDoc(4).create(forged);
    expect((await evidence()).problems).toEqual([
      'ledger: seq 4: beyond the head (seq 3): written outside the store, or the head was rolled back',
    ]);
    await ledgerDoc(4).delete();

    await ledgerDoc(3).delete();
    expect((await evidence()).problems).toEqual([
      'ledger: seq 3: removed (the head is at seq 3, the last entry at seq 2)',
    ]);
  });

  it('reports runs whose instance is gone', async () => {
    await f.store.fs.db.doc(`requests/${id}/instances/ads`).delete();
    const read = await evidence();
    expect(read.verified).toBe(false);
    expect(read.problems).toEqual(['runs of task ads belong to no instance of this request']);
  });
});
