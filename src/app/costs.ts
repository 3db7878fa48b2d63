import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  COST_GROUPINGS,
  CostReportBuilder,
  type AuditCosts,
  type CostGroup,
  type CostGrouping,
  type CostTotals,
  type CostedRun,
} from '../domain/cost-report';
import { ValidationError } from '../domain/errors';
import type { Request } from '../domain/model';
import { latestReportEnd, MAX_REPORT_YEARS } from '../domain/report-metrics';
import { DEFAULT_LIST_LIMIT, instantParam, MAX_LIST_LIMIT } from '../domain/request-filter';
import type { AppDeps } from './deps';

/**
 * `GET /costs?groupBy=task|month|regulation|type&from=&to=`: what BigQuery billed, read from the
 * run records of every request whose runs finished in `[from, to)`, grouped; and the task audits
 * (`POST /tasks/:id/audit`, which write no run, only an `audit_run` entry in the task's ledger)
 * counted apart, by caller. A request's runs add up to its `cost` (GET /requests/:id).
 */

export type CostDeps = Pick<AppDeps, 'store' | 'clock' | 'settings'>;

/** Run records and audits read per store page. */
export const COST_PAGE_SIZE = 500;
/** The range asked for when none is given: the year up to now. */
export const DEFAULT_COST_RANGE_DAYS = 365;

export interface CostQuery {
  groupBy: CostGrouping;
  from: string;
  to: string;
  limit: number;
  cursor?: string;
}

export interface CostReport {
  groupBy: CostGrouping;
  from: string;
  to: string;
  /** The zone months are counted in. */
  timeZone: string;
  currency: 'USD';
  /** This page of groups, by key. */
  groups: CostGroup[];
  /** Every group together (every page). */
  totals: CostTotals;
  /** Task audits in the range: not part of any request, so of no group. */
  audits: AuditCosts;
  nextCursor?: string;
}

const costQuerySchema = (zone: string) =>
  z
    .object({
      groupBy: z
        .enum(COST_GROUPINGS, {
          errorMap: () => ({ message: `groupBy must be one of: ${COST_GROUPINGS.join(', ')}` }),
        })
        .default('task'),
      from: instantParam(zone).optional(),
      to: instantParam(zone).optional(),
      limit: z
        .string()
        .regex(/^\d{1,4}$/, `a whole number, 1-${MAX_LIST_LIMIT}`)
        .transform(Number)
        .pipe(
          z
            .number()
            .min(1, `a whole number, 1-${MAX_LIST_LIMIT}`)
            .max(MAX_LIST_LIMIT, `a whole number, 1-${MAX_LIST_LIMIT}`),
        )
        .default(String(DEFAULT_LIST_LIMIT)),
      cursor: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,500}$/, 'not a cursor this report issued')
        .optional(),
    })
    .strict();

/** The query of GET /costs, with its defaults; 400 naming the field for anything wrong. */
export function parseCostQuery(query: unknown, now: Date, zone: string): CostQuery {
  const parsed = costQuerySchema(zone).safeParse(query);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues, ['query']);
  const q = parsed.data;
  const to = q.to ?? now.toISOString();
  const from =
    q.from ?? new Date(Date.parse(to) - DEFAULT_COST_RANGE_DAYS * 86_400_000).toISOString();
  const bad = (field: 'from' | 'to', message: string) =>
    new ValidationError(`Invalid input: query.${field}: ${message}`, [
      { path: `query.${field}`, message },
    ]);
  if (Date.parse(to) <= Date.parse(from)) {
    throw q.to === undefined
      ? bad('from', 'must be before to (now, when to is not given)')
      : bad('to', 'must be after from');
  }
  if (Date.parse(to) > latestReportEnd(new Date(from)).getTime()) {
    throw bad(
      'to',
      `the range is over ${MAX_REPORT_YEARS} years; ask for at most ${MAX_REPORT_YEARS} years at a time`,
    );
  }
  return {
    groupBy: q.groupBy,
    from,
    to,
    limit: q.limit,
    ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
  };
}

/** The report: every run and audit in the range read page by page, the groups paged after. */
export async function costReport(deps: CostDeps, rawQuery: unknown): Promise<CostReport> {
  const zone = deps.settings.businessTimeZone;
  const query = parseCostQuery(rawQuery, deps.clock.now(), zone);
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([query.groupBy, query.from, query.to]))
    .digest('base64url')
    .slice(0, 16);
  const afterKey = query.cursor === undefined ? undefined : decodeKey(query.cursor, fingerprint);

  const builder = new CostReportBuilder(query.groupBy, zone);
  const needsRequest = query.groupBy === 'regulation' || query.groupBy === 'type';
  const requests = new Map<string, Pick<Request, 'type' | 'regulation'> | null>();
  let cursor: string | undefined;
  do {
    const page = await deps.store.queryRunsFinished(query.from, query.to, COST_PAGE_SIZE, cursor);
    if (needsRequest) {
      const missing = [...new Set(page.items.map((r) => r.requestId))].filter(
        (id) => !requests.has(id),
      );
      const found = await Promise.all(missing.map((id) => deps.store.getRequest(id)));
      missing.forEach((id, i) => {
        const r = found[i];
        requests.set(id, r ? { type: r.type, regulation: r.regulation } : null);
      });
    }
    for (const run of page.items) {
      const item: CostedRun = { run, request: requests.get(run.requestId) ?? null };
      builder.addRun(item);
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);

  do {
    const page = await deps.store.queryAuditRuns(query.from, query.to, COST_PAGE_SIZE, cursor);
    for (const entry of page.items) {
      builder.addAudit({
        taskId: entry.taskId ?? 'unknown',
        caller: entry.actor,
        at: entry.at,
        cost: {
          usd: numberOr0(entry.details?.['costUsd']),
          bytesBilled: numberOr0(entry.details?.['bytesBilled']),
        },
      });
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);

  const all = builder.groupsByKey();
  const rest = afterKey === undefined ? all : all.filter((g) => g.key > afterKey);
  const groups = rest.slice(0, query.limit);
  const last = groups[groups.length - 1];
  return {
    groupBy: query.groupBy,
    from: query.from,
    to: query.to,
    timeZone: zone,
    currency: 'USD',
    groups,
    totals: builder.totals(),
    audits: builder.auditCosts(),
    ...(rest.length > groups.length && last !== undefined
      ? { nextCursor: encodeKey(last.key, fingerprint) }
      : {}),
  };
}

function numberOr0(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

function encodeKey(key: string, fingerprint: string): string {
  return Buffer.from(JSON.stringify([key, fingerprint])).toString('base64url');
}

function decodeKey(cursor: string, fingerprint: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'string' ||
    parsed[1] !== fingerprint
  ) {
    const message = 'not a cursor this report issued for this groupBy, from and to';
    throw new ValidationError(
      `Invalid input: query.cursor: ${message}`,
      [{ path: 'query.cursor', message }],
      'invalid_cursor',
    );
  }
  return parsed[0];
}
