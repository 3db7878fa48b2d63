import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { snapshotFirestore } from '../../e2e/support/firestore-snapshot';
import { firestoreForTest, type TestFirestore } from '../../helpers/firestore-emulator';

/**
 * The edge as deployed: the three functions served by the real functions-framework server
 * (getTestServer, after importing functions/index so the guards are installed first). Whatever
 * a caller sends, the answer is our JSON error body (never Express's HTML page, a stack or a
 * path), bodies over 64 KiB are refused before they are read, invalid UTF-8 is refused, and
 * run-task and dispatch run and write nothing for an unverified caller.
 */

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Bytes of the body sent before the answer came. */
  sent: number;
}

const ENV_KEYS = [
  'GOOGLE_CLOUD_PROJECT',
  'FIRESTORE_EMULATOR_HOST',
  'RUN_TASK_URL',
  'TASKS_INVOKER_SA',
  'SUBJECT_HASH_PEPPER',
  'LOCAL_MODE',
  'SCHEDULER_SA',
  'TASKS_OIDC_JWKS_URL',
  'TASKS_OIDC_ISSUER',
  'CLOUD_TASKS_EMULATOR_HOST',
  'METADATA_SERVER_DETECTION',
  'BOOTSTRAP_ADMINS',
] as const;

let fs: TestFirestore;
const servers: Record<string, { server: Server; port: number }> = {};
const savedEnv = new Map<string, string | undefined>();

beforeAll(async () => {
  fs = firestoreForTest();
  const env: Record<(typeof ENV_KEYS)[number], string> = {
    GOOGLE_CLOUD_PROJECT: fs.projectId,
    FIRESTORE_EMULATOR_HOST: fs.host,
    RUN_TASK_URL: 'http://127.0.0.1:1/',
    TASKS_INVOKER_SA: 'tasks-invoker@edge-test.iam.gserviceaccount.com',
    SUBJECT_HASH_PEPPER: 'edge-test-pepper-0123456789',
    LOCAL_MODE: 'true',
    SCHEDULER_SA: 'scheduler@edge-test.iam.gserviceaccount.com',
    // Never fetched: every token these tests send is refused before a key is needed.
    TASKS_OIDC_JWKS_URL: 'http://127.0.0.1:1/jwks',
    TASKS_OIDC_ISSUER: 'http://127.0.0.1:1',
    CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:1',
    METADATA_SERVER_DETECTION: 'none',
    // The default local identity, so calls reach the checks behind the role check.
    BOOTSTRAP_ADMINS: 'user:developer@localhost',
  };
  for (const key of ENV_KEYS) {
    savedEnv.set(key, process.env[key]);
    process.env[key] = env[key];
  }
  // The entry point as deployed: guards first, then the framework, then the functions.
  await import('../../../functions/index');
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  for (const name of ['api', 'runTask', 'dispatch']) {
    const server = getTestServer(name);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers[name] = { server, port: (server.address() as AddressInfo).port };
  }
});

afterAll(async () => {
  await Promise.all(
    Object.values(servers).map(
      ({ server }) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
  for (const [key, value] of savedEnv) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await fs?.close();
});

/**
 * One raw HTTP call (no client-side URL normalisation). `body` may be a generator of chunks,
 * written until the server answers; `declaredLength` sets a Content-Length without sending it.
 */
function send(
  fn: string,
  method: string,
  path: string,
  {
    headers = {},
    body,
    chunks,
  }: {
    headers?: Record<string, string>;
    body?: Buffer | string;
    chunks?: { size: number; max: number };
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(
      { host: '127.0.0.1', port: servers[fn]!.port, method, path, headers },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, sent });
          req.destroy();
        });
      },
    );
    // The server may close the connection on a refused body we are still sending.
    req.on('error', (err) => (answered ? undefined : reject(err)));
    if (chunks !== undefined) {
      const chunk = Buffer.alloc(chunks.size, 0x61);
      const pump = () => {
        while (!answered && sent < chunks.max) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        if (!answered) req.end();
      };
      pump();
      return;
    }
    if (body !== undefined) {
      sent = Buffer.byteLength(body);
      req.write(body);
    }
    // A declared length with no body: the headers go now, and the body never.
    if (headers['content-length'] === undefined || body !== undefined) req.end();
    else req.flushHeaders();
  });
}

/** Our JSON error body, and nothing of Express's page, a stack or a file path. */
function expectOurError(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, type: answer.headers['content-type'] }).toEqual({
    status,
    type: 'application/json; charset=utf-8',
  });
  const body = JSON.parse(answer.text) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(answer.text).not.toMatch(
    /<html|<pre|<!DOCTYPE|\bat [\w.<>]+ \(|node_modules|\/work\/|\.ts:\d/i,
  );
}

const json = { 'content-type': 'application/json' };

describe('bodies', () => {
  it('refuses a declared 120 MB body with 413 before reading it', async () => {
    const answer = await send('api', 'POST', '/requests', {
      headers: { ...json, 'content-length': String(120 * 1024 * 1024) },
    });
    expectOurError(answer, 413, 'payload_too_large');
    expect(answer.sent).toBe(0);
  });

  it('answers a client still sending a declared 120 MB body, rather than resetting it', async () => {
    const answer = await send('api', 'POST', '/requests', {
      headers: { ...json, 'content-length': String(120 * 1024 * 1024), connection: 'close' },
      chunks: { size: 1024 * 1024, max: 120 * 1024 * 1024 },
    });
    expectOurError(answer, 413, 'payload_too_large');
    expect(answer.sent).toBeLessThan(120 * 1024 * 1024);
  });

  it('refuses a chunked body as soon as it passes 64 KiB', async () => {
    const answer = await send('api', 'POST', '/requests', {
      headers: { ...json, 'transfer-encoding': 'chunked' },
      chunks: { size: 16 * 1024, max: 120 * 1024 * 1024 },
    });
    expectOurError(answer, 413, 'payload_too_large');
    expect(answer.sent).toBeLessThan(8 * 1024 * 1024);
  });

  it('reads a body just under the limit', async () => {
    const body = JSON.stringify({ etag: 'x', bindings: [], pad: 'a'.repeat(60 * 1024) });
    const answer = await send('api', 'PUT', '/iam/policy', { headers: json, body });
    expectOurError(answer, 400, 'validation_failed');
    expect(answer.text).toContain('pad');
  });

  it.each(['runTask', 'dispatch'])('refuses an oversized body on %s too', async (fn) => {
    const answer = await send(fn, 'POST', '/', {
      headers: { ...json, 'content-length': String(65 * 1024) },
    });
    expectOurError(answer, 413, 'payload_too_large');
  });

  it.each([
    ['application/json', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    ['text/plain', Buffer.from([0x61, 0xc3, 0x28])],
    ['application/x-www-form-urlencoded', Buffer.from([0x61, 0x3d, 0xed, 0xa0, 0x80])],
    // An encoded lone surrogate is invalid UTF-8 too.
    ['application/json', Buffer.from('{"a":"\xed\xa0\x80"}', 'latin1')],
  ])('refuses invalid UTF-8 in a %s body with 400 invalid_utf8', async (type, body) => {
    const before = await snapshotFirestore(fs.db);
    const answer = await send('api', 'POST', '/requests', {
      headers: { 'content-type': type },
      body,
    });
    expectOurError(answer, 400, 'invalid_utf8');
    expect(await snapshotFirestore(fs.db)).toEqual(before);
  });

  it('refuses invalid UTF-8 in a body of any other type too', async () => {
    const answer = await send('api', 'PUT', '/iam/policy', {
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([0x7b, 0xff, 0x7d]),
    });
    expectOurError(answer, 400, 'invalid_utf8');
  });

  it.each([
    ['a form post', 'application/x-www-form-urlencoded', 'etag=x&bindings='],
    ['text/plain', 'text/plain', '{"etag":"x","bindings":[]}'],
  ])(
    'refuses %s to the api: only JSON is taken (no cross-site simple requests)',
    async (_n, type, body) => {
      const before = await snapshotFirestore(fs.db);
      const answer = await send('api', 'PUT', '/iam/policy', {
        headers: { 'content-type': type },
        body,
      });
      expectOurError(answer, 400, 'validation_failed');
      expect(answer.text).toContain('application/json');
      expect(await snapshotFirestore(fs.db)).toEqual(before);
    },
  );

  it.each(['api', 'runTask', 'dispatch'])(
    'answers malformed JSON on %s with a JSON 400',
    async (fn) => {
      const answer = await send(fn, 'POST', fn === 'api' ? '/requests' : '/', {
        headers: json,
        body: '{"type": "deletion",',
      });
      expectOurError(answer, 400, 'validation_failed');
      expect(answer.text).toContain('malformed JSON');
    },
  );
});

describe('paths and queries', () => {
  it.each([
    ['a bad % escape in the path', '/requests/%E0%A4%A'],
    ['a lone % in the path', '/requests/%'],
    ['an encoded slash into a run', `/requests/${'a'.repeat(32)}%2Finstances%2Fcrm/runs`],
  ])('answers %s with a JSON 400', async (_name, path) => {
    const answer = await send('api', 'GET', path);
    expectOurError(answer, 400, 'validation_failed');
  });

  it('answers a bad % escape in the path on run-task and dispatch with a JSON 400', async () => {
    for (const fn of ['runTask', 'dispatch']) {
      expectOurError(await send(fn, 'POST', '/%E0%A4%A'), 400, 'validation_failed');
    }
  });

  it('answers a bad % escape in a query value with a JSON 400', async () => {
    const answer = await send('api', 'GET', '/requests?status=%E0%A4%A');
    expectOurError(answer, 400, 'validation_failed');
  });

  it('refuses a repeated query parameter, naming it', async () => {
    const answer = await send('api', 'GET', '/requests?status=in_progress&status=in_progress');
    expectOurError(answer, 400, 'validation_failed');
    expect(answer.text).toContain('query.status');
  });

  it('refuses a structured query parameter, naming it', async () => {
    const answer = await send('api', 'GET', '/requests?status[$ne]=x');
    expectOurError(answer, 400, 'validation_failed');
    expect(answer.text).toContain('status[$ne]');
  });

  it('still serves a good call', async () => {
    const answer = await send('api', 'GET', '/healthz');
    expect({ status: answer.status, body: JSON.parse(answer.text) as unknown }).toEqual({
      status: 200,
      body: { status: 'ok' },
    });
  });
});

describe('run-task and dispatch verify their caller first', () => {
  const payload = JSON.stringify({
    requestId: 'a'.repeat(32),
    taskId: 'crm',
    series: 1,
    attempt: 1,
  });

  it.each<[string, Record<string, string>]>([
    ['no token', {}],
    [
      'Cloud Tasks headers only',
      { 'x-cloudtasks-taskname': 'forged', 'x-cloudtasks-taskretrycount': '-5' },
    ],
    ['an unsigned token', { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJlbWFpbCI6ImEifQ.' }],
  ])('run-task: %s → 401, nothing run or written', async (_name, headers) => {
    const before = await snapshotFirestore(fs.db);
    const answer = await send('runTask', 'POST', '/', {
      headers: { ...json, ...headers },
      body: payload,
    });
    expectOurError(answer, 401, 'unauthenticated');
    expect(await snapshotFirestore(fs.db)).toEqual(before);
  });

  it('dispatch: no token → 401, nothing run or written', async () => {
    const before = await snapshotFirestore(fs.db);
    const answer = await send('dispatch', 'POST', '/', { headers: json, body: '{}' });
    expectOurError(answer, 401, 'unauthenticated');
    expect(await snapshotFirestore(fs.db)).toEqual(before);
  });
});
