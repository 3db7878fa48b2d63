import { ROLES } from '../../../src/domain/access';
import { routeTable } from '../../../src/http/api-routes';

/** The role table of docs/security.md: every route and the roles that may call it. */
const EXPECTED: Record<string, 'public' | 'any_role' | string[]> = {
  'GET /healthz': 'public',
  'POST /requests': ['requester'],
  'GET /requests': ['requester', 'approver', 'operator', 'auditor', 'admin'],
  'GET /requests/:requestId': ['requester', 'approver', 'operator', 'auditor', 'admin'],
  'POST /requests/:requestId/approve': ['approver'],
  'POST /requests/:requestId/deny': ['approver'],
  'POST /requests/:requestId/verify': ['approver', 'requester'],
  'POST /requests/:requestId/extend': ['approver'],
  'POST /requests/:requestId/acknowledge': ['requester', 'operator'],
  'POST /requests/:requestId/cancel': ['operator'],
  'POST /requests/:requestId/instances/:taskId/retry': ['operator'],
  'GET /requests/:requestId/runs': ['operator', 'auditor', 'admin'],
  'GET /requests/:requestId/evidence': ['auditor', 'operator', 'admin'],
  'GET /requests/:requestId/records': ['records_reader'],
  'GET /requests/:requestId/records/package': ['records_reader'],
  'GET /tasks': 'any_role',
  'GET /tasks/:taskId': 'any_role',
  'GET /tasks/:taskId/versions': 'any_role',
  'POST /tasks': ['admin'],
  'PATCH /tasks/:taskId': ['admin'],
  'POST /tasks/:taskId/audit': ['task_tester'],
  'POST /tasks/:taskId/pause': ['operator', 'admin'],
  'POST /tasks/:taskId/resume': ['operator', 'admin'],
  // Either role may file; the action's own role is checked before anything is written.
  'POST /requests:bulk': ['approver', 'operator'],
  'GET /operations/:operationId': ['approver', 'operator', 'auditor', 'admin'],
  'GET /iam/policy': ['admin', 'auditor'],
  'PUT /iam/policy': ['admin'],
  'GET /reports/requests.csv': ['auditor', 'admin'],
  'GET /reports/metrics': ['auditor', 'admin'],
  'GET /costs': ['auditor', 'operator', 'admin'],
};

describe('the route table', () => {
  const table = routeTable();
  const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

  it('is exactly the role table: every route declares who may call it', () => {
    const actual = Object.fromEntries(
      table.map((r) => [key(r), typeof r.access === 'string' ? r.access : [...r.access].sort()]),
    );
    const expected = Object.fromEntries(
      Object.entries(EXPECTED).map(([k, v]) => [k, typeof v === 'string' ? v : [...v].sort()]),
    );
    expect(actual).toEqual(expected);
  });

  it('declares each route once', () => {
    expect(new Set(table.map(key)).size).toBe(table.length);
  });

  it('names only known roles, and leaves no route open but the health check', () => {
    for (const r of table) {
      if (typeof r.access === 'string') {
        expect({ route: key(r), access: r.access }).toEqual({
          route: key(r),
          access: key(r) === 'GET /healthz' ? 'public' : 'any_role',
        });
        continue;
      }
      expect(r.access.length).toBeGreaterThan(0);
      for (const role of r.access) expect(ROLES).toContain(role);
    }
  });

  it('lets an auditor change nothing', () => {
    const writable = table.filter(
      (r) => r.method !== 'GET' && Array.isArray(r.access) && r.access.includes('auditor'),
    );
    expect(writable.map(key)).toEqual([]);
  });
});
