import { z } from 'zod';
import type { Role } from './access';
import { errorCode, ValidationError, type FieldIssue } from './errors';
import type { ErrorCode } from './error-codes';
import { isWellFormedText } from './model';
import {
  parseRequestCriteria,
  type RequestCriteria,
  type ValidRequestCriteria,
} from './request-filter';

/**
 * Bulk actions on requests (`POST /requests:bulk`, fides #7011): one action, by the list filter,
 * for every request it matches, carried out in pages by dispatch and reported as an operation
 * (`GET /operations/:id`). Pure: the shapes, the parse, and how one item's outcome counts.
 *
 * The match set is fixed at filing: the filter as given, walked by a cursor over the listing
 * (newest filed first), and only requests created at or before the operation (`snapshotAt`), so
 * requests filed after the call are never swept in. A request that matched when the call was
 * made but no longer does when its page is read (approved meanwhile) is simply not reached.
 */

export const BULK_ACTIONS = ['approve', 'retry', 'cancel'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** The role each action needs: the same as the single action's route. */
export const BULK_ACTION_ROLES: Readonly<Record<BulkAction, Role>> = {
  approve: 'approver',
  retry: 'operator',
  cancel: 'operator',
};

export const OPERATION_ID_PATTERN = /^op-[0-9a-f]{32}$/;
export type OperationId = string & { readonly __brand: 'OperationId' };

export function parseOperationId(value: unknown, param = 'operationId'): OperationId {
  if (typeof value !== 'string' || !OPERATION_ID_PATTERN.test(value)) {
    const message = 'not an operation id (op- and 32 hex digits)';
    throw new ValidationError(`Invalid input: ${param}: ${message}`, [{ path: param, message }]);
  }
  return value as OperationId;
}

/** At most this many per-item failures are kept on the operation; `failed` counts them all. */
export const MAX_KEPT_FAILURES = 100;

export interface BulkFailure {
  requestId: string;
  /** The instance, when the failure concerns one (a retry). */
  taskId?: string;
  code: ErrorCode;
  message: string;
}

export type OperationState = 'running' | 'done';

/** One bulk action as stored at `operations/{id}`. */
export interface Operation {
  id: string;
  kind: 'requests.bulk';
  action: BulkAction;
  reason: string;
  /** The criteria as parsed at filing (re-checked on every page). */
  filter: RequestCriteria;
  /** The verified identity that filed it: every action is recorded in its name. */
  actor: string;
  createdAt: string;
  updatedAt: string;
  /** Requests created after this are not part of the operation. */
  snapshotAt: string;
  state: OperationState;
  /** Where the next page starts (the listing's cursor); absent before the first page. */
  cursor?: string;
  /** Pages done. */
  pages: number;
  /** Requests that matched, so far (final once `state` is `done`). */
  matched: number;
  processed: number;
  succeeded: number;
  /** Nothing to do, or done already (a page processed twice, a request approved meanwhile). */
  skipped: number;
  failed: number;
  /** The first MAX_KEPT_FAILURES per-item failures. */
  failures: BulkFailure[];
  /** Every per-item failure counted, kept or not. */
  failureCount: number;
  /** A dispatch run holds the operation until then while it works on a page. */
  leaseUntil?: string;
  finishedAt?: string;
}

const reasonText = z
  .string({ invalid_type_error: 'a string' })
  .trim()
  .min(1, 'say why (it is recorded with the operation)')
  .max(500, 'at most 500 characters')
  .refine(isWellFormedText, 'well-formed Unicode (no lone surrogates)');

const bodySchema = z
  .object({
    filter: z.unknown(),
    action: z.enum(BULK_ACTIONS, {
      errorMap: () => ({ message: `action must be one of: ${BULK_ACTIONS.join(', ')}` }),
    }),
    reason: reasonText,
  })
  .strict();

export interface BulkRequest {
  action: BulkAction;
  reason: string;
  filter: ValidRequestCriteria;
}

/**
 * `POST /requests:bulk` body → a validated bulk request. Every problem is a ValidationError
 * naming its field (`action`, `reason`, `filter.status`, …). The filter must name at least one
 * criterion besides `dryRun`: a bulk action over every request is never what was meant.
 */
export function parseBulkRequest(body: unknown, timeZone = 'UTC'): BulkRequest {
  const parsed = bodySchema.safeParse(body ?? {});
  const issues: FieldIssue[] = parsed.success
    ? []
    : ValidationError.fromZod(parsed.error.issues).issues;
  const raw: unknown = parsed.success
    ? parsed.data.filter
    : typeof body === 'object' && body !== null && Object.hasOwn(body, 'filter')
      ? (body as { filter: unknown }).filter
      : undefined;
  let filter: ValidRequestCriteria | undefined;
  if (raw === undefined) {
    if (!issues.some((i) => i.path === 'filter')) {
      issues.push({ path: 'filter', message: 'required: an object of list filters' });
    }
  } else {
    try {
      filter = parseRequestCriteria(raw, { prefix: ['filter'], timeZone });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      issues.push(...err.issues);
    }
    const named =
      filter === undefined
        ? true
        : Object.entries(filter).some(([k, v]) => k !== 'dryRun' && v !== undefined);
    if (!named) {
      issues.push({
        path: 'filter',
        message:
          'name at least one criterion (status, task, filedFrom, …): a bulk action never takes every request',
      });
    }
  }
  if (!parsed.success || filter === undefined || issues.length > 0) {
    const summary = issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ');
    throw new ValidationError(`Invalid input: ${summary}`, issues);
  }
  return { action: parsed.data.action, reason: parsed.data.reason, filter };
}

/** A new operation, as filed. */
export function newOperation(
  id: string,
  request: BulkRequest,
  actor: string,
  at: string,
): Operation {
  return {
    id,
    kind: 'requests.bulk',
    action: request.action,
    reason: request.reason,
    filter: { ...request.filter },
    actor,
    createdAt: at,
    updatedAt: at,
    snapshotAt: at,
    state: 'running',
    pages: 0,
    matched: 0,
    processed: 0,
    succeeded: 0,
    skipped: 0,
    failed: 0,
    failures: [],
    failureCount: 0,
  };
}

/** What one request's action came to. */
export type ItemOutcome =
  | { outcome: 'succeeded' }
  | { outcome: 'skipped'; why: string }
  | { outcome: 'failed'; failures: BulkFailure[] };

/**
 * Errors that mean "nothing (more) to do here", not a failure: the same approver approved
 * already, another retry started the series, the instance is no longer failed. A page that
 * runs twice meets exactly these, so they count as skipped.
 */
const HARMLESS: readonly ErrorCode[] = [
  'already_approved',
  'nothing_to_approve',
  'retry_in_progress',
  'not_failed',
];

/** The outcome of one item whose action threw. */
export function outcomeOfError(requestId: string, err: unknown, taskId?: string): ItemOutcome {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (HARMLESS.includes(code)) return { outcome: 'skipped', why: code };
  return {
    outcome: 'failed',
    failures: [{ requestId, ...(taskId === undefined ? {} : { taskId }), code, message }],
  };
}

/** The counters a page adds to its operation. */
export interface PageProgress {
  matched: number;
  succeeded: number;
  skipped: number;
  failed: number;
  failures: BulkFailure[];
}

export function emptyProgress(): PageProgress {
  return { matched: 0, succeeded: 0, skipped: 0, failed: 0, failures: [] };
}

export function addOutcome(progress: PageProgress, item: ItemOutcome): PageProgress {
  switch (item.outcome) {
    case 'succeeded':
      return { ...progress, matched: progress.matched + 1, succeeded: progress.succeeded + 1 };
    case 'skipped':
      return { ...progress, matched: progress.matched + 1, skipped: progress.skipped + 1 };
    case 'failed':
      return {
        ...progress,
        matched: progress.matched + 1,
        failed: progress.failed + 1,
        failures: [...progress.failures, ...item.failures],
      };
  }
}

/** The patch one finished page writes: counters added, the cursor moved, the lease let go. */
export function pageDone(
  current: Operation,
  progress: PageProgress,
  nextCursor: string | undefined,
  at: string,
): Partial<Operation> {
  const failures = [...current.failures, ...progress.failures].slice(0, MAX_KEPT_FAILURES);
  const done = nextCursor === undefined;
  return {
    pages: current.pages + 1,
    matched: current.matched + progress.matched,
    processed: current.processed + progress.matched,
    succeeded: current.succeeded + progress.succeeded,
    skipped: current.skipped + progress.skipped,
    failed: current.failed + progress.failed,
    failures,
    failureCount: current.failureCount + progress.failures.length,
    cursor: nextCursor,
    leaseUntil: undefined,
    updatedAt: at,
    ...(done ? { state: 'done' as const, finishedAt: at } : {}),
  };
}

/** `GET /operations/:id`: the operation as the API shows it. */
export interface OperationView {
  id: string;
  kind: Operation['kind'];
  action: BulkAction;
  reason: string;
  filter: RequestCriteria;
  actor: string;
  state: OperationState;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  progress: {
    matched: number;
    processed: number;
    succeeded: number;
    skipped: number;
    failed: number;
    pages: number;
  };
  /** The first MAX_KEPT_FAILURES failures; `failuresOmitted` says how many more there were. */
  failures: BulkFailure[];
  failuresOmitted: number;
}

export function operationView(op: Operation): OperationView {
  return {
    id: op.id,
    kind: op.kind,
    action: op.action,
    reason: op.reason,
    filter: op.filter,
    actor: op.actor,
    state: op.state,
    createdAt: op.createdAt,
    updatedAt: op.updatedAt,
    ...(op.finishedAt === undefined ? {} : { finishedAt: op.finishedAt }),
    progress: {
      matched: op.matched,
      processed: op.processed,
      succeeded: op.succeeded,
      skipped: op.skipped,
      failed: op.failed,
      pages: op.pages,
    },
    failures: op.failures,
    failuresOmitted: Math.max(0, op.failureCount - op.failures.length),
  };
}
