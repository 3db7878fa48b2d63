import { z } from 'zod';
import { auditTask } from '../app/audit';
import type { AppDeps } from '../app/deps';
import { getRecordsPackage } from '../app/records';
import {
  approveRequest,
  cancelRequest,
  denyRequest,
  fileRequest,
  getRequestView,
  listRequests,
  listRuns,
  retryInstance,
  type Actor,
} from '../app/requests';
import { getEvidence } from '../app/evidence';
import {
  getTaskView,
  listTasksView,
  listTaskVersions,
  registerTask,
  updateTask,
} from '../app/tasks';
import { NotFoundError, PayloadTooLargeError, ValidationError } from '../domain/errors';
import { REQUEST_STATUSES } from '../domain/model';
import type { RecordStore } from '../ports/record-store';
import { header, type HttpRequest, type HttpResponse } from './types';

export const MAX_BODY_BYTES = 64 * 1024;

export interface ApiContext {
  deps: AppDeps;
  /** Records packages, for GET /requests/:id/records. */
  records: RecordStore;
  localMode: boolean;
}

type Handler = (
  ctx: ApiContext,
  req: HttpRequest,
  params: Record<string, string>,
  actor: Actor,
) => Promise<HttpResponse>;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

const routes: Route[] = [];
function route(method: string, path: string, handler: Handler): void {
  const keys: string[] = [];
  const pattern = new RegExp(
    `^${path.replace(/:([A-Za-z]+)/g, (_m, key: string) => {
      keys.push(key);
      return '([^/]+)';
    })}/?$`,
  );
  routes.push({ method, pattern, keys, handler });
}

const ok = (body: unknown, status = 200): HttpResponse => ({ status, body });

route('GET', '/healthz', async () => ok({ status: 'ok' }));

route('POST', '/requests', async ({ deps }, req, _p, actor) => {
  const { created, view } = await fileRequest(
    deps,
    req.body,
    actor,
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

route('GET', '/requests', async ({ deps }, req) => {
  const parsed = listQuery.safeParse(req.query);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues, ['query']);
  const q = parsed.data;
  return ok(
    await listRequests(deps, {
      limit: q.limit,
      ...(q.status === undefined ? {} : { status: q.status }),
      ...(q.overdue === undefined ? {} : { overdue: q.overdue }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
    }),
  );
});

route('GET', '/requests/:id', async ({ deps }, _req, p) =>
  ok(await getRequestView(deps, p.id ?? '')),
);
route('POST', '/requests/:id/approve', async ({ deps }, req, p, actor) =>
  ok(await approveRequest(deps, p.id ?? '', req.body, actor)),
);
route('POST', '/requests/:id/cancel', async ({ deps }, _req, p, actor) =>
  ok(await cancelRequest(deps, p.id ?? '', actor)),
);
route('POST', '/requests/:id/deny', async ({ deps }, req, p, actor) =>
  ok(await denyRequest(deps, p.id ?? '', req.body, actor)),
);
route('POST', '/requests/:id/instances/:taskId/retry', async ({ deps }, req, p, actor) =>
  ok(await retryInstance(deps, p.id ?? '', p.taskId ?? '', req.body, actor), 202),
);
route('GET', '/requests/:id/evidence', async ({ deps }, _req, p, actor) =>
  ok(await getEvidence(deps, p.id ?? '', actor)),
);
route('GET', '/requests/:id/runs', async ({ deps }, _req, p) =>
  ok({ runs: await listRuns(deps, p.id ?? '') }),
);

const recordsQuery = z
  .object({
    pageSize: z.coerce.number().int().min(1).max(5000).default(500),
    pageToken: z.string().min(1).max(2000).optional(),
  })
  .strict();

route('GET', '/requests/:id/records', async ({ deps, records }, req, p, actor) => {
  const parsed = recordsQuery.safeParse(req.query);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues, ['query']);
  const { pageSize, pageToken } = parsed.data;
  return ok(
    await getRecordsPackage(
      { ...deps, records },
      p.id ?? '',
      { pageSize, ...(pageToken === undefined ? {} : { pageToken }) },
      actor,
    ),
  );
});

route('GET', '/tasks', async ({ deps }) => ok({ tasks: await listTasksView(deps) }));
route('POST', '/tasks', async ({ deps }, req, _p, actor) =>
  ok(await registerTask(deps, req.body, actor), 201),
);
route('GET', '/tasks/:id', async ({ deps }, _req, p) => ok(await getTaskView(deps, p.id ?? '')));
route('GET', '/tasks/:id/versions', async ({ deps }, _req, p) =>
  ok(await listTaskVersions(deps, p.id ?? '')),
);
route('PATCH', '/tasks/:id', async ({ deps }, req, p, actor) =>
  ok(await updateTask(deps, p.id ?? '', req.body, actor)),
);
route('POST', '/tasks/:id/audit', async ({ deps }, req, p) =>
  ok(await auditTask(deps, p.id ?? '', req.body)),
);

/** Routes one API call. Throws typed errors; the caller maps them with `errorResponse`. */
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
      return {
        status: 405,
        headers: { Allow: matching.map((r) => r.method).join(', ') },
        body: {
          error: { code: 'method_not_allowed', message: `${req.method} is not allowed on ${path}` },
        },
      };
    }
    throw new NotFoundError(`no route for ${req.method} ${path}`);
  }
  const values = match.pattern.exec(path)?.slice(1) ?? [];
  const params = Object.fromEntries(
    match.keys.map((k, i) => [k, decodeURIComponent(values[i] ?? '')]),
  );
  const body = parseBody(req);
  return match.handler(ctx, { ...req, body }, params, actorOf(ctx, req));
}

function parseBody(req: HttpRequest): unknown {
  if (!['POST', 'PATCH', 'PUT'].includes(req.method)) return undefined;
  const raw = req.body;
  // Frameworks hand over a Buffer or string when they did not parse the JSON themselves.
  if (Buffer.isBuffer(raw) || typeof raw === 'string') {
    const text = raw.toString();
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new ValidationError(
        `Invalid input: (body): malformed JSON: ${(err as Error).message}`,
        [{ path: '', message: `malformed JSON: ${(err as Error).message}` }],
      );
    }
  }
  return raw;
}

/** In local mode an anonymous call acts as `local-developer`; deployed, IAM's verified ID token names the caller. */
function actorOf(ctx: ApiContext, req: HttpRequest): Actor {
  const auth = header(req, 'authorization');
  const email = auth?.startsWith('Bearer ') ? emailFromJwt(auth.slice(7)) : undefined;
  if (email !== undefined) return { identity: email };
  const asserted = header(req, 'x-goog-authenticated-user-email');
  if (asserted !== undefined) return { identity: asserted.replace(/^accounts\.google\.com:/, '') };
  return { identity: ctx.localMode ? 'local-developer' : 'unauthenticated' };
}

function emailFromJwt(token: string): string | undefined {
  const part = token.split('.')[1];
  if (part === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString()) as { email?: unknown };
    return typeof claims.email === 'string' ? claims.email : undefined;
  } catch {
    return undefined;
  }
}
