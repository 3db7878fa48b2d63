import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { serializer } from 'google-gax';
import { ApiError, HTTP_STATUS_FOR_CODE, invalid } from './errors';
import type { OidcSigner } from './oidc';
import { loadCloudTasksRoot, OBJECT_OPTIONS } from './protos';
import type { CloudTasksService } from './service';
import { jsonStatusDetails } from './status-details';

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const V2 = 'google.cloud.tasks.v2';

interface RestRequest {
  method: string;
  /** The resource path after /v2/, without its custom verb. */
  resource: string;
  verb: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

interface Route {
  method: string;
  /** Matched against the resource path. */
  pattern: RegExp;
  verb?: string;
  /** The request message the body is parsed as, if the method has a body. */
  bodyType?: string;
  responseType: string;
  call: (req: RestRequest, body: Record<string, unknown>) => unknown;
}

const LOCATION = /^projects\/[^/]+\/locations\/[^/]+$/;
const QUEUES = /^projects\/[^/]+\/locations\/[^/]+\/queues$/;
const QUEUE = /^projects\/[^/]+\/locations\/[^/]+\/queues\/[^/]+$/;
const TASKS = /^projects\/[^/]+\/locations\/[^/]+\/queues\/[^/]+\/tasks$/;
const TASK = /^projects\/[^/]+\/locations\/[^/]+\/queues\/[^/]+\/tasks\/[^/]+$/;

const parentOf = (path: string): string => path.slice(0, path.lastIndexOf('/'));
const pageOf = (q: URLSearchParams) => ({
  pageSize: Number(q.get('pageSize') ?? 0),
  pageToken: q.get('pageToken') ?? '',
});
const viewParam = (q: URLSearchParams) => q.get('responseView') ?? undefined;

/** The v2 REST routes (google.api.http bindings of cloudtasks.proto). */
function routes(service: CloudTasksService): Route[] {
  const unimplemented = (verb: string): Route => ({
    method: 'POST',
    pattern: QUEUE,
    verb,
    responseType: 'google.protobuf.Empty',
    call: () => service.unimplemented(verb),
  });
  return [
    {
      method: 'GET',
      pattern: QUEUES,
      responseType: `${V2}.ListQueuesResponse`,
      call: (r) =>
        service.listQueues({
          parent: parentOf(r.resource),
          filter: r.query.get('filter') ?? '',
          ...pageOf(r.query),
        }),
    },
    {
      method: 'POST',
      pattern: QUEUES,
      bodyType: `${V2}.Queue`,
      responseType: `${V2}.Queue`,
      call: (r, queue) => service.createQueue({ parent: parentOf(r.resource), queue }),
    },
    {
      method: 'GET',
      pattern: QUEUE,
      responseType: `${V2}.Queue`,
      call: (r) => service.getQueue({ name: r.resource }),
    },
    {
      method: 'PATCH',
      pattern: QUEUE,
      bodyType: `${V2}.Queue`,
      responseType: `${V2}.Queue`,
      call: (r, queue) =>
        service.updateQueue({
          queue: { ...queue, name: r.resource },
          updateMask: {
            paths: (r.query.get('updateMask') ?? '').split(',').filter((p) => p !== ''),
          },
        }),
    },
    {
      method: 'DELETE',
      pattern: QUEUE,
      responseType: 'google.protobuf.Empty',
      call: (r) => service.deleteQueue({ name: r.resource }),
    },
    {
      method: 'POST',
      pattern: QUEUE,
      verb: 'purge',
      responseType: `${V2}.Queue`,
      call: (r) => service.purgeQueue({ name: r.resource }),
    },
    {
      method: 'POST',
      pattern: QUEUE,
      verb: 'pause',
      responseType: `${V2}.Queue`,
      call: (r) => service.pauseQueue({ name: r.resource }),
    },
    {
      method: 'POST',
      pattern: QUEUE,
      verb: 'resume',
      responseType: `${V2}.Queue`,
      call: (r) => service.resumeQueue({ name: r.resource }),
    },
    unimplemented('getIamPolicy'),
    unimplemented('setIamPolicy'),
    unimplemented('testIamPermissions'),
    {
      method: 'GET',
      pattern: TASKS,
      responseType: `${V2}.ListTasksResponse`,
      call: (r) =>
        service.listTasks({
          parent: parentOf(r.resource),
          responseView: viewParam(r.query),
          ...pageOf(r.query),
        }),
    },
    {
      method: 'POST',
      pattern: TASKS,
      bodyType: `${V2}.CreateTaskRequest`,
      responseType: `${V2}.Task`,
      call: (r, body) => service.createTask({ ...body, parent: parentOf(r.resource) }),
    },
    {
      method: 'GET',
      pattern: TASK,
      responseType: `${V2}.Task`,
      call: (r) => service.getTask({ name: r.resource, responseView: viewParam(r.query) }),
    },
    {
      method: 'DELETE',
      pattern: TASK,
      responseType: 'google.protobuf.Empty',
      call: (r) => service.deleteTask({ name: r.resource }),
    },
    {
      method: 'POST',
      pattern: TASK,
      verb: 'run',
      bodyType: `${V2}.RunTaskRequest`,
      responseType: `${V2}.Task`,
      call: (r, body) => service.runTask({ ...body, name: r.resource }),
    },
  ];
}

export interface RestServerOptions {
  service: CloudTasksService;
  signer: OidcSigner;
  reset: () => void;
}

/**
 * The HTTP port: the v2 REST/JSON surface (what gcloud speaks), the OIDC discovery document and
 * keys, and the emulator's own reset and idle endpoints.
 */
export function createRestServer({ service, signer, reset }: RestServerOptions): Server {
  const root = loadCloudTasksRoot();
  const table = routes(service);
  // The JSON mapping is proto3's (durations as "10s", timestamps as RFC 3339, bytes as base64),
  // done by the serializer google-gax itself uses for its REST transport.
  const fromJson = (typeName: string, json: unknown): Record<string, unknown> => {
    const type = root.lookupType(typeName);
    const message = serializer.fromProto3JSON(type, json as serializer.JSONValue);
    return message === null ? {} : type.toObject(message, OBJECT_OPTIONS);
  };
  const toJson = (typeName: string, value: unknown): unknown => {
    const type = root.lookupType(typeName);
    return serializer.toProto3JSON(type.fromObject(value as Record<string, unknown>));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = decodeURIComponent(url.pathname);
    const method = req.method ?? 'GET';
    if (path === '/.well-known/openid-configuration') return send(res, 200, signer.discovery());
    if (path === '/jwks') return send(res, 200, signer.jwks());
    if (path === '/emulator:reset' && method === 'POST') {
      reset();
      return send(res, 200, {});
    }
    if (path === '/emulator:idle' && method === 'GET') {
      const queue = url.searchParams.get('queue') ?? undefined;
      const timeoutMs = Number(url.searchParams.get('timeoutMs') ?? 30_000);
      try {
        await service.waitForIdle(queue === '' ? undefined : queue, timeoutMs);
        return send(res, 200, { idle: true });
      } catch {
        return send(res, 504, { idle: false });
      }
    }
    if (!path.startsWith('/v2/'))
      return sendError(res, new ApiError('NOT_FOUND', `No such endpoint: ${path}`));

    const rest = path.slice('/v2/'.length);
    const colon = rest.lastIndexOf(':');
    const slash = rest.lastIndexOf('/');
    const [resource, verb] =
      colon > slash ? [rest.slice(0, colon), rest.slice(colon + 1)] : [rest, ''];
    const route = table.find(
      (r) => r.method === method && r.pattern.test(resource) && (r.verb ?? '') === verb,
    );
    if (route === undefined) {
      const known = table.some((r) => r.pattern.test(resource)) || LOCATION.test(resource);
      return sendError(
        res,
        known
          ? new ApiError(
              'UNIMPLEMENTED',
              `${method} ${path} is not implemented by the Cloud Tasks emulator.`,
            )
          : new ApiError('NOT_FOUND', `No such resource path: ${path}`),
      );
    }
    const raw = await readBody(req);
    let json: unknown = {};
    if (raw.length > 0) {
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        throw invalid('Invalid JSON payload received.');
      }
    }
    let body: Record<string, unknown> = {};
    if (route.bodyType !== undefined) {
      try {
        body = fromJson(route.bodyType, json);
      } catch (err) {
        throw invalid(`Invalid JSON payload received. ${(err as Error).message}`);
      }
    }
    const request: RestRequest = { method, resource, verb, query: url.searchParams, body };
    send(res, 200, toJson(route.responseType, route.call(request, body)));
  };

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendError(res, err));
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(invalid('Request payload too large.'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=UTF-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Google's JSON error envelope, which gcloud and the REST clients parse. */
function sendError(res: ServerResponse, err: unknown): void {
  const apiError =
    err instanceof ApiError
      ? err
      : new ApiError('INTERNAL', err instanceof Error ? err.message : String(err));
  const status = HTTP_STATUS_FOR_CODE[apiError.code];
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const details = jsonStatusDetails(apiError);
  send(res, status, {
    error: {
      code: status,
      message: apiError.message,
      status: apiError.code,
      ...(details.length > 0 ? { details } : {}),
    },
  });
}
