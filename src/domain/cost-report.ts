import { localDate } from './deadline';
import type { Cost, Request, Run } from './model';

/**
 * `GET /costs` arithmetic, pure: run records grouped by task, month, regulation or request type,
 * and the audits (`POST /tasks/:id/audit`, which write no run) counted apart, by their caller.
 *
 * Sums are kept in whole nano-dollars (the 1e-9 USD every cost is rounded to), so a total does
 * not depend on the order runs were read in: the groups add up to exactly the requests' totals.
 */

export const COST_GROUPINGS = ['task', 'month', 'regulation', 'type'] as const;
export type CostGrouping = (typeof COST_GROUPINGS)[number];

/** A run's part in a report: the run, and the request it belongs to (null if it is gone). */
export interface CostedRun {
  run: Pick<Run, 'requestId' | 'taskId' | 'finishedAt' | 'cost' | 'dryRun'>;
  request: Pick<Request, 'type' | 'regulation'> | null;
}

/** One audit as the task's ledger keeps it (`audit_run`). */
export interface CostedAudit {
  taskId: string;
  caller: string;
  at: string;
  cost: Cost;
}

export interface CostTotals {
  /** Run records counted (every attempt and poll that billed, or not). */
  runs: number;
  /** Distinct requests those runs belong to. */
  requests: number;
  bytesBilled: number;
  usd: number;
  /** The part of the above spent by dry-run requests (their audits of every task). */
  dryRun: { runs: number; requests: number; bytesBilled: number; usd: number };
}

export interface CostGroup extends CostTotals {
  /** The task id, the month (`YYYY-MM`, business time zone), the regulation or the type. */
  key: string;
}

export interface AuditCallerCost {
  caller: string;
  audits: number;
  bytesBilled: number;
  usd: number;
}

export interface AuditCosts {
  audits: number;
  bytesBilled: number;
  usd: number;
  /** Each caller's audits, most expensive first. */
  byCaller: AuditCallerCost[];
}

/** The key a group is told apart by when the request of a run is gone (TTL after 3 years). */
export const UNKNOWN_KEY = 'unknown';

const NANOS = 1e9;
const toNanos = (usd: number): number => Math.round(usd * NANOS);
const fromNanos = (nanos: number): number => nanos / NANOS;

interface Tally {
  runs: number;
  requests: Set<string>;
  bytesBilled: number;
  nanos: number;
  dry: { runs: number; requests: Set<string>; bytesBilled: number; nanos: number };
}

const emptyTally = (): Tally => ({
  runs: 0,
  requests: new Set(),
  bytesBilled: 0,
  nanos: 0,
  dry: { runs: 0, requests: new Set(), bytesBilled: 0, nanos: 0 },
});

function add(t: Tally, run: CostedRun['run']): void {
  t.runs += 1;
  t.requests.add(run.requestId);
  t.bytesBilled += run.cost.bytesBilled;
  t.nanos += toNanos(run.cost.usd);
  if (run.dryRun) {
    t.dry.runs += 1;
    t.dry.requests.add(run.requestId);
    t.dry.bytesBilled += run.cost.bytesBilled;
    t.dry.nanos += toNanos(run.cost.usd);
  }
}

function totalsOf(t: Tally): CostTotals {
  return {
    runs: t.runs,
    requests: t.requests.size,
    bytesBilled: t.bytesBilled,
    usd: fromNanos(t.nanos),
    dryRun: {
      runs: t.dry.runs,
      requests: t.dry.requests.size,
      bytesBilled: t.dry.bytesBilled,
      usd: fromNanos(t.dry.nanos),
    },
  };
}

/** The group a run falls in. */
export function costKey(item: CostedRun, groupBy: CostGrouping, timeZone: string): string {
  switch (groupBy) {
    case 'task':
      return item.run.taskId;
    case 'month': {
      const { y, m } = localDate(new Date(item.run.finishedAt), timeZone);
      return `${y}-${String(m).padStart(2, '0')}`;
    }
    case 'regulation':
      return item.request?.regulation ?? UNKNOWN_KEY;
    case 'type':
      return item.request?.type ?? UNKNOWN_KEY;
  }
}

/** Accumulates runs and audits one page at a time, so a report never holds its whole range. */
export class CostReportBuilder {
  private readonly groups = new Map<string, Tally>();
  private readonly total = emptyTally();
  private readonly callers = new Map<
    string,
    { audits: number; bytesBilled: number; nanos: number }
  >();
  private audits = { audits: 0, bytesBilled: 0, nanos: 0 };

  constructor(
    readonly groupBy: CostGrouping,
    readonly timeZone: string,
  ) {}

  addRun(item: CostedRun): void {
    const key = costKey(item, this.groupBy, this.timeZone);
    let tally = this.groups.get(key);
    if (tally === undefined) {
      tally = emptyTally();
      this.groups.set(key, tally);
    }
    add(tally, item.run);
    add(this.total, item.run);
  }

  addAudit(audit: CostedAudit): void {
    const nanos = toNanos(audit.cost.usd);
    this.audits = {
      audits: this.audits.audits + 1,
      bytesBilled: this.audits.bytesBilled + audit.cost.bytesBilled,
      nanos: this.audits.nanos + nanos,
    };
    const caller = this.callers.get(audit.caller) ?? { audits: 0, bytesBilled: 0, nanos: 0 };
    this.callers.set(audit.caller, {
      audits: caller.audits + 1,
      bytesBilled: caller.bytesBilled + audit.cost.bytesBilled,
      nanos: caller.nanos + nanos,
    });
  }

  /** Every group, ordered by key (months in order, tasks by id). */
  groupsByKey(): CostGroup[] {
    return [...this.groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, t]) => ({ key, ...totalsOf(t) }));
  }

  totals(): CostTotals {
    return totalsOf(this.total);
  }

  auditCosts(): AuditCosts {
    return {
      audits: this.audits.audits,
      bytesBilled: this.audits.bytesBilled,
      usd: fromNanos(this.audits.nanos),
      byCaller: [...this.callers.entries()]
        .map(([caller, c]) => ({
          caller,
          audits: c.audits,
          bytesBilled: c.bytesBilled,
          usd: fromNanos(c.nanos),
        }))
        .sort((a, b) => b.usd - a.usd || a.caller.localeCompare(b.caller)),
    };
  }
}

/** The sum of costs in nano-dollars, back in USD: what a group's total is compared with. */
export function sumUsd(costs: readonly Cost[]): number {
  return fromNanos(costs.reduce((sum, c) => sum + toNanos(c.usd), 0));
}
