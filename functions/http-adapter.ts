import type { Request, Response } from '@google-cloud/functions-framework';
import { parseTraceHeaders } from '../src/adapters/cloud-logging/structured-logger';
import type { Logger } from '../src/ports/logger';
import type { HttpRequest, HttpResponse } from '../src/http/types';

/** Turns a functions-framework (Express) request into our transport-neutral one. */
export function toHttpRequest(req: Request): HttpRequest {
  // Kept as parsed: the router refuses a repeated or structured parameter by name.
  const query: Record<string, unknown> = { ...req.query };
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
