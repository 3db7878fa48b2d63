import type { Request, Response } from '@google-cloud/functions-framework';
import { parseTraceHeaders } from '../src/adapters/cloud-logging/structured-logger';
import type { Logger } from '../src/ports/logger';
import type { HttpRequest, HttpResponse } from '../src/http/types';

/** Turns a functions-framework (Express) request into our transport-neutral one. */
export function toHttpRequest(req: Request): HttpRequest {
  const query: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.query)) query[k] = typeof v === 'string' ? v : undefined;
  return {
    method: req.method,
    path: req.path,
    query,
    headers: req.headers,
    body: req.body as unknown,
    ...(req.rawBody === undefined ? {} : { rawBody: req.rawBody }),
  };
}

export function send(res: Response, answer: HttpResponse): void {
  res.status(answer.status);
  for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v);
  if (answer.body === undefined) res.end();
  else res.json(answer.body);
}

/** A logger bound to the incoming request's trace. */
export function requestLogger(log: Logger, req: Request): Logger {
  const trace = parseTraceHeaders(req.headers);
  return trace === undefined ? log : log.child(trace);
}

const patched = new WeakSet<object>();

/**
 * functions-framework parses JSON bodies before our handler runs and, on malformed JSON, falls
 * through to Express's HTML error page. An error-handling middleware appended to the app turns
 * that into our JSON 400 with the reason. The app is reachable only from a request, so this is
 * installed by the first request an instance serves (see docs: that first request is the one
 * exception).
 */
export function installBodyErrorHandler(req: Request): void {
  const app = req.app as unknown as { use?: (fn: unknown) => void } | undefined;
  if (app?.use === undefined || patched.has(app)) return;
  patched.add(app);
  app.use((err: unknown, _req: Request, res: Response, next: (err?: unknown) => void) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (res.headersSent || e.type !== 'entity.parse.failed') {
      next(err);
      return;
    }
    res.status(400).json({
      error: {
        code: 'validation_failed',
        message: `Invalid input: (body): malformed JSON: ${e.message ?? 'unparseable'}`,
        issues: [{ path: '', message: `malformed JSON: ${e.message ?? 'unparseable'}` }],
      },
    });
  });
}
