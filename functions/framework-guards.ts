/**
 * Guards at the very edge, installed before functions-framework builds its app (import this
 * first). The framework parses every body up to 1 GiB before any handler runs, decodes invalid
 * UTF-8 to U+FFFD, and answers anything that fails before the handler (a body error, a
 * malformed `%` escape in the path) with Express's HTML page and a stack trace. Here:
 * - each body parser is capped at 64 KiB: a larger body is refused (413) from its
 *   Content-Length, before a byte is read (a chunked one as soon as it passes the cap);
 * - a body must be valid UTF-8 (400 `invalid_utf8`): every function takes JSON;
 * - Express's final handler is ours: whatever fails before or around the handler is answered
 *   with our JSON error body, never HTML or a stack.
 * These patch the framework's own copies of body-parser and express, resolved from it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { createStructuredLogger } from '../src/adapters/cloud-logging/structured-logger';
import type { ErrorCode } from '../src/domain/error-codes';
import { NotFoundError, PayloadTooLargeError, ValidationError } from '../src/domain/errors';
import { MAX_BODY_BYTES } from '../src/http/body-limit';
import { errorResponse } from '../src/http/error-response';
import type { Logger } from '../src/ports/logger';
import { loadConfig } from '../src/config';

type Middleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;
type ParserFactory = (options?: Record<string, unknown>) => Middleware;
type Verify = (req: unknown, res: unknown, buf: Buffer, encoding: string) => void;
interface HttpError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  message?: string;
}

const installed = Symbol.for('dsr-taskrunner.framework-guards');

export function installFrameworkGuards(): void {
  const fromFramework = createRequire(require.resolve('@google-cloud/functions-framework'));
  const bodyParser = fromFramework('body-parser') as Record<string, ParserFactory> & {
    [installed]?: true;
  };
  if (bodyParser[installed] === true) return;
  bodyParser[installed] = true;
  for (const kind of ['json', 'text', 'urlencoded', 'raw'] as const) {
    const original = bodyParser[kind]!;
    bodyParser[kind] = (options = {}) => {
      const verify = options['verify'] as Verify | undefined;
      const parser = original({
        ...options,
        limit: MAX_BODY_BYTES,
        // Every function takes JSON: a body of any type (raw included) must be UTF-8 text.
        verify: (req: unknown, res: unknown, buf: Buffer, encoding: string) => {
          if (!isUtf8(buf)) throw invalidUtf8();
          verify?.(req, res, buf, encoding);
        },
      });
      return (req, res, next) => {
        const declared = Number(req.headers['content-length'] ?? Number.NaN);
        if (declared > MAX_BODY_BYTES) {
          tooLarge(req, res);
          return;
        }
        let settled = false;
        parser(req, res, (err) => {
          settled = true;
          req.off('data', count);
          if (res.headersSent) return;
          if (err) reply(res, err);
          else next();
        });
        // body-parser reads the rest of a refused body before it answers: a chunked body over
        // the limit is answered here instead, as soon as it passes it (the parser is reading).
        let seen = 0;
        function count(chunk: Buffer): void {
          seen += chunk.length;
          if (seen > MAX_BODY_BYTES && !res.headersSent) tooLarge(req, res);
        }
        if (!settled) req.on('data', count);
      };
    };
  }
  const express = fromFramework('express') as {
    application: {
      handle: (req: IncomingMessage, res: ServerResponse, done?: (err?: unknown) => void) => void;
    };
  };
  const handle = express.application.handle;
  express.application.handle = function (this: unknown, req, res, done) {
    handle.call(this, req, res, done ?? ((err?: unknown) => reply(res, err)));
  };
}

/** How long a refused body may keep arriving (and be discarded) after the 413 was sent. */
const LINGER_MS = 5000;

/**
 * 413 at once, from the declared length or the bytes seen so far, before the body is parsed
 * or kept. The connection then lingers: what the client is still sending is read and dropped
 * until the body ends (or LINGER_MS pass), so it sees this answer rather than a reset, which
 * is what closing at once (as Node does for a `Connection: close` request) would give it.
 */
function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = true;
  res.once('finish', () => {
    const socket = req.socket;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    const close = () => {
      clearTimeout(timer);
      socket.end();
    };
    if (req.complete) close();
    else req.once('end', close);
    req.resume();
  });
  reply(res, { status: 413, type: 'entity.too.large' });
}

function isUtf8(buf: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return true;
  } catch {
    return false;
  }
}

function invalidUtf8(): Error & { type: string; status: number } {
  return Object.assign(new Error('the body is not valid UTF-8'), {
    type: 'invalid_utf8',
    status: 400,
  });
}

/**
 * Our JSON error for whatever reached the end of Express's chain (or nothing: a 404), through
 * the one error mapping (`errorResponse`), which logs what it does not expect.
 */
function reply(res: ServerResponse, thrown: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const answer = errorResponse(typed(thrown), edgeLogger());
  res.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(answer.body));
}

/** A framework or parser error as one of ours; anything unexpected stays as it is (500). */
function typed(thrown: unknown): unknown {
  if (thrown === undefined) return new NotFoundError('no such route');
  const err = thrown as HttpError;
  const invalid = (message: string, code: ErrorCode = 'validation_failed') =>
    new ValidationError(`Invalid input: (body): ${message}`, [{ path: '', message }], code);
  switch (err.type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(`the body is over the limit of ${MAX_BODY_BYTES} bytes`);
    case 'invalid_utf8':
      return invalid('not valid UTF-8', 'invalid_utf8');
    case 'entity.parse.failed':
      return invalid(`malformed JSON: ${safe(err.message)}`);
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return invalid('an unsupported charset or content encoding');
    default:
      break;
  }
  const status = err.status ?? err.statusCode ?? 500;
  if (status === 400 && /decode param/i.test(err.message ?? '')) {
    return new ValidationError('Invalid input: (path): not a valid percent-encoding', [
      { path: '(path)', message: 'not a valid percent-encoding' },
    ]);
  }
  if (status >= 400 && status < 500) {
    return new ValidationError('Invalid input: the request could not be read', [
      { path: '', message: 'the request could not be read' },
    ]);
  }
  return thrown;
}

let edgeLog: Logger | undefined;

/**
 * The functions' logger (the same project and service labels as the runtime's), made from the
 * config alone: an error at the edge must not load the clients (nor fail if they cannot be
 * made). If the config does not load, a plain one.
 */
function edgeLogger(): Logger {
  if (edgeLog !== undefined) return edgeLog;
  let labels: { projectId: string; service: { name: string; revision: string } };
  try {
    const config = loadConfig(process.env);
    labels = { projectId: config.projectId, service: config.service };
  } catch {
    labels = { projectId: '', service: { name: 'functions-framework', revision: 'edge' } };
  }
  edgeLog = createStructuredLogger(labels);
  return edgeLog;
}

/** A parser's message without anything that could echo a path or a stack. */
function safe(message: string | undefined): string {
  return (message ?? 'unparseable').split('\n')[0]!.slice(0, 200);
}
