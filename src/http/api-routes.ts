import { z } from 'zod';
import { getPolicy, setPolicy } from '../app/access';
import { auditTask } from '../app/audit';
import { costReport } from '../app/costs';
import { acknowledgeRequest, extendRequest } from '../app/deadlines';
import { pauseTask, resumeTask } from '../app/task-pause';
import { fileBulkOperation, getOperation } from '../app/bulk-operations';
import { parseOperationId } from '../domain/bulk-operation';
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
import { parseRequestFilter } from '../domain/request-filter';
import type { AccessStore } from '../ports/access-store';
import type { RecordStore } from '../ports/record-store';
import { isConsolePath } from '../console/paths';
import type { CsrfTokens } from '../console/csrf';
import { MAX_BODY_BYTES } from './body-limit';
import { parseJsonBody } from './json-body';
import { header, streamed, type HttpRequest, type HttpResponse } from './types';
import { zipStream } from './zip-stream';

export { MAX_BODY_BYTES };

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
  /** The web console's CSRF tokens; without them /console is not served (404). */
  consoleCsrf?: CsrfTokens;
}

/** The verified caller of a route, with the roles it holds now. */
export type Caller = Actor;

/** Path parameters, parsed by their name before any handler runs. */
interface Params {
  requestId: string;
  taskId: string;
  operationId: string;
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
  operationId: (raw) => parseOperationId(raw, 'id'),
};

/**
 * The one table of routes: each names the roles that may call it. A route without an entry
 * does not serve; a caller without one of the roles gets 403 naming them, before anything runs.
 */
const routes: Route[] = [];
function route(method: string, path: string, access: Access, handler: Handler): void {
  const keys: (keyof Params)[] = [];
  // A parameter is a whole segment (`/:taskId`); a colon inside one is literal (`/requests:bulk`,
  // Google's custom-method style), so it never collides with `/requests/:requestId`.
  const pattern = new RegExp(
    `^${path.replace(/\/:([A-Za-z]+)/g, (_m, key: keyof Params) => {
      keys.push(key);
      return '/([^/]+)';
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

// The filters, sort and paging of src/domain/request-filter.ts; a bad one is a 400 naming it.
route('GET', '/requests', READERS, async ({ deps }, req, _p, caller) => {
  const filter = parseRequestFilter(req.query, { timeZone: deps.settings.businessTimeZone });
  return ok(await listRequests(deps, filter, ownedBy(caller)));
});

/**
 * Bulk approve, retry or cancel by the list filter: 202 with the operation's id; dispatch does
 * the work in pages (src/app/bulk-operations.ts). The route admits either role; the action's own
 * role (approve: approver; retry, cancel: operator) is checked before anything is written.
 */
route('POST', '/requests:bulk', ['approver', 'operator'], async ({ deps }, req, _p, caller) => {
  const { operationId, operation } = await fileBulkOperation(deps, req.body, caller);
  return ok({ operationId, operation }, 202);
});
route('GET', '/operations/:operationId', READ_ALL, async ({ deps }, _req, p) =>
  ok(await getOperation(deps, p.operationId)),
);

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
/** A task's circuit breaker: the on-call operator may pull it, as may the registry's admin. */
const PAUSERS: readonly Role[] = ['operator', 'admin'];
route('POST', '/tasks/:taskId/pause', PAUSERS, async ({ deps }, req, p, caller) =>
  ok(await pauseTask(deps, p.taskId, req.body, caller)),
);
route('POST', '/tasks/:taskId/resume', PAUSERS, async ({ deps }, req, p, caller) =>
  ok(await resumeTask(deps, p.taskId, req.body, caller)),
);

route('GET', '/iam/policy', ['admin', 'auditor'], async ({ access }) =>
  ok(await getPolicy({ access })),
);
route('PUT', '/iam/policy', ['admin'], async ({ deps, access }, req, _p, caller) =>
  ok(await setPolicy({ ...deps, access }, req.body, caller)),
);

/** The regulator reports (docs/compliance.md): no identifiers in them, so not records_reader. */
// What BigQuery billed, by task, month, regulation or type, with task audits apart (src/app/costs.ts).
route('GET', '/costs', ['auditor', 'operator', 'admin'], async ({ deps }, req) =>
  ok(await costReport(deps, req.query)),
);

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
  // The web console: HTML pages and urlencoded forms, under the same identity and roles.
  if (isConsolePath(path) && ctx.consoleCsrf !== undefined) {
    // Loaded on the first console page: JSON callers' cold starts never pay for the pages.
    const { handleConsole } = await import('../console/router');
    return handleConsole(ctx, req, { csrf: ctx.consoleCsrf, resolveCaller });
  }
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
  refuseCrossSiteWrite(req);
  const caller = await authorize(ctx, req, match);
  const params = parseParams(match, path);
  assertSingleQueryValues(req.query);
  const body = parseJsonBody(req);
  return match.handler(ctx, { ...req, body }, params, caller);
}

/** Who is calling (verified, or 401) and the roles they hold now: the api's and the console's. */
export async function resolveCaller(ctx: ApiContext, req: HttpRequest): Promise<Caller> {
  const identity = await ctx.verifyCaller(req.headers);
  return {
    identity: identity.email,
    roles: rolesOf(identity, await ctx.access.getPolicy(), ctx.bootstrapAdmins),
  };
}

async function authorize(ctx: ApiContext, req: HttpRequest, route: Route): Promise<Caller> {
  if (route.access === 'public') return { identity: 'anonymous', roles: new Set() };
  const caller = await resolveCaller(ctx, req);
  const { roles } = caller;
  const identity = { email: caller.identity };
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
  const params: Params = { requestId: '', taskId: '', operationId: '' };
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

/** The content types a browser may send cross-site without a CORS preflight. */
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * A write a browser could be made to send from another site is refused: one the browser says
 * came from another site (Sec-Fetch-Site), and one declared as a form or text even with an
 * empty body (parseJsonBody refuses those only when they carry bytes, and approve, cancel and
 * acknowledge need none). The console's own forms are served under /console, with a CSRF token.
 */
function refuseCrossSiteWrite(req: HttpRequest): void {
  if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(req.method)) return;
  const site = header(req, 'sec-fetch-site');
  if (site === 'cross-site' || site === 'same-site') {
    throw new ForbiddenError(`a write from another site is refused (Sec-Fetch-Site: ${site})`);
  }
  const type = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (FORM_TYPES.includes(type)) {
    throw new ValidationError(
      'Invalid input: (body): a body must be JSON, sent with Content-Type: application/json',
      [{ path: '', message: 'a body must be JSON, sent with Content-Type: application/json' }],
    );
  }
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
