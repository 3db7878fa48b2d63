import { approveRequest } from '../../../src/app/approvals';
import { denyRequest } from '../../../src/app/denials';
import { dispatch } from '../../../src/app/dispatch';
import { fileRequest } from '../../../src/app/intake';
import { cancelRequest } from '../../../src/app/operations';
import { rollupRequest } from '../../../src/app/rollup';
import { runInstance } from '../../../src/app/run-instance';
import { verifyRequest } from '../../../src/app/verification';
import { ConflictError, ForbiddenError, ValidationError } from '../../../src/domain/errors';
import { DENY_REASONS, VERIFICATION_METHODS, type Task } from '../../../src/domain/model';
import { aTask, T0, useDispatchFixture, type DispatchFixture } from '../dispatch/harness';

const FILER = { identity: 'filer@example.com' };
const ALICE = { identity: 'alice@example.com' };
const BOB = { identity: 'bob@example.com' };
const EMAIL = 'jane.verify@example.com';
const HOUR = 3_600_000;

function registered(id: string, over: Partial<Task> = {}): Task {
  return aTask(id, { version: 1, versionHash: `${id}-v1`, approvalsRequired: 0, ...over });
}

async function filePending(
  f: DispatchFixture,
  tasks: Task[],
  over: Record<string, unknown> = {},
): Promise<string> {
  for (const task of tasks) {
    if ((await f.store.store.getTask(task.id)) === null) await f.store.store.createTask(task);
  }
  const { view } = await fileRequest(
    f.deps(),
    { type: 'deletion', subject: { email: EMAIL }, verification: 'pending', ...over },
    FILER,
  );
  return view.id;
}

/** Everything a refusal must leave untouched: the request, its instances and its ledger. */
async function snapshot(f: DispatchFixture, id: string): Promise<string> {
  const [request, instances, ledger] = await Promise.all([
    f.store.store.getRequest(id),
    f.store.store.listInstances(id),
    f.store.store.listLedger({ kind: 'request', requestId: id }),
  ]);
  return JSON.stringify({ request, instances, ledger });
}

const ledgerKinds = async (f: DispatchFixture, id: string) =>
  (await f.store.store.listLedger({ kind: 'request', requestId: id })).map((e) => e.kind);

describe('a request filed pending identity verification', () => {
  const f = useDispatchFixture();

  it('runs nothing until verified, then runs: filing, a refused delivery, dispatch, verify, run', async () => {
    const id = await filePending(f, [registered('crm')]);
    const filed = await f.store.store.getRequest(id);
    expect(filed).toMatchObject({
      status: 'awaiting_verification',
      verification: { state: 'pending', since: T0.toISOString() },
    });
    expect(await f.store.store.getInstance(id, 'crm')).toMatchObject({
      state: 'pending_verification',
    });
    expect(f.queue.created).toHaveLength(0);

    // A delivery naming the instance's first attempt (forged, or stale) starts nothing.
    const forged = { requestId: id, taskId: 'crm', series: 1, attempt: 1, taskVersion: 1 };
    const refused = await runInstance(f.deps(), forged, {});
    expect(refused).toMatchObject({ status: 200, body: { result: 'not_verified' } });
    expect(await f.store.store.listRuns(id)).toEqual([]);

    // Dispatch neither enqueues nor re-arms it, however late it is.
    f.now = new Date(T0.getTime() + 2 * HOUR);
    const summary = await dispatch(f.deps());
    expect(summary).toMatchObject({ enqueued: 0, rearmed: 0 });
    expect(f.queue.created).toHaveLength(0);
    expect(await f.store.store.getInstance(id, 'crm')).toMatchObject({
      state: 'pending_verification',
    });

    const view = await verifyRequest(f.deps(), id, { method: 'document_check' }, FILER);
    expect(view.status).toBe('in_progress');
    expect(view.verification).toEqual({
      state: 'verified',
      since: T0.toISOString(),
      at: f.now.toISOString(),
      by: FILER.identity,
      method: 'document_check',
    });
    expect(view.instances[0]).toMatchObject({ state: 'queued' });
    expect(f.queue.created).toHaveLength(1);
    expect(await ledgerKinds(f, id)).toEqual(['filed', 'verified']);
    expect(f.events('request.verified')).toHaveLength(1);

    const ran = await runInstance(f.deps(), f.queue.created[0]?.body, {});
    expect(ran).toMatchObject({ status: 200 });
    expect(await f.store.store.getInstance(id, 'crm')).toMatchObject({ state: 'succeeded' });
    expect((await rollupRequest(f.deps(), id))?.status).toBe('completed');
    expect(JSON.stringify(f.lines)).not.toContain(EMAIL);
  });

  it('releases to approval where the task needs it, and to the queue where not', async () => {
    const id = await filePending(f, [
      registered('crm'),
      registered('ads', { approvalsRequired: 1, requiresApproval: true }),
    ]);
    // Approval waits for verification.
    await expect(approveRequest(f.deps(), id, {}, ALICE)).rejects.toMatchObject({
      code: 'verification_pending',
    });
    const view = await verifyRequest(
      f.deps(),
      id,
      { method: 'authorized_agent_proof', note: 'mandate on file' },
      ALICE,
    );
    expect(view.instances.map((i) => [i.taskId, i.state])).toEqual([
      ['ads', 'pending_approval'],
      ['crm', 'queued'],
    ]);
    expect(view.status).toBe('in_progress');
    const [, verified] = await f.store.store.listLedger({ kind: 'request', requestId: id });
    expect(verified).toMatchObject({
      kind: 'verified',
      actor: ALICE.identity,
      details: { method: 'authorized_agent_proof', note: 'mandate on file' },
    });
    const approved = await approveRequest(f.deps(), id, {}, BOB);
    expect(approved.approvedAt).toBe(f.now.toISOString());
    expect(f.queue.created).toHaveLength(2);
  });

  it('moves dueAt where the law paused its clock (GDPR), and not where it ran (CCPA)', async () => {
    const gdpr = await filePending(f, [registered('crm')], { regulation: 'gdpr' });
    const ccpa = await filePending(f, [registered('crm')], {
      regulation: 'ccpa',
      subject: { email: 'other@example.com' },
    });
    const before = {
      gdpr: (await f.store.store.getRequest(gdpr))?.dueAt,
      ccpa: (await f.store.store.getRequest(ccpa))?.dueAt,
    };
    f.now = new Date(T0.getTime() + 10 * 24 * HOUR); // 2030-03-11
    const g = await verifyRequest(f.deps(), gdpr, { method: 'email_link' }, ALICE);
    const c = await verifyRequest(f.deps(), ccpa, { method: 'email_link' }, ALICE);
    expect(before.gdpr).toBe('2030-04-01T23:59:59.999Z');
    expect(g.dueAt).toBe('2030-04-11T23:59:59.999Z');
    expect(g.originalDueAt).toBe(before.gdpr);
    expect(c.dueAt).toBe(before.ccpa);
    const [, entry] = await f.store.store.listLedger({ kind: 'request', requestId: gdpr });
    expect(entry?.details).toMatchObject({ dueAtBefore: before.gdpr, dueAt: g.dueAt });
  });

  it('refuses what cannot be verified, each 409 or 400 naming why, writing nothing', async () => {
    await f.store.store.createTask(registered('crm'));
    const plain = (
      await fileRequest(f.deps(), { type: 'deletion', subject: { email: EMAIL } }, FILER)
    ).view.id;
    const pending = await filePending(f, [], { subject: { email: 'p@example.com' } });
    const cancelled = await filePending(f, [], { subject: { email: 'c@example.com' } });
    await cancelRequest(f.deps(), cancelled, BOB);
    const verifiedTwice = await filePending(f, [], { subject: { email: 'v@example.com' } });
    await verifyRequest(f.deps(), verifiedTwice, { method: 'account_login' }, ALICE);

    const cases: [string, unknown, string, new (...a: never[]) => Error][] = [
      [plain, { method: 'document_check' }, 'verification_not_required', ConflictError],
      [verifiedTwice, { method: 'document_check' }, 'already_verified', ConflictError],
      [cancelled, { method: 'document_check' }, 'request_cancelled', ConflictError],
      [pending, { method: 'selfie' }, 'validation_failed', ValidationError],
      [pending, {}, 'validation_failed', ValidationError],
      [pending, { method: 'other', note: 'x'.repeat(2001) }, 'validation_failed', ValidationError],
      [pending, { method: 'other', note: 'a\ud800' }, 'validation_failed', ValidationError],
      [pending, { method: 'other', by: 'someone' }, 'validation_failed', ValidationError],
    ];
    for (const [id, body, code, type] of cases) {
      const before = await snapshot(f, id);
      const err = await verifyRequest(f.deps(), id, body, ALICE).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(type);
      expect(err).toMatchObject({ code });
      expect(await snapshot(f, id)).toBe(before);
    }
    const unknown = (await verifyRequest(f.deps(), pending, { method: 'selfie' }, ALICE).catch(
      (e: unknown) => e,
    )) as Error;
    for (const method of VERIFICATION_METHODS) expect(unknown.message).toContain(method);
    // A requester who did not file it does not see it.
    await expect(
      verifyRequest(f.deps(), pending, { method: 'other' }, ALICE, ALICE.identity),
    ).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('is cancelled whole by an operator: held instances are cancelled, verify then refused', async () => {
    const id = await filePending(f, [
      registered('crm'),
      registered('ads', { approvalsRequired: 1, requiresApproval: true }),
    ]);
    const view = await cancelRequest(f.deps(), id, BOB);
    expect(view.status).toBe('cancelled');
    expect(view.instances.map((i) => i.state)).toEqual(['cancelled', 'cancelled']);
    await expect(
      verifyRequest(f.deps(), id, { method: 'document_check' }, ALICE),
    ).rejects.toMatchObject({ code: 'request_cancelled' });
    await expect(denyRequest(f.deps(), id, { reason: 'exempt' }, ALICE)).rejects.toMatchObject({
      code: 'request_cancelled',
    });
  });

  it('a verify interrupted after its decision is finished by calling it again', async () => {
    const id = await filePending(f, [registered('crm')]);
    // The process stopped after writing the decision, before releasing anything.
    await f.store.store.updateRequest(id, (r) => ({
      verification: {
        ...r.verification,
        state: 'verified',
        since: T0.toISOString(),
        at: T0.toISOString(),
        by: ALICE.identity,
        method: 'document_check',
      },
    }));
    const view = await verifyRequest(f.deps(), id, { method: 'document_check' }, ALICE);
    expect(view.instances[0]).toMatchObject({ state: 'queued' });
    expect(view.verification).toMatchObject({ state: 'verified', by: ALICE.identity });
    expect(f.queue.created).toHaveLength(1);
    // Nothing more to release: now it is a plain repeat.
    await expect(
      verifyRequest(f.deps(), id, { method: 'document_check' }, ALICE),
    ).rejects.toMatchObject({ code: 'already_verified' });
  });

  it('dispatch warns once per run after VERIFICATION_ALERT_HOURS, naming no one', async () => {
    const id = await filePending(f, [registered('crm')]);
    f.now = new Date(T0.getTime() + 71 * HOUR);
    await dispatch(f.deps());
    expect(f.events('request.verification_overdue')).toHaveLength(0);

    f.now = new Date(T0.getTime() + 73 * HOUR);
    const summary = await dispatch(f.deps());
    expect(summary.verificationOverdue).toBe(1);
    const [line] = f.events('request.verification_overdue');
    expect(line).toMatchObject({
      severity: 'WARNING',
      since: T0.toISOString(),
      waitedHours: 73,
      alertAfterHours: 72,
    });
    expect(JSON.stringify(line)).toContain(id);
    expect(JSON.stringify(f.lines)).not.toContain(EMAIL);

    // A configured threshold; and once verified, no more warnings.
    f.lines.splice(0);
    await dispatch(f.deps({ verificationAlertHours: 100 }));
    expect(f.events('request.verification_overdue')).toHaveLength(0);
    await verifyRequest(f.deps(), id, { method: 'knowledge_based' }, ALICE);
    await dispatch(f.deps());
    expect(f.events('request.verification_overdue')).toHaveLength(0);
  });
});

describe('deny', () => {
  const f = useDispatchFixture();

  it('denies the whole request: unstarted work cancelled, started work untouched, status denied', async () => {
    await f.store.store.createTask(registered('crm'));
    await f.store.store.createTask(registered('ads'));
    await f.store.store.createTask(registered('gated', { approvalsRequired: 1 }));
    const { view: filed } = await fileRequest(
      f.deps(),
      { type: 'deletion', subject: { email: EMAIL } },
      FILER,
    );
    const id = filed.id;
    // `crm` starts running; `ads` stays queued; `gated` awaits approval.
    const delivery = f.queue.created.find((t) => (t.body as { taskId: string }).taskId === 'crm');
    await f.store.store.updateInstance(id, 'crm', () => ({
      state: 'running',
      attempt: 1,
      totalAttempts: 1,
      leaseExpiresAt: new Date(T0.getTime() + HOUR).toISOString(),
    }));
    expect(delivery).toBeDefined();

    const body = { reason: 'manifestly_unfounded', note: 'the fourth identical request this week' };
    const view = await denyRequest(f.deps(), id, body, ALICE);
    expect(view.status).toBe('denied');
    expect(view.denial).toEqual({
      at: f.now.toISOString(),
      by: ALICE.identity,
      reason: 'manifestly_unfounded',
      note: body.note,
    });
    const states = Object.fromEntries(view.instances.map((i) => [i.taskId, i.state]));
    expect(states).toEqual({ ads: 'cancelled', crm: 'running', gated: 'cancelled' });
    expect(view.instances.find((i) => i.taskId === 'ads')?.denial).toMatchObject({
      actor: ALICE.identity,
      reason: 'manifestly_unfounded',
    });
    const stored = await f.store.store.getRequest(id);
    expect(stored).toMatchObject({ status: 'denied', completedAt: f.now.toISOString() });
    const [, entry] = await f.store.store.listLedger({ kind: 'request', requestId: id });
    expect(entry).toMatchObject({
      kind: 'denied',
      actor: ALICE.identity,
      taskIds: ['ads', 'gated'],
      details: { scope: 'request', reason: 'manifestly_unfounded', note: body.note },
    });

    // The queued instance's Cloud Task arrives: nothing starts.
    const ads = f.queue.created.find((t) => (t.body as { taskId: string }).taskId === 'ads');
    expect(await runInstance(f.deps(), ads?.body, {})).toMatchObject({
      body: { result: 'finished' },
    });
    // The running one finishes; the request stays denied.
    await f.store.store.updateInstance(id, 'crm', () => ({
      state: 'succeeded',
      leaseExpiresAt: undefined,
    }));
    expect((await rollupRequest(f.deps(), id))?.status).toBe('denied');
    expect((await f.store.store.getRequest(id))?.counts).toEqual({ cancelled: 2, succeeded: 1 });

    // Denied is closed: a second deny, a verify, are refused and write nothing.
    const before = await snapshot(f, id);
    await expect(denyRequest(f.deps(), id, { reason: 'other' }, BOB)).rejects.toMatchObject({
      code: 'request_denied',
    });
    expect(await snapshot(f, id)).toBe(before);
  });

  it('denies a request held for verification whose identity cannot be verified', async () => {
    const id = await filePending(f, [registered('crm')]);
    const view = await denyRequest(f.deps(), id, { reason: 'unverifiable_identity' }, ALICE);
    expect(view.status).toBe('denied');
    expect(view.instances[0]).toMatchObject({ state: 'cancelled' });
    expect(view.verification?.state).toBe('pending');
    await expect(
      verifyRequest(f.deps(), id, { method: 'document_check' }, BOB),
    ).rejects.toMatchObject({ code: 'request_denied' });
    expect(f.queue.created).toHaveLength(0);
  });

  it('a deny interrupted after its decision is finished by calling it again', async () => {
    const id = await filePending(f, [registered('crm')]);
    const denial = { at: T0.toISOString(), by: ALICE.identity, reason: 'excessive' as const };
    await f.store.store.updateRequest(id, () => ({ denial, status: 'denied' }));
    const view = await denyRequest(f.deps(), id, { reason: 'other' }, BOB);
    // The first decision stands; what it left is cancelled with it.
    expect(view.denial).toEqual(denial);
    expect(view.instances[0]).toMatchObject({
      state: 'cancelled',
      denial: { actor: ALICE.identity, reason: 'excessive' },
    });
    await expect(denyRequest(f.deps(), id, { reason: 'other' }, BOB)).rejects.toMatchObject({
      code: 'request_denied',
    });
  });

  it.each(DENY_REASONS)('takes the reason %s', async (reason) => {
    const id = await filePending(f, [registered('crm')], { subject: { email: `${reason}@x.io` } });
    expect((await denyRequest(f.deps(), id, { reason }, ALICE)).denial?.reason).toBe(reason);
  });

  it('refuses a bad deny, naming why, writing nothing', async () => {
    const id = await filePending(f, [registered('crm')]);
    await f.store.store.createTask(registered('done'));
    const completed = (
      await fileRequest(
        f.deps(),
        { type: 'deletion', subject: { email: 'done@example.com' } },
        FILER,
      )
    ).view.id;
    for (const i of await f.store.store.listInstances(completed)) {
      await f.store.store.updateInstance(completed, i.taskId, () => ({ state: 'running' }));
      await f.store.store.updateInstance(completed, i.taskId, () => ({ state: 'succeeded' }));
    }
    expect((await rollupRequest(f.deps(), completed))?.status).toBe('completed');

    const cases: [string, unknown, typeof FILER, string, new (...a: never[]) => Error][] = [
      [id, { reason: 'identity not verified' }, ALICE, 'validation_failed', ValidationError],
      [id, {}, ALICE, 'validation_failed', ValidationError],
      [
        id,
        { reason: 'other', note: 'x'.repeat(2001) },
        ALICE,
        'validation_failed',
        ValidationError,
      ],
      [id, { reason: 'other', note: 'x\udfff' }, ALICE, 'validation_failed', ValidationError],
      [id, { reason: 'other', why: 'x' }, ALICE, 'validation_failed', ValidationError],
      [id, { reason: 'excessive' }, FILER, 'self_approval', ForbiddenError],
      [completed, { reason: 'excessive' }, ALICE, 'request_closed', ConflictError],
      [id, { reason: 'exempt', taskIds: ['crm'] }, ALICE, 'nothing_to_deny', ConflictError],
    ];
    for (const [target, body, actor, code, type] of cases) {
      const before = await snapshot(f, target);
      const err = await denyRequest(f.deps(), target, body, actor).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(type);
      expect(err).toMatchObject({ code });
      expect(await snapshot(f, target)).toBe(before);
    }
    const unknown = (await denyRequest(f.deps(), id, { reason: 'nope' }, ALICE).catch(
      (e: unknown) => e,
    )) as Error;
    for (const reason of DENY_REASONS) expect(unknown.message).toContain(reason);
  });
});
