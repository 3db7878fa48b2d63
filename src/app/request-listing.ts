import { createHash } from 'node:crypto';
import { ValidationError } from '../domain/errors';
import type { InstanceState, Request, RequestStatus } from '../domain/model';
import {
  matchesRequestCriteria,
  type RequestCriteria,
  type RequestFilter,
} from '../domain/request-filter';
import { requestStatusOf } from '../domain/request-status';
import { isOpenStatus } from '../domain/states';
import type { Page, RequestScan, RequestScanOrder } from '../ports/request-store';
import type { AppDeps } from './deps';
import { deadlineFields, requestView, type RequestView } from './request-views';

/**
 * `GET /requests`: one indexed scan of the store (a filer's own, some statuses, or all; real
 * requests or dry runs; by filing or by deadline) with every other criterion applied in memory,
 * at most `MAX_SCANNED` documents per page (docs/compliance.md, "Listing requests"). A page may
 * therefore hold fewer than `limit` items and still carry a `nextCursor`: a listing ends when
 * `nextCursor` is absent. The cursor is opaque, and only good for the filter that issued it.
 */

/** A request as a listing shows it: the view without its instances. */
export type RequestRow = Omit<RequestView, 'instances'>;

/** Documents read per store call when criteria are applied in memory. */
export const SCAN_BATCH = 200;
/** Documents one page reads at most before it answers with what it found and a cursor. */
export const MAX_SCANNED = 2000;
/** An externalId names one request: more than this is a store that is not ours. */
const MAX_EXTERNAL_ID_MATCHES = 20;

const ORDER_FIELD: Readonly<Record<RequestFilter['sort'], RequestScanOrder>> = {
  filedAt: 'receivedAt',
  dueAt: 'dueAt',
};

/** Lists requests matching `filter`; with `ownedBy`, only those that identity filed. */
export async function listRequests(
  deps: Pick<AppDeps, 'store' | 'clock' | 'settings'>,
  filter: RequestFilter,
  ownedBy?: string,
): Promise<Page<RequestRow>> {
  const now = deps.clock.now();
  const orderBy = ORDER_FIELD[filter.sort];
  const fingerprint = fingerprintOf(filter, ownedBy);
  const after =
    filter.cursor === undefined ? undefined : decodeListCursor(filter.cursor, fingerprint);
  const rowOf = async (r: Request): Promise<RequestRow | undefined> => {
    if (ownedBy !== undefined && r.createdBy !== ownedBy) return undefined;
    const row = toRow(r, now, deps.settings);
    const taskIds =
      filter.task === undefined
        ? []
        : (r.taskIds ?? (await deps.store.listInstances(r.id)).map((i) => i.taskId));
    return matchesRequestCriteria({ ...row, taskIds }, filter) ? row : undefined;
  };

  if (filter.externalId !== undefined) {
    const found = await deps.store.findRequestsByExternalId(
      filter.externalId,
      MAX_EXTERNAL_ID_MATCHES,
    );
    const rows: RequestRow[] = [];
    for (const r of found.sort(compareBy(orderBy))) {
      if (after !== undefined && !isAfter(r, after, orderBy)) continue;
      const row = await rowOf(r);
      if (row !== undefined) rows.push(row);
    }
    return { items: rows.slice(0, filter.limit) };
  }

  const scan = scanFor(filter, orderBy, ownedBy);
  const inMemory = needsMemoryFilter(filter, ownedBy);
  const items: RequestRow[] = [];
  let position = after;
  let scanned = 0;
  for (;;) {
    const want = inMemory
      ? Math.min(SCAN_BATCH, MAX_SCANNED - scanned)
      : filter.limit - items.length;
    const batch = await deps.store.listRequests({
      ...scan,
      limit: want,
      ...(position === undefined ? {} : { after: position }),
    });
    scanned += batch.length;
    for (const r of batch) {
      position = { value: r[orderBy], id: r.id };
      const row = await rowOf(r);
      if (row === undefined) continue;
      items.push(row);
      if (items.length === filter.limit) {
        return { items, nextCursor: encodeListCursor(position, fingerprint) };
      }
    }
    if (batch.length < want || position === undefined) return { items };
    if (scanned >= MAX_SCANNED) {
      return { items, nextCursor: encodeListCursor(position, fingerprint) };
    }
  }
}

/** The indexed part of a filter: see src/adapters/firestore/request-scan.ts for why this much. */
export function scanFor(
  filter: RequestFilter,
  orderBy: RequestScanOrder,
  ownedBy: string | undefined,
): Omit<RequestScan, 'limit' | 'after'> {
  const by: RequestScan['by'] =
    ownedBy !== undefined
      ? { kind: 'owner', createdBy: ownedBy }
      : filter.status !== undefined
        ? { kind: 'status', statuses: storedStatuses(filter.status) }
        : { kind: 'all' };
  const range =
    orderBy === 'receivedAt'
      ? {
          ...(filter.filedFrom === undefined ? {} : { from: filter.filedFrom }),
          ...(filter.filedTo === undefined ? {} : { before: filter.filedTo }),
        }
      : filter.dueBefore === undefined
        ? {}
        : { before: filter.dueBefore };
  return { by, dryRun: filter.dryRun, orderBy, ...range };
}

/**
 * The stored statuses that may read as `statuses`: a request closed before its own status
 * existed is stored `completed` (a dry run, or one with tasks cancelled) or
 * `completed_with_errors` (a dry run), and reads as the new status (`toRow`).
 */
function storedStatuses(statuses: readonly RequestStatus[]): RequestStatus[] {
  const stored = new Set<RequestStatus>(statuses);
  if (statuses.includes('partially_completed') || statuses.includes('dry_run_completed')) {
    stored.add('completed');
  }
  if (statuses.includes('dry_run_completed_with_errors')) stored.add('completed_with_errors');
  return [...stored];
}

/** Whether any criterion is left to apply in memory after the indexed scan. */
function needsMemoryFilter(filter: RequestFilter, ownedBy: string | undefined): boolean {
  const c: RequestCriteria = filter;
  return (
    c.type !== undefined ||
    c.regulation !== undefined ||
    c.overdue !== undefined ||
    c.deadlineRisk !== undefined ||
    c.task !== undefined ||
    (c.status !== undefined && ownedBy !== undefined) ||
    // Statuses a legacy document may be stored under are checked again.
    (c.status !== undefined && storedStatuses(c.status).length !== c.status.length) ||
    (filter.sort === 'dueAt' && (c.filedFrom !== undefined || c.filedTo !== undefined)) ||
    (filter.sort === 'filedAt' && c.dueBefore !== undefined)
  );
}

/** A listed request: the status read from its counts where it closed, deadline risk as of now. */
function toRow(r: Request, now: Date, settings: AppDeps['settings']): RequestRow {
  const status = listedStatus(r);
  // Without instances: no estimate (a dry run's is in GET /requests/:id), no zero-match warning.
  const { instances: _omit, estimate: _none, ...rest } = requestView(r, [], now, settings);
  return {
    ...rest,
    status,
    counts: r.counts,
    cost: r.cost,
    ...deadlineFields(r, status, now, settings),
  };
}

/**
 * The stored status, except that a closed one is derived again from the stored counts: so a
 * request that closed before `partially_completed` and the dry-run statuses existed reads as
 * it would now.
 */
export function listedStatus(
  r: Pick<Request, 'status' | 'counts' | 'dryRun' | 'denial'>,
): RequestStatus {
  if (isOpenStatus(r.status) || r.status === 'denied' || r.denial !== undefined) return r.status;
  const states: InstanceState[] = [];
  for (const [state, n] of Object.entries(r.counts) as [InstanceState, number][]) {
    for (let i = 0; i < n; i += 1) states.push(state);
  }
  const derived = requestStatusOf(states, { dryRun: r.dryRun });
  return isOpenStatus(derived) ? r.status : derived;
}

function compareBy(orderBy: RequestScanOrder): (a: Request, b: Request) => number {
  const sign = orderBy === 'receivedAt' ? -1 : 1;
  return (a, b) => sign * (a[orderBy].localeCompare(b[orderBy]) || a.id.localeCompare(b.id));
}

function isAfter(r: Request, after: ListPosition, orderBy: RequestScanOrder): boolean {
  const sign = orderBy === 'receivedAt' ? -1 : 1;
  const c = r[orderBy].localeCompare(after.value) || r.id.localeCompare(after.id);
  return sign * c > 0;
}

interface ListPosition {
  value: string;
  id: string;
}

/** Binds a cursor to the criteria, order and caller that issued it (not to `limit`). */
function fingerprintOf(filter: RequestFilter, ownedBy: string | undefined): string {
  const { limit: _limit, cursor: _cursor, ...rest } = filter;
  const canonical = JSON.stringify(Object.entries({ ...rest, ownedBy }).sort());
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}

function encodeListCursor(position: ListPosition, fingerprint: string): string {
  return Buffer.from(JSON.stringify([1, position.value, position.id, fingerprint])).toString(
    'base64url',
  );
}

const ID = /^[A-Za-z0-9_-]{1,128}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

function decodeListCursor(cursor: string, fingerprint: string): ListPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidListCursor('not a cursor this listing issued');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 4 ||
    parsed[0] !== 1 ||
    typeof parsed[1] !== 'string' ||
    !ISO.test(parsed[1]) ||
    typeof parsed[2] !== 'string' ||
    !ID.test(parsed[2]) ||
    typeof parsed[3] !== 'string'
  ) {
    throw invalidListCursor('not a cursor this listing issued');
  }
  if (parsed[3] !== fingerprint) {
    throw invalidListCursor('issued for another filter or sort: ask again without a cursor');
  }
  return { value: parsed[1], id: parsed[2] };
}

function invalidListCursor(message: string): ValidationError {
  return new ValidationError(
    `Invalid input: query.cursor: ${message}`,
    [{ path: 'query.cursor', message }],
    'invalid_cursor',
  );
}
