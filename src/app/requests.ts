import { randomUUID } from 'node:crypto';
import { computeDueAt, deadlineRisk } from '../domain/deadline';
import { ConflictError, GoneError, NotFoundError, ValidationError } from '../domain/errors';
import {
  fileRequestSchema,
  zeroCost,
  type Instance,
  type InstanceState,
  type Request,
  type Run,
  type Task,
} from '../domain/model';
import { CANCELLABLE_STATES, isOpenStatus } from '../domain/states';
import { shortHash, subjectHash } from '../domain/subject';
import { auditEstimateOf, type AuditEstimate } from '../executors/contract';
import type { Page } from '../ports/request-store';
import type { AppDeps } from './deps';
import { queuedFields, queueInstances, sendToQueue } from './enqueue';
import { rollupRequest, summarise } from './rollup';

export interface Actor {
  identity: string;
}

export interface FileRequestResult {
  created: boolean;
  view: RequestView;
}

/**
 * Intake: validate, dedupe on externalId (or Idempotency-Key), store the request and one
 * instance per active task of its type in one batch, then enqueue what needs no approval.
 */
export async function fileRequest(
  deps: AppDeps,
  body: unknown,
  actor: Actor,
  idempotencyKey?: string,
): Promise<FileRequestResult> {
  const parsed = fileRequestSchema.safeParse(body);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const input = parsed.data;
  const now = deps.clock.now();
  const receivedAt = input.receivedAt === undefined ? now : new Date(input.receivedAt);
  const dueAt = computeDueAt(
    input.regulation,
    receivedAt,
    input.dueAt === undefined ? undefined : new Date(input.dueAt),
  );
  if (dueAt.getTime() <= receivedAt.getTime()) {
    throw new ValidationError('Invalid input: dueAt: must be after receivedAt', [
      { path: 'dueAt', message: 'must be after receivedAt' },
    ]);
  }
  const externalId = input.externalId ?? idempotencyKey;
  // A repeated externalId maps to the same document id, so the create itself dedupes.
  const id =
    externalId === undefined
      ? randomUUID().replace(/-/g, '')
      : `x${shortHash(`${input.type}\n${externalId}`, 31)}`;
  const hash = subjectHash(input.subject, deps.settings.subjectHashPepper);
  const [tasks, duplicateOf] = await Promise.all([
    deps.store.listTasks({ jobType: input.type, active: true }),
    findDuplicate(deps, hash, input.type, now),
  ]);
  const iso = now.toISOString();
  const instances = tasks.map((task) => newInstance(id, task, input.subject, now));
  const request: Request = {
    id,
    type: input.type,
    subject: input.subject,
    subjectHash: hash,
    regulation: input.regulation,
    receivedAt: receivedAt.toISOString(),
    dueAt: dueAt.toISOString(),
    ...(externalId === undefined ? {} : { externalId }),
    ...(input.notes === undefined ? {} : { notes: input.notes }),
    ...(duplicateOf === undefined ? {} : { duplicateOf }),
    dryRun: input.dryRun,
    ...summarise(instances),
    overdue: false,
    minimised: false,
    createdAt: iso,
    updatedAt: iso,
    createdBy: actor.identity,
  };
  const result = await deps.store.createRequest(request, instances);
  const log = deps.log.child({ labels: { requestId: id } });
  // Every instance still `queued` is sent. On a repeat this heals an intake that stopped between
  // its commit and its enqueue; a Cloud Task that exists already is refused by name, a no-op.
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const sent = await sendToQueue(
    deps,
    result.instances.flatMap((instance) => {
      const task = byId.get(instance.taskId);
      return task === undefined ? [] : [{ instance, task }];
    }),
  );
  const sentById = new Map(sent.map((i) => [i.taskId, i]));
  const stored = result.instances.map((i) => sentById.get(i.taskId) ?? i);
  if (!result.created) {
    log.info('request.deduplicated', 'repeated externalId: returning the existing request', {
      subjectHash: result.request.subjectHash,
    });
    return {
      created: false,
      view: requestView(
        result.request,
        stored,
        deps.clock.now(),
        deps.settings.overdueWarningHours,
      ),
    };
  }
  log.info('request.filed', `${request.type} request filed with ${instances.length} instance(s)`, {
    subjectHash: hash,
    requestType: request.type,
    regulation: request.regulation,
    dueAt: request.dueAt,
    instanceCount: instances.length,
    dryRun: request.dryRun,
    ...(duplicateOf === undefined ? {} : { duplicateOf }),
  });
  return {
    created: true,
    view: requestView(result.request, stored, deps.clock.now(), deps.settings.overdueWarningHours),
  };
}

/**
 * A new instance. One that needs neither approval nor skipping is born `queued` with its Cloud
 * Task name, in the same batch as the request, so intake writes each instance once; the
 * enqueue follows, and a failure sends it back to `pending_enqueue` for dispatch.
 */
function newInstance(
  requestId: string,
  task: Task,
  subject: Record<string, string>,
  now: Date,
): Instance {
  const missing = task.requiredIdentifiers.filter((k) => subject[k] === undefined);
  const state: InstanceState =
    missing.length > 0 ? 'skipped' : task.requiresApproval ? 'pending_approval' : 'pending_enqueue';
  const base: Instance = {
    requestId,
    taskId: task.id,
    taskName: task.name,
    executor: task.executor,
    jobType: task.jobType,
    state,
    attempt: 0,
    totalAttempts: 0,
    series: 1,
    maxAttempts: task.maxAttempts,
    timeoutSeconds: task.timeoutSeconds,
    ...(missing.length > 0
      ? { skippedReason: `the subject has no ${missing.join(', ')}, which this task needs` }
      : {}),
    cost: zeroCost(),
    updatedAt: now.toISOString(),
  };
  return state === 'pending_enqueue' ? { ...base, ...queuedFields(base, task, now) } : base;
}

async function findDuplicate(
  deps: AppDeps,
  hash: string,
  type: Request['type'],
  now: Date,
): Promise<string | undefined> {
  const windowStart = now.getTime() - deps.settings.duplicateWindowDays * 86_400_000;
  const earlier = await deps.store.findRequestsBySubject(hash, type, 10);
  const match = earlier.find(
    (r) =>
      r.status !== 'cancelled' &&
      (isOpenStatus(r.status) || Date.parse(r.completedAt ?? r.updatedAt) >= windowStart),
  );
  return match?.duplicateOf ?? match?.id;
}

export interface InstanceView {
  taskId: string;
  taskName: string;
  executor: string;
  state: InstanceState;
  attempts: number;
  maxAttempts: number;
  series: number;
  cost: Instance['cost'];
  scheduleTime?: string;
  /** Its scheduleTime is beyond Cloud Tasks' 30-day horizon; dispatch enqueues it once in range. */
  parked?: boolean;
  nextAttemptAt?: string;
  lastRun?: Instance['lastRun'];
  lastError?: Instance['lastError'];
  advice?: string;
  skippedReason?: string;
  approval?: Instance['approval'];
  /** Dry-run requests: what the instance's audit says a real run would do. */
  estimate?: AuditEstimate;
}

/** A dry-run request's estimates, added up over the instances that gave one. */
export interface DryRunEstimate {
  instancesEstimated: number;
  wouldAffectRows: number;
  estimatedBytesBilled: number;
  estimatedUsd: number;
}

export interface RequestView {
  id: string;
  type: Request['type'];
  status: Request['status'];
  overdue: boolean;
  deadlineRisk: ReturnType<typeof deadlineRisk>;
  regulation: Request['regulation'];
  receivedAt: string;
  dueAt: string;
  externalId?: string;
  notes?: string;
  dryRun: boolean;
  duplicateOf?: string;
  createdAt: string;
  completedAt?: string;
  /** The identifier names only; the values are not echoed back. */
  subjectIdentifiers: string[];
  /** Set once dispatch removed the subject's identifiers, notes and records package. */
  minimisedAt?: string;
  /** When the minimised request and its runs are deleted for good (Firestore TTL). */
  retainUntil?: string;
  counts: Request['counts'];
  cost: Request['cost'];
  /** Dry-run requests only: the estimates of what a real run would do and cost. */
  estimate?: DryRunEstimate;
  instances: InstanceView[];
}

/** What GET /requests/:id shows: the status derived now from the instances, never stale. */
export function requestView(
  request: Request,
  instances: readonly Instance[],
  now: Date,
  warningHours: number,
  estimates: ReadonlyMap<string, AuditEstimate> = new Map(),
): RequestView {
  const summary = summarise(instances);
  const risk = isOpenStatus(summary.status)
    ? deadlineRisk(new Date(request.dueAt), now, warningHours)
    : 'ok';
  return {
    id: request.id,
    type: request.type,
    status: summary.status,
    overdue: risk === 'overdue' || request.overdue,
    deadlineRisk: risk,
    regulation: request.regulation,
    receivedAt: request.receivedAt,
    dueAt: request.dueAt,
    ...(request.externalId === undefined ? {} : { externalId: request.externalId }),
    ...(request.notes === undefined ? {} : { notes: request.notes }),
    dryRun: request.dryRun,
    ...(request.duplicateOf === undefined ? {} : { duplicateOf: request.duplicateOf }),
    createdAt: request.createdAt,
    ...(request.completedAt === undefined ? {} : { completedAt: request.completedAt }),
    subjectIdentifiers: request.subjectKinds ?? Object.keys(request.subject).sort(),
    ...(request.minimisedAt === undefined ? {} : { minimisedAt: request.minimisedAt }),
    ...(request.retainUntil === undefined ? {} : { retainUntil: request.retainUntil }),
    counts: summary.counts,
    cost: summary.cost,
    ...(request.dryRun ? { estimate: addEstimates([...estimates.values()]) } : {}),
    instances: [...instances]
      .sort((a, b) => a.taskId.localeCompare(b.taskId))
      .map((i) => ({
        taskId: i.taskId,
        taskName: i.taskName,
        executor: i.executor,
        state: i.state,
        attempts: i.totalAttempts,
        maxAttempts: i.maxAttempts,
        series: i.series,
        cost: i.cost,
        ...pick(i, [
          'scheduleTime',
          'parked',
          'nextAttemptAt',
          'lastRun',
          'lastError',
          'advice',
          'skippedReason',
          'approval',
        ]),
        ...(estimates.has(i.taskId) ? { estimate: estimates.get(i.taskId) } : {}),
      })),
  };
}

function addEstimates(estimates: readonly AuditEstimate[]): DryRunEstimate {
  const usd = estimates.reduce((sum, e) => sum + e.estimatedUsd, 0);
  return {
    instancesEstimated: estimates.length,
    wouldAffectRows: estimates.reduce((sum, e) => sum + e.wouldAffectRows, 0),
    estimatedBytesBilled: estimates.reduce((sum, e) => sum + e.estimatedBytesBilled, 0),
    estimatedUsd: Math.round(usd * 1e9) / 1e9,
  };
}

function pick<T extends object, K extends keyof T>(
  obj: T,
  keys: readonly K[],
): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

export async function getRequestView(deps: AppDeps, id: string): Promise<RequestView> {
  const request = await deps.store.getRequest(id);
  if (request === null) throw new NotFoundError(`no request with id ${id}`);
  const instances = await deps.store.listInstances(id);
  const estimates = request.dryRun ? await dryRunEstimates(deps, id, instances) : undefined;
  return requestView(
    request,
    instances,
    deps.clock.now(),
    deps.settings.overdueWarningHours,
    estimates,
  );
}

/** Each instance's estimate, from the output of its last run (read only for dry runs). */
async function dryRunEstimates(
  deps: AppDeps,
  id: string,
  instances: readonly Instance[],
): Promise<Map<string, AuditEstimate>> {
  const runs = new Map((await deps.store.listRuns(id)).map((r) => [r.runId, r]));
  const estimates = new Map<string, AuditEstimate>();
  for (const instance of instances) {
    const run = instance.lastRun === undefined ? undefined : runs.get(instance.lastRun.runId);
    const estimate = auditEstimateOf(run?.output);
    if (estimate !== undefined) estimates.set(instance.taskId, estimate);
  }
  return estimates;
}

export async function listRequests(
  deps: AppDeps,
  filter: { status?: Request['status']; overdue?: boolean; limit: number; cursor?: string },
): Promise<Page<Omit<RequestView, 'instances'>>> {
  const page = await deps.store.listRequests(filter);
  const now = deps.clock.now();
  return {
    items: page.items.map((r) => {
      const risk = isOpenStatus(r.status)
        ? deadlineRisk(new Date(r.dueAt), now, deps.settings.overdueWarningHours)
        : 'ok';
      const { instances: _omit, ...rest } = requestView(
        r,
        [],
        now,
        deps.settings.overdueWarningHours,
      );
      return {
        ...rest,
        status: r.status,
        counts: r.counts,
        cost: r.cost,
        deadlineRisk: risk,
        overdue: r.overdue || risk === 'overdue',
      };
    }),
    ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
  };
}

/** Approves all, or the named, instances waiting for approval, recording who and when. */
export async function approveRequest(
  deps: AppDeps,
  id: string,
  body: unknown,
  actor: Actor,
): Promise<RequestView> {
  const taskIds = parseTaskIds(body);
  const request = await requireRequest(deps, id);
  const instances = await deps.store.listInstances(id);
  if (taskIds !== undefined) {
    const known = new Set(instances.map((i) => i.taskId));
    const unknown = taskIds.filter((t) => !known.has(t));
    if (unknown.length > 0) {
      throw new ValidationError(
        `Invalid input: taskIds: no instance for ${unknown.join(', ')}`,
        unknown.map((t) => ({
          path: `taskIds[${taskIds.indexOf(t)}]`,
          message: `request ${id} has no instance for task "${t}"`,
        })),
      );
    }
  }
  const targets = instances.filter(
    (i) => i.state === 'pending_approval' && (taskIds === undefined || taskIds.includes(i.taskId)),
  );
  if (targets.length === 0 && taskIds !== undefined) {
    throw new ConflictError('none of those instances is awaiting approval', 'nothing_to_approve');
  }
  const at = deps.clock.now().toISOString();
  const approved = await Promise.all(
    targets.map((t) =>
      deps.store.updateInstance(id, t.taskId, (current) =>
        current.state === 'pending_approval'
          ? {
              state: 'pending_enqueue',
              // Due now: the outbox is read by scheduleTime, so an enqueue that never happens is found.
              scheduleTime: at,
              approval: { actor: actor.identity, at },
              updatedAt: at,
            }
          : null,
      ),
    ),
  );
  const done = approved.filter((i): i is Instance => i !== null);
  deps.log
    .child({ labels: { requestId: id } })
    .info('request.approved', `${done.length} instance(s) approved`, {
      approvedBy: actor.identity,
      taskIds: done.map((i) => i.taskId),
      subjectHash: request.subjectHash,
    });
  await queueInstances(deps, done, await tasksById(deps, done));
  await rollupRequest(deps, id);
  return getRequestView(deps, id);
}

/** Cancels every instance that has not started; running ones finish and are recorded. */
export async function cancelRequest(deps: AppDeps, id: string, actor: Actor): Promise<RequestView> {
  const request = await requireRequest(deps, id);
  const instances = await deps.store.listInstances(id);
  const at = deps.clock.now().toISOString();
  const cancelled = await Promise.all(
    instances
      .filter((i) => CANCELLABLE_STATES.includes(i.state))
      .map((i) =>
        deps.store.updateInstance(id, i.taskId, (current) =>
          CANCELLABLE_STATES.includes(current.state)
            ? {
                state: 'cancelled',
                cancelledBy: actor.identity,
                advice: `cancelled by ${actor.identity} at ${at}`,
                updatedAt: at,
              }
            : null,
        ),
      ),
  );
  deps.log.child({ labels: { requestId: id } }).info('request.cancelled', 'request cancelled', {
    cancelledBy: actor.identity,
    cancelledInstances: cancelled.filter((i) => i !== null).length,
    subjectHash: request.subjectHash,
  });
  await rollupRequest(deps, id);
  return getRequestView(deps, id);
}

/** Starts a fresh attempt series for a failed instance, with the task's current config. */
export async function retryInstance(
  deps: AppDeps,
  id: string,
  taskId: string,
  actor: Actor,
): Promise<RequestView> {
  const request = await requireRequest(deps, id);
  if (request.minimised === true) {
    throw new GoneError(
      `request ${id} was minimised at ${request.minimisedAt ?? 'an earlier date'}: its subject identifiers are gone, so nothing can run for it again; file a new request`,
      'request_minimised',
    );
  }
  const existing = await deps.store.getInstance(id, taskId);
  if (existing === null)
    throw new NotFoundError(`request ${id} has no instance for task ${taskId}`);
  const task = await deps.store.getTask(taskId);
  if (task === null) throw new NotFoundError(`task ${taskId} no longer exists`);
  const at = deps.clock.now().toISOString();
  const next = await deps.store.updateInstance(id, taskId, (current) => {
    if (current.state !== 'failed') {
      throw new ConflictError(
        `only a failed instance can be retried; this one is ${current.state}`,
        'not_failed',
      );
    }
    return {
      state: 'pending_enqueue',
      scheduleTime: at,
      series: current.series + 1,
      attempt: 0,
      maxAttempts: task.maxAttempts,
      timeoutSeconds: task.timeoutSeconds,
      advice: `retried by ${actor.identity} at ${at}`,
      updatedAt: at,
    };
  });
  if (next === null) throw new NotFoundError(`request ${id} has no instance for task ${taskId}`);
  deps.log
    .child({ labels: { requestId: id, taskId } })
    .info('instance.retried', `new attempt series ${next.series}`, {
      retriedBy: actor.identity,
      series: next.series,
    });
  await queueInstances(deps, [next], new Map([[taskId, task]]));
  await rollupRequest(deps, id);
  return getRequestView(deps, id);
}

export async function listRuns(deps: AppDeps, id: string): Promise<Run[]> {
  await requireRequest(deps, id);
  const runs = await deps.store.listRuns(id);
  return runs.sort(
    (a, b) => a.startedAt.localeCompare(b.startedAt) || a.taskId.localeCompare(b.taskId),
  );
}

async function requireRequest(deps: AppDeps, id: string): Promise<Request> {
  const request = await deps.store.getRequest(id);
  if (request === null) throw new NotFoundError(`no request with id ${id}`);
  return request;
}

export async function tasksById(
  deps: Pick<AppDeps, 'store'>,
  instances: readonly Instance[],
): Promise<Map<string, Task>> {
  const ids = [...new Set(instances.map((i) => i.taskId))];
  const tasks = await Promise.all(ids.map((t) => deps.store.getTask(t)));
  return new Map(tasks.filter((t): t is Task => t !== null).map((t) => [t.id, t]));
}

function parseTaskIds(body: unknown): string[] | undefined {
  if (
    body === undefined ||
    body === null ||
    (typeof body === 'object' && Object.keys(body).length === 0)
  ) {
    return undefined;
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('Invalid input: (body): expected an object', [
      { path: '', message: 'expected an object' },
    ]);
  }
  const { taskIds, ...rest } = body as Record<string, unknown>;
  const issues = Object.keys(rest).map((k) => ({ path: k, message: 'unknown field' }));
  if (
    taskIds !== undefined &&
    (!Array.isArray(taskIds) || !taskIds.every((t) => typeof t === 'string'))
  ) {
    issues.push({ path: 'taskIds', message: 'expected an array of task ids' });
  }
  if (issues.length > 0) {
    throw new ValidationError(
      `Invalid input: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  return taskIds as string[] | undefined;
}
