import { z } from 'zod';
import { localDate, startOfLocalDay } from '../domain/deadline';
import { ValidationError } from '../domain/errors';
import { isoDateTime, REGULATIONS, type Regulation, type Request } from '../domain/model';
import {
  csvLine,
  latestReportEnd,
  MAX_REPORT_YEARS,
  METRICS_CSV_COLUMNS,
  MetricsAccumulator,
  metricsRow,
  REQUEST_CSV_COLUMNS,
  requestRow,
  yearRange,
  type TypeMetrics,
} from '../domain/report-metrics';
import type { Actor } from './actor';
import type { AppDeps } from './deps';

/**
 * The regulator reports (docs/compliance.md, "Regulator reports"): the record of each request
 * and response of 11 CCR §7101 as CSV, and the yearly figures of §7102. Both page through the
 * requests received in a range, so neither holds the range in memory, and neither carries an
 * identifier of the person: no subject, no notes, no free-text reasons.
 */

export type ReportDeps = Pick<AppDeps, 'store' | 'clock' | 'log' | 'settings'>;

/** Requests read per store page. */
export const REPORT_PAGE_SIZE = 500;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * An ISO date (the start of that day in the business time zone) or an ISO date-time with an
 * offset (that instant).
 */
const reportInstant = (zone: string) =>
  z
    .string({ required_error: 'required: an ISO date (2026-01-01) or date-time with an offset' })
    .max(40)
    .transform((value, ctx) => {
      if (DATE.test(value)) {
        const [y, m, d] = value.split('-').map(Number) as [number, number, number];
        const probe = new Date(Date.UTC(y, m - 1, d));
        if (probe.getUTCFullYear() === y && probe.getUTCMonth() === m - 1) {
          return startOfLocalDay({ y, m, d }, zone);
        }
      } else if (isoDateTime.safeParse(value).success) {
        return new Date(value);
      }
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        fatal: true,
        message: 'an ISO date (2026-01-01) or date-time with an offset (2026-01-01T00:00:00Z)',
      });
      return z.NEVER;
    });

const rangeQuery = (zone: string) =>
  z
    .object({ from: reportInstant(zone), to: reportInstant(zone) })
    .strict()
    .superRefine(({ from, to }, ctx) => {
      // Only when both parsed (an unparsable one is already an issue).
      if (!(from instanceof Date) || !(to instanceof Date)) return;
      if (to.getTime() <= from.getTime()) {
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
      } else if (to.getTime() > latestReportEnd(from).getTime()) {
        ctx.addIssue({
          code: 'custom',
          path: ['to'],
          message: `the range is over ${MAX_REPORT_YEARS} years; ask for at most ${MAX_REPORT_YEARS} years at a time`,
        });
      }
    });

function parseQuery<T extends z.ZodTypeAny>(schema: T, query: unknown): z.output<T> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues, ['query']);
  return parsed.data as z.output<T>;
}

/** Every non-dry-run request received in [from, to), a store page at a time. */
async function* requestsReceived(
  deps: ReportDeps,
  from: Date,
  to: Date,
  pageSize: number,
): AsyncGenerator<Request[]> {
  let cursor: string | undefined;
  do {
    const page = await deps.store.queryRequestsReceived(
      from.toISOString(),
      to.toISOString(),
      pageSize,
      cursor,
    );
    // A dry run changed nothing and answered no one: a rehearsal, not a consumer's request.
    yield page.items.filter((r) => !r.dryRun);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

export interface RequestsCsv {
  from: Date;
  to: Date;
  /** The CSV, a chunk per store page; the header goes out with the first page. */
  chunks: AsyncIterable<string>;
}

/**
 * `GET /reports/requests.csv?from=&to=`: one row per request received in [from, to). The query
 * is checked here, before anything streams, so bad input is an ordinary 400.
 */
export function requestsCsv(
  deps: ReportDeps,
  query: unknown,
  actor: Actor,
  { pageSize = REPORT_PAGE_SIZE }: { pageSize?: number } = {},
): RequestsCsv {
  const { from, to } = parseQuery(rangeQuery(deps.settings.businessTimeZone), query);
  deps.log.info('report.read', 'requests.csv read', {
    actor: actor.identity,
    report: 'requests.csv',
    from: from.toISOString(),
    to: to.toISOString(),
  });
  async function* chunks(): AsyncGenerator<string> {
    // The first page is read before the header goes out: a store failing at once is a JSON
    // error, not a truncated CSV.
    let header = csvLine(REQUEST_CSV_COLUMNS);
    for await (const requests of requestsReceived(deps, from, to, pageSize)) {
      yield header + requests.map((r) => csvLine(requestRow(r))).join('');
      header = '';
    }
  }
  return { from, to, chunks: chunks() };
}

export interface Metrics {
  report: '11 CCR §7102 metrics';
  year: number;
  /** The regulation counted, or `all`. */
  regulation: Regulation | 'all';
  /** What the figures count; see docs/compliance.md. */
  basis: string;
  timeZone: string;
  from: string;
  to: string;
  generatedAt: string;
  types: TypeMetrics[];
  optOut: string;
}

const metricsQuery = (currentYear: number) =>
  z
    .object({
      year: z
        .string({ required_error: 'required: a calendar year, e.g. 2026' })
        .regex(/^\d{4}$/, 'a calendar year, e.g. 2026')
        .transform(Number)
        .pipe(
          z
            .number()
            .int()
            .min(2000)
            .max(currentYear + 1),
        ),
      regulation: z
        .enum(REGULATIONS, {
          errorMap: () => ({ message: `one of: ${REGULATIONS.join(', ')}` }),
        })
        .optional(),
      format: z.enum(['json', 'csv'], { errorMap: () => ({ message: 'json or csv' }) }).optional(),
    })
    .strict();

export interface MetricsAnswer {
  format: 'json' | 'csv';
  metrics: Metrics;
}

/**
 * `GET /reports/metrics?year=&regulation=&format=`: the §7102 figures per request type for the
 * requests received in that calendar year (business time zone). CSV when `format=csv`, or
 * when no format is given and `accept` asks for text/csv.
 */
export async function reportMetrics(
  deps: ReportDeps,
  query: unknown,
  accept: string | undefined,
  actor: Actor,
  { pageSize = REPORT_PAGE_SIZE }: { pageSize?: number } = {},
): Promise<MetricsAnswer> {
  const zone = deps.settings.businessTimeZone;
  const now = deps.clock.now();
  const q = parseQuery(metricsQuery(localDate(now, zone).y), query);
  const format = q.format ?? (/\btext\/csv\b/i.test(accept ?? '') ? 'csv' : 'json');
  const { from, to } = yearRange(q.year, zone);
  deps.log.info('report.read', 'metrics read', {
    actor: actor.identity,
    report: 'metrics',
    year: q.year,
    regulation: q.regulation ?? 'all',
  });
  const tally = new MetricsAccumulator(zone);
  for await (const requests of requestsReceived(deps, from, to, pageSize)) {
    for (const r of requests) {
      if (q.regulation === undefined || r.regulation === q.regulation) tally.add(r);
    }
  }
  return {
    format,
    metrics: {
      report: '11 CCR §7102 metrics',
      year: q.year,
      regulation: q.regulation ?? 'all',
      basis:
        'requests received in the year; each counted by its response as of generatedAt; days to respond over the requests answered (complied with or denied)',
      timeZone: zone,
      from: from.toISOString(),
      to: to.toISOString(),
      generatedAt: now.toISOString(),
      types: tally.result(),
      optOut:
        'requests to opt out of sale or sharing are not handled by this pipeline, so not counted here',
    },
  };
}

/** The metrics as CSV: the header and one row per request type. */
export function metricsCsv(metrics: Metrics): string {
  return (
    csvLine(METRICS_CSV_COLUMNS) +
    metrics.types.map((m) => csvLine(metricsRow(metrics.year, metrics.regulation, m))).join('')
  );
}
