/**
 * Entries for run-task other than the functions-framework's, for `npm run bench -- pipeline
 * --entry`, to measure what the framework's per-request wrapping costs:
 * - `lean`: the framework as deployed, but the handler leaves the request's `domain` at once, so
 *   the promises it creates are not bound to it (the framework still creates the domain, and
 *   Node's domain hooks stay on for the process);
 * - `bare`: a plain `node:http` server that parses the JSON body and hands the handler the few
 *   Express members it uses (`path`, `query`, `body`, `rawBody`, `status`, `json`): no Express,
 *   no body-parser chain, no domain.
 * Neither is deployed; they are measurements for docs and bench/README.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';

/** The handler, leaving the framework's per-request domain before it does anything. */
export function leaveDomain(handler: HttpFunction): HttpFunction {
  return (req, res) => {
    (process as { domain?: { exit(): void } | null }).domain?.exit();
    const ret: unknown = handler(req, res);
    return ret;
  };
}

/** A plain HTTP server for `handler` (JSON bodies only, as run-task takes). */
export function bareServer(handler: HttpFunction): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      let body: unknown;
      try {
        body = rawBody.length === 0 ? {} : (JSON.parse(rawBody.toString('utf8')) as unknown);
      } catch {
        res.statusCode = 400;
        res.end('{"error":"invalid json"}');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://local');
      const request = Object.assign(req, {
        body,
        rawBody,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
      }) as unknown as Request;
      const response = Object.assign(res, {
        status(code: number) {
          res.statusCode = code;
          return response;
        },
        json(value: unknown) {
          res.setHeader('Content-Type', 'application/json; charset=utf-8');
          res.end(JSON.stringify(value));
          return response;
        },
      }) as unknown as Response;
      Promise.resolve(handler(request, response)).catch(() => {
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      });
    });
  });
}
