import { createFirestoreAccessStore } from '../../../src/adapters/firestore/policy-store';
import { createFirestoreOperationStore } from '../../../src/adapters/firestore/operation-store';
import { createApiVerifier } from '../../../src/adapters/identity/verifiers';
import {
  applyAction,
  fileBulkOperation,
  getOperation,
  processPage,
} from '../../../src/app/bulk-operations';
import type { AppDeps, AppSettings } from '../../../src/app/deps';
import { dispatch } from '../../../src/app/dispatch';
import { fileRequest } from '../../../src/app/intake';
import type { Member, Role } from '../../../src/domain/access';
import type { Task } from '../../../src/domain/model';
import { errorResponse } from '../../../src/http/error-response';
import { handleApi, type ApiContext } from '../../../src/http/api-routes';
import type { HttpResponse } from '../../../src/http/types';
import { createMemoryRecordStore } from '../../helpers/memory-record-store';
import { aTask, T0, useDispatchFixture } from '../dispatch/harness';

/**
 * Bulk actions on the Firestore emulator: filed by the filter with a reason (202 and an
 * operation id), carried out by dispatch in pages (a small page size here), each request's
 * action in the filer's name with its own rules (an approver's own request is a per-item
 * failure), requests filed after the call left alone, a page done twice harmless, and bad
 * input or a missing role refused before anything is written.
 */

const FILER = { identity: 'filer@example.com' };
const APPROVER = 'approver@example.com';
const OPERATOR = 'operator@example.com';
const AUDITOR = 'auditor@example.com';
const approverCaller = { identity: APPROVER, roles: new Set<Role>(['approver']) };
const operatorCaller = { identity: OPERATOR, roles: new Set<Role>(['operator']) };

function gated(id: string): Task {
  return aTask(id, {
    version: 1,
    versionHash: `${id}-v1`,
    approvalsRequired: 1,
    requiresApproval: true,
  });
}

describe('bulk actions by filter', () => {
  const f = useDispatchFixture();
  let deps: (settings?: Partial<AppSettings>) => AppDeps;
  const operationDocs = async () => (await f.store.fs.db.collection('operations').get()).size;

  beforeEach(async () => {
    const operations = createFirestoreOperationStore(f.store.fs.db);
    deps = (settings = {}) => ({ ...f.deps({ dispatchPageSize: 2, ...settings }), operations });
    await f.store.store.createTask(gated('gate'));
  });

  const file = async (email: string, by = FILER) =>
    (await fileRequest(deps(), { type: 'deletion', subject: { email } }, by)).view.id;
  const stateOf = async (id: string) => (await f.store.store.getInstance(id, 'gate'))?.state;

  it('approves every match in pages, with progress, a per-item failure and a fixed match set', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await file(`p${i}@example.com`));
    // The approver filed this one: four-eyes refuses their approval of it.
    const own = await file('own@example.com', { identity: APPROVER });

    const { operationId, operation } = await fileBulkOperation(
      deps(),
      { filter: { status: 'awaiting_approval' }, action: 'approve', reason: 'CAB-7 backlog' },
      approverCaller,
    );
    expect(operationId).toMatch(/^op-[0-9a-f]{32}$/);
    expect(operation).toMatchObject({ state: 'running', progress: { matched: 0 } });
    // Filed after the call: not part of the operation.
    f.now = new Date(T0.getTime() + 1000);
    const late = await file('late@example.com');

    // One page by hand: the operation reports its progress while it runs.
    await processPage(deps(), deps().operations!, operationId);
    const midway = await getOperation(deps(), operationId);
    expect(midway).toMatchObject({ state: 'running', progress: { pages: 1 } });
    expect(midway.progress.processed).toBeGreaterThan(0);

    const summary = await dispatch(deps());
    expect(summary.operationPages).toBeGreaterThanOrEqual(2);
    const done = await getOperation(deps(), operationId);
    expect(done).toMatchObject({
      state: 'done',
      actor: APPROVER,
      reason: 'CAB-7 backlog',
      progress: { matched: 6, processed: 6, succeeded: 5, skipped: 0, failed: 1 },
      failures: [{ requestId: own, code: 'self_approval' }],
      failuresOmitted: 0,
    });
    expect(done.progress.pages).toBeGreaterThanOrEqual(3);
    for (const id of ids) {
      expect(await stateOf(id)).not.toBe('pending_approval');
      const ledger = await f.store.store.listLedger({ kind: 'request', requestId: id });
      expect(ledger.filter((e) => e.kind === 'approved').map((e) => e.actor)).toEqual([APPROVER]);
    }
    expect(await stateOf(own)).toBe('pending_approval');
    expect(await stateOf(late)).toBe('pending_approval');
    expect(f.events('operation.finished')).toEqual([
      expect.objectContaining({ severity: 'WARNING', matched: 6, failed: 1 }),
    ]);

    // A page done twice finds its work done: skipped, never failed, nothing written twice.
    expect(await applyAction(deps(), 'approve', ids[0]!, { identity: APPROVER })).toEqual({
      outcome: 'skipped',
      why: 'nothing awaiting approval',
    });
    // A finished operation is left alone by later runs.
    expect((await dispatch(deps())).operationPages).toBe(0);
  });

  it('cancels by task, and a second pass over the same requests skips them', async () => {
    const ids = [
      await file('c1@example.com'),
      await file('c2@example.com'),
      await file('c3@example.com'),
    ];
    const { operationId } = await fileBulkOperation(
      deps(),
      { filter: { task: 'gate' }, action: 'cancel', reason: 'duplicates of T-9' },
      operatorCaller,
    );
    await dispatch(deps());
    expect(await getOperation(deps(), operationId)).toMatchObject({
      state: 'done',
      progress: { matched: 3, succeeded: 3, failed: 0 },
    });
    for (const id of ids) expect(await stateOf(id)).toBe('cancelled');
    const again = await fileBulkOperation(
      deps(),
      { filter: { task: 'gate' }, action: 'cancel', reason: 'again' },
      operatorCaller,
    );
    await dispatch(deps());
    expect(await getOperation(deps(), again.operationId)).toMatchObject({
      progress: { matched: 3, succeeded: 0, skipped: 3, failed: 0 },
    });
  });

  it('retries the failed instances of every match, once, and skips requests without one', async () => {
    await f.store.store.createTask(
      aTask('crm', { version: 1, versionHash: 'crm-v1', approvalsRequired: 0 }),
    );
    const failed = [await file('r1@example.com'), await file('r2@example.com')];
    const fine = await file('r3@example.com');
    // The crm instances of the first two failed for good (the system was down).
    for (const id of failed) {
      await f.store.store.updateInstance(id, 'crm', () => ({
        state: 'failed',
        lastError: { code: 'http.503', message: 'unavailable' },
      }));
    }
    const { operationId } = await fileBulkOperation(
      deps(),
      { filter: { task: 'crm' }, action: 'retry', reason: 'INC-9 resolved' },
      operatorCaller,
    );
    await dispatch(deps());
    expect(await getOperation(deps(), operationId)).toMatchObject({
      state: 'done',
      progress: { matched: 3, succeeded: 2, skipped: 1, failed: 0 },
    });
    for (const id of failed) {
      expect(await f.store.store.getInstance(id, 'crm')).toMatchObject({
        state: 'queued',
        series: 2,
      });
      const ledger = await f.store.store.listLedger({ kind: 'request', requestId: id });
      expect(ledger.filter((e) => e.kind === 'retried').map((e) => e.actor)).toEqual([OPERATOR]);
    }
    expect((await f.store.store.getInstance(fine, 'crm'))?.series).toBe(1);
    // The same page again: the series moved on, so nothing is retried twice.
    expect(await applyAction(deps(), 'retry', failed[0]!, { identity: OPERATOR })).toEqual({
      outcome: 'skipped',
      why: 'no failed instance',
    });
  });

  describe('over HTTP', () => {
    let ctx: ApiContext;
    const call = async (
      identity: string,
      method: string,
      path: string,
      body?: unknown,
    ): Promise<HttpResponse> => {
      try {
        return await handleApi(ctx, {
          method,
          path,
          query: {},
          headers: { 'x-dev-identity': identity },
          body,
        });
      } catch (err) {
        return errorResponse(err, ctx.deps.log);
      }
    };
    const errorOf = (res: HttpResponse) =>
      (res.body as { error: { code: string; message: string; issues?: { path: string }[] } }).error;

    beforeEach(async () => {
      const access = createFirestoreAccessStore(f.store.fs.db);
      ctx = {
        deps: deps(),
        records: createMemoryRecordStore(),
        access,
        verifyCaller: createApiVerifier({
          localMode: true,
          audiences: [],
          clock: { now: () => T0 },
        }),
        bootstrapAdmins: [],
      };
      const { etag } = await access.getPolicy();
      const bindings: { role: Role; members: Member[] }[] = [
        { role: 'approver', members: [`user:${APPROVER}`] },
        { role: 'operator', members: [`user:${OPERATOR}`] },
        { role: 'auditor', members: [`user:${AUDITOR}`] },
      ];
      await access.setPolicy(etag, { bindings, groups: {} }, 'root@example.com', T0.toISOString());
    });

    it('answers 202 with the operation id, readable at /operations/:id', async () => {
      await file('h1@example.com');
      const res = await call(OPERATOR, 'POST', '/requests:bulk', {
        filter: { status: 'awaiting_approval,in_progress', filedFrom: '2020-01-01' },
        action: 'cancel',
        reason: 'test',
      });
      expect(res.status).toBe(202);
      const { operationId } = res.body as { operationId: string };
      const read = await call(AUDITOR, 'GET', `/operations/${operationId}`);
      expect(read).toMatchObject({ status: 200, body: { id: operationId, state: 'running' } });
      expect((await call(AUDITOR, 'GET', `/operations/op-${'0'.repeat(32)}`)).status).toBe(404);
      const bad = await call(AUDITOR, 'GET', '/operations/..%2Frequests');
      expect(bad.status).toBe(400);
      expect(errorOf(bad).issues?.[0]?.path).toBe('id');
    });

    it.each([
      ['an operator approving', OPERATOR, 'approve'],
      ['an approver cancelling', APPROVER, 'cancel'],
      ['an approver retrying', APPROVER, 'retry'],
      ['an auditor', AUDITOR, 'cancel'],
    ])('refuses %s with 403, writing nothing', async (_name, identity, action) => {
      const res = await call(identity, 'POST', '/requests:bulk', {
        filter: { task: 'gate' },
        action,
        reason: 'x',
      });
      expect(res.status).toBe(403);
      expect(errorOf(res).code).toBe('forbidden');
      expect(await operationDocs()).toBe(0);
    });

    it.each([
      ['an unknown action', { filter: { task: 'gate' }, action: 'delete', reason: 'x' }, 'action'],
      ['no reason', { filter: { task: 'gate' }, action: 'cancel' }, 'reason'],
      ['no filter', { action: 'cancel', reason: 'x' }, 'filter'],
      ['an empty filter', { filter: {}, action: 'cancel', reason: 'x' }, 'filter'],
      [
        'an unknown status',
        { filter: { status: 'done' }, action: 'cancel', reason: 'x' },
        'filter.status',
      ],
      [
        'an unknown criterion',
        { filter: { colour: 'red' }, action: 'cancel', reason: 'x' },
        'filter.colour',
      ],
      [
        'filedTo before filedFrom',
        {
          filter: { filedFrom: '2026-02-01', filedTo: '2026-01-01' },
          action: 'cancel',
          reason: 'x',
        },
        'filter.filedTo',
      ],
      [
        'an unknown field',
        { filter: { task: 'gate' }, action: 'cancel', reason: 'x', all: true },
        '',
      ],
    ])('refuses %s with 400 naming the field, writing nothing', async (_name, body, field) => {
      const res = await call(OPERATOR, 'POST', '/requests:bulk', body);
      expect(res.status).toBe(400);
      expect(errorOf(res).issues?.map((i) => i.path)).toContain(field);
      expect(await operationDocs()).toBe(0);
    });

    it('does not mistake /requests:bulk for a request id, nor GET for POST', async () => {
      const res = await call(OPERATOR, 'GET', '/requests:bulk');
      expect(res.status).toBe(405);
    });
  });
});
