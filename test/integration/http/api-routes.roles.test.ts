import { createFirestoreAccessStore } from '../../../src/adapters/firestore/policy-store';
import { createApiVerifier } from '../../../src/adapters/identity/verifiers';
import { ROLES, type Member, type Role } from '../../../src/domain/access';
import { errorResponse } from '../../../src/http/error-response';
import { handleApi, routeTable, type ApiContext } from '../../../src/http/api-routes';
import type { HttpRequest, HttpResponse } from '../../../src/http/types';
import type { AccessStore } from '../../../src/ports/access-store';
import { snapshotFirestore } from '../../e2e/support/firestore-snapshot';
import { createMemoryRecordStore } from '../../helpers/memory-record-store';
import { aTask, T0, useDispatchFixture } from '../dispatch/harness';

/**
 * handleApi on the Firestore emulator: who is calling is decided once (401 without a verified
 * identity), each route's roles are checked before anything runs (403 naming them, nothing
 * written), requesters see only their own requests, and the access policy changes only with
 * the etag that was read.
 */

const ROOT = 'root@example.com';
/** One identity per role, holding that role only; NOBODY holds none. */
const holder = (role: Role) => `${role.replace('_', '-')}@example.com`;
const NOBODY = 'norole@example.com';

const REQUEST_ID = 'a'.repeat(32);
const TASK_ID = 'crm';
const concrete = (path: string) =>
  path.replace(':requestId', REQUEST_ID).replace(':taskId', TASK_ID);

interface ErrorAnswer {
  code: string;
  message: string;
  issues?: { path: string; message: string }[];
}
const errorOf = (res: HttpResponse) => (res.body as { error: ErrorAnswer }).error;

describe('handleApi: identities, roles and the access policy', () => {
  const f = useDispatchFixture();
  let access: AccessStore;
  let ctx: ApiContext;

  /** One call as `identity` (X-Dev-Identity), or with no credentials at all when `null`. */
  async function call(
    identity: string | null,
    method: string,
    path: string,
    { body, query = {} }: { body?: unknown; query?: Record<string, unknown> } = {},
  ): Promise<HttpResponse> {
    const req: HttpRequest = {
      method,
      path,
      query,
      headers: identity === null ? {} : { 'x-dev-identity': identity },
      body,
    };
    const context: ApiContext =
      identity === null
        ? {
            ...ctx,
            verifyCaller: createApiVerifier({
              localMode: false,
              audiences: ['https://api.example'],
              clock: { now: () => T0 },
            }),
          }
        : ctx;
    try {
      return await handleApi(context, req);
    } catch (err) {
      return errorResponse(err, ctx.deps.log);
    }
  }

  async function bind(bindings: { role: Role; members: Member[] }[]): Promise<void> {
    const { etag } = await access.getPolicy();
    const set = await access.setPolicy(etag, { bindings, groups: {} }, ROOT, T0.toISOString());
    expect(set).not.toBeNull();
  }

  const snapshot = () => snapshotFirestore(f.store.fs.db);

  beforeEach(async () => {
    access = createFirestoreAccessStore(f.store.fs.db);
    ctx = {
      deps: f.deps(),
      records: createMemoryRecordStore(),
      access,
      verifyCaller: createApiVerifier({ localMode: true, audiences: [], clock: { now: () => T0 } }),
      bootstrapAdmins: [`user:${ROOT}`],
    };
    await f.store.store.createTask(aTask(TASK_ID, { executor: 'noop' }));
    await bind(ROLES.map((role) => ({ role, members: [`user:${holder(role)}` as Member] })));
  });

  describe('each role calling each route it must not: 403 naming the roles, nothing written', () => {
    const cases = routeTable().flatMap((route) => {
      const needs = route.access;
      if (!Array.isArray(needs)) return [];
      return [...ROLES, null]
        .filter((role) => role === null || !needs.includes(role))
        .map((role) => ({
          name: `${role ?? 'no role'} → ${route.method} ${route.path}`,
          role,
          route,
          needs: needs as readonly Role[],
        }));
    });

    it.each(cases)('$name', async ({ role, route, needs }) => {
      const before = await snapshot();
      const res = await call(
        role === null ? NOBODY : holder(role),
        route.method,
        concrete(route.path),
        { body: route.method === 'GET' ? undefined : { anything: true } },
      );
      expect(res.status).toBe(403);
      expect(errorOf(res).code).toBe('forbidden');
      for (const needed of needs) expect(errorOf(res).message).toContain(needed);
      expect(await snapshot()).toEqual(before);
    });

    it.each(routeTable().filter((r) => r.access === 'any_role'))(
      'an identity without any role → $method $path: 403',
      async ({ method, path }) => {
        const res = await call(NOBODY, method, concrete(path));
        expect(res.status).toBe(403);
        expect(errorOf(res).message).toContain('holds no role');
      },
    );

    it('logs the refusal with the actor and the roles needed', async () => {
      await call(holder('auditor'), 'POST', `/requests/${REQUEST_ID}/approve`, { body: {} });
      expect(f.events('http.forbidden')).toEqual([
        expect.objectContaining({
          actor: holder('auditor'),
          route: 'POST /requests/:requestId/approve',
          needs: ['approver'],
        }),
      ]);
    });
  });

  it('answers 401 on every route but the health check when no identity can be verified', async () => {
    const statuses = [];
    for (const route of routeTable()) {
      const res = await call(null, route.method, concrete(route.path));
      statuses.push([`${route.method} ${route.path}`, res.status]);
    }
    expect(statuses).toEqual(
      routeTable().map((r) => [`${r.method} ${r.path}`, r.access === 'public' ? 200 : 401]),
    );
  });

  describe('path ids, query parameters and methods', () => {
    it.each([
      ['%2F inside an id', `/requests/${REQUEST_ID.slice(0, 10)}%2Finstances%2Fcrm/runs`, 'id'],
      ['..', '/requests/../runs', 'id'],
      ['__x__', '/requests/__x__/runs', 'id'],
      ['a bad % escape', '/requests/%E0%A4%A/runs', 'id'],
      ['a task id with a dot', '/tasks/crm.delete', 'id'],
    ])('refuses %s with 400 naming the parameter, writing nothing', async (_n, path, param) => {
      const before = await snapshot();
      const res = await call(holder('auditor'), 'GET', path);
      expect(res.status).toBe(400);
      expect(errorOf(res).issues?.[0]?.path).toBe(param);
      expect(await snapshot()).toEqual(before);
    });

    it('refuses an ill-formed task id in a retry, naming taskId', async () => {
      const res = await call(
        holder('operator'),
        'POST',
        `/requests/${REQUEST_ID}/instances/__proto__/retry`,
        { body: {} },
      );
      expect(res.status).toBe(400);
      expect(errorOf(res).issues?.[0]?.path).toBe('taskId');
    });

    it('checks the caller before the path: a bad id from a caller without the role is a 403', async () => {
      const res = await call(holder('auditor'), 'POST', '/requests/..%2F..%2Ftasks%2Fcrm/approve', {
        body: {},
      });
      expect(res.status).toBe(403);
    });

    it('refuses a repeated query parameter, naming it, rather than dropping the filter', async () => {
      const res = await call(holder('auditor'), 'GET', '/requests', {
        query: { status: ['in_progress', 'in_progress'] },
      });
      expect(res.status).toBe(400);
      expect(errorOf(res).issues).toEqual([
        { path: 'query.status', message: 'given more than once; give it once' },
      ]);
    });

    it('refuses an unknown query parameter (createdBy is not the caller’s to choose)', async () => {
      const res = await call(holder('auditor'), 'GET', '/requests', { query: { createdBy: ROOT } });
      expect(res.status).toBe(400);
    });

    it('answers 405 with Allow for a known path and another method', async () => {
      const res = await call(holder('admin'), 'DELETE', '/iam/policy');
      expect(res.status).toBe(405);
      expect(res.headers).toEqual({ Allow: 'GET, PUT' });
    });

    it('answers 404 for no route', async () => {
      expect((await call(holder('admin'), 'GET', '/nothing')).status).toBe(404);
    });
  });

  describe('a requester sees only the requests they filed', () => {
    const alice = 'alice@example.com';
    const bob = 'bob@example.com';
    let aliceRequest = '';
    let bobRequest = '';

    const idsListedFor = async (who: string, query: Record<string, unknown> = {}) => {
      const res = await call(who, 'GET', '/requests', { query });
      expect(res.status).toBe(200);
      return (res.body as { items: { id: string }[] }).items.map((r) => r.id).sort();
    };

    beforeEach(async () => {
      await bind([
        { role: 'requester', members: [`user:${alice}`, `user:${bob}`] },
        { role: 'auditor', members: [`user:${holder('auditor')}`] },
      ]);
      const file = async (who: string) => {
        const res = await call(who, 'POST', '/requests', {
          body: { type: 'deletion', subject: { email: `subject.of.${who}` } },
        });
        expect(res.status).toBe(201);
        return (res.body as { id: string }).id;
      };
      aliceRequest = await file(alice);
      bobRequest = await file(bob);
    });

    it('lists only their own, filtered or not; an auditor lists all', async () => {
      expect(await idsListedFor(alice)).toEqual([aliceRequest]);
      expect(await idsListedFor(bob)).toEqual([bobRequest]);
      expect(await idsListedFor(bob, { overdue: 'false' })).toEqual([bobRequest]);
      expect(await idsListedFor(holder('auditor'))).toEqual([aliceRequest, bobRequest].sort());
    });

    it("answers 404, not 403, for another's request, so its existence is not revealed", async () => {
      expect((await call(alice, 'GET', `/requests/${aliceRequest}`)).status).toBe(200);
      const other = await call(alice, 'GET', `/requests/${bobRequest}`);
      const missing = await call(alice, 'GET', `/requests/${'b'.repeat(32)}`);
      expect([other.status, missing.status]).toEqual([404, 404]);
      expect(errorOf(other)).toEqual({
        code: errorOf(missing).code,
        message: `no request with id ${bobRequest}`,
      });
      expect((await call(holder('auditor'), 'GET', `/requests/${bobRequest}`)).status).toBe(200);
    });
  });

  describe('the access policy', () => {
    it('is read by admins and auditors, with its etag', async () => {
      const res = await call(holder('auditor'), 'GET', '/iam/policy');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ version: 1, updatedBy: ROOT });
      expect(typeof (res.body as { etag: unknown }).etag).toBe('string');
    });

    it('is replaced with the etag that was read, keeping the old one as a version, logged with its actor', async () => {
      const current = (await call(holder('admin'), 'GET', '/iam/policy')).body as {
        etag: string;
        version: number;
      };
      const res = await call(holder('admin'), 'PUT', '/iam/policy', {
        body: {
          etag: current.etag,
          bindings: [{ role: 'approver', members: ['user:Carol@Example.com'] }],
        },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        version: current.version + 1,
        bindings: [{ role: 'approver', members: ['user:carol@example.com'] }],
        groups: {},
        updatedBy: holder('admin'),
      });
      const kept = await f.store.fs.db.doc(`iam/policy/versions/${current.version}`).get();
      expect(kept.data()).toMatchObject({ version: current.version, etag: current.etag });
      expect(f.events('iam.policy_changed')).toEqual([
        expect.objectContaining({ actor: holder('admin'), version: current.version + 1 }),
      ]);
      // The admin bound only carol: their own admin role went with it; bootstrap admins stay.
      expect((await call(holder('admin'), 'GET', '/iam/policy')).status).toBe(403);
      expect((await call(ROOT, 'GET', '/iam/policy')).status).toBe(200);
    });

    it('refuses a stale etag with 409 and writes nothing', async () => {
      const before = await snapshot();
      const res = await call(holder('admin'), 'PUT', '/iam/policy', {
        body: { etag: 'stale', bindings: [] },
      });
      expect(res.status).toBe(409);
      expect(errorOf(res).code).toBe('policy_conflict');
      expect(await snapshot()).toEqual(before);
    });

    it('lets one of two concurrent writers with the same etag win', async () => {
      const { etag } = await access.getPolicy();
      const put = (member: Member) =>
        call(holder('admin'), 'PUT', '/iam/policy', {
          body: { etag, bindings: [{ role: 'admin', members: [member] }] },
        });
      const answers = await Promise.all([put('user:x@example.com'), put('user:y@example.com')]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    });

    it.each<[string, (etag: string) => unknown]>([
      ['an unknown role', (etag) => ({ etag, bindings: [{ role: 'owner', members: [] }] })],
      [
        'a member without its kind',
        (etag) => ({ etag, bindings: [{ role: 'admin', members: ['a@b.c'] }] }),
      ],
      ['no etag', () => ({ bindings: [] })],
      ['a body that is not an object', () => 'bindings'],
      [
        'a __proto__ group',
        (etag) =>
          JSON.parse(`{"etag":"${etag}","bindings":[],"groups":{"__proto__":[]}}`) as unknown,
      ],
    ])('refuses %s with 400, writing nothing', async (_name, body) => {
      const { etag } = await access.getPolicy();
      const before = await snapshot();
      const res = await call(holder('admin'), 'PUT', '/iam/policy', { body: body(etag) });
      expect(res.status).toBe(400);
      expect(await snapshot()).toEqual(before);
    });

    it('starts empty: only bootstrap admins hold a role then', async () => {
      await f.store.fs.reset();
      expect((await call(holder('admin'), 'GET', '/iam/policy')).status).toBe(403);
      const first = await call(ROOT, 'GET', '/iam/policy');
      expect(first.body).toMatchObject({ version: 0, bindings: [] });
      const res = await call(ROOT, 'PUT', '/iam/policy', {
        body: { etag: (first.body as { etag: string }).etag, bindings: [] },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ version: 1 });
    });
  });
});
