import type { RequestRow } from '../../../src/app/request-listing';
import type { HttpResponse } from '../../../src/http/types';
import { snapshotFirestore } from '../../e2e/support/firestore-snapshot';
import { aTask, T0, useDispatchFixture } from '../dispatch/harness';
import { apiHarness } from './support/api-harness';

/**
 * GET /requests on the Firestore emulator, through the router: every filter, both sorts,
 * paging with opaque cursors bound to their filter, a requester's own, the closed statuses of a
 * dry run and of a partly cancelled deletion, and bad filters refused with nothing written.
 */

const FILER = 'filer@example.com';
const OTHER = 'other@example.com';
const APPROVER = 'approver@example.com';
const AUDITOR = 'auditor@example.com';

const DAY = 86_400_000;
const daysFromT0 = (days: number) => new Date(T0.getTime() + days * DAY).toISOString();

type Listed = { items: RequestRow[]; nextCursor?: string };
const errorOf = (res: HttpResponse) =>
  (res.body as { error: { code: string; issues?: { path: string; message: string }[] } }).error;

describe('GET /requests: filters, sorts, paging and statuses', () => {
  const f = useDispatchFixture();
  const api = apiHarness(f, () => f.deps());
  /** Request ids by letter, as filed in beforeEach. */
  const ids: Record<string, string> = {};
  const letter = (id: string) => Object.keys(ids).find((k) => ids[k] === id) ?? id;

  async function list(query: Record<string, unknown>, who = AUDITOR): Promise<Listed> {
    const res = await api.call(who, 'GET', '/requests', { query });
    expect(res.status).toBe(200);
    return res.body as Listed;
  }
  const letters = async (query: Record<string, unknown>, who = AUDITOR) =>
    (await list(query, who)).items.map((r) => letter(r.id));

  /** Every page of a listing, following nextCursor to its end. */
  async function pages(query: Record<string, unknown>, who = AUDITOR): Promise<string[][]> {
    const out: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await list({ ...query, ...(cursor === undefined ? {} : { cursor }) }, who);
      out.push(page.items.map((r) => letter(r.id)));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return out;
  }

  beforeEach(async () => {
    await api.bind([
      { role: 'requester', identities: [FILER, OTHER] },
      { role: 'approver', identities: [APPROVER] },
      { role: 'auditor', identities: [AUDITOR] },
    ]);
    await f.store.store.createTask(aTask('crm'));
    await f.store.store.createTask(aTask('ga', { requiresApproval: true, approvalsRequired: 1 }));
    await f.store.store.createTask(aTask('export', { jobType: 'records' }));

    const file = async (name: string, who: string, body: Record<string, unknown>) => {
      const res = await api.call(who, 'POST', '/requests', {
        body: { subject: { email: `${name}@example.com` }, ...body },
      });
      expect(res.status).toBe(201);
      ids[name] = (res.body as { id: string }).id;
    };
    // A: open, awaiting the GA approval; B: records, completed; C: at risk (CCPA, 5 of 45 days
    // left); D: overdue (LGPD, 15 days, filed 20 days ago); E: a dry run; F: OTHER's, partly
    // cancelled.
    await file('A', FILER, {
      type: 'deletion',
      externalId: 'ext-a',
      receivedAt: daysFromT0(-10),
    });
    await file('B', FILER, {
      type: 'records',
      regulation: 'ccpa',
      externalId: 'ext-b',
      receivedAt: daysFromT0(-5),
    });
    await file('C', FILER, { type: 'deletion', regulation: 'ccpa', receivedAt: daysFromT0(-40) });
    await file('D', FILER, { type: 'deletion', regulation: 'lgpd', receivedAt: daysFromT0(-20) });
    await file('E', FILER, { type: 'deletion', dryRun: true, receivedAt: daysFromT0(-1) });
    await file('F', OTHER, { type: 'deletion', receivedAt: daysFromT0(-2) });
    for (const name of ['E', 'F']) {
      const res = await api.call(APPROVER, 'POST', `/requests/${ids[name]}/deny`, {
        body: { reason: 'exempt', taskIds: ['ga'] },
      });
      expect(res.status).toBe(200);
    }
    await api.runQueued();
  });

  it('lists real requests newest filed first by default, and dry runs only when asked', async () => {
    expect(await letters({})).toEqual(['F', 'B', 'A', 'D', 'C']);
    expect(await letters({ dryRun: 'true' })).toEqual(['E']);
    expect(await letters({ dryRun: 'false', sort: 'dueAt' })).toEqual(['D', 'C', 'A', 'F', 'B']);
  });

  it('shows a dry run and a partly cancelled deletion with their own closed status', async () => {
    const [dry] = (await list({ dryRun: 'true' })).items;
    expect(dry).toMatchObject({ status: 'dry_run_completed', dryRun: true });
    const partly = (await list({ status: 'partially_completed' })).items;
    expect(partly.map((r) => [letter(r.id), r.counts])).toEqual([
      ['F', { succeeded: 1, cancelled: 1 }],
    ]);
    expect(await letters({ status: 'completed' })).toEqual(['B']);
    expect(await letters({ status: 'completed', dryRun: 'true' })).toEqual([]);
    for (const [name, status] of [
      ['E', 'dry_run_completed'],
      ['F', 'partially_completed'],
    ] as const) {
      const one = await api.call(AUDITOR, 'GET', `/requests/${ids[name]}`);
      expect(one.body).toMatchObject({ status });
    }
  });

  // One test for the table: each case re-filing six requests would triple the suite's time.
  it('filters by each criterion, alone and together', async () => {
    const cases: [string, Record<string, string>, string[]][] = [
      ['type', { type: 'records' }, ['B']],
      ['regulation', { regulation: 'ccpa' }, ['B', 'C']],
      ['externalId', { externalId: 'ext-a' }, ['A']],
      ['externalId of no request', { externalId: 'ext-z' }, []],
      ['externalId among dry runs', { externalId: 'ext-a', dryRun: 'true' }, []],
      ['several statuses', { status: 'awaiting_approval,completed' }, ['B', 'A', 'D', 'C']],
      ['overdue', { overdue: 'true' }, ['D']],
      ['not overdue', { overdue: 'false' }, ['F', 'B', 'A', 'C']],
      ['deadline risk', { deadlineRisk: 'at_risk' }, ['C']],
      [
        'deadline risks by deadline',
        { deadlineRisk: 'overdue,at_risk', sort: 'dueAt' },
        ['D', 'C'],
      ],
      ['a filing window', { filedFrom: daysFromT0(-11), filedTo: daysFromT0(-3) }, ['B', 'A']],
      [
        'a filing window, by deadline',
        { filedFrom: daysFromT0(-11), filedTo: daysFromT0(-3), sort: 'dueAt' },
        ['A', 'B'],
      ],
      ['due before, by deadline', { dueBefore: daysFromT0(10), sort: 'dueAt' }, ['D', 'C']],
      ['due before, by filing', { dueBefore: daysFromT0(10) }, ['D', 'C']],
      ['a task', { task: 'export' }, ['B']],
      ['a task every deletion has', { task: 'ga' }, ['F', 'A', 'D', 'C']],
      ['a task no request has', { task: 'nothing' }, []],
      [
        'type, regulation and status together',
        { type: 'deletion', regulation: 'gdpr', status: 'awaiting_approval' },
        ['A'],
      ],
    ];
    for (const [name, query, expected] of cases) {
      expect([name, await letters(query)]).toEqual([name, expected]);
    }
  });

  it('pages with a cursor, the same items as one page, with and without in-memory filters', async () => {
    expect(await pages({ limit: '2' })).toEqual([['F', 'B'], ['A', 'D'], ['C']]);
    expect(await pages({ limit: '1', sort: 'dueAt' })).toEqual([
      ['D'],
      ['C'],
      ['A'],
      ['F'],
      ['B'],
      [],
    ]);
    expect(await pages({ limit: '1', regulation: 'ccpa' })).toEqual([['B'], ['C'], []]);
    expect(await pages({ limit: '1', status: 'awaiting_approval', sort: 'dueAt' })).toEqual([
      ['D'],
      ['C'],
      ['A'],
      [],
    ]);
  });

  it('refuses a cursor used with another filter or sort, or one it never issued', async () => {
    const { nextCursor } = await list({ limit: '1' });
    expect(nextCursor).toBeDefined();
    // The same filter with another page size may follow it.
    expect((await list({ limit: '3', cursor: nextCursor })).items.map((r) => letter(r.id))).toEqual(
      ['B', 'A', 'D'],
    );
    const forged = Buffer.from(JSON.stringify([1, daysFromT0(0), '../tasks/crm', 'x'])).toString(
      'base64url',
    );
    for (const query of [
      { sort: 'dueAt', cursor: nextCursor },
      { type: 'deletion', cursor: nextCursor },
      { cursor: forged },
      { cursor: 'bm90LWpzb24' },
    ]) {
      const res = await api.call(AUDITOR, 'GET', '/requests', { query });
      expect(res.status).toBe(400);
      expect(errorOf(res)).toMatchObject({
        code: 'invalid_cursor',
        issues: [expect.objectContaining({ path: 'query.cursor' })],
      });
    }
    // A requester cannot follow an auditor's cursor either.
    const res = await api.call(FILER, 'GET', '/requests', { query: { cursor: nextCursor } });
    expect(res.status).toBe(400);
  });

  it('shows a requester only their own, whatever the filter', async () => {
    expect(await letters({}, FILER)).toEqual(['B', 'A', 'D', 'C']);
    expect(await letters({}, OTHER)).toEqual(['F']);
    expect(await letters({ status: 'partially_completed' }, FILER)).toEqual([]);
    expect(await letters({ status: 'awaiting_approval', sort: 'dueAt' }, FILER)).toEqual([
      'D',
      'C',
      'A',
    ]);
    expect(await letters({ externalId: 'ext-a' }, OTHER)).toEqual([]);
    expect(await letters({ dryRun: 'true' }, FILER)).toEqual(['E']);
    expect(await pages({ limit: '2', sort: 'dueAt' }, FILER)).toEqual([['D', 'C'], ['A', 'B'], []]);
  });

  it('refuses each bad filter with a 400 naming the field, writing nothing', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'filedTo before filedFrom',
        { filedFrom: '2030-02-01', filedTo: '2030-01-01' },
        'query.filedTo',
      ],
      ['an unknown status', { status: 'done' }, 'query.status'],
      ['an unknown type', { type: 'erasure' }, 'query.type'],
      ['an unknown filter', { team: 'crm' }, 'query.team'],
      ['a bad sort', { sort: 'createdAt' }, 'query.sort'],
      ['a repeated parameter', { status: ['completed', 'denied'] }, 'query.status'],
    ];
    const before = await snapshotFirestore(f.store.fs.db);
    for (const [name, query, path] of cases) {
      const res = await api.call(AUDITOR, 'GET', '/requests', { query });
      expect([name, res.status]).toEqual([name, 400]);
      expect(errorOf(res).issues?.map((i) => i.path)).toContain(path);
    }
    expect(await snapshotFirestore(f.store.fs.db)).toEqual(before);
  });
});
