import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createStructuredLogger } from '../../../src/adapters/cloud-logging/structured-logger';
import { errorResponse } from '../../../src/http/error-response';
import { streamed, type HttpResponse } from '../../../src/http/types';
import { ConflictError } from '../../../src/domain/errors';
import { respond } from '../../../functions/http-adapter';
import { waitFor } from '../../helpers/wait-for';

/**
 * Streamed answers through the real functions-framework server: the bytes arrive in full, a
 * source that fails before its first chunk gets our JSON error, one that fails later aborts the
 * connection (logged), and a client that leaves stops the source.
 */

const lines: Array<Record<string, unknown>> = [];
const log = createStructuredLogger({
  projectId: 'respond-test',
  service: { name: 'api', revision: 'test' },
  write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
});

let answer: () => HttpResponse;
ff.http('respondStreamTest', async (_req, res) => {
  await respond(res, answer(), log, (err) => errorResponse(err, log));
});

let server: Server;
let port: number;
beforeAll(async () => {
  server = getTestServer('respondStreamTest');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  lines.length = 0;
});

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** True when the connection ended without the response's proper end. */
  aborted: boolean;
}

function get(): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET' }, (res) => {
      const parts: Buffer[] = [];
      let aborted = false;
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('aborted', () => (aborted = true));
      res.on('error', () => (aborted = true));
      res.on('close', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(parts),
          aborted: aborted || !res.complete,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('respond with a streamed body', () => {
  it('sends every chunk, strings and bytes, with the headers given', async () => {
    answer = () =>
      streamed(
        { 'content-type': 'text/plain' },
        (async function* () {
          yield 'one,';
          yield Buffer.from('two,');
          yield new Uint8Array([0x74, 0x68, 0x72, 0x65, 0x65]);
        })(),
      );
    const got = await get();
    expect(got).toMatchObject({ status: 200, aborted: false });
    expect(got.headers['content-type']).toBe('text/plain');
    expect(got.body.toString()).toBe('one,two,three');
  });

  it('answers an empty source with an empty body', async () => {
    answer = () => streamed({ 'content-type': 'text/plain' }, (async function* () {})());
    const got = await get();
    expect(got).toMatchObject({ status: 200, aborted: false });
    expect(got.body.length).toBe(0);
  });

  it('answers a source that fails before its first chunk with our JSON error', async () => {
    answer = () =>
      streamed(
        { 'content-type': 'application/zip' },
        // eslint-disable-next-line require-yield
        (async function* () {
          throw new ConflictError('not ready');
        })(),
      );
    const got = await get();
    expect(got.status).toBe(409);
    expect(got.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(got.body.toString())).toEqual({
      error: { code: 'conflict', message: 'not ready' },
    });
  });

  it('aborts the connection when the source fails after the headers, and logs it', async () => {
    let cleanedUp = false;
    answer = () =>
      streamed(
        { 'content-type': 'application/zip' },
        (async function* () {
          try {
            yield Buffer.alloc(70_000, 1);
            throw new Error('the store went away');
          } finally {
            cleanedUp = true;
          }
        })(),
      );
    const got = await get();
    expect(got.status).toBe(200);
    expect(got.aborted).toBe(true);
    expect(cleanedUp).toBe(true);
    await waitFor(
      async () => lines.filter((l) => l.event === 'http.stream_aborted'),
      (found) => found.length === 1,
      { what: 'the http.stream_aborted line' },
    );
    expect(lines.find((l) => l.event === 'http.stream_aborted')).toMatchObject({
      severity: 'ERROR',
    });
  });

  it('stops pulling the source when the client goes away', async () => {
    let pulled = 0;
    let stopped = false;
    answer = () =>
      streamed(
        { 'content-type': 'application/octet-stream' },
        (async function* () {
          try {
            for (;;) {
              pulled += 1;
              yield Buffer.alloc(64 * 1024);
            }
          } finally {
            stopped = true;
          }
        })(),
      );
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.on('close', () => resolve());
      req.once('error', reject);
      req.end();
    });
    await waitFor(
      async () => stopped,
      (s) => s,
      { what: 'the source to be stopped' },
    );
    // An endless source: only backpressure and the stop kept this finite.
    expect(pulled).toBeLessThan(10_000);
  });
});
