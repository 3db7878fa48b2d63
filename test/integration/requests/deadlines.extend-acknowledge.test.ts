import { acknowledgeRequest, extendRequest } from '../../../src/app/deadlines';
import { dispatch } from '../../../src/app/dispatch';
import { fileRequest } from '../../../src/app/intake';
import { ConflictError, NotFoundError, ValidationError } from '../../../src/domain/errors';
import type { Request, Task } from '../../../src/domain/model';
import { aTask, T0, useDispatchFixture } from '../dispatch/harness';

const FILER = { identity: 'filer@example.com' };
const APPROVER = { identity: 'approver@example.com' };
const OPERATOR = { identity: 'operator@example.com' };
const REASON = 'the request covers twelve systems; two need a vendor export';

/** A task that needs one approval, so a filed request stays open. */
function gated(id: string): Task {
  return aTask(id, { version: 1, versionHash: `${id}-v1`, approvalsRequired: 1 });
}

describe('POST /requests/:id/extend and /acknowledge', () => {
  const f = useDispatchFixture();

  beforeEach(async () => {
    f.now = T0; // 2030-03-01T12:00Z
    await f.store.store.createTask(gated('crm'));
  });

  async function file(body: Record<string, unknown>): Promise<string> {
    const { view } = await fileRequest(
      f.deps(),
      { type: 'deletion', subject: { email: 'jane@example.com' }, ...body },
      FILER,
    );
    return view.id;
  }

  const ledger = (id: string) => f.store.store.listLedger({ kind: 'request', requestId: id });

  /** What a refusal must leave untouched: the request document and its ledger. */
  async function snapshot(id: string): Promise<[Request | null, number]> {
    return [await f.store.store.getRequest(id), (await ledger(id)).length];
  }

  async function refused(
    id: string,
    call: () => Promise<unknown>,
    kind: new (...args: never[]) => Error,
    code?: string,
  ): Promise<Error> {
    const before = await snapshot(id);
    const err = (await call().catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(kind);
    if (code !== undefined) expect(err).toMatchObject({ code });
    expect(await snapshot(id)).toEqual(before);
    return err;
  }

  it('files with the law’s deadlines and shows them', async () => {
    const gdpr = await file({ regulation: 'gdpr', receivedAt: '2030-01-31T10:00:00Z' });
    const stored = await f.store.store.getRequest(gdpr);
    expect(stored).toMatchObject({
      dueAt: '2030-02-28T23:59:59.999Z',
      originalDueAt: '2030-02-28T23:59:59.999Z',
    });
    expect(stored?.acknowledgeBy).toBeUndefined();

    const ccpa = await file({ regulation: 'ccpa', receivedAt: '2030-02-20T10:00:00Z' });
    expect(await f.store.store.getRequest(ccpa)).toMatchObject({
      dueAt: '2030-04-05T23:59:59.999Z',
      acknowledgeBy: '2030-03-05T23:59:59.999Z',
    });

    // An explicit dueAt still wins; it is the original deadline too.
    const explicit = await file({ dueAt: '2030-03-10T00:00:00Z' });
    expect(await f.store.store.getRequest(explicit)).toMatchObject({
      dueAt: '2030-03-10T00:00:00.000Z',
      originalDueAt: '2030-03-10T00:00:00.000Z',
    });
  });

  it('extends a GDPR request by two months, once, recorded with the approver', async () => {
    const id = await file({ regulation: 'gdpr', receivedAt: '2030-02-20T10:00:00Z' });
    const view = await extendRequest(f.deps(), id, { reason: `  ${REASON} ` }, APPROVER);
    expect(view).toMatchObject({
      dueAt: '2030-05-20T23:59:59.999Z',
      originalDueAt: '2030-03-20T23:59:59.999Z',
      daysLeft: 80,
      deadlineRisk: 'ok',
      extension: {
        at: T0.toISOString(),
        by: APPROVER.identity,
        reason: REASON,
        previousDueAt: '2030-03-20T23:59:59.999Z',
      },
    });
    const entries = await ledger(id);
    expect(entries.map((e) => e.kind)).toEqual(['filed', 'extended']);
    expect(entries[1]).toMatchObject({
      actor: APPROVER.identity,
      details: { reason: REASON, previousDueAt: '2030-03-20T23:59:59.999Z' },
    });
    expect(f.events('request.extended')).toHaveLength(1);
    expect(JSON.stringify(f.events('request.extended'))).not.toContain('jane');

    await refused(
      id,
      () => extendRequest(f.deps(), id, { reason: 'again' }, APPROVER),
      ConflictError,
      'already_extended',
    );
  });

  it('extends a CCPA request by 45 days: 90 in all', async () => {
    const id = await file({ regulation: 'ccpa', receivedAt: '2030-02-20T10:00:00Z' });
    const view = await extendRequest(f.deps(), id, { reason: REASON }, APPROVER);
    expect(view.dueAt).toBe('2030-05-20T23:59:59.999Z');
    expect(view.acknowledgeBy).toBe('2030-03-05T23:59:59.999Z');
  });

  it('refuses an extension once the deadline has passed', async () => {
    const id = await file({ regulation: 'gdpr', receivedAt: '2030-01-10T10:00:00Z' });
    const err = await refused(
      id,
      () => extendRequest(f.deps(), id, { reason: REASON }, APPROVER),
      ConflictError,
      'deadline_passed',
    );
    expect(err.message).toContain('2030-02-10T23:59:59.999Z');
  });

  it.each(['lgpd', 'other'])('refuses an extension of a %s request', async (regulation) => {
    const id = await file({ regulation, receivedAt: '2030-02-25T10:00:00Z' });
    await refused(
      id,
      () => extendRequest(f.deps(), id, { reason: REASON }, APPROVER),
      ConflictError,
      'no_extension',
    );
  });

  it('extends `other` by OTHER_EXTENSION_DAYS where configured', async () => {
    const id = await file({ regulation: 'other', receivedAt: '2030-02-25T10:00:00Z' });
    const deps = f.deps({ otherExtensionDays: 14 });
    const view = await extendRequest(deps, id, { reason: REASON }, APPROVER);
    expect(view.dueAt).toBe('2030-04-10T23:59:59.999Z');
  });

  it.each([
    ['completed', 'request_closed'],
    ['completed_with_errors', 'request_closed'],
    ['cancelled', 'request_cancelled'],
    ['denied', 'request_denied'],
  ] as const)('refuses to extend a %s request (%s)', async (status, code) => {
    const id = await file({ regulation: 'gdpr', receivedAt: '2030-02-20T10:00:00Z' });
    await f.store.store.updateRequest(id, () => ({ status }));
    await refused(
      id,
      () => extendRequest(f.deps(), id, { reason: REASON }, APPROVER),
      ConflictError,
      code,
    );
  });

  it.each<[string, unknown]>([
    ['no body', undefined],
    ['no reason', {}],
    ['an empty reason', { reason: '   ' }],
    ['a reason over 2000 characters', { reason: 'x'.repeat(2001) }],
    ['a reason that is not a string', { reason: 42 }],
    ['a lone surrogate', { reason: 'late \ud800' }],
    ['an unknown field', { reason: REASON, dueAt: '2031-01-01T00:00:00Z' }],
  ])('refuses %s with a 400', async (_name, body) => {
    const id = await file({ regulation: 'gdpr', receivedAt: '2030-02-20T10:00:00Z' });
    await refused(id, () => extendRequest(f.deps(), id, body, APPROVER), ValidationError);
  });

  it('answers 404 for a request that does not exist', async () => {
    await expect(
      extendRequest(f.deps(), 'r-missing', { reason: REASON }, APPROVER),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(acknowledgeRequest(f.deps(), 'r-missing', {}, OPERATOR)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('acknowledges once, recorded with the actor, late or not', async () => {
    const id = await file({ regulation: 'ccpa', receivedAt: '2030-02-20T10:00:00Z' });
    const view = await acknowledgeRequest(f.deps(), id, undefined, OPERATOR);
    expect(view.acknowledgement).toEqual({ at: T0.toISOString(), by: OPERATOR.identity });
    const entries = await ledger(id);
    expect(entries.map((e) => e.kind)).toEqual(['filed', 'acknowledged']);
    expect(entries[1]).toMatchObject({
      actor: OPERATOR.identity,
      details: { acknowledgeBy: '2030-03-05T23:59:59.999Z', late: false },
    });
    await refused(
      id,
      () => acknowledgeRequest(f.deps(), id, {}, OPERATOR),
      ConflictError,
      'already_acknowledged',
    );

    f.now = new Date('2030-03-06T09:00:00Z');
    const late = await file({
      regulation: 'ccpa',
      receivedAt: '2030-02-20T10:00:00Z',
      externalId: 'late-one',
    });
    await acknowledgeRequest(f.deps(), late, {}, FILER, FILER.identity);
    expect((await ledger(late))[1]).toMatchObject({ details: { late: true } });
  });

  it('refuses a body with fields, and another requester’s request, writing nothing', async () => {
    const id = await file({ regulation: 'ccpa' });
    await refused(
      id,
      () => acknowledgeRequest(f.deps(), id, { note: 'x' }, OPERATOR),
      ValidationError,
    );
    await refused(
      id,
      () => acknowledgeRequest(f.deps(), id, {}, APPROVER, APPROVER.identity),
      NotFoundError,
    );
  });

  it('dispatch records a worse risk once, and ok again after an extension', async () => {
    // GDPR received 2030-02-20: due 2030-03-20 end of day; under 25 % left from ~2030-03-13.
    const id = await file({ regulation: 'gdpr', receivedAt: '2030-02-20T10:00:00Z' });
    const risk = async () => (await f.store.store.getRequest(id))?.deadlineRisk;
    await dispatch(f.deps());
    expect(await risk()).toBeUndefined();

    f.now = new Date('2030-03-15T12:00:00Z');
    await dispatch(f.deps());
    expect(await risk()).toBe('at_risk');
    // A second run over the same risk writes nothing: count the request writes it decides on.
    const deps = f.deps();
    let riskWrites = 0;
    const counted = {
      ...deps,
      store: {
        ...deps.store,
        updateRequest: (rid: string, mutate: Parameters<typeof deps.store.updateRequest>[1]) =>
          deps.store.updateRequest(rid, (current) => {
            const patch = mutate(current);
            if (rid === id && patch?.deadlineRisk !== undefined) riskWrites += 1;
            return patch;
          }),
      },
    };
    await dispatch(counted);
    expect(riskWrites).toBe(0);
    expect(await risk()).toBe('at_risk');

    await extendRequest(f.deps(), id, { reason: REASON }, APPROVER);
    await dispatch(f.deps());
    expect(await risk()).toBe('ok');

    f.now = new Date('2030-05-21T00:00:00Z');
    await dispatch(f.deps());
    expect(await f.store.store.getRequest(id)).toMatchObject({
      deadlineRisk: 'overdue',
      overdue: true,
    });
  });
});
