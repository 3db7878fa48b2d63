import { deadlineStatus, isWorseRisk, type DeadlineRisk } from '../domain/deadline';
import { isOpenStatus } from '../domain/states';
import type { Instance, Request } from '../domain/model';
import type { InstanceQuery, Page } from '../ports/request-store';
import type { AppDeps } from './deps';
import { ENQUEUE_HORIZON_MS, queueInstances } from './enqueue';
import { tasksById } from './lookups';
import { rollupRequest } from './rollup';
import { expireLease, rearmLate } from './watchdog';
import { rearmDueBatches } from './batch-arm';
import { publishPending, type PublishSummary } from './event-outbox';
import { needsResumeSweep, rearmPausedInstance, reportPausedTask } from './task-pause';
import { advanceOperations } from './bulk-operations';

/** The counts of one dispatch run: the `dispatch.finished` line and the HTTP answer. */
export interface DispatchSummary {
  /** Outbox instances handed to Cloud Tasks. */
  enqueued: number;
  /** Cloud Tasks that could not be created (the instances stay in the outbox for the next run). */
  enqueueFailed: number;
  /** Parked instances now within the horizon, and late instances whose Cloud Task was lost. */
  rearmed: number;
  /** Leases the watchdog expired: attempts recorded as abandoned, then retried or failed. */
  expired: number;
  /** Waiting instances whose poll task was lost, scheduled again. */
  polled: number;
  /** Batches whose flush was overdue (lost, or its lease ran out), armed again. */
  batchesRearmed: number;
  /** Paused tasks (each reported as `task.paused_open`). */
  pausedTasks: number;
  /** Outbox instances of a paused task, moved to `paused` instead of being sent. */
  paused: number;
  /** `paused` instances of resumed tasks, moved back to the outbox (and sent in this run). */
  resumed: number;
  /** Pages of bulk operations done (`POST /requests:bulk`), and the requests they acted on. */
  operationPages: number;
  operationItems: number;
  /** Requests whose stored status, counts or cost changed. */
  rolledUp: number;
  /** Closed requests whose subject and records package were removed (PII minimisation). */
  minimised: number;
  overdue: number;
  atRisk: number;
  /** Open requests still waiting for identity verification after VERIFICATION_ALERT_HOURS. */
  verificationOverdue: number;
  /** Instances or requests whose handling threw; each is logged, and the next run tries again. */
  itemsFailed: number;
  /** The time budget ran out before every phase was done; the next run carries on. */
  budgetExhausted: boolean;
  /** Lifecycle events published from the outbox (when events are on), and what is pending. */
  events?: PublishSummary;
  durationMs: number;
}

/** How many instances of a page are handled at once. */
const PAGE_CONCURRENCY = 16;
/** The share of the budget the instance phases may use, so roll-up and deadlines always run. */
const INSTANCE_PHASES_SHARE = 0.75;
/** The share by which bulk operations must have finished their pages. */
const OPERATIONS_SHARE = 0.6;

/**
 * The reconciler, run by Cloud Scheduler (locally by a timer). In order: the watchdog (expired
 * leases), the outbox (and parked instances that came within range), late deliveries (lost
 * Cloud Tasks and polls), then each open request's roll-up and deadline. Every action is a
 * guarded write and every Cloud Task name is deterministic, so two runs at once do no harm. It
 * works in pages and stops starting new ones when its time budget is spent.
 */
export async function dispatch(deps: AppDeps): Promise<DispatchSummary> {
  const started = deps.clock.now();
  const budgetMs = deps.settings.dispatchBudgetSeconds * 1000;
  const elapsed = () => deps.clock.now().getTime() - started.getTime();
  const run: DispatchRun = {
    deps,
    now: started,
    summary: {
      enqueued: 0,
      enqueueFailed: 0,
      rearmed: 0,
      expired: 0,
      polled: 0,
      batchesRearmed: 0,
      pausedTasks: 0,
      paused: 0,
      resumed: 0,
      operationPages: 0,
      operationItems: 0,
      rolledUp: 0,
      minimised: 0,
      overdue: 0,
      atRisk: 0,
      verificationOverdue: 0,
      itemsFailed: 0,
      budgetExhausted: false,
      durationMs: 0,
    },
    hasTime: (share) => {
      if (elapsed() < budgetMs * share) return true;
      run.summary.budgetExhausted = true;
      return false;
    },
  };
  await expireLeases(run);
  await sweepPausedTasks(run);
  await drainOutbox(run);
  await rearmLateDeliveries(run);
  if (run.hasTime(INSTANCE_PHASES_SHARE)) {
    run.summary.batchesRearmed = await rearmDueBatches(deps, run.now);
  }
  await advanceBulkOperations(run);
  await reconcileRequests(run);
  await minimiseClosedRequests(run);
  // Last, so the events of this run's own changes go out too; an outage leaves them pending.
  if (deps.events !== undefined) {
    const budget = Math.max(1000, budgetMs - elapsed());
    run.summary.events = await publishPending(
      { events: deps.events, clock: deps.clock, log: deps.log },
      { budgetMs: budget },
    );
  }
  const { summary } = run;
  summary.durationMs = elapsed();
  deps.log.log(
    summary.budgetExhausted ? 'WARNING' : 'INFO',
    'dispatch.finished',
    summary.budgetExhausted
      ? `dispatch run stopped at its ${deps.settings.dispatchBudgetSeconds} s budget; the next run carries on`
      : 'dispatch run finished',
    { ...summary },
  );
  return summary;
}

interface DispatchRun {
  deps: AppDeps;
  /** One instant for the whole run, so every phase sees the same due times. */
  now: Date;
  summary: DispatchSummary;
  /** Whether this share of the budget is still unspent (marks the run exhausted when not). */
  hasTime(share: number): boolean;
}

/** Pages through a query while the budget lasts, handing each page to `handle`. */
async function eachPage<T>(
  run: DispatchRun,
  share: number,
  fetch: (cursor: string | undefined) => Promise<Page<T>>,
  handle: (items: T[]) => Promise<void>,
): Promise<void> {
  let cursor: string | undefined;
  do {
    if (!run.hasTime(share)) return;
    const page = await fetch(cursor);
    await handle(page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

/** Instances matching `query`, page by page; each instance is handled on its own. */
async function eachInstance(
  run: DispatchRun,
  query: Omit<InstanceQuery, 'limit' | 'cursor'>,
  handle: (instance: Instance, task: Awaited<ReturnType<typeof tasksById>>) => Promise<void>,
): Promise<void> {
  const { deps } = run;
  await eachPage(
    run,
    INSTANCE_PHASES_SHARE,
    (cursor) =>
      deps.store.queryInstances({
        ...query,
        limit: deps.settings.dispatchPageSize,
        ...(cursor === undefined ? {} : { cursor }),
      }),
    async (items) => {
      const tasks = await tasksById(deps, items);
      await inParallel(items, (instance) =>
        guarded(run, instance.requestId, instance.taskId, () => handle(instance, tasks)),
      );
    },
  );
}

/** The watchdog: running instances whose lease has expired. */
async function expireLeases(run: DispatchRun): Promise<void> {
  const { deps, now, summary } = run;
  await eachInstance(
    run,
    { states: ['running'], dueBefore: now, dueField: 'leaseExpiresAt' },
    async (instance, tasks) => {
      const outcome = await expireLease(deps, instance, tasks.get(instance.taskId), now);
      if (!outcome.expired) return;
      summary.expired += 1;
      if (outcome.retry && outcome.enqueue === 'failed') summary.enqueueFailed += 1;
    },
  );
}

/**
 * The outbox: `pending_enqueue` instances due within the Cloud Tasks horizon. That covers
 * enqueues that failed (queue down at intake, approval or retry) and parked instances whose
 * time has come within range; parked ones further out are not even read.
 */
async function drainOutbox(run: DispatchRun): Promise<void> {
  const { deps, now, summary } = run;
  const horizon = new Date(now.getTime() + ENQUEUE_HORIZON_MS);
  await eachInstance(
    run,
    { states: ['pending_enqueue'], dueBefore: horizon, dueField: 'scheduleTime' },
    async (instance, tasks) => {
      const [result] = await queueInstances(deps, [instance], tasks);
      if (result?.outcome === 'failed') summary.enqueueFailed += 1;
      if (result?.outcome === 'paused') summary.paused += 1;
      if (result?.outcome !== 'enqueued') return;
      if (!result.rearmed) {
        summary.enqueued += 1;
        return;
      }
      summary.rearmed += 1;
      deps.log
        .child({ labels: { requestId: instance.requestId, taskId: instance.taskId } })
        .info('instance.rearmed', `parked instance enqueued for ${result.instance.scheduleTime}`, {
          reason: 'parked',
          scheduleTime: result.instance.scheduleTime,
          cloudTaskName: result.instance.cloudTaskName,
        });
    },
  );
}

/**
 * Paused tasks and lately resumed ones (task-pause.ts): each paused task is reported with the
 * instances waiting on it (`task.paused_open`; the requests' deadline alerts go on as usual),
 * and each `paused` instance of a resumed task goes back to the outbox, which the next phase
 * drains under fresh Cloud Task names.
 */
async function sweepPausedTasks(run: DispatchRun): Promise<void> {
  const { deps, now, summary } = run;
  if (!run.hasTime(INSTANCE_PHASES_SHARE)) return;
  const tasks = await deps.store.listTasks();
  for (const task of tasks) {
    const paused = task.paused;
    if (paused !== undefined) {
      summary.pausedTasks += 1;
      await reportPausedTask(deps, { ...task, paused }, now).catch((err: unknown) => {
        summary.itemsFailed += 1;
        deps.log
          .child({ labels: { taskId: task.id } })
          .error(
            'dispatch.item_failed',
            'could not report a paused task; the next run retries',
            err,
          );
      });
    } else if (needsResumeSweep(task, now)) {
      await eachInstance(run, { states: ['paused'], taskId: task.id }, async (instance) => {
        if (await rearmPausedInstance(deps, instance, now)) summary.resumed += 1;
      });
    }
  }
}

/**
 * Deliveries overdue by more than REARM_AFTER_SECONDS: queued (by scheduleTime), retrying and
 * waiting (by nextAttemptAt). Their Cloud Task is created again under its own name, which is
 * a no-op when it still exists.
 */
async function rearmLateDeliveries(run: DispatchRun): Promise<void> {
  const { deps, now, summary } = run;
  const late = new Date(now.getTime() - deps.settings.rearmAfterSeconds * 1000);
  const queries: Omit<InstanceQuery, 'limit' | 'cursor'>[] = [
    { states: ['queued'], dueBefore: late, dueField: 'scheduleTime' },
    { states: ['retry_scheduled', 'waiting'], dueBefore: late, dueField: 'nextAttemptAt' },
  ];
  for (const query of queries) {
    await eachInstance(run, query, async (instance, tasks) => {
      const outcome = await rearmLate(deps, instance, tasks.get(instance.taskId), now);
      if (outcome === 'failed') summary.enqueueFailed += 1;
      if (outcome !== 'created') return;
      if (instance.state === 'waiting') summary.polled += 1;
      else summary.rearmed += 1;
    });
  }
}

/**
 * Bulk operations (bulk-operations.ts), a page at a time within their share of the budget, so
 * roll-ups and deadline alerts always run; a long operation goes on in the next runs.
 */
async function advanceBulkOperations(run: DispatchRun): Promise<void> {
  const { deps, summary } = run;
  try {
    const done = await advanceOperations(deps, () => run.hasTime(OPERATIONS_SHARE));
    summary.operationPages += done.pages;
    summary.operationItems += done.items;
  } catch (err) {
    summary.itemsFailed += 1;
    deps.log.error(
      'dispatch.item_failed',
      'a bulk operation page failed; the next run reads it again',
      err,
    );
  }
}

/** Each open request: persist its roll-up, and log `request.overdue` near or past dueAt. */
async function reconcileRequests(run: DispatchRun): Promise<void> {
  const { deps, summary } = run;
  await eachPage(
    run,
    1,
    (cursor) => deps.store.queryOpenRequests(deps.settings.dispatchPageSize, cursor),
    async (requests) => {
      await inParallel(requests, (request) =>
        guarded(run, request.id, undefined, async () => {
          const updated = await rollupRequest(deps, request.id);
          if (updated !== null && updated.updatedAt !== request.updatedAt) summary.rolledUp += 1;
          await reportDeadline(run, request, updated);
          reportVerificationWait(run, updated ?? request);
        }),
      );
    },
  );
}

/**
 * PII minimisation: PII_RETENTION_DAYS after a request closed, its subject identifiers (only
 * their kinds stay) and its records package go; the subjectHash, instances and runs stay as the
 * proof of what ran. With RECORD_RETENTION_DAYS > 0 that proof then gets a TTL time, after which
 * Firestore deletes the request and everything under it.
 */
async function minimiseClosedRequests(run: DispatchRun): Promise<void> {
  const { deps, now, summary } = run;
  const day = 86_400_000;
  const closedBefore = new Date(now.getTime() - deps.settings.piiRetentionDays * day);
  const keepDays = deps.settings.recordRetentionDays;
  const retainUntil = keepDays > 0 ? new Date(now.getTime() + keepDays * day) : undefined;
  await eachPage(
    run,
    1,
    (cursor) =>
      deps.store.queryRequestsToMinimise(
        closedBefore.toISOString(),
        deps.settings.dispatchPageSize,
        cursor,
      ),
    async (requests) => {
      await inParallel(requests, (request) =>
        guarded(run, request.id, undefined, async () => {
          const done = await deps.store.minimiseRequest(
            request.id,
            (current) =>
              // A retried instance reopens a request: only a request still closed is minimised.
              current.minimised === true ||
              isOpenStatus(current.status) ||
              current.completedAt === undefined ||
              current.completedAt > closedBefore.toISOString()
                ? null
                : {
                    subject: {},
                    subjectAsGiven: undefined,
                    notes: undefined, // free text may name the subject
                    subjectKinds: Object.keys(current.subject).sort(),
                    minimised: true,
                    minimisedAt: now.toISOString(),
                    ...(retainUntil === undefined
                      ? {}
                      : { retainUntil: retainUntil.toISOString() }),
                    updatedAt: now.toISOString(),
                  },
            retainUntil,
          );
          if (done === null) return;
          summary.minimised += 1;
          deps.log
            .child({ labels: { requestId: request.id } })
            .info('request.minimised', 'subject identifiers and records package removed', {
              subjectHash: done.subjectHash,
              completedAt: done.completedAt,
              retainUntil: done.retainUntil ?? null,
            });
        }),
      );
    },
  );
}

async function reportDeadline(
  run: DispatchRun,
  request: Request,
  updated: Request | null,
): Promise<void> {
  const { deps, now, summary } = run;
  const current = updated ?? request;
  if (!isOpenStatus(current.status)) return;
  const { deadlineRisk: risk } = deadlineStatus(current, now, deps.settings);
  await recordDeadlineRisk(deps, current, risk);
  if (risk === 'ok') return;
  const log = deps.log.child({ labels: { requestId: request.id } });
  const hoursLeft = Math.round((Date.parse(current.dueAt) - now.getTime()) / 36e5);
  const fields = {
    dueAt: current.dueAt,
    hoursLeft,
    risk,
    status: current.status,
  };
  if (risk === 'overdue') {
    summary.overdue += 1;
    log.log('ERROR', 'request.overdue', `request is past its due date (${current.dueAt})`, fields);
    return;
  }
  summary.atRisk += 1;
  log.warn(
    'request.overdue',
    `request has under 25 % of its response period left (due ${current.dueAt})`,
    fields,
  );
}

/**
 * A request still waiting for identity verification VERIFICATION_ALERT_HOURS after it was asked
 * for: a WARNING line each run until it is verified, denied or cancelled (an alert counts them).
 * The line names the request, never the person.
 */
function reportVerificationWait(run: DispatchRun, request: Request): void {
  const { deps, now, summary } = run;
  const since = request.verification?.state === 'pending' ? request.verification.since : undefined;
  if (since === undefined || !isOpenStatus(request.status) || request.denial !== undefined) return;
  const waitedHours = (now.getTime() - Date.parse(since)) / 36e5;
  if (waitedHours < deps.settings.verificationAlertHours) return;
  summary.verificationOverdue += 1;
  deps.log
    .child({ labels: { requestId: request.id } })
    .warn(
      'request.verification_overdue',
      `request has waited ${Math.floor(waitedHours)} h for identity verification (alert after ${deps.settings.verificationAlertHours} h)`,
      {
        since,
        waitedHours: Math.floor(waitedHours),
        alertAfterHours: deps.settings.verificationAlertHours,
        dueAt: request.dueAt,
        regulation: request.regulation,
      },
    );
}

/**
 * Records the risk on the request when it crossed into a worse one (`request.at_risk` and
 * `request.overdue` are derived from that change, once per crossing), or when a moved deadline
 * (an extension, a verification that restarted the clock) made it better again. A risk only
 * worsens while dueAt stays put, so a better one is never recorded without a move.
 */
async function recordDeadlineRisk(
  deps: AppDeps,
  request: Request,
  risk: DeadlineRisk,
): Promise<void> {
  const change = (c: Request): Partial<Request> | null => {
    const moved = c.extension !== undefined || (c.originalDueAt ?? c.dueAt) !== c.dueAt;
    const recorded = c.deadlineRisk ?? 'ok';
    if (recorded === risk || (!isWorseRisk(risk, recorded) && !moved)) return null;
    if (c.dueAt !== request.dueAt) return null; // moved meanwhile: the next run judges it
    return {
      deadlineRisk: risk,
      ...(risk === 'overdue' && !c.overdue ? { overdue: true } : {}),
    };
  };
  if (change(request) === null) return;
  await deps.store.updateRequest(request.id, change);
}

/**
 * Runs one item's handling; a failure is logged and counted instead of ending the run, so one
 * bad document cannot stall dispatch. The item is looked at again by the next run.
 */
async function guarded(
  run: DispatchRun,
  requestId: string,
  taskId: string | undefined,
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
  } catch (err) {
    run.summary.itemsFailed += 1;
    run.deps.log
      .child({ labels: { requestId, ...(taskId === undefined ? {} : { taskId }) } })
      .error(
        'dispatch.item_failed',
        'dispatch could not handle this item; the next run retries',
        err,
      );
  }
}

/** Handles the items PAGE_CONCURRENCY at a time. */
async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PAGE_CONCURRENCY, items.length) }, worker));
}
