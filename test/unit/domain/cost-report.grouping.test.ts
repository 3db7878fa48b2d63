import { bigQueryCost } from '../../../src/domain/cost';
import {
  CostReportBuilder,
  sumUsd,
  UNKNOWN_KEY,
  type CostedRun,
} from '../../../src/domain/cost-report';

const MIB = 2 ** 20;

const run = (
  requestId: string,
  taskId: string,
  finishedAt: string,
  mib: number,
  request: CostedRun['request'] = { type: 'deletion', regulation: 'gdpr' },
  dryRun = false,
): CostedRun => ({
  run: { requestId, taskId, finishedAt, cost: bigQueryCost(mib * MIB), dryRun },
  request,
});

const runs: CostedRun[] = [
  run('r1', 'crm', '2026-01-31T23:30:00.000Z', 10),
  run('r1', 'ga', '2026-02-01T00:30:00.000Z', 30),
  run('r2', 'crm', '2026-02-03T10:00:00.000Z', 20, { type: 'records', regulation: 'ccpa' }),
  run('r3', 'crm', '2026-02-04T10:00:00.000Z', 10, { type: 'deletion', regulation: 'ccpa' }, true),
  run('r4', 'crm', '2026-02-05T10:00:00.000Z', 7, null),
];

function build(groupBy: 'task' | 'month' | 'regulation' | 'type', zone = 'UTC') {
  const b = new CostReportBuilder(groupBy, zone);
  for (const r of runs) b.addRun(r);
  return b;
}

describe('CostReportBuilder', () => {
  it('groups by task, counting runs, requests, bytes and USD, with the dry-run part apart', () => {
    const groups = build('task').groupsByKey();
    expect(groups.map((g) => [g.key, g.runs, g.requests, g.bytesBilled / MIB])).toEqual([
      ['crm', 4, 4, 47],
      ['ga', 1, 1, 30],
    ]);
    expect(groups[0]?.dryRun).toEqual({
      runs: 1,
      requests: 1,
      bytesBilled: 10 * MIB,
      usd: bigQueryCost(10 * MIB).usd,
    });
  });

  it('counts months in the business time zone', () => {
    expect(
      build('month')
        .groupsByKey()
        .map((g) => [g.key, g.runs]),
    ).toEqual([
      ['2026-01', 1],
      ['2026-02', 4],
    ]);
    // 23:30 UTC on 31 January is already February in Berlin.
    expect(
      build('month', 'Europe/Berlin')
        .groupsByKey()
        .map((g) => [g.key, g.runs]),
    ).toEqual([['2026-02', 5]]);
  });

  it('groups by regulation and type, a gone request under unknown', () => {
    expect(
      build('regulation')
        .groupsByKey()
        .map((g) => [g.key, g.runs]),
    ).toEqual([
      ['ccpa', 2],
      ['gdpr', 2],
      [UNKNOWN_KEY, 1],
    ]);
    expect(
      build('type')
        .groupsByKey()
        .map((g) => [g.key, g.requests]),
    ).toEqual([
      ['deletion', 2],
      ['records', 1],
      [UNKNOWN_KEY, 1],
    ]);
  });

  it('adds groups up to the totals exactly, in any order of reading', () => {
    for (const groupBy of ['task', 'month', 'regulation', 'type'] as const) {
      const b = build(groupBy);
      const totals = b.totals();
      const groups = b.groupsByKey();
      expect(sumUsd(groups.map((g) => ({ usd: g.usd, bytesBilled: 0 })))).toBe(totals.usd);
      expect(groups.reduce((s, g) => s + g.bytesBilled, 0)).toBe(totals.bytesBilled);
      expect(totals.usd).toBe(sumUsd(runs.map((r) => r.run.cost)));
      const reversed = new CostReportBuilder(groupBy, 'UTC');
      for (const r of [...runs].reverse()) reversed.addRun(r);
      expect(reversed.totals()).toEqual(totals);
    }
  });

  it('sums 0.1 + 0.2 as 0.3: whole nano-dollars, no float drift', () => {
    const b = new CostReportBuilder('task', 'UTC');
    for (const usd of [0.1, 0.2]) {
      b.addRun({
        run: {
          requestId: 'r',
          taskId: 't',
          finishedAt: '2026-01-01T00:00:00Z',
          cost: { usd, bytesBilled: 1 },
          dryRun: false,
        },
        request: null,
      });
    }
    expect(b.totals().usd).toBe(0.3);
  });

  it('counts audits apart, by caller, most expensive first', () => {
    const b = build('task');
    const audit = (caller: string, mib: number) =>
      b.addAudit({
        taskId: 'crm',
        caller,
        at: '2026-02-01T00:00:00Z',
        cost: bigQueryCost(mib * MIB),
      });
    audit('ann@example.com', 10);
    audit('bob@example.com', 20);
    audit('ann@example.com', 10);
    const audits = b.auditCosts();
    expect(audits).toMatchObject({ audits: 3, bytesBilled: 40 * MIB });
    expect(audits.byCaller.map((c) => [c.caller, c.audits, c.bytesBilled / MIB])).toEqual([
      ['ann@example.com', 2, 20],
      ['bob@example.com', 1, 20],
    ]);
    // Audits are no request's: the groups and totals do not include them.
    expect(b.totals().runs).toBe(runs.length);
  });
});
