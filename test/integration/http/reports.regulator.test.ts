import { createFirestoreAccessStore } from '../../../src/adapters/firestore/policy-store';
import { createApiVerifier } from '../../../src/adapters/identity/verifiers';
import { requestsCsv } from '../../../src/app/reports';
import type { Member } from '../../../src/domain/access';
import type { Request } from '../../../src/domain/model';
import { REQUEST_CSV_COLUMNS } from '../../../src/domain/report-metrics';
import { errorResponse } from '../../../src/http/error-response';
import { handleApi, type ApiContext } from '../../../src/http/api-routes';
import type { HttpResponse } from '../../../src/http/types';
import { snapshotFirestore } from '../../e2e/support/firestore-snapshot';
import { createMemoryRecordStore } from '../../helpers/memory-record-store';
import { T0, useDispatchFixture } from '../dispatch/harness';
import { aRequest } from '../firestore/fixture';

/**
 * The regulator reports on the Firestore emulator, against a seeded set of requests whose
 * record rows and §7102 figures are worked out by hand below (business time zone UTC).
 */

const AUDITOR = 'auditor@example.com';
const ADMIN = 'root@example.com';
const REQUESTER = 'requester@example.com';
const OPERATOR = 'operator@example.com';

const id = (n: number) => `r${String(n).padStart(2, '0')}`.padEnd(32, '0');
const day = (iso: string) => `${iso}T10:00:00.000Z`;

/** Each seeded request: n, then what differs from a plain open GDPR deletion. */
// prettier-ignore
const SEED: [number, Partial<Request>][] = [
  // Deletions (requests to delete).
  [1, { regulation: 'gdpr', channel: 'web', receivedAt: '2026-01-10T09:00:00.000Z', status: 'completed', completedAt: '2026-01-20T15:00:00.000Z' }], // whole, 10 days
  [2, { regulation: 'gdpr', receivedAt: '2026-02-01T12:00:00.000Z', status: 'completed', completedAt: '2026-02-01T18:00:00.000Z' }], // whole, 0 days, no channel → api
  [3, { regulation: 'ccpa', channel: 'email', receivedAt: day('2026-03-05'), status: 'completed_with_errors', completedAt: day('2026-03-25') }], // part, 20 days
  [4, { regulation: 'ccpa', channel: 'phone', receivedAt: '2026-04-01T08:00:00.000Z', status: 'completed', counts: { succeeded: 2, cancelled: 1 }, completedAt: '2026-04-16T08:00:00.000Z' }], // part (one instance refused), 15 days
  [5, { regulation: 'ccpa', channel: 'web', receivedAt: '2026-05-02T00:00:00.000Z', status: 'denied', denial: { at: '2026-05-12T00:00:00.000Z', by: 'approver@example.com', reason: 'unverifiable_identity', note: 'called r05@example.com twice' }, completedAt: '2026-05-12T00:00:01.000Z' }], // denied, 10 days
  [6, { regulation: 'lgpd', channel: 'mail', receivedAt: '2026-06-01T00:00:00.000Z', status: 'denied', denial: { at: '2026-06-04T09:00:00.000Z', by: 'approver@example.com', reason: 'exempt' }, completedAt: '2026-06-04T09:00:00.000Z' }], // denied, 3 days
  [7, { regulation: 'ccpa', channel: 'authorized_agent', receivedAt: day('2026-07-01'), originalDueAt: '2026-08-15T06:59:59.999Z', dueAt: '2026-09-29T06:59:59.999Z', extension: { at: day('2026-08-01'), by: 'approver@example.com', reason: 'r07@example.com sent 40 systems', previousDueAt: '2026-08-15T06:59:59.999Z' }, status: 'completed', completedAt: day('2026-09-10') }], // whole, 31 + 31 + 9 = 71 days
  [8, { regulation: 'gdpr', channel: 'web', receivedAt: day('2026-08-15'), status: 'in_progress' }], // open
  [9, { regulation: 'ccpa', channel: 'web', receivedAt: day('2026-09-01'), status: 'cancelled', completedAt: day('2026-09-02') }], // cancelled
  [10, { regulation: 'gdpr', receivedAt: day('2026-10-01'), status: 'completed', completedAt: day('2026-10-05'), minimised: true, minimisedAt: day('2026-11-04'), subject: {}, subjectKinds: ['email'] }], // whole, 4 days, minimised
  [11, { regulation: 'ccpa', receivedAt: day('2026-10-10'), dryRun: true, status: 'completed', completedAt: day('2026-10-11') }], // a dry run: in no report
  [21, { regulation: 'ccpa', channel: 'web', receivedAt: day('2026-11-20'), status: 'denied', denial: { at: '2026-11-20T15:00:00.000Z', by: 'approver@example.com', reason: 'legal_hold' }, completedAt: '2026-11-20T15:00:00.000Z' }], // denied, 0 days
  // Records (requests to know).
  [12, { type: 'records', regulation: 'gdpr', channel: 'web', receivedAt: day('2026-01-15'), status: 'completed', completedAt: day('2026-02-14') }], // whole, 30 days
  [13, { type: 'records', regulation: 'ccpa', channel: 'email', receivedAt: day('2026-02-20'), acknowledgeBy: '2026-03-06T07:59:59.999Z', acknowledgement: { at: day('2026-02-23'), by: 'operator@example.com' }, status: 'completed', completedAt: day('2026-03-20') }], // whole, 8 + 20 = 28 days
  [14, { type: 'records', regulation: 'ccpa', channel: 'in_person', receivedAt: day('2026-03-10'), status: 'denied', denial: { at: day('2026-03-12'), by: 'approver@example.com', reason: 'manifestly_unfounded' }, completedAt: day('2026-03-12') }], // denied, 2 days
  [15, { type: 'records', regulation: 'uk_gdpr', channel: 'web', receivedAt: day('2026-04-10'), status: 'denied', denial: { at: day('2026-04-11'), by: 'approver@example.com', reason: 'excessive', note: '=cmd|calc' }, completedAt: day('2026-04-11') }], // denied, 1 day
  [16, { type: 'records', regulation: 'ccpa', channel: 'web', receivedAt: day('2026-05-10'), status: 'completed_with_errors', completedAt: day('2026-06-09') }], // part, 21 + 9 = 30 days
  [17, { type: 'records', regulation: 'ccpa', receivedAt: day('2026-11-01'), status: 'awaiting_verification', verification: { state: 'pending', since: day('2026-11-01') } }], // open
  [18, { type: 'records', regulation: 'other', channel: 'web', externalId: '-2+3', receivedAt: '2026-12-31T23:30:00.000Z', status: 'completed', completedAt: day('2027-01-02') }], // whole, 2 days
  // Outside 2026.
  [19, { regulation: 'gdpr', receivedAt: '2025-12-31T23:59:59.999Z', status: 'completed', completedAt: day('2026-01-05') }],
  [20, { type: 'records', regulation: 'ccpa', receivedAt: '2027-01-01T00:00:00.000Z' }],
];

interface ErrorAnswer {
  code: string;
  message: string;
  issues?: { path: string; message: string }[];
}
const errorOf = (res: HttpResponse) => (res.body as { error: ErrorAnswer }).error;

async function text(res: HttpResponse): Promise<string> {
  let out = '';
  for await (const chunk of res.stream ?? []) out += chunk.toString();
  return out;
}

/** The CSV as rows of named cells (no seeded value holds a comma or a quote). */
function parse(csv: string): Record<string, string>[] {
  expect(csv.endsWith('\r\n')).toBe(true);
  const [head, ...lines] = csv.slice(0, -2).split('\r\n');
  const columns = (head ?? '').split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    expect(cells).toHaveLength(columns.length);
    return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']));
  });
}

describe('GET /reports/requests.csv and /reports/metrics', () => {
  const f = useDispatchFixture();
  let ctx: ApiContext;

  async function call(
    identity: string,
    path: string,
    query: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<HttpResponse> {
    try {
      return await handleApi(ctx, {
        method: 'GET',
        path,
        query,
        headers: { 'x-dev-identity': identity, ...headers },
        body: undefined,
      });
    } catch (err) {
      return errorResponse(err, ctx.deps.log);
    }
  }

  beforeEach(async () => {
    const access = createFirestoreAccessStore(f.store.fs.db);
    ctx = {
      deps: f.deps({ businessTimeZone: 'UTC' }),
      records: createMemoryRecordStore(),
      access,
      verifyCaller: createApiVerifier({ localMode: true, audiences: [], clock: { now: () => T0 } }),
      bootstrapAdmins: [`user:${ADMIN}`],
    };
    const { etag } = await access.getPolicy();
    const bind = (role: 'auditor' | 'requester' | 'operator', who: string) => ({
      role,
      members: [`user:${who}` as Member],
    });
    await access.setPolicy(
      etag,
      {
        bindings: [
          bind('auditor', AUDITOR),
          bind('requester', REQUESTER),
          bind('operator', OPERATOR),
        ],
        groups: {},
      },
      ADMIN,
      T0.toISOString(),
    );
    for (const [n, patch] of SEED) {
      const created = patch.receivedAt ?? day('2026-01-01');
      await f.store.store.createRequest(
        aRequest(id(n), { createdAt: created, updatedAt: created, ...patch }),
        [],
      );
    }
  });

  describe('requests.csv: the 11 CCR §7101 record', () => {
    it('has a row per request received in [from, to), oldest first, as worked out by hand', async () => {
      const res = await call(AUDITOR, '/reports/requests.csv', {
        from: '2026-01-01',
        to: '2027-01-01',
      });
      expect(res.status).toBe(200);
      expect(res.headers).toMatchObject({
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': 'attachment; filename="requests.csv"',
      });
      const csv = await text(res);
      expect(csv.split('\r\n')[0]).toBe(REQUEST_CSV_COLUMNS.join(','));
      const rows = parse(csv);
      // 21 seeded: not 11 (a dry run), 19 (2025) or 20 (1 January 2027, `to` is exclusive).
      expect(rows.map((r) => r['request_id'])).toEqual(
        [1, 12, 2, 13, 3, 14, 4, 15, 5, 16, 6, 7, 8, 9, 10, 17, 21, 18].map(id),
      );
      const byId = new Map(rows.map((r) => [r['request_id'], r]));
      const pick = (n: number, ...cols: string[]) =>
        Object.fromEntries(cols.map((c) => [c, byId.get(id(n))?.[c]]));
      const response = ['nature_of_request', 'manner_of_request', 'date_of_response'] as const;
      const nature = ['nature_of_response', 'basis_for_denial', 'status'] as const;
      expect(pick(1, ...response, ...nature)).toEqual({
        nature_of_request: 'request to delete',
        manner_of_request: 'web',
        date_of_response: '2026-01-20T15:00:00.000Z',
        nature_of_response: 'complied',
        basis_for_denial: '',
        status: 'completed',
      });
      expect(pick(2, 'manner_of_request')).toEqual({ manner_of_request: 'api' });
      expect(pick(3, ...nature)).toEqual({
        nature_of_response: 'complied in part',
        basis_for_denial: '',
        status: 'completed_with_errors',
      });
      expect(pick(4, 'nature_of_response', 'status')).toEqual({
        nature_of_response: 'complied in part',
        status: 'completed',
      });
      // The response date of a denial is the denial, not the roll-up a second later.
      expect(pick(5, 'date_of_response', 'completed_at', ...nature)).toEqual({
        date_of_response: '2026-05-12T00:00:00.000Z',
        completed_at: '2026-05-12T00:00:01.000Z',
        nature_of_response: 'denied',
        basis_for_denial: 'unverifiable_identity',
        status: 'denied',
      });
      expect(pick(7, 'regulation', 'due_at', 'original_due_at', 'extended', 'extended_at')).toEqual(
        {
          regulation: 'ccpa',
          due_at: '2026-09-29T06:59:59.999Z',
          original_due_at: '2026-08-15T06:59:59.999Z',
          extended: 'yes',
          extended_at: '2026-08-01T10:00:00.000Z',
        },
      );
      expect(pick(8, 'date_of_response', 'nature_of_response', 'extended', 'status')).toEqual({
        date_of_response: '',
        nature_of_response: '',
        extended: 'no',
        status: 'in_progress',
      });
      expect(pick(9, 'date_of_response', 'nature_of_response', 'completed_at')).toEqual({
        date_of_response: '',
        nature_of_response: 'cancelled',
        completed_at: '2026-09-02T10:00:00.000Z',
      });
      // Minimised: still in the record, without anything of the subject.
      expect(pick(10, 'nature_of_response', 'regulation')).toEqual({
        nature_of_response: 'complied',
        regulation: 'gdpr',
      });
      expect(pick(13, 'nature_of_request', 'acknowledged_at')).toEqual({
        nature_of_request: 'request to know',
        acknowledged_at: '2026-02-23T10:00:00.000Z',
      });
      // An externalId starting with '-' is defused for spreadsheets.
      expect(pick(18, 'external_id', 'date_of_request', 'regulation')).toEqual({
        external_id: "'-2+3",
        date_of_request: '2026-12-31T23:30:00.000Z',
        regulation: 'other',
      });
      // No identifier, note, or free-text reason: subjects are r…@example.com, notes and
      // reasons name them or hold a formula.
      expect(csv).not.toMatch(/example\.com|calc|40 systems/);
    });

    it('takes date-times with an offset, and logs who read it', async () => {
      const res = await call(AUDITOR, '/reports/requests.csv', {
        from: '2026-03-01T00:00:00Z',
        to: '2026-03-10T12:00:00+02:00',
      });
      // 3 (5 March); not 14, received at 10:00 UTC on 10 March, which is `to` (exclusive).
      expect(parse(await text(res)).map((r) => r['request_id'])).toEqual([id(3)]);
      expect(f.events('report.read')).toEqual([
        expect.objectContaining({
          actor: AUDITOR,
          report: 'requests.csv',
          from: '2026-03-01T00:00:00.000Z',
          to: '2026-03-10T10:00:00.000Z',
        }),
      ]);
    });

    it('streams a store page at a time, the same CSV whatever the page size', async () => {
      const whole = await text(
        await call(ADMIN, '/reports/requests.csv', { from: '2026-01-01', to: '2027-01-01' }),
      );
      const chunks: string[] = [];
      const { chunks: source } = requestsCsv(
        ctx.deps,
        { from: '2026-01-01', to: '2027-01-01' },
        { identity: AUDITOR },
        { pageSize: 4 },
      );
      for await (const chunk of source) chunks.push(chunk);
      // 19 requests in range (the dry run included, then dropped): pages of 4, 4, 4, 4, 3.
      expect(chunks).toHaveLength(5);
      expect(chunks.join('')).toBe(whole);
    });

    it('is an empty CSV (the header) for a range without requests', async () => {
      const res = await call(AUDITOR, '/reports/requests.csv', {
        from: '2020-01-01',
        to: '2020-02-01',
      });
      expect(await text(res)).toBe(`${REQUEST_CSV_COLUMNS.join(',')}\r\n`);
    });
  });

  describe('metrics: the 11 CCR §7102 figures', () => {
    const reasons = (patch: Record<string, number>) => ({
      unverifiable_identity: 0,
      exempt: 0,
      manifestly_unfounded: 0,
      excessive: 0,
      legal_hold: 0,
      other: 0,
      ...patch,
    });

    it('counts 2026 across every regulation as worked out by hand', async () => {
      const res = await call(AUDITOR, '/reports/metrics', { year: '2026' });
      expect(res.status).toBe(200);
      const body = res.body as { types: unknown[] } & Record<string, unknown>;
      expect(body).toMatchObject({
        year: 2026,
        regulation: 'all',
        timeZone: 'UTC',
        from: '2026-01-01T00:00:00.000Z',
        to: '2027-01-01T00:00:00.000Z',
      });
      expect(body['optOut']).toMatch(/not handled/);
      expect(body.types).toEqual([
        {
          type: 'deletion',
          nature: 'request to delete',
          // 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 21 (11 is a dry run, 19 is 2025)
          received: 11,
          compliedInWhole: 4, // 1, 2, 7, 10
          compliedInPart: 2, // 3 (errors), 4 (an instance refused)
          denied: 3, // 5, 6, 21
          deniedByReason: reasons({ unverifiable_identity: 1, exempt: 1, legal_hold: 1 }),
          cancelled: 1, // 9
          open: 1, // 8
          // days: 1→10, 2→0, 3→20, 4→15, 5→10, 6→3, 7→71, 10→4, 21→0
          // sorted 0 0 3 4 10 10 15 20 71: median the 5th = 10; mean 133 / 9 = 14.78
          daysToRespond: { responded: 9, median: 10, mean: 14.78 },
        },
        {
          type: 'records',
          nature: 'request to know',
          received: 7, // 12 to 18 (20 is 2027)
          compliedInWhole: 3, // 12, 13, 18
          compliedInPart: 1, // 16
          denied: 2, // 14, 15
          deniedByReason: reasons({ manifestly_unfounded: 1, excessive: 1 }),
          cancelled: 0,
          open: 1, // 17
          // days: 12→30, 13→28, 14→2, 15→1, 16→30, 18→2
          // sorted 1 2 2 28 30 30: median (2 + 28) / 2 = 15; mean 93 / 6 = 15.5
          daysToRespond: { responded: 6, median: 15, mean: 15.5 },
        },
      ]);
    });

    it('counts one regulation (CCPA) when asked, as CSV with format=csv', async () => {
      const res = await call(AUDITOR, '/reports/metrics', {
        year: '2026',
        regulation: 'ccpa',
        format: 'csv',
      });
      expect(res.status).toBe(200);
      expect(res.headers).toMatchObject({
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': 'attachment; filename="metrics-2026-ccpa.csv"',
      });
      const rows = parse(await text(res));
      expect(rows).toEqual([
        {
          year: '2026',
          regulation: 'ccpa',
          request_type: 'deletion',
          nature_of_request: 'request to delete',
          received: '6', // 3, 4, 5, 7, 9, 21
          complied_in_whole: '1', // 7
          complied_in_part: '2', // 3, 4
          denied: '2', // 5, 21
          denied_unverifiable_identity: '1',
          denied_exempt: '0',
          denied_manifestly_unfounded: '0',
          denied_excessive: '0',
          denied_legal_hold: '1',
          denied_other: '0',
          cancelled: '1', // 9
          open: '0',
          // days 20, 15, 10, 71, 0 → sorted 0 10 15 20 71: median 15; mean 116 / 5 = 23.2
          responded: '5',
          median_days_to_respond: '15',
          mean_days_to_respond: '23.2',
        },
        {
          year: '2026',
          regulation: 'ccpa',
          request_type: 'records',
          nature_of_request: 'request to know',
          received: '4', // 13, 14, 16, 17
          complied_in_whole: '1', // 13
          complied_in_part: '1', // 16
          denied: '1', // 14
          denied_unverifiable_identity: '0',
          denied_exempt: '0',
          denied_manifestly_unfounded: '1',
          denied_excessive: '0',
          denied_legal_hold: '0',
          denied_other: '0',
          cancelled: '0',
          open: '1', // 17
          // days 28, 2, 30 → median 28; mean 60 / 3 = 20
          responded: '3',
          median_days_to_respond: '28',
          mean_days_to_respond: '20',
        },
      ]);
    });

    it('answers CSV to Accept: text/csv, and empty days as blanks', async () => {
      const res = await call(
        AUDITOR,
        '/reports/metrics',
        { year: '2025', regulation: 'lgpd' },
        {
          accept: 'text/csv',
        },
      );
      const rows = parse(await text(res));
      expect(
        rows.map((r) => [r['request_type'], r['received'], r['median_days_to_respond']]),
      ).toEqual([
        ['deletion', '0', ''],
        ['records', '0', ''],
      ]);
    });

    it('counts 2025 by receipt: the request received on 31 December 2025 answered in 2026', async () => {
      const res = await call(ADMIN, '/reports/metrics', { year: '2025' });
      const [deletion] = (res.body as { types: Record<string, unknown>[] }).types;
      // 19: 31 December → 5 January = 5 days
      expect(deletion).toMatchObject({
        received: 1,
        compliedInWhole: 1,
        daysToRespond: { responded: 1, median: 5, mean: 5 },
      });
    });
  });

  describe('bad input: a 400 naming the parameter, and nothing written', () => {
    it.each([
      ['/reports/requests.csv', {}, 'query.from'],
      ['/reports/requests.csv', { from: '2026-01-01' }, 'query.to'],
      ['/reports/requests.csv', { from: '2026-02-01', to: '2026-01-01' }, 'query.to'],
      ['/reports/requests.csv', { from: '2026-02-01', to: '2026-02-01' }, 'query.to'],
      ['/reports/requests.csv', { from: '2020-01-01', to: '2023-01-02' }, 'query.to'],
      ['/reports/requests.csv', { from: '2026-02-30', to: '2026-03-01' }, 'query.from'],
      ['/reports/requests.csv', { from: '2026-01-01T00:00:00', to: '2026-03-01' }, 'query.from'],
      ['/reports/requests.csv', { from: 'yesterday', to: '2026-03-01' }, 'query.from'],
      ['/reports/requests.csv', { from: '2026-01-01', to: '2026-03-01', limit: '5' }, 'query'],
      [
        '/reports/requests.csv',
        { from: ['2026-01-01', '2026-02-01'], to: '2026-03-01' },
        'query.from',
      ],
      ['/reports/metrics', {}, 'query.year'],
      ['/reports/metrics', { year: '1999' }, 'query.year'],
      // The clock reads 2030: next year is the latest.
      ['/reports/metrics', { year: '2032' }, 'query.year'],
      ['/reports/metrics', { year: '2026.5' }, 'query.year'],
      ['/reports/metrics', { year: '2026', regulation: 'hipaa' }, 'query.regulation'],
      ['/reports/metrics', { year: '2026', format: 'xml' }, 'query.format'],
    ])('%s %j → 400 at %s', async (path, query, at) => {
      const before = await snapshotFirestore(f.store.fs.db);
      const res = await call(AUDITOR, path, query);
      expect(res.status).toBe(400);
      expect(res.stream).toBeUndefined();
      expect(errorOf(res).code).toBe('validation_failed');
      expect(errorOf(res).issues?.map((i) => i.path)).toContain(at);
      expect(await snapshotFirestore(f.store.fs.db)).toEqual(before);
    });

    it('names the 3-year limit', async () => {
      const res = await call(AUDITOR, '/reports/requests.csv', {
        from: '2020-01-01',
        to: '2023-01-02',
      });
      expect(errorOf(res).message).toMatch(/over 3 years/);
    });

    it('accepts exactly 3 years and the next calendar year', async () => {
      expect(
        (await call(AUDITOR, '/reports/requests.csv', { from: '2024-01-01', to: '2027-01-01' }))
          .status,
      ).toBe(200);
      expect((await call(AUDITOR, '/reports/metrics', { year: '2031' })).status).toBe(200);
    });
  });

  describe('roles', () => {
    it.each([
      [REQUESTER, '/reports/requests.csv'],
      [REQUESTER, '/reports/metrics'],
      [OPERATOR, '/reports/metrics'],
    ])('%s → %s: 403 naming auditor and admin', async (who, path) => {
      const res = await call(who, path, { from: '2026-01-01', to: '2027-01-01', year: '2026' });
      expect(res.status).toBe(403);
      expect(errorOf(res).message).toMatch(/auditor or admin/);
    });
  });
});
