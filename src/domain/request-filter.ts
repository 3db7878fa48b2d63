import { z } from 'zod';
import { startOfLocalDay, type DeadlineRisk } from './deadline';
import { ValidationError, type FieldIssue } from './errors';
import { TASK_ID_PATTERN, type TaskId } from './ids';
import {
  isoDateTime,
  REGULATIONS,
  REQUEST_STATUSES,
  REQUEST_TYPES,
  type Regulation,
  type RequestStatus,
  type RequestType,
} from './model';

/**
 * The request filter of `GET /requests`, `POST /requests:bulk`, `dsr requests list` and the
 * console: parsed once at the edge into a validated `RequestFilter`; the store and the use cases
 * accept nothing else. Pure: no I/O, no clock.
 *
 * Query strings carry every value as text (`status=in_progress,awaiting_approval`, a comma
 * list, because a repeated parameter is refused); a JSON body may give the same values typed
 * (`"status": ["in_progress"]`, `"overdue": true`, `"limit": 20`).
 */

/** What a filter can select on (the criteria). */
export const REQUEST_FILTER_FIELDS = [
  'type',
  'regulation',
  'externalId',
  'status',
  'overdue',
  'deadlineRisk',
  'filedFrom',
  'filedTo',
  'dueBefore',
  'dryRun',
  'task',
] as const;
export type RequestFilterField = (typeof REQUEST_FILTER_FIELDS)[number];

/** How a listing is ordered and paged, beside the criteria. */
export const REQUEST_LIST_FIELDS = [...REQUEST_FILTER_FIELDS, 'sort', 'limit', 'cursor'] as const;
export type RequestListField = (typeof REQUEST_LIST_FIELDS)[number];

/**
 * `filedAt`: newest filed first (by `receivedAt`, when the person made the request);
 * `dueAt`: soonest deadline first. One direction each, so each needs one index.
 */
export const REQUEST_SORTS = ['filedAt', 'dueAt'] as const;
export type RequestSort = (typeof REQUEST_SORTS)[number];

export const DEADLINE_RISKS = [
  'ok',
  'at_risk',
  'overdue',
] as const satisfies readonly DeadlineRisk[];

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 200;
export const MAX_CURSOR_LENGTH = 500;

/** What a request must match; every field given must match (AND), a list matches any value. */
export interface RequestCriteria {
  readonly type?: RequestType;
  readonly regulation?: Regulation;
  readonly externalId?: string;
  /** Any of these statuses (distinct, in REQUEST_STATUSES order). */
  readonly status?: readonly RequestStatus[];
  /** The deadline as of the read: open and past `dueAt` (or flagged overdue once). */
  readonly overdue?: boolean;
  /** Any of these risks, as of the read (closed requests are `ok`). */
  readonly deadlineRisk?: readonly DeadlineRisk[];
  /** `receivedAt` at or after this instant (ISO, UTC). */
  readonly filedFrom?: string;
  /** `receivedAt` before this instant (ISO, UTC): the range is `[filedFrom, filedTo)`. */
  readonly filedTo?: string;
  /** `dueAt` (the deadline in force) before this instant (ISO, UTC). */
  readonly dueBefore?: string;
  /** Dry runs only (`true`) or real requests only (`false`, the default). */
  readonly dryRun: boolean;
  /** Requests with an instance of this task. */
  readonly task?: TaskId;
}

declare const validated: unique symbol;

/** A filter as parsed by `parseRequestFilter`: the only shape the listing accepts. */
export type RequestFilter = RequestCriteria & {
  readonly sort: RequestSort;
  readonly limit: number;
  readonly cursor?: string;
  readonly [validated]: true;
};

/** Criteria alone (bulk actions), as parsed by `parseRequestCriteria`. */
export type ValidRequestCriteria = RequestCriteria & { readonly [validated]: true };

export interface FilterParseOptions {
  /** Where the values came from, for the error paths: `['query']` (default), `['filter']`. */
  prefix?: readonly (string | number)[];
  /** The zone a bare date (`2026-03-01`) starts its day in; UTC by default. */
  timeZone?: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** An ISO date (the start of that day in `zone`) or a date-time with an offset; as ISO UTC. */
export const instantParam = (zone: string) =>
  z
    .string({ invalid_type_error: 'an ISO date (2026-01-01) or date-time with an offset' })
    .max(40, 'an ISO date (2026-01-01) or date-time with an offset')
    .transform((value, ctx) => {
      if (DATE.test(value)) {
        const [y, m, d] = value.split('-').map(Number) as [number, number, number];
        const probe = new Date(Date.UTC(y, m - 1, d));
        if (probe.getUTCFullYear() === y && probe.getUTCMonth() === m - 1) {
          return startOfLocalDay({ y, m, d }, zone).toISOString();
        }
      } else if (isoDateTime.safeParse(value).success) {
        return new Date(value).toISOString();
      }
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        fatal: true,
        message: 'an ISO date (2026-01-01) or date-time with an offset (2026-01-01T00:00:00Z)',
      });
      return z.NEVER;
    });

/** `a,b` or `["a","b"]` → distinct values of `allowed`, in `allowed`'s order. */
function listOf<T extends string>(allowed: readonly T[], what: string) {
  return z
    .union([z.string(), z.array(z.string())], {
      errorMap: () => ({ message: `a comma-separated list of ${what}` }),
    })
    .transform((raw, ctx) => {
      const values = (typeof raw === 'string' ? raw.split(',') : raw).map((v) => v.trim());
      if (values.length === 0 || values.some((v) => v === '')) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `a comma-separated list of ${what}, without empty entries: ${allowed.join(', ')}`,
        });
        return z.NEVER;
      }
      const unknown = values.filter((v) => !(allowed as readonly string[]).includes(v));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `unknown ${what} ${unknown.map((u) => JSON.stringify(u)).join(', ')}; one of: ${allowed.join(', ')}`,
        });
        return z.NEVER;
      }
      return allowed.filter((a) => values.includes(a));
    });
}

function oneOf<T extends string>(allowed: readonly [T, ...T[]], what: string) {
  return z.enum(allowed, {
    errorMap: () => ({ message: `${what} must be one of: ${allowed.join(', ')}` }),
  });
}

const bool = z
  .union([z.boolean(), z.enum(['true', 'false'])], {
    errorMap: () => ({ message: 'true or false' }),
  })
  .transform((v) => v === true || v === 'true');

const criteriaShape = (zone: string) => ({
  type: oneOf(REQUEST_TYPES, 'type').optional(),
  regulation: oneOf(REGULATIONS, 'regulation').optional(),
  externalId: z
    .string({ invalid_type_error: 'a string' })
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'externalId: 1-128 of letters, digits and . _ : -')
    .optional(),
  status: listOf(REQUEST_STATUSES, 'status').optional(),
  overdue: bool.optional(),
  deadlineRisk: listOf(DEADLINE_RISKS, 'deadlineRisk').optional(),
  filedFrom: instantParam(zone).optional(),
  filedTo: instantParam(zone).optional(),
  dueBefore: instantParam(zone).optional(),
  dryRun: bool.default(false),
  task: z
    .string({ invalid_type_error: 'a task id' })
    .regex(TASK_ID_PATTERN, 'a task id: lower-case letters, digits, - and _, at most 63')
    .transform((id) => id as TaskId)
    .optional(),
});

const listShape = {
  sort: oneOf(REQUEST_SORTS, 'sort').default('filedAt'),
  limit: z
    .union([z.number(), z.string().regex(/^\d{1,4}$/, `a whole number, 1-${MAX_LIST_LIMIT}`)])
    .pipe(
      z.coerce
        .number()
        .int(`a whole number, 1-${MAX_LIST_LIMIT}`)
        .min(1, `a whole number, 1-${MAX_LIST_LIMIT}`)
        .max(MAX_LIST_LIMIT, `a whole number, 1-${MAX_LIST_LIMIT}`),
    )
    .default(DEFAULT_LIST_LIMIT),
  cursor: z
    .string()
    .regex(
      new RegExp(`^[A-Za-z0-9_-]{1,${MAX_CURSOR_LENGTH}}$`),
      'not a cursor this listing issued',
    )
    .optional(),
};

function rangeRules(
  value: { filedFrom?: string | undefined; filedTo?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (value.filedFrom === undefined || value.filedTo === undefined) return;
  if (Date.parse(value.filedTo) <= Date.parse(value.filedFrom)) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['filedTo'],
      message: 'must be after filedFrom (the range is [filedFrom, filedTo))',
    });
  }
}

function parseWith<T>(
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  allowed: readonly string[],
  input: unknown,
  prefix: readonly (string | number)[],
): T {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    const path = prefix.map(String).join('.');
    throw new ValidationError(`Invalid input: ${path}: an object of filters`, [
      { path, message: 'an object of filters' },
    ]);
  }
  // Own properties only: a key such as `__proto__` or `constructor` is unknown, never inherited.
  const unknown: FieldIssue[] = Object.keys(input)
    .filter((k) => !allowed.includes(k))
    .map((k) => ({
      path: [...prefix, k].join('.'),
      message: `unknown filter; one of: ${allowed.join(', ')}`,
    }));
  const parsed = schema.safeParse(input);
  const issues = parsed.success
    ? []
    : ValidationError.fromZod(parsed.error.issues, prefix).issues.filter(
        (i) => !i.message.startsWith('unknown field'),
      );
  const all = [...unknown, ...issues];
  if (all.length > 0 || !parsed.success) {
    const summary = all.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new ValidationError(`Invalid input: ${summary}`, all);
  }
  return parsed.data;
}

/**
 * `GET /requests`' query (or a JSON body's filter) → a validated filter. Throws ValidationError
 * naming each bad field (`query.filedTo`, `query.status`, an unknown `query.colour`).
 */
export function parseRequestFilter(
  query: Record<string, unknown>,
  options: FilterParseOptions = {},
): RequestFilter {
  const zone = options.timeZone ?? 'UTC';
  let schema = listSchemas.get(zone);
  if (schema === undefined) {
    schema = z.object({ ...criteriaShape(zone), ...listShape }).superRefine(rangeRules);
    listSchemas.set(zone, schema);
  }
  return parseWith(
    schema,
    REQUEST_LIST_FIELDS,
    query,
    options.prefix ?? ['query'],
  ) as RequestFilter;
}

/** One schema per time zone (a deployment has one): building it costs more than a parse. */
const listSchemas = new Map<string, z.ZodType<unknown, z.ZodTypeDef, unknown>>();

/** The criteria alone (no sort, limit or cursor), as a bulk action takes them. */
export function parseRequestCriteria(
  input: unknown,
  options: FilterParseOptions = {},
): ValidRequestCriteria {
  const schema = z.object(criteriaShape(options.timeZone ?? 'UTC')).superRefine(rangeRules);
  return parseWith(
    schema,
    REQUEST_FILTER_FIELDS,
    input,
    options.prefix ?? ['filter'],
  ) as ValidRequestCriteria;
}

/** A filter back to query parameters (comma lists), e.g. for the CLI and the console's links. */
export function requestFilterToQuery(
  filter: Partial<RequestCriteria & { sort: RequestSort; limit: number; cursor: string }>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of REQUEST_LIST_FIELDS) {
    const value = filter[field];
    if (value === undefined) continue;
    out[field] = typeof value === 'object' ? value.join(',') : String(value);
  }
  return out;
}

/**
 * What the in-memory part of a listing tests: the request's stored fields plus what is derived
 * at the read (its status and deadline risk now, its task ids).
 */
export interface FilterableRequest {
  type: RequestType;
  regulation: Regulation;
  externalId?: string;
  status: RequestStatus;
  overdue: boolean;
  deadlineRisk: DeadlineRisk;
  receivedAt: string;
  dueAt: string;
  dryRun: boolean;
  taskIds: readonly string[];
}

/** Whether a request matches every criterion given. */
export function matchesRequestCriteria(r: FilterableRequest, c: RequestCriteria): boolean {
  return (
    (c.type === undefined || r.type === c.type) &&
    (c.regulation === undefined || r.regulation === c.regulation) &&
    (c.externalId === undefined || r.externalId === c.externalId) &&
    (c.status === undefined || c.status.includes(r.status)) &&
    (c.overdue === undefined || r.overdue === c.overdue) &&
    (c.deadlineRisk === undefined || c.deadlineRisk.includes(r.deadlineRisk)) &&
    (c.filedFrom === undefined || Date.parse(r.receivedAt) >= Date.parse(c.filedFrom)) &&
    (c.filedTo === undefined || Date.parse(r.receivedAt) < Date.parse(c.filedTo)) &&
    (c.dueBefore === undefined || Date.parse(r.dueAt) < Date.parse(c.dueBefore)) &&
    r.dryRun === c.dryRun &&
    (c.task === undefined || r.taskIds.includes(c.task))
  );
}
