import { costReport, type CostReport } from '../app/costs';
import type { AppDeps } from '../app/deps';
import type { CostGroup } from '../domain/cost-report';

/** One row of a cost table: a task or a month, with what it billed. */
export type CostRow = CostGroup;

export interface CostSummary {
  from: string;
  to: string;
  timeZone: string;
  byMonth: CostRow[];
  byTask: CostRow[];
  totals: CostReport['totals'];
  audits: CostReport['audits'];
  /** True when a grouping had more groups than the pages read here. */
  truncated: boolean;
}

/** Groups read per grouping (pages of GET /costs) before the page stops. */
const MAX_PAGES = 5;

async function allGroups(
  deps: AppDeps,
  query: Record<string, string>,
): Promise<{ report: CostReport; groups: CostRow[]; truncated: boolean }> {
  const groups: CostRow[] = [];
  let cursor: string | undefined;
  let first: CostReport | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const report = await costReport(deps, {
      ...query,
      limit: '200',
      ...(cursor === undefined ? {} : { cursor }),
    });
    first ??= report;
    groups.push(...report.groups);
    cursor = report.nextCursor;
    if (cursor === undefined) break;
  }
  return { report: first!, groups, truncated: cursor !== undefined };
}

/**
 * Costs by month and by task over GET /costs' range (the `from`/`to` given, else the year up
 * to now), through the same use case and its validation (a bad value is a 400 naming it).
 */
export async function loadCosts(
  deps: AppDeps,
  range: { from?: string; to?: string },
): Promise<CostSummary> {
  const base: Record<string, string> = {
    ...(range.from === undefined ? {} : { from: range.from }),
    ...(range.to === undefined ? {} : { to: range.to }),
  };
  const [months, tasks] = await Promise.all([
    allGroups(deps, { ...base, groupBy: 'month' }),
    allGroups(deps, { ...base, groupBy: 'task' }),
  ]);
  return {
    from: months.report.from,
    to: months.report.to,
    timeZone: months.report.timeZone,
    byMonth: [...months.groups].sort((a, b) => a.key.localeCompare(b.key)),
    byTask: [...tasks.groups].sort((a, b) => b.usd - a.usd || a.key.localeCompare(b.key)),
    totals: months.report.totals,
    audits: months.report.audits,
    truncated: months.truncated || tasks.truncated,
  };
}
