import { deadlineStatus, type DeadlineRisk, type DeadlineSettings } from '../domain/deadline';
import type { Instance, InstanceState, Request, Run } from '../domain/model';
import { isOpenStatus } from '../domain/states';
import { auditEstimateOf, type AuditEstimate } from '../executors/contract';
import type { AppDeps } from './deps';
import { requireRequest } from './lookups';
import { summarise } from './rollup';

/**
 * What the API shows of requests, instances and runs: views derived from what is stored (the
 * status from the instances, never stale), with the subject's values never echoed back.
 */

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
  /** Who approved which task version; four-eyes tasks need two distinct approvers. */
  approvals?: Instance['approvals'];
  denial?: Instance['denial'];
  /** The task version the instance is approved for (or last ran). */
  taskVersion?: Instance['taskVersion'];
  /** Dry-run requests: what the instance's audit says a real run would do. */
  estimate?: AuditEstimate;
  /** A deletion that matched no rows while other tasks found the subject: see `zeroMatchTasks`. */
  zeroMatchWarning?: string;
}

/** A dry-run request's estimates, added up over the instances that gave one. */
export interface DryRunEstimate {
  instancesEstimated: number;
  wouldAffectRows: number;
  estimatedBytesBilled: number;
  estimatedUsd: number;
  /**
   * What this request would pay where its tasks batch and their batches fill: each batching
   * task's share of its flush, the others' own estimate.
   */
  estimatedBatchedUsd: number;
}

export interface RequestView {
  id: string;
  type: Request['type'];
  status: Request['status'];
  overdue: boolean;
  /** `at_risk` under 25 % of the period in force left, `overdue` past dueAt; `ok` once closed. */
  deadlineRisk: DeadlineRisk;
  regulation: Request['regulation'];
  receivedAt: string;
  /** The deadline in force (moved by an extension, or by a verification where the clock waited). */
  dueAt: string;
  /** The deadline as computed at filing. */
  originalDueAt?: string;
  /** Open requests: calendar days (business time zone) to dueAt; 0 due today, negative late. */
  daysLeft?: number;
  /** Where the law asks for an acknowledgement (CCPA), by when. */
  acknowledgeBy?: string;
  acknowledgement?: Request['acknowledgement'];
  extension?: Request['extension'];
  /** Identity verification: `pending` (nothing runs), or who verified it, when and how. */
  verification?: Request['verification'];
  /** A denied request: the basis, who denied it and when. */
  denial?: Request['denial'];
  /** When the last approval released the request. */
  approvedAt?: string;
  externalId?: string;
  notes?: string;
  dryRun: boolean;
  duplicateOf?: string;
  createdAt: string;
  /** Who filed it: never one of its approvers. */
  filedBy: string;
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
  /**
   * Deletion tasks that matched none of the subject's rows while other tasks of the request found
   * some: a silent `not_found` is how a wrong match rule (an unnormalised email) hides.
   */
  zeroMatchWarning?: { tasks: string[]; message: string };
  instances: InstanceView[];
}

export const ZERO_MATCH_WARNING =
  "matched none of the subject's rows while other tasks of this request found theirs: check the task's match rule (a normalise such as email, a hash, the column)";

/**
 * The deletion tasks whose last run found nothing (`not_found`) in a request where another task
 * found and changed the subject's data.
 */
export function zeroMatchTasks(
  request: Pick<Request, 'type' | 'dryRun'>,
  instances: readonly Instance[],
): string[] {
  if (request.type !== 'deletion' || request.dryRun) return [];
  const found = instances.some((i) => i.lastRun?.status === 'succeeded');
  if (!found) return [];
  return instances
    .filter((i) => i.state === 'succeeded' && i.lastRun?.status === 'not_found')
    .map((i) => i.taskId)
    .sort();
}

/** What GET /requests/:id shows: the status derived now from the instances, never stale. */
export function requestView(
  request: Request,
  instances: readonly Instance[],
  now: Date,
  settings: DeadlineSettings,
  estimates: ReadonlyMap<string, AuditEstimate> = new Map(),
): RequestView {
  const summary = summarise(instances, request.denial, request.dryRun);
  const zeroMatch = zeroMatchTasks(request, instances);
  return {
    id: request.id,
    type: request.type,
    status: summary.status,
    ...deadlineFields(request, summary.status, now, settings),
    regulation: request.regulation,
    receivedAt: request.receivedAt,
    ...(request.verification === undefined ? {} : { verification: request.verification }),
    ...(request.denial === undefined ? {} : { denial: request.denial }),
    ...(request.approvedAt === undefined ? {} : { approvedAt: request.approvedAt }),
    ...(request.externalId === undefined ? {} : { externalId: request.externalId }),
    ...(request.notes === undefined ? {} : { notes: request.notes }),
    dryRun: request.dryRun,
    ...(request.duplicateOf === undefined ? {} : { duplicateOf: request.duplicateOf }),
    createdAt: request.createdAt,
    filedBy: request.createdBy,
    ...(request.completedAt === undefined ? {} : { completedAt: request.completedAt }),
    subjectIdentifiers: request.subjectKinds ?? Object.keys(request.subject).sort(),
    ...(request.minimisedAt === undefined ? {} : { minimisedAt: request.minimisedAt }),
    ...(request.retainUntil === undefined ? {} : { retainUntil: request.retainUntil }),
    counts: summary.counts,
    cost: summary.cost,
    ...(request.dryRun ? { estimate: addEstimates([...estimates.values()]) } : {}),
    ...(zeroMatch.length === 0
      ? {}
      : { zeroMatchWarning: { tasks: zeroMatch, message: ZERO_MATCH_WARNING } }),
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
          'approvals',
          'denial',
          'taskVersion',
        ]),
        ...(estimates.has(i.taskId) ? { estimate: estimates.get(i.taskId) } : {}),
        ...(zeroMatch.includes(i.taskId) ? { zeroMatchWarning: ZERO_MATCH_WARNING } : {}),
      })),
  };
}

function addEstimates(estimates: readonly AuditEstimate[]): DryRunEstimate {
  const usd = estimates.reduce((sum, e) => sum + e.estimatedUsd, 0);
  const batched = estimates.reduce(
    (sum, e) => sum + (e.batch?.estimatedShareUsd ?? e.estimatedUsd),
    0,
  );
  return {
    instancesEstimated: estimates.length,
    wouldAffectRows: estimates.reduce((sum, e) => sum + (e.wouldAffectRows ?? 0), 0),
    estimatedBytesBilled: estimates.reduce((sum, e) => sum + e.estimatedBytesBilled, 0),
    estimatedUsd: Math.round(usd * 1e9) / 1e9,
    estimatedBatchedUsd: Math.round(batched * 1e9) / 1e9,
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

/**
 * The deadline part of a view: dueAt and the deadlines the law sets, the extension and the
 * acknowledgement, and (open requests only) days left and the risk at `now`.
 */
export function deadlineFields(
  request: Request,
  status: Request['status'],
  now: Date,
  settings: DeadlineSettings,
): Pick<
  RequestView,
  | 'overdue'
  | 'deadlineRisk'
  | 'dueAt'
  | 'originalDueAt'
  | 'daysLeft'
  | 'acknowledgeBy'
  | 'acknowledgement'
  | 'extension'
> {
  const open = isOpenStatus(status);
  const at = open ? deadlineStatus(request, now, settings) : undefined;
  const risk = at?.deadlineRisk ?? 'ok';
  return {
    overdue: risk === 'overdue' || request.overdue,
    deadlineRisk: risk,
    dueAt: request.dueAt,
    ...(request.originalDueAt === undefined ? {} : { originalDueAt: request.originalDueAt }),
    ...(at === undefined ? {} : { daysLeft: at.daysLeft }),
    ...(request.acknowledgeBy === undefined ? {} : { acknowledgeBy: request.acknowledgeBy }),
    ...(request.acknowledgement === undefined ? {} : { acknowledgement: request.acknowledgement }),
    ...(request.extension === undefined ? {} : { extension: request.extension }),
  };
}

/** One request as the API shows it. With `ownedBy`, another caller's request is not found. */
export async function getRequestView(
  deps: AppDeps,
  id: string,
  ownedBy?: string,
): Promise<RequestView> {
  const request = await requireRequest(deps, id, ownedBy);
  const instances = await deps.store.listInstances(id);
  const estimates = request.dryRun ? await dryRunEstimates(deps, id, instances) : undefined;
  return requestView(request, instances, deps.clock.now(), deps.settings, estimates);
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

/** A run as the API lists it: flagged where its `not_found` is a zero-match warning. */
export type RunView = Run & { zeroMatchWarning?: string };

export async function listRuns(deps: AppDeps, id: string): Promise<RunView[]> {
  const request = await requireRequest(deps, id);
  const [runs, instances] = await Promise.all([
    deps.store.listRuns(id),
    deps.store.listInstances(id),
  ]);
  const flagged = new Set(zeroMatchTasks(request, instances));
  const lastRuns = new Set(instances.map((i) => i.lastRun?.runId));
  return runs
    .map((run) =>
      flagged.has(run.taskId) && lastRuns.has(run.runId)
        ? { ...run, zeroMatchWarning: ZERO_MATCH_WARNING }
        : run,
    )
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.taskId.localeCompare(b.taskId));
}
