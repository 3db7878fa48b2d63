import { randomUUID } from 'node:crypto';
import type { Role } from '../domain/access';
import {
  addOutcome,
  BULK_ACTION_ROLES,
  emptyProgress,
  newOperation,
  operationView,
  outcomeOfError,
  pageDone,
  parseBulkRequest,
  type BulkAction,
  type BulkFailure,
  type ItemOutcome,
  type Operation,
  type OperationView,
} from '../domain/bulk-operation';
import { ForbiddenError, NotFoundError, RetryableError } from '../domain/errors';
import { MAX_LIST_LIMIT, parseRequestFilter, requestFilterToQuery } from '../domain/request-filter';
import { CANCELLABLE_STATES } from '../domain/states';
import type { OperationStore } from '../ports/operation-store';
import type { Actor } from './actor';
import { approveRequest } from './approvals';
import type { AppDeps } from './deps';
import { cancelRequest, retryInstance } from './operations';
import { listRequests } from './request-listing';

/**
 * Bulk approve, retry and cancel by the list filter (`POST /requests:bulk`), as operations that
 * dispatch carries out page by page (`advanceOperations`), so that 10,000 matches all start
 * whatever one call's time limit. Each request's action is the single action's own use case,
 * in the name of the identity that filed the operation (its ledger records that actor), so
 * every rule holds as it does one by one: four-eyes, verification, one retry series per
 * failure. A page done twice (a dispatch run that lost its lease) does no harm: what was done
 * already is found done and counted as skipped.
 */

/** A caller of the bulk route: who, and the roles they hold now (each action needs its own). */
export interface BulkCaller {
  identity: string;
  roles: ReadonlySet<Role>;
}

type BulkDeps = AppDeps & { operations?: OperationStore };

/** How many requests of a page are acted on at once. */
const ITEM_CONCURRENCY = 8;

function operationsOf(deps: BulkDeps): OperationStore {
  if (deps.operations === undefined) {
    throw new RetryableError('bulk operations are not configured in this deployment', {
      code: 'store.unavailable',
    });
  }
  return deps.operations;
}

/**
 * `POST /requests:bulk`: checks the body (400 naming the field, nothing written) and the role
 * the action needs (403), then files the operation. Answers its id and its view (`running`).
 */
export async function fileBulkOperation(
  deps: BulkDeps,
  body: unknown,
  caller: BulkCaller,
): Promise<{ operationId: string; operation: OperationView }> {
  const store = operationsOf(deps);
  const bulk = parseBulkRequest(body, deps.settings.businessTimeZone);
  const role = BULK_ACTION_ROLES[bulk.action];
  if (!caller.roles.has(role)) {
    throw new ForbiddenError(
      `a bulk ${bulk.action} needs the role ${role} (as a single ${bulk.action} does), which ${caller.identity} does not hold`,
    );
  }
  const id = `op-${randomUUID().replace(/-/g, '')}`;
  const at = deps.clock.now().toISOString();
  const operation = await store.create(newOperation(id, bulk, caller.identity, at));
  deps.log.info('operation.filed', `bulk ${bulk.action} filed as ${id}`, {
    operationId: id,
    action: bulk.action,
    actor: caller.identity,
    reason: bulk.reason,
    filter: bulk.filter,
  });
  return { operationId: id, operation: operationView(operation) };
}

/** `GET /operations/:id`. */
export async function getOperation(deps: BulkDeps, id: string): Promise<OperationView> {
  const operation = await operationsOf(deps).get(id);
  if (operation === null) throw new NotFoundError(`no operation with id ${id}`);
  return operationView(operation);
}

/** What dispatch's operations phase did. */
export interface OperationsSummary {
  pages: number;
  items: number;
}

/**
 * Dispatch's part: the running operations, oldest first, a page at a time while `hasTime`
 * says so. A page another run holds is left to it.
 */
export async function advanceOperations(
  deps: BulkDeps,
  hasTime: () => boolean,
): Promise<OperationsSummary> {
  const summary: OperationsSummary = { pages: 0, items: 0 };
  if (deps.operations === undefined) return summary;
  const running = await deps.operations.listRunning(20);
  for (const op of running) {
    while (hasTime()) {
      const page = await processPage(deps, deps.operations, op.id);
      if (page === 'leased') break;
      summary.pages += 1;
      summary.items += page.items;
      if (page.state === 'done') break;
    }
  }
  return summary;
}

/**
 * One page of an operation: lease it, list the next page of its filter, act on each request
 * filed before the operation, and write the counts, the failures and the cursor under the
 * lease. Exported for tests; dispatch calls it through `advanceOperations`.
 */
export async function processPage(
  deps: BulkDeps,
  store: OperationStore,
  id: string,
): Promise<'leased' | { items: number; state: Operation['state'] }> {
  const now = deps.clock.now();
  const leaseUntil = new Date(
    now.getTime() + Math.max(60, deps.settings.dispatchBudgetSeconds) * 1000,
  ).toISOString();
  const held = await store.update(id, (current) =>
    current.state !== 'running' ||
    (current.leaseUntil !== undefined && Date.parse(current.leaseUntil) > now.getTime())
      ? null
      : { leaseUntil, updatedAt: now.toISOString() },
  );
  if (held === null) return 'leased';
  const filter = parseRequestFilter(
    {
      ...requestFilterToQuery(held.filter),
      sort: 'filedAt',
      limit: String(Math.min(MAX_LIST_LIMIT, Math.max(1, deps.settings.dispatchPageSize))),
      ...(held.cursor === undefined ? {} : { cursor: held.cursor }),
    },
    { prefix: ['filter'] },
  );
  const page = await listRequests(deps, filter);
  // Requests filed after the operation are not part of it.
  const members = page.items.filter((row) => row.createdAt <= held.snapshotAt);
  const actor: Actor = { identity: held.actor };
  const outcomes = await inParallel(members, (row) =>
    applyAction(deps, held.action, row.id, actor),
  );
  const progress = outcomes.reduce(addOutcome, emptyProgress());
  const at = deps.clock.now().toISOString();
  const written = await store.update(id, (current) =>
    current.state === 'running' && current.leaseUntil === leaseUntil
      ? pageDone(current, progress, page.nextCursor, at)
      : null,
  );
  const log = deps.log.child({ labels: { operationId: id } });
  if (written === null) {
    log.warn(
      'operation.page',
      `operation ${id}: the page's lease ran out before its counts were written; the next run reads the page again`,
      { action: held.action, matched: progress.matched },
    );
    return { items: members.length, state: 'running' };
  }
  log.info('operation.page', `operation ${id}: page ${written.pages} done`, {
    action: held.action,
    page: written.pages,
    matched: progress.matched,
    succeeded: progress.succeeded,
    skipped: progress.skipped,
    failed: progress.failed,
  });
  if (written.state === 'done') {
    log.log(
      written.failed > 0 ? 'WARNING' : 'INFO',
      'operation.finished',
      `bulk ${held.action} ${id} finished: ${written.matched} matched, ${written.succeeded} done, ${written.skipped} skipped, ${written.failed} failed`,
      {
        action: held.action,
        actor: held.actor,
        matched: written.matched,
        succeeded: written.succeeded,
        skipped: written.skipped,
        failed: written.failed,
        pages: written.pages,
      },
    );
  }
  return { items: members.length, state: written.state };
}

/** One request's part of an operation: the single action's use case, or why it was skipped. */
export async function applyAction(
  deps: AppDeps,
  action: BulkAction,
  requestId: string,
  actor: Actor,
): Promise<ItemOutcome> {
  try {
    const instances = await deps.store.listInstances(requestId);
    switch (action) {
      case 'approve':
        if (!instances.some((i) => i.state === 'pending_approval')) {
          return { outcome: 'skipped', why: 'nothing awaiting approval' };
        }
        await approveRequest(deps, requestId, {}, actor);
        return { outcome: 'succeeded' };
      case 'cancel':
        if (!instances.some((i) => CANCELLABLE_STATES.includes(i.state) || i.state === 'waiting')) {
          return { outcome: 'skipped', why: 'nothing left to cancel' };
        }
        await cancelRequest(deps, requestId, actor);
        return { outcome: 'succeeded' };
      case 'retry':
        return await retryFailed(
          deps,
          requestId,
          instances.filter((i) => i.state === 'failed'),
          actor,
        );
    }
  } catch (err) {
    return outcomeOfError(requestId, err);
  }
}

/** Retries each failed instance, naming the series it saw (a replayed page is then refused). */
async function retryFailed(
  deps: AppDeps,
  requestId: string,
  failed: readonly { taskId: string; series: number }[],
  actor: Actor,
): Promise<ItemOutcome> {
  if (failed.length === 0) return { outcome: 'skipped', why: 'no failed instance' };
  let retried = 0;
  const failures: BulkFailure[] = [];
  for (const instance of failed) {
    try {
      await retryInstance(deps, requestId, instance.taskId, { series: instance.series }, actor);
      retried += 1;
    } catch (err) {
      const outcome = outcomeOfError(requestId, err, instance.taskId);
      if (outcome.outcome === 'failed') failures.push(...outcome.failures);
    }
  }
  if (failures.length > 0) return { outcome: 'failed', failures };
  return retried > 0 ? { outcome: 'succeeded' } : { outcome: 'skipped', why: 'retried already' };
}

/** Maps `items` ITEM_CONCURRENCY at a time, keeping their order. */
async function inParallel<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(ITEM_CONCURRENCY, items.length) }, worker));
  return out;
}
