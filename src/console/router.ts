import type { Role } from '../domain/access';
import { parseOperationId } from '../domain/bulk-operation';
import { ForbiddenError, MethodNotAllowedError, NotFoundError } from '../domain/errors';
import { parseRequestId, parseTaskId } from '../domain/ids';
import type { ApiContext, Caller } from '../http/api-routes';
import { errorResponse } from '../http/error-response';
import { header, type HttpRequest, type HttpResponse } from '../http/types';
import { CONSOLE_CSS } from './assets';
import { CSRF_FIELD, type CsrfTokens } from './csrf';
import { parseForm, type FormFields } from './form';
import { markup, path as hrefPath } from './html';
import { CONSOLE_SECURITY_HEADERS, htmlResponse, page, seeOther, type Viewer } from './layout';
import { bulkSubmit, BULK_ROLES } from './pages/bulk-action';
import { costsPage } from './pages/costs';
import { operationPage } from './pages/operation';
import { reportsPage } from './pages/reports';
import { requestAction, REQUEST_ACTIONS, retryAction } from './pages/request-actions';
import { requestPage } from './pages/request';
import { requestsPage } from './pages/requests';
import { auditSubmit } from './pages/task-audit';
import { registerSubmit, taskFormPage, updateSubmit } from './pages/task-form';
import { pauseSubmit, PAUSERS, resumeSubmit } from './pages/task-pause';
import { taskPage, tasksPage } from './pages/tasks';

/** What the console needs beyond the api's context: its CSRF tokens and the api's caller check. */
export interface ConsoleOptions {
  csrf: CsrfTokens;
  /** The api's own identity and role resolution (`authorize` in api-routes). */
  resolveCaller: (ctx: ApiContext, req: HttpRequest) => Promise<Caller>;
}

/** One console call, as a page or action handler sees it. */
export interface ConsoleCall {
  ctx: ApiContext;
  req: HttpRequest;
  viewer: Viewer;
  requestId: string;
  taskId: string;
  operationId: string;
  /** A POST's fields (the CSRF token already checked and removed). */
  form: FormFields;
  lists: Map<string, string[]>;
}

type Access = 'public' | 'any_role' | readonly Role[];
type ParamKey = 'requestId' | 'taskId' | 'operationId';

interface ConsoleRoute {
  method: 'GET' | 'POST';
  pattern: RegExp;
  keys: ParamKey[];
  access: Access;
  handler: (call: ConsoleCall) => Promise<HttpResponse>;
}

/** Roles that read requests (a requester only their own), as GET /requests. */
export const READERS: readonly Role[] = ['requester', 'approver', 'operator', 'auditor', 'admin'];
/** Roles that read every request: the others see only the requests they filed. */
export const READ_ALL: readonly Role[] = ['approver', 'operator', 'auditor', 'admin'];

const routes: ConsoleRoute[] = [];
function route(
  method: ConsoleRoute['method'],
  path: string,
  access: Access,
  handler: ConsoleRoute['handler'],
): void {
  const keys: ConsoleRoute['keys'] = [];
  const pattern = new RegExp(
    `^${path.replace(/:(requestId|taskId|operationId)/g, (_m, key: ParamKey) => {
      keys.push(key);
      return '([^/]+)';
    })}/?$`,
  );
  routes.push({ method, pattern, keys, access, handler });
}

route('GET', '/console', 'any_role', async () => seeOther('/console/requests'));
route('GET', '/console/requests', READERS, requestsPage);
route('GET', '/console/requests/:requestId', READERS, requestPage);
for (const action of REQUEST_ACTIONS) {
  route('POST', `/console/requests/:requestId/${action.name}`, action.roles, (call) =>
    requestAction(action, call),
  );
}
route('POST', '/console/requests/:requestId/instances/:taskId/retry', ['operator'], retryAction);
// Bulk actions by the list's filter (as POST /requests:bulk), and their progress.
route('POST', '/console/operations', BULK_ROLES, bulkSubmit);
route('GET', '/console/operations/:operationId', READ_ALL, operationPage);
route('GET', '/console/tasks', 'any_role', tasksPage);
route('GET', '/console/tasks/new', ['admin'], (call) => taskFormPage(call, 'register'));
route('POST', '/console/tasks', ['admin'], registerSubmit);
route('GET', '/console/tasks/:taskId', 'any_role', taskPage);
route('GET', '/console/tasks/:taskId/edit', ['admin'], (call) => taskFormPage(call, 'edit'));
route('POST', '/console/tasks/:taskId', ['admin'], updateSubmit);
route('POST', '/console/tasks/:taskId/audit', ['task_tester'], auditSubmit);
route('POST', '/console/tasks/:taskId/pause', PAUSERS, pauseSubmit);
route('POST', '/console/tasks/:taskId/resume', PAUSERS, resumeSubmit);
// As GET /costs.
route('GET', '/console/costs', ['auditor', 'operator', 'admin'], costsPage);
route('GET', '/console/reports', ['auditor', 'admin'], reportsPage);

/**
 * Serves the console: the same identity and roles as the api (a caller without the route's
 * role gets 403 before anything runs), CSRF-checked urlencoded forms for every action, and
 * every answer (errors included, as HTML pages with the error's status and code) under a
 * strict Content-Security-Policy.
 */
export async function handleConsole(
  ctx: ApiContext,
  req: HttpRequest,
  options: ConsoleOptions,
): Promise<HttpResponse> {
  let viewer: Viewer | undefined;
  try {
    const path = req.path.replace(/\/+$/, '') || '/';
    if (path === '/console/assets/console.css' && req.method === 'GET') {
      return {
        status: 200,
        headers: {
          ...CONSOLE_SECURITY_HEADERS,
          'Content-Type': 'text/css; charset=utf-8',
          'Cache-Control': 'no-cache',
        },
        stream: (async function* () {
          yield CONSOLE_CSS;
        })(),
      };
    }
    const matching = routes.filter((r) => r.pattern.test(path));
    const match = matching.find((r) => r.method === req.method);
    if (match === undefined) {
      if (matching.length > 0) {
        throw new MethodNotAllowedError(`${req.method} is not allowed on ${path}`, [
          ...new Set(matching.map((r) => r.method)),
        ]);
      }
      throw new NotFoundError(`no console page at ${path}`);
    }
    const caller = await options.resolveCaller(ctx, req);
    const now = ctx.deps.clock.now();
    viewer = {
      identity: caller.identity,
      roles: caller.roles,
      csrfToken: options.csrf.issue(caller.identity, now),
    };
    assertAllowed(ctx, match, req, caller);
    const params = parseParams(match, path);
    let form: FormFields = new Map();
    let lists = new Map<string, string[]>();
    if (match.method === 'POST') {
      assertSameOrigin(req);
      const parsed = parseForm(req);
      if (!options.csrf.verify(parsed.fields.get(CSRF_FIELD), caller.identity, now)) {
        throw new ForbiddenError(
          'the form has no valid CSRF token (it may have expired): reload the page and try again',
        );
      }
      form = parsed.fields;
      lists = parsed.lists;
    }
    return await match.handler({ ctx, req, viewer, ...params, form, lists });
  } catch (err) {
    return errorPage(ctx, err, viewer);
  }
}

function assertAllowed(ctx: ApiContext, route: ConsoleRoute, req: HttpRequest, caller: Caller) {
  if (route.access === 'public') return;
  const needed = route.access === 'any_role' ? undefined : route.access;
  const allowed =
    needed === undefined ? caller.roles.size > 0 : needed.some((r) => caller.roles.has(r));
  if (allowed) return;
  ctx.deps.log.warn('http.forbidden', `console ${req.method} ${route.pattern.source} refused`, {
    actor: caller.identity,
    route: `console ${req.method}`,
    ...(needed === undefined ? {} : { needs: needed }),
  });
  throw new ForbiddenError(
    needed === undefined
      ? `${caller.identity} holds no role; ask an admin for one`
      : `this needs the role ${needed.join(' or ')}, which ${caller.identity} does not hold`,
  );
}

/**
 * A browser says where a form came from (Sec-Fetch-Site): a form posted from another site is
 * refused whatever token it carries. Clients that send no such header (curl) rely on the token.
 */
function assertSameOrigin(req: HttpRequest): void {
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new ForbiddenError(
      `a console form must be sent from the console (Sec-Fetch-Site: ${site})`,
    );
  }
}

function parseParams(route: ConsoleRoute, path: string): Record<ParamKey, string> {
  const values = route.pattern.exec(path)?.slice(1) ?? [];
  const out = { requestId: '', taskId: '', operationId: '' };
  route.keys.forEach((key, i) => {
    let raw: string;
    try {
      raw = decodeURIComponent(values[i] ?? '');
    } catch {
      raw = '\u0000';
    }
    out[key] =
      key === 'requestId'
        ? parseRequestId(raw, 'id')
        : key === 'operationId'
          ? parseOperationId(raw, 'id')
          : parseTaskId(raw, 'id');
  });
  return out;
}

/** An error as an HTML page with the status and code the api would answer. */
function errorPage(ctx: ApiContext, err: unknown, viewer: Viewer | undefined): HttpResponse {
  const answer = errorResponse(err, ctx.deps.log);
  const body = answer.body as { error: { code: string; message: string; issues?: unknown[] } };
  const issues = (body.error.issues ?? []) as { path: string; message: string }[];
  const shown = page({
    title: `${answer.status}: ${body.error.code.replace(/_/g, ' ')}`,
    ...(viewer === undefined ? {} : { viewer }),
    body: markup`<div class="notice error" role="alert">
        <p><strong>${body.error.message}</strong></p>
        <p class="muted">Error code: <code>${body.error.code}</code></p>
        ${
          issues.length === 0
            ? ''
            : markup`<ul>
                ${issues.map((i) => markup`<li><code>${i.path || '(body)'}</code>: ${i.message}</li>`)}
              </ul>`
        }
      </div>
      <p><a href="/console/requests">Back to the requests</a></p>`,
  });
  const response = htmlResponse(shown, answer.status);
  const extra = answer.headers ?? {};
  return { ...response, headers: { ...extra, ...response.headers } };
}

/** The request page a successful action returns to. */
export function requestHref(requestId: string, notice?: string): string {
  return `${hrefPath('/console/requests', requestId)}${notice === undefined ? '' : `?done=${encodeURIComponent(notice)}`}`;
}
