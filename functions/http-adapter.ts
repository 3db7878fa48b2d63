import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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

/**
 * Sends an answer that may be streamed (`answer.stream`). The headers wait for the first chunk,
 * so a source that fails at once still gets `onError`'s JSON answer. After that the bytes are
 * piped with backpressure (the source is pulled only as fast as the client reads), and a
 * failure destroys the connection: the client sees a truncated response, logged here. A client
 * that goes away stops the source (its `finally` blocks run).
 */
export async function respond(
  res: Response,
  answer: HttpResponse,
  log: Logger,
  onError: (err: unknown) => HttpResponse,
): Promise<void> {
  if (answer.stream === undefined) {
    send(res, answer);
    return;
  }
  const iterator = answer.stream[Symbol.asyncIterator]();
  let first: IteratorResult<Uint8Array | string>;
  try {
    first = await iterator.next();
  } catch (err) {
    send(res, onError(err));
    return;
  }
  res.status(answer.status);
  for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v);
  async function* rest(): AsyncGenerator<Uint8Array | string> {
    try {
      if (first.done === true) return;
      yield first.value;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      // Stopped early (an error, or the client left): let the source release what it holds.
      await iterator.return?.();
    }
  }
  try {
    await pipeline(Readable.from(rest(), { objectMode: false }), res);
  } catch (err) {
    // The status line is gone: the only honest signal left is to abort the connection.
    if (!res.destroyed) res.destroy();
    const clientLeft = (err as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE';
    if (clientLeft) {
      log.warn('http.stream_aborted', 'the client closed a streamed response before its end');
    } else {
      log.error('http.stream_aborted', 'a streamed response failed after its headers', err);
    }
  }
}

/** A logger bound to the incoming request's trace. */
export function requestLogger(log: Logger, req: Request): Logger {
  const trace = parseTraceHeaders(req.headers);
  return trace === undefined ? log : log.child(trace);
}
