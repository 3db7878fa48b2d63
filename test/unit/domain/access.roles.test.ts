import { policyInputSchema, rolesOf, type AccessPolicy } from '../../../src/domain/access';
import { routeTable } from '../../../src/http/api-routes';

const policy: AccessPolicy = {
  bindings: [
    { role: 'approver', members: ['user:ann@example.com', 'group:legal@example.com'] },
    { role: 'auditor', members: ['serviceAccount:audit@p.iam.gserviceaccount.com'] },
  ],
  groups: { 'legal@example.com': ['user:lee@example.com'] },
  etag: 'e1',
  version: 1,
};

describe('roles: bound directly, through a group, or as a bootstrap admin', () => {
  it.each([
    ['ann@example.com', 'user', ['approver']],
    ['lee@example.com', 'user', ['approver']],
    ['audit@p.iam.gserviceaccount.com', 'serviceAccount', ['auditor']],
    ['nobody@example.com', 'user', []],
    ['boss@example.com', 'user', ['admin']],
  ] as const)('%s holds %j', (email, kind, roles) => {
    expect([...rolesOf({ email, kind }, policy, ['user:boss@example.com'])].sort()).toEqual(
      [...roles].sort(),
    );
  });

  it('a user: member does not match a service account of the same address, nor the reverse', () => {
    const sa = rolesOf({ email: 'ann@example.com', kind: 'serviceAccount' }, policy, []);
    expect(sa.size).toBe(0);
  });

  it('refuses unknown roles, malformed members and a role bound twice', () => {
    for (const body of [
      { etag: 'e', bindings: [{ role: 'superuser', members: [] }] },
      { etag: 'e', bindings: [{ role: 'admin', members: ['ann@example.com'] }] },
      { etag: 'e', bindings: [{ role: 'admin', members: ['user:a/b@example.com'] }] },
      {
        etag: 'e',
        bindings: [
          { role: 'admin', members: [] },
          { role: 'admin', members: [] },
        ],
      },
      { etag: 'e', bindings: [], groups: { __proto__x: [] }, extra: 1 },
    ]) {
      expect(policyInputSchema.safeParse(body).success).toBe(false);
    }
  });
});

describe('the route table', () => {
  const table = routeTable();

  it('every route names who may call it; only /healthz is public', () => {
    expect(table.filter((r) => r.access === 'public').map((r) => r.path)).toEqual(['/healthz']);
    for (const r of table) expect(r.access === 'public' || r.access.length > 0).toBe(true);
  });

  it.each([
    ['POST', '/requests/:requestId/approve', ['approver']],
    ['POST', '/requests/:requestId/deny', ['approver']],
    ['POST', '/requests/:requestId/cancel', ['operator']],
    ['POST', '/requests/:requestId/instances/:taskId/retry', ['operator']],
    ['GET', '/requests/:requestId/records', ['records_reader']],
    ['POST', '/tasks', ['admin']],
    ['PATCH', '/tasks/:taskId', ['admin']],
    ['POST', '/tasks/:taskId/audit', ['task_tester']],
    ['PUT', '/iam/policy', ['admin']],
  ])('%s %s needs %j', (method, path, roles) => {
    expect(table.find((r) => r.method === method && r.path === path)?.access).toEqual(roles);
  });

  it('an auditor may read but no write route lets an auditor in', () => {
    const writes = table.filter((r) => r.method !== 'GET');
    for (const r of writes) {
      expect(
        r.access === 'public' || r.access === 'any_role' || !r.access.includes('auditor'),
      ).toBe(true);
    }
  });
});
