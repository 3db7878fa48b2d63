import { z } from 'zod';
import { getPolicy, setPolicy } from '../app/access';
import { auditTask } from '../app/audit';
import { acknowledgeRequest, extendRequest } from '../app/deadlines';
import type { AppDeps } from '../app/deps';
import { getEvidence } from '../app/evidence';
import { getRecordsPackage } from '../app/records';
import { openRecordsPackage } from '../app/records-package';
import { metricsCsv, reportMetrics, requestsCsv } from '../app/reports';
import {
  approveRequest,
  cancelRequest,
  denyRequest,
  fileRequest,
  getRequestView,
  listRequests,
  listRuns,
  retryInstance,
  verifyRequest,
} from '../app/requests';
import {
  getTaskView,
  listTasksView,
  listTaskVersions,
  registerTask,
  taskView,
  updateTask,
} from '../app/tasks';
import { rolesOf, type Actor, type Identity, type Member, type Role } from '../domain/access';
import {
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '../domain/errors';
import { parseRequestId, parseTaskId } from '../domain/ids';
import { REQUEST_STATUSES } from '../domain/model';
import type { AccessStore } from '../ports/access-store';
import type { RecordStore } from '../ports/record-store';
import { parseJsonBody } from './json-body';
import { header, streamed, type HttpRequest, type HttpResponse } from './types';
import { zipStream } from './zip-stream';

/** The largest body any function accepts (functions/framework-guards.ts caps the parsers). */
export const MAX_BODY_BYTES = 64 * 1024;

export interface ApiContext {
  deps: AppDeps;
  /** Records packages, for GET /requests/:id/records. */
  records: RecordStore;
  /** The access policy: who holds which role. */
  access: AccessStore;
  /** Decides who is calling, from verified credentials only (401 otherwise). */
  verifyCaller: (headers: HttpRequest['headers']) => Promise<Identity>;
  /** Members that hold `admin` whatever the policy says (BOOTSTRAP_ADMINS). */
  bootstrapAdmins: readonly Member[];
}

/** The verified caller of a route, with the roles it holds now. */
export type Caller = Actor;

/** Path parameters, parsed by their name before any handler runs. */
interface Params {
  requestId: string;
  taskId: string;
}

type Handler = (
  ctx: ApiContext,
  req: HttpRequest,
  params: Params,
  caller: Caller,
) => Promise<HttpResponse>;

/** Who may call a route: no one needs to be known, anyone with a role, or these roles. */
type Access = 'public' | 'any_role' | readonly Role[];

interface Route {
  method: string;
  path: string;
  access: Access;
  pattern: RegExp;
  keys: (keyof Params)[];
  handler: Handler;
}

const PARSERS: Record<keyof Params, (raw: string, name: string) => string> = {
  requestId: (raw) => parseRequestId(raw, 'id'),
  taskId: (raw, name) => parseTaskId(raw, name),
};

/**
 * The one table of routes: each names the roles that may call it. A route without an entry
 * does not serve; a caller without one of the roles gets 403 naming them, before anything runs.
 */
const routes: Route[] = [];
function route(method: string, path: string, access: Access, handler: Handler): void {
  const keys: (keyof Params)[] = [];
  const pattern = new RegExp(
    `^${path.replace(/:([A-Za-z]+)/g, (_m, key: keyof Params) => {
      keys.push(key);
      return '([^/]+)';
    })}/?$`,
  );
  routes.push({ method, path, access, pattern, keys, handler });
}

/** Every route and who may call it, for the docs and the tests. */
export function routeTable(): { method: string; path: string; access: Access }[] {
  return routes.map(({ method, path, access }) => ({ method, path, access }));
}

const ok = (body: unknown, status = 200): HttpResponse => ({ status, body });

const READERS: readonly Role[] = ['requester', 'approver', 'operator', 'auditor', 'admin'];
/** Roles that read every request; a caller who holds none of them sees only their own. */
const READ_ALL: readonly Role[] = ['approver', 'operator', 'auditor', 'admin'];
const ownedBy = (caller: Caller) =>
  READ_ALL.some((r) => caller.roles.has(r)) ? undefined : caller.identity;

route('GET', '/healthz', 'public', async () => ok({ status: 'ok' }));

route('POST', '/requests', ['requester'], async ({ deps }, req, _p, caller) => {
  const { created, view } = await fileRequest(
    deps,
    req.body,
    caller,
    header(req, 'idempotency-key'),
  );
  return ok(view, created ? 201 : 200);
});

const listQuery = z
  .object({
    status: z.enum(REQUEST_STATUSES).optional(),
    overdue: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(500).optional(),
  })
  .strict();

route('GET', '/requests', READERS, async ({ deps }, req, _p, caller) => {
  const parsed = listQuery.safeParse(req.query);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues, ['query']);
  const q = parsed.data;
  const own = ownedBy(caller);
  return ok(
    await listRequests(deps, {
      limit: q.limit,
      ...(q.status === undefined ? {} : { status: q.status }),
      ...(q.overdue === undefined ? {} : { overdue: q.overdue }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      ...(own === undefined ? {} : { createdBy: own }),
    }),
  );
});

route('GET', '/requests/:requestId', READERS, async ({ deps }, _req, p, caller) =>
  ok(await getRequestView(deps, p.requestId, ownedBy(caller))),
);
route('POST', '/requests/:requestId/approve', ['approver'], async ({ deps }, req, p, caller) =>
  ok(await approveRequest(deps, p.requestId, req.body, caller)),
);
route('POST', '/requests/:requestId/deny', ['approver'], async ({ deps }, req, p, caller) =>
  ok(await denyRequest(deps, p.requestId, req.body, caller)),
);
route(
  'POST',
  '/requests/:requestId/verify',
  ['approver', 'requester'],
  async ({ deps }, req, p, caller) =>
    ok(await verifyRequest(deps, p.requestId, req.body, caller, ownedBy(caller))),
);
route('POST', '/requests/:requestId/extend', ['approver'], async ({ deps }, req, p, caller) =>
  ok(await extendRequest(deps, p.requestId, req.body, caller)),
);
route(
  'POST',
  '/requests/:requestId/acknowledge',
  ['requester', 'operator'],
  async ({ deps }, req, p, caller) =>
    ok(await acknowledgeRequest(deps, p.requestId, req.body, caller, ownedBy(caller))),
);
route('POST', '/requests/:requestId/cancel', ['operator'], async ({ deps }, _req, p, caller) =>
  ok(await cancelRequest(deps, p.requestId, caller)),
);
route(
  'POST',
  '/requests/:requestId/instances/:taskId/retry',
  ['operator'],
  async ({ deps }, req, p, caller) =>
    ok(await retryInstance(deps, p.requestId, p.taskId, req.body, caller), 202),
);
route(
  'GET',
  '/requests/:requestId/runs',
  ['operator', 'auditor', 'admin'],
  async ({ deps }, _r, p) => ok({ runs: await listRuns(deps, p.requestId) }),
);
route(
  'GET',
  '/requests/:requestId/evidence',
  ['auditor', 'operator', 'admin'],
  async ({ deps }, _req, p, caller) => ok(await getEvidence(deps, p.requestId, caller)),
);

const recordsQuery = z
  .object({
    pageSize: z.coerce.number().int().min(1).max(5000).default(500),
    pageToken: z.string().min(1).max(2000).optional(),
  })
  .strict();

route(
  'GET',
  '/requests/:requestId/records',
  ['records_reader'],
  async ({ deps, records }, req, p, caller) => {
    const parsed = recordsQuery.safeParse(req.query);
    if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues, ['query']);
    const { pageSize, pageToken } = parsed.data;
    return ok(
      await getRecordsPackage(
        { ...deps, records },
        p.requestId,
        { pageSize, ...(pageToken === undefined ? {} : { pageToken }) },
        caller,
      ),
    );
  },
);

route(
  'GET',
  '/requests/:requestId/records/package',
  ['records_reader'],
  async ({ deps, records }, req, p, caller) => {
    const parsed = z.object({}).strict().safeParse(req.query);
    if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues, ['query']);
    // Every refusal is thrown here, before a byte of the zip (or the ledger entry) is written.
    const download = await openRecordsPackage({ ...deps, records }, p.requestId, caller);
    return streamed(
      {
        'Content-Type': 'application/zip',
        'Content-Disposition': `attachment; filename="${download.fileName}"`,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      },
      zipStream(download.files, { modifiedAt: download.generatedAt }),
    );
  },
);

route('GET', '/tasks', 'any_role', async ({ deps }) => ok({ tasks: await listTasksView(deps) }));
// Writes answer with the task as reads show it: header values are never echoed back.
route('POST', '/tasks', ['admin'], async ({ deps }, req, _p, caller) =>
  ok(taskView(await registerTask(deps, req.body, caller)), 201),
);
route('GET', '/tasks/:taskId', 'any_role', async ({ deps }, _req, p) =>
  ok(await getTaskView(deps, p.taskId)),
);
route('GET', '/tasks/:taskId/versions', 'any_role', async ({ deps }, _req, p) =>
  ok(await listTaskVersions(deps, p.taskId)),
);
route('PATCH', '/tasks/:taskId', ['admin'], async ({ deps }, req, p, caller) =>
  ok(taskView(await updateTask(deps, p.taskId, req.body, caller))),
);
route('POST', '/tasks/:taskId/audit', ['task_tester'], async ({ deps }, req, p, caller) =>
  ok(await auditTask(deps, p.taskId, req.body, caller)),
);

route('GET', '/iam/policy', ['admin', 'auditor'], async ({ access }) =>
  ok(await getPolicy({ access })),
);
route('PUT', '/iam/policy', ['admin'], async ({ deps, access }, req, _p, caller) =>
  ok(await setPolicy({ ...deps, access }, req.body, caller)),
);

/** The regulator reports (docs/compliance.md): no identifiers in them, so not records_reader. */
const REPORT_READERS: readonly Role[] = ['auditor', 'admin'];
const CSV = 'text/csv; charset=utf-8';
const attachment = (name: string) => `attachment; filename="${name}"`;

route('GET', '/reports/requests.csv', REPORT_READERS, async ({ deps }, req, _p, caller) => {
  const { chunks } = requestsCsv(deps, req.query, caller);
  return streamed(
    { 'content-type': CSV, 'content-disposition': attachment('requests.csv') },
    chunks,
  );
});
route('GET', '/reports/metrics', REPORT_READERS, async ({ deps }, req, _p, caller) => {
  const { format, metrics } = await reportMetrics(deps, req.query, header(req, 'accept'), caller);
  if (format === 'json') return ok(metrics);
  const name = `metrics-${metrics.year}-${metrics.regulation}.csv`;
  return streamed(
    { 'content-type': CSV, 'content-disposition': attachment(name) },
    (async function* () {
      yield metricsCsv(metrics);
    })(),
  );
});

/**
 * Routes one API call: the route, then who is calling (verified, or 401) and whether they may
 * (403 naming the roles), then the parameters (400), and only then the handler. Throws typed
 * errors; the caller maps them with `errorResponse`.
 */
export async function handleApi(ctx: ApiContext, req: HttpRequest): Promise<HttpResponse> {
  if (req.rawBody !== undefined && req.rawBody.length > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(
      `the body is ${req.rawBody.length} bytes; the limit is ${MAX_BODY_BYTES}`,
    );
  }
  const path = req.path.replace(/\/+$/, '') || '/';
  const matching = routes.filter((r) => r.pattern.test(path));
  const match = matching.find((r) => r.method === req.method);
  if (match === undefined) {
    if (matching.length > 0) {
      throw new MethodNotAllowedError(
        `${req.method} is not allowed on ${path}`,
        matching.map((r) => r.method),
      );
    }
    throw new NotFoundError(`no route for ${req.method} ${path}`);
  }
  const caller = await authorize(ctx, req, match);
  const params = parseParams(match, path);
  assertSingleQueryValues(req.query);
  const body = parseJsonBody(req);
  return match.handler(ctx, { ...req, body }, params, caller);
}

async function authorize(ctx: ApiContext, req: HttpRequest, route: Route): Promise<Caller> {
  if (route.access === 'public') return { identity: 'anonymous', roles: new Set() };
  const identity = await ctx.verifyCaller(req.headers);
  const roles = rolesOf(identity, await ctx.access.getPolicy(), ctx.bootstrapAdmins);
  const caller = { identity: identity.email, roles };
  const needed = route.access === 'any_role' ? undefined : route.access;
  const allowed = needed === undefined ? roles.size > 0 : needed.some((r) => roles.has(r));
  if (!allowed) {
    ctx.deps.log.warn('http.forbidden', `${route.method} ${route.path} refused`, {
      actor: identity.email,
      route: `${route.method} ${route.path}`,
      ...(needed === undefined ? {} : { needs: needed }),
    });
    throw new ForbiddenError(
      needed === undefined
        ? `${identity.email} holds no role; ask an admin for one`
        : `${route.method} ${route.path} needs the role ${needed.join(' or ')}, which ${identity.email} does not hold`,
    );
  }
  return caller;
}

function parseParams(route: Route, path: string): Params {
  const values = route.pattern.exec(path)?.slice(1) ?? [];
  const params: Params = { requestId: '', taskId: '' };
  route.keys.forEach((key, i) => {
    const name = key === 'requestId' ? 'id' : route.path.startsWith('/tasks') ? 'id' : key;
    let raw: string;
    try {
      raw = decodeURIComponent(values[i] ?? '');
    } catch {
      throw new ValidationError(`Invalid input: ${name}: not a valid percent-encoding`, [
        { path: name, message: 'not a valid percent-encoding' },
      ]);
    }
    params[key] = PARSERS[key](raw, name);
  });
  return params;
}

/** A repeated (or structured) query parameter is refused, never silently dropped. */
function assertSingleQueryValues(query: HttpRequest['query']): void {
  for (const [name, value] of Object.entries(query)) {
    if (typeof value === 'string') continue;
    const message = Array.isArray(value)
      ? 'given more than once; give it once'
      : 'not a plain query parameter';
    throw new ValidationError(`Invalid input: query.${name}: ${message}`, [
      { path: `query.${name}`, message },
    ]);
  }
}
