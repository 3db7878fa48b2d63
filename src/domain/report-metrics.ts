import { localDate, startOfLocalDay, type LocalDate } from './deadline';
import {
  DENY_REASONS,
  REQUEST_TYPES,
  type DenyReason,
  type Request,
  type RequestType,
} from './model';

/**
 * The regulator reports' arithmetic (docs/compliance.md, "Regulator reports"), pure: what a
 * request's response was, the §7101 record row of a request, and the §7102 figures of a set
 * of requests, accumulated one request at a time so a report never holds its whole range.
 *
 * Definitions (the regulation leaves them to the business; these are ours):
 * - complied in whole: status `completed` and no instance cancelled (every task that applied
 *   ran and succeeded);
 * - complied in part: status `completed_with_errors` (a task failed for good), or
 *   `partially_completed` (one or more instances cancelled, refused by an approver or cancelled
 *   by an operator: part of the request was not carried out; requests closed before that
 *   status existed read `completed` with a cancelled count, and count the same);
 * - denied: status `denied` (`POST /requests/:id/deny`), with its basis `denial.reason`;
 * - cancelled: status `cancelled` (every applied instance cancelled: withdrawn, not answered);
 * - open: anything else (awaiting verification or approval, in progress): no response yet.
 * Dry runs (`dry_run_completed…`) are not requests to the business: the reports leave them out
 * before they get here (src/app/reports.ts).
 * The response date is `denial.at` for a denied request, else `completedAt`.
 */

/** How a request was answered, as the §7101 record names it. */
export type ResponseNature = 'complied' | 'complied in part' | 'denied' | 'cancelled' | 'open';

/** The regulation's words for our request types (11 CCR §7001, §7101(b)). */
export const REQUEST_NATURE: Readonly<Record<RequestType, string>> = {
  deletion: 'request to delete',
  records: 'request to know',
};

export type ReportedRequest = Pick<
  Request,
  | 'id'
  | 'type'
  | 'regulation'
  | 'channel'
  | 'receivedAt'
  | 'dueAt'
  | 'originalDueAt'
  | 'extension'
  | 'acknowledgement'
  | 'denial'
  | 'externalId'
  | 'status'
  | 'counts'
  | 'completedAt'
>;

export function responseNature(request: Pick<Request, 'status' | 'counts'>): ResponseNature {
  switch (request.status) {
    case 'completed':
      return (request.counts.cancelled ?? 0) > 0 ? 'complied in part' : 'complied';
    case 'partially_completed':
    case 'completed_with_errors':
      return 'complied in part';
    case 'denied':
      return 'denied';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'open';
  }
}

/** When the request was answered (complied with or denied), or undefined (open, cancelled). */
export function responseDate(
  request: Pick<Request, 'status' | 'counts' | 'denial' | 'completedAt'>,
): string | undefined {
  const nature = responseNature(request);
  if (nature === 'open' || nature === 'cancelled') return undefined;
  if (nature === 'denied') return request.denial?.at ?? request.completedAt;
  return request.completedAt;
}

/**
 * Calendar days from receipt to response: the response's date minus the receipt's date, both
 * in `zone` (a request answered the day it arrived took 0 days).
 */
export function daysToRespond(receivedAt: string, respondedAt: string, zone: string): number {
  const day = (d: LocalDate) => Date.UTC(d.y, d.m - 1, d.d);
  const from = day(localDate(new Date(receivedAt), zone));
  const to = day(localDate(new Date(respondedAt), zone));
  return Math.round((to - from) / 86_400_000);
}

// ---- 11 CCR §7101: the record of each request -------------------------------------------

/** The CSV's columns, in order: the §7101 record first, then ours. */
export const REQUEST_CSV_COLUMNS = [
  'date_of_request',
  'nature_of_request',
  'manner_of_request',
  'date_of_response',
  'nature_of_response',
  'basis_for_denial',
  'request_id',
  'external_id',
  'regulation',
  'due_at',
  'original_due_at',
  'extended',
  'extended_at',
  'acknowledged_at',
  'completed_at',
  'status',
] as const;

/**
 * One request's row, in REQUEST_CSV_COLUMNS order. Nothing that names the person: no subject,
 * no notes, no free-text reasons (the extension's reason and the denial's note may name them).
 */
export function requestRow(request: ReportedRequest): string[] {
  const nature = responseNature(request);
  return [
    request.receivedAt,
    REQUEST_NATURE[request.type],
    request.channel ?? 'api',
    responseDate(request) ?? '',
    nature === 'open' ? '' : nature,
    nature === 'denied' ? (request.denial?.reason ?? '') : '',
    request.id,
    request.externalId ?? '',
    request.regulation,
    request.dueAt,
    request.originalDueAt ?? request.extension?.previousDueAt ?? request.dueAt,
    request.extension === undefined ? 'no' : 'yes',
    request.extension?.at ?? '',
    request.acknowledgement?.at ?? '',
    request.completedAt ?? '',
    request.status,
  ];
}

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote, CR or LF, quotes doubled. A
 * cell a spreadsheet would read as a formula (starting with = + - @, tab or CR) is prefixed
 * with `'` first (OWASP CSV injection).
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One CSV line, CRLF-terminated as RFC 4180 asks. */
export function csvLine(cells: readonly (string | number)[]): string {
  return `${cells.map((c) => csvCell(String(c))).join(',')}\r\n`;
}

// ---- 11 CCR §7102: the yearly metrics ----------------------------------------------------

export interface DaysToRespond {
  /** Requests answered (complied with in whole or in part, or denied): the days' population. */
  responded: number;
  /** Calendar days; null when nothing was answered. */
  median: number | null;
  /** Calendar days, rounded to 2 decimals; null when nothing was answered. */
  mean: number | null;
}

export interface TypeMetrics {
  type: RequestType;
  /** The regulation's words: request to delete, request to know. */
  nature: string;
  received: number;
  compliedInWhole: number;
  compliedInPart: number;
  denied: number;
  deniedByReason: Record<DenyReason, number>;
  /** Withdrawn (every instance cancelled): received, but neither complied with nor denied. */
  cancelled: number;
  /** Not answered yet: received, but in no response figure and not in the days. */
  open: number;
  daysToRespond: DaysToRespond;
}

interface Tally {
  received: number;
  compliedInWhole: number;
  compliedInPart: number;
  denied: number;
  deniedByReason: Record<DenyReason, number>;
  cancelled: number;
  open: number;
  /** Days to respond → how many requests took that many: bounded by the range of days. */
  days: Map<number, number>;
}

const emptyTally = (): Tally => ({
  received: 0,
  compliedInWhole: 0,
  compliedInPart: 0,
  denied: 0,
  deniedByReason: Object.fromEntries(DENY_REASONS.map((r) => [r, 0])) as Record<DenyReason, number>,
  cancelled: 0,
  open: 0,
  days: new Map(),
});

/** Adds requests one at a time; `result()` gives the figures per request type. */
export class MetricsAccumulator {
  private readonly tallies = new Map<RequestType, Tally>(
    REQUEST_TYPES.map((t) => [t, emptyTally()]),
  );

  constructor(private readonly zone: string) {}

  add(request: ReportedRequest): void {
    const tally = this.tallies.get(request.type);
    if (tally === undefined) return;
    tally.received += 1;
    const nature = responseNature(request);
    if (nature === 'complied') tally.compliedInWhole += 1;
    else if (nature === 'complied in part') tally.compliedInPart += 1;
    else if (nature === 'denied') {
      tally.denied += 1;
      const reason = request.denial?.reason;
      // A reason outside today's list (older data) counts as `other`.
      const key: DenyReason =
        reason !== undefined && (DENY_REASONS as readonly string[]).includes(reason)
          ? reason
          : 'other';
      tally.deniedByReason[key] += 1;
    } else if (nature === 'cancelled') tally.cancelled += 1;
    else tally.open += 1;
    const responded = responseDate(request);
    if (responded !== undefined) {
      const days = daysToRespond(request.receivedAt, responded, this.zone);
      tally.days.set(days, (tally.days.get(days) ?? 0) + 1);
    }
  }

  result(): TypeMetrics[] {
    return REQUEST_TYPES.map((type) => {
      const t = this.tallies.get(type) ?? emptyTally();
      const { days, ...counts } = t;
      return {
        type,
        nature: REQUEST_NATURE[type],
        ...counts,
        deniedByReason: { ...counts.deniedByReason },
        daysToRespond: summariseDays(days),
      };
    });
  }
}

/** Median (the mean of the two middle values for an even count) and mean of a histogram. */
export function summariseDays(histogram: ReadonlyMap<number, number>): DaysToRespond {
  const values = [...histogram.entries()].sort(([a], [b]) => a - b);
  const n = values.reduce((sum, [, count]) => sum + count, 0);
  if (n === 0) return { responded: 0, median: null, mean: null };
  const total = values.reduce((sum, [days, count]) => sum + days * count, 0);
  const nth = (k: number): number => {
    let seen = 0;
    for (const [days, count] of values) {
      seen += count;
      if (k < seen) return days;
    }
    return values[values.length - 1]?.[0] ?? 0;
  };
  const median = n % 2 === 1 ? nth((n - 1) / 2) : (nth(n / 2 - 1) + nth(n / 2)) / 2;
  return { responded: n, median, mean: Math.round((total / n) * 100) / 100 };
}

/** The metrics CSV's columns: one row per request type. */
export const METRICS_CSV_COLUMNS = [
  'year',
  'regulation',
  'request_type',
  'nature_of_request',
  'received',
  'complied_in_whole',
  'complied_in_part',
  'denied',
  ...DENY_REASONS.map((r) => `denied_${r}`),
  'cancelled',
  'open',
  'responded',
  'median_days_to_respond',
  'mean_days_to_respond',
] as const;

export function metricsRow(year: number, regulation: string, m: TypeMetrics): (string | number)[] {
  return [
    year,
    regulation,
    m.type,
    m.nature,
    m.received,
    m.compliedInWhole,
    m.compliedInPart,
    m.denied,
    ...DENY_REASONS.map((r) => m.deniedByReason[r]),
    m.cancelled,
    m.open,
    m.daysToRespond.responded,
    m.daysToRespond.median ?? '',
    m.daysToRespond.mean ?? '',
  ];
}

// ---- Ranges ---------------------------------------------------------------------------------

/** The instants a calendar year starts and ends in `zone`: [from, to). */
export function yearRange(year: number, zone: string): { from: Date; to: Date } {
  return {
    from: startOfLocalDay({ y: year, m: 1, d: 1 }, zone),
    to: startOfLocalDay({ y: year + 1, m: 1, d: 1 }, zone),
  };
}

/** A report's longest range: 3 years (the CCPA record is kept 24 months). */
export const MAX_REPORT_YEARS = 3;

/** The latest `to` a range starting at `from` may have. */
export function latestReportEnd(from: Date): Date {
  const end = new Date(from);
  end.setUTCFullYear(end.getUTCFullYear() + MAX_REPORT_YEARS);
  return end;
}
