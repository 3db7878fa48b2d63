import { approveRequest } from '../../../src/app/approvals';
import { denyRequest } from '../../../src/app/denials';
import { fileRequest } from '../../../src/app/intake';
import { retryInstance } from '../../../src/app/operations';
import { runInstance } from '../../../src/app/run-instance';
import { ConflictError, ForbiddenError, ValidationError } from '../../../src/domain/errors';
import type { Task } from '../../../src/domain/model';
import { aTask, useDispatchFixture } from '../dispatch/harness';

const FILER = { identity: 'filer@example.com' };
const ALICE = { identity: 'alice@example.com' };
const BOB = { identity: 'bob@example.com' };

/** A task as the registry stores it: version 1 with its hash. */
function registered(id: string, over: Partial<Task> = {}): Task {
  return aTask(id, { version: 1, versionHash: `${id}-v1`, approvalsRequired: 0, ...over });
}

describe('intake rules', () => {
  const f = useDispatchFixture();
  const requestDocs = async () => (await f.store.fs.db.collection('requests').get()).size;

  it('normalises emails and keeps the given form apart; the view echoes no value', async () => {
    await f.store.store.createTask(registered('crm'));
    const { view } = await fileRequest(
      f.deps(),
      { type: 'deletion', subject: { email: '  Jane.Doe@Example.COM ', userId: 'U-42' } },
      FILER,
    );
    const stored = await f.store.store.getRequest(view.id);
    expect(stored?.subject).toEqual({ email: 'jane.doe@example.com', userId: 'U-42' });
    expect(stored?.subjectAsGiven).toEqual({ email: '  Jane.Doe@Example.COM ' });
    expect(JSON.stringify(view)).not.toMatch(/jane|U-42/i);
    expect(view.filedBy).toBe(FILER.identity);
  });

  it('refuses the same externalId with another subject or type, writing nothing', async () => {
    const body = { type: 'deletion', externalId: 'T-1', subject: { email: 'a@example.com' } };
    const first = await fileRequest(f.deps(), body, FILER);
    expect(first.created).toBe(true);
    const again = await fileRequest(f.deps(), body, FILER);
    expect(again).toMatchObject({ created: false, view: { id: first.view.id } });
    // The same address typed differently is the same subject.
    const typed = { ...body, subject: { email: ' A@Example.com' } };
    expect((await fileRequest(f.deps(), typed, FILER)).created).toBe(false);

    for (const changed of [
      { ...body, subject: { email: 'b@example.com' } },
      { ...body, type: 'records' },
    ]) {
      const err = await fileRequest(f.deps(), changed, FILER).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({ code: 'external_id_conflict' });
      expect((err as Error).message).not.toContain('b@example.com');
    }
    expect(await requestDocs()).toBe(1);
  });

  it('scopes an Idempotency-Key to its caller and checks it like an externalId', async () => {
    const body = { type: 'deletion', subject: { email: 'a@example.com' } };
    const mine = await fileRequest(f.deps(), body, FILER, 'key-1');
    const theirs = await fileRequest(f.deps(), body, ALICE, 'key-1');
    expect(theirs.view.id).not.toBe(mine.view.id);
    const conflict = await fileRequest(
      f.deps(),
      { ...body, subject: { email: 'c@example.com' } },
      FILER,
      'key-1',
    ).catch((e: unknown) => e);
    expect(conflict).toMatchObject({ code: 'idempotency_key_conflict' });
    const bad = await fileRequest(f.deps(), body, FILER, 'a/b').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect(await requestDocs()).toBe(2);
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    'refuses the identifier name %s',
    async (name) => {
      const body = JSON.parse(
        `{"type":"deletion","subject":{"email":"a@example.com","${name}":"x"}}`,
      ) as unknown;
      await expect(fileRequest(f.deps(), body, FILER)).rejects.toBeInstanceOf(ValidationError);
      expect(await requestDocs()).toBe(0);
    },
  );

  it('refuses lone surrogates in identifiers and notes', async () => {
    for (const body of [
      { type: 'deletion', subject: { email: 'a\ud800@example.com' } },
      { type: 'deletion', subject: { email: 'a@example.com' }, notes: 'x\udfff' },
    ]) {
      await expect(fileRequest(f.deps(), body, FILER)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await requestDocs()).toBe(0);
  });
});

describe('four-eyes approval', () => {
  const f = useDispatchFixture();

  async function fileFor(task: Task): Promise<string> {
    await f.store.store.createTask(task);
    const { view } = await fileRequest(
      f.deps(),
      { type: 'deletion', subject: { email: 'a@example.com' } },
      FILER,
    );
    return view.id;
  }

  it('needs two distinct approvers, never the filer', async () => {
    const id = await fileFor(registered('crm', { approvalsRequired: 2, requiresApproval: true }));
    await expect(approveRequest(f.deps(), id, {}, FILER)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(denyRequest(f.deps(), id, { reason: 'excessive' }, FILER)).rejects.toMatchObject({
      code: 'self_approval',
    });

    const once = await approveRequest(f.deps(), id, {}, ALICE);
    expect(once.instances[0]).toMatchObject({
      state: 'pending_approval',
      approvals: [expect.objectContaining({ actor: ALICE.identity, taskVersion: 1 })],
    });
    await expect(approveRequest(f.deps(), id, {}, ALICE)).rejects.toMatchObject({
      code: 'already_approved',
    });
    const twice = await approveRequest(f.deps(), id, {}, BOB);
    expect(twice.instances[0]).toMatchObject({
      state: 'queued',
      taskVersion: { version: 1, hash: 'crm-v1' },
    });
    expect(f.queue.created).toHaveLength(1);
  });

  it('a task changed after approval runs nothing and goes back to approval', async () => {
    const id = await fileFor(registered('crm', { approvalsRequired: 1, requiresApproval: true }));
    await approveRequest(f.deps(), id, {}, ALICE);
    const [delivery] = f.queue.created;
    // The registry changes the task between approval and run.
    await f.store.fs.db
      .collection('tasks')
      .doc('crm')
      .update({ version: 2, versionHash: 'crm-v2', config: { changed: true } });

    const answer = await runInstance(f.deps(), delivery?.body, {});
    expect(answer).toMatchObject({ status: 200, body: { result: 'approval_stale' } });
    const instance = await f.store.store.getInstance(id, 'crm');
    expect(instance).toMatchObject({ state: 'pending_approval', approvals: [] });
    expect(await f.store.store.listRuns(id)).toEqual([]);
    expect(f.events('instance.approval_stale')).toHaveLength(1);
  });

  it('a denial of named instances cancels them with the reason and the approver', async () => {
    const id = await fileFor(registered('crm', { approvalsRequired: 1, requiresApproval: true }));
    const body = { reason: 'exempt', note: 'held under a litigation hold', taskIds: ['crm'] };
    const view = await denyRequest(f.deps(), id, body, ALICE);
    // Only instances were refused: the request is not denied.
    expect(view.status).toBe('cancelled');
    expect(view.instances[0]?.denial).toMatchObject({
      actor: ALICE.identity,
      reason: 'exempt',
      note: 'held under a litigation hold',
    });
    expect((await f.store.store.getRequest(id))?.denial).toBeUndefined();
  });

  it('sets approvedAt once, when the last instance awaiting approval is released', async () => {
    const id = await fileFor(registered('crm', { approvalsRequired: 2, requiresApproval: true }));
    await approveRequest(f.deps(), id, {}, ALICE);
    expect((await f.store.store.getRequest(id))?.approvedAt).toBeUndefined();
    await approveRequest(f.deps(), id, {}, BOB);
    expect((await f.store.store.getRequest(id))?.approvedAt).toBe(f.now.toISOString());
  });
});

describe('retry: exactly one attempt series per failure', () => {
  const f = useDispatchFixture();

  it('of 20 concurrent retries one starts series 2 and the rest get 409', async () => {
    const task = registered('crm');
    await f.seed('r1', task, { state: 'failed', attempt: 3, totalAttempts: 3 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () => retryInstance(f.deps(), 'r1', 'crm', {}, ALICE)),
    );
    const fulfilled = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.flatMap((o): unknown[] => (o.status === 'rejected' ? [o.reason] : []));
    expect(fulfilled).toHaveLength(1);
    expect(refused).toHaveLength(19);
    for (const reason of refused) expect(reason).toBeInstanceOf(ConflictError);
    expect(await f.store.store.getInstance('r1', 'crm')).toMatchObject({ series: 2 });
    expect(f.queue.created.map((t) => t.taskName)).toHaveLength(1);
  });
});
