import { z } from 'zod';
import type { CostReport } from '../../../src/app/costs';
import { bigQueryCost } from '../../../src/domain/cost';
import { sumUsd } from '../../../src/domain/cost-report';
import { PermanentError } from '../../../src/domain/errors';
import type { Cost } from '../../../src/domain/model';
import { defineExecutor, withSpend } from '../../../src/executors/contract';
import { noopExecutor } from '../../../src/executors/noop';
import { createExecutorRegistry } from '../../../src/executors/registry';
import type { HttpResponse } from '../../../src/http/types';
import { snapshotFirestore } from '../../e2e/support/firestore-snapshot';
import { aTask, T0, useDispatchFixture } from '../dispatch/harness';
import { apiHarness } from './support/api-harness';

/**
 * GET /costs on the Firestore emulator: requests filed and run through the router with an
 * executor that bills, a failed attempt that billed before a retry, a dry run, and task audits
 * by two callers. The groups, however grouped, add up exactly to the requests' own totals
 * (GET /requests/:id), and the audits are counted apart, by caller.
 */

const MIB = 2 ** 20;
const FILER = 'filer@example.com';
const OPERATOR = 'operator@example.com';
const AUDITOR = 'auditor@example.com';
const TESTERS = ['tester.one@example.com', 'tester.two@example.com'];

/** Bills `mib` MiB a run (a tenth of it in audit mode); with `failFirst`, its first run fails. */
const failedOnce = new Set<string>();
const billed = defineExecutor({
  name: 'test.billed',
  description: 'bills what its config says',
  configSchema: z.object({ mib: z.number(), failFirst: z.boolean().default(false) }).strict(),
  jobTypes: () => ['deletion', 'records'],
  run: async ({ config, dryRun, requestId, taskId }) => {
    const cost = bigQueryCost(((dryRun ? 0.1 : 1) * config.mib * MIB) | 0);
    const key = `${requestId}/${taskId}`;
    if (config.failFirst && !dryRun && !failedOnce.has(key)) {
      failedOnce.add(key);
      throw withSpend(new PermanentError('the warehouse refused'), { cost });
    }
    return { outcome: 'succeeded', message: 'billed', cost };
  },
});
const executors = createExecutorRegistry([noopExecutor, billed]);

const errorOf = (res: HttpResponse) =>
  (res.body as { error: { code: string; issues?: { path: string }[] } }).error;

describe('GET /costs: from the run records, consistent with the requests, audits apart', () => {
  const f = useDispatchFixture();
  const deps = () => ({ ...f.deps(), executors });
  const api = apiHarness(f, deps);
  const requestIds: string[] = [];
  const range = { from: '2030-01-01', to: '2030-12-01' };

  async function costs(query: Record<string, string>, who = AUDITOR): Promise<CostReport> {
    const res = await api.call(who, 'GET', '/costs', { query });
    expect(res.status).toBe(200);
    return res.body as CostReport;
  }

  beforeEach(async () => {
    failedOnce.clear();
    requestIds.splice(0);
    await api.bind([
      { role: 'requester', identities: [FILER] },
      { role: 'operator', identities: [OPERATOR] },
      { role: 'auditor', identities: [AUDITOR] },
      { role: 'task_tester', identities: TESTERS },
    ]);
    const task = (id: string, jobType: 'deletion' | 'records', config: Record<string, unknown>) =>
      f.store.store.createTask(
        aTask(id, { executor: 'test.billed', jobType, config, maxAttempts: 1 }),
      );
    await task('wh-delete', 'deletion', { mib: 10 });
    await task('wh-flaky', 'deletion', { mib: 20, failFirst: true });
    await task('wh-export', 'records', { mib: 30 });

    const file = async (body: Record<string, unknown>) => {
      const res = await api.call(FILER, 'POST', '/requests', {
        body: { subject: { email: `s${requestIds.length}@example.com` }, ...body },
      });
      expect(res.status).toBe(201);
      requestIds.push((res.body as { id: string }).id);
      await api.runQueued();
    };
    await file({ type: 'deletion' });
    await file({ type: 'records', regulation: 'ccpa' });
    await file({ type: 'deletion', dryRun: true });
    // A month later, under another law.
    f.now = new Date(T0.getTime() + 40 * 86_400_000);
    await file({ type: 'deletion', regulation: 'ccpa' });
    // The flaky task failed (and billed) once in each real deletion: retry them.
    for (const id of [requestIds[0], requestIds[3]]) {
      const res = await api.call(OPERATOR, 'POST', `/requests/${id}/instances/wh-flaky/retry`, {
        body: {},
      });
      expect(res.status).toBe(202);
    }
    await api.runQueued();
    for (const [who, n] of [
      [TESTERS[0]!, 2],
      [TESTERS[1]!, 1],
    ] as const) {
      for (let i = 0; i < n; i += 1) {
        const res = await api.call(who, 'POST', '/tasks/wh-delete/audit', {
          body: { subject: { email: 'audited@example.com' } },
        });
        expect(res.status).toBe(200);
      }
    }
  });

  it('adds up, however grouped, to exactly the per-request totals', async () => {
    const perRequest: Cost[] = [];
    for (const id of requestIds) {
      const res = await api.call(AUDITOR, 'GET', `/requests/${id}`);
      perRequest.push((res.body as { cost: Cost }).cost);
    }
    const expectedUsd = sumUsd(perRequest);
    const expectedBytes = perRequest.reduce((s, c) => s + c.bytesBilled, 0);
    // 10 + 20 (failed) + 20 MiB, 30, a dry run's tenth of 10 + 20, and 10 + 20 + 20 again.
    expect(expectedBytes).toBe(
      (10 + 20 + 20 + 30 + 10 + 20 + 20) * MIB + (MIB | 0) + ((2 * MIB) | 0),
    );

    for (const groupBy of ['task', 'month', 'regulation', 'type']) {
      const report = await costs({ groupBy, ...range });
      expect(report.nextCursor).toBeUndefined();
      expect([groupBy, sumUsd(report.groups)]).toEqual([groupBy, expectedUsd]);
      expect(report.groups.reduce((s, g) => s + g.bytesBilled, 0)).toBe(expectedBytes);
      expect(report.totals).toMatchObject({
        usd: expectedUsd,
        bytesBilled: expectedBytes,
        requests: requestIds.length,
      });
    }

    const byTask = await costs({ groupBy: 'task', ...range });
    expect(byTask.groups.map((g) => [g.key, g.runs, g.requests, g.bytesBilled / MIB])).toEqual([
      ['wh-delete', 3, 3, 21],
      ['wh-export', 1, 1, 30],
      // Two failed attempts that billed, two retries, and the dry run's audit.
      ['wh-flaky', 5, 3, 82],
    ]);
    expect(byTask.groups.find((g) => g.key === 'wh-delete')?.dryRun).toMatchObject({
      runs: 1,
      requests: 1,
    });
    const byMonth = await costs({ groupBy: 'month', ...range });
    expect(byMonth.groups.map((g) => [g.key, g.requests])).toEqual([
      ['2030-03', 3],
      ['2030-04', 2],
    ]);
    const byType = await costs({ groupBy: 'type', ...range });
    expect(byType.groups.map((g) => [g.key, g.requests])).toEqual([
      ['deletion', 3],
      ['records', 1],
    ]);
  });

  it('counts task audits apart, attributed to their caller', async () => {
    const report = await costs({ groupBy: 'regulation', ...range });
    const one = bigQueryCost((0.1 * 10 * MIB) | 0);
    expect(report.audits).toEqual({
      audits: 3,
      bytesBilled: 3 * one.bytesBilled,
      usd: sumUsd([one, one, one]),
      byCaller: [
        {
          caller: TESTERS[0],
          audits: 2,
          bytesBilled: 2 * one.bytesBilled,
          usd: sumUsd([one, one]),
        },
        { caller: TESTERS[1], audits: 1, bytesBilled: one.bytesBilled, usd: one.usd },
      ],
    });
    // An audit is no request's: the groups hold the requests' runs only.
    expect(report.groups.map((g) => g.key)).toEqual(['ccpa', 'gdpr']);
  });

  it('pages the groups with a cursor bound to its query, and keeps to its range', async () => {
    const all = await costs({ groupBy: 'task', ...range });
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await costs({
        groupBy: 'task',
        ...range,
        limit: '1',
        ...(cursor === undefined ? {} : { cursor }),
      });
      expect(page.totals).toEqual(all.totals);
      paged.push(...page.groups.map((g) => g.key));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(paged).toEqual(all.groups.map((g) => g.key));

    const first = await costs({ groupBy: 'task', ...range, limit: '1' });
    const reused = await api.call(AUDITOR, 'GET', '/costs', {
      query: { groupBy: 'month', ...range, cursor: first.nextCursor },
    });
    expect(errorOf(reused)).toMatchObject({ code: 'invalid_cursor' });

    // March only: the first three requests' runs and the audits (made at T0 + 40 days) not.
    const march = await costs({ groupBy: 'month', from: '2030-03-01', to: '2030-04-01' });
    expect(march.groups.map((g) => g.key)).toEqual(['2030-03']);
    expect(march.audits.audits).toBe(0);
  });

  it('is for auditors, operators and admins, and refuses a bad range naming the field', async () => {
    expect((await api.call(OPERATOR, 'GET', '/costs', { query: range })).status).toBe(200);
    const requester = await api.call(FILER, 'GET', '/costs', { query: range });
    expect(requester.status).toBe(403);

    const before = await snapshotFirestore(f.store.fs.db);
    for (const [query, path] of [
      [{ from: '2030-06-01', to: '2030-01-01' }, 'query.to'],
      [{ from: '2026-01-01', to: '2030-01-01' }, 'query.to'],
      [{ groupBy: 'team', ...range }, 'query.groupBy'],
      [{ ...range, limit: '0' }, 'query.limit'],
    ] as const) {
      const res = await api.call(AUDITOR, 'GET', '/costs', { query });
      expect(res.status).toBe(400);
      expect(errorOf(res).issues?.map((i) => i.path)).toEqual([path]);
    }
    expect(await snapshotFirestore(f.store.fs.db)).toEqual(before);
  });
});
