import { createHash } from 'node:crypto';
import type { DenyReason, Request, RequestStatus } from './model';

/**
 * A request's lifecycle events (issue 12), derived from a change of its document: whatever use
 * case moved the request, the store turns the before and after into events and writes them to
 * the outbox in the same write (docs/compliance.md, "Lifecycle events").
 */
export const LIFECYCLE_EVENT_TYPES = [
  'request.filed',
  'request.acknowledged',
  'request.verified',
  'request.approved',
  'request.extended',
  'request.denied',
  'request.completed',
  'request.partially_completed',
  'request.completed_with_errors',
  'request.dry_run_completed',
  'request.dry_run_completed_with_errors',
  'request.at_risk',
  'request.overdue',
  'instance.failed',
] as const;
export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];

/**
 * The reverse-DNS prefix the CloudEvents spec recommends for `type`: `ce-type` is the prefix
 * plus the event's name, e.g. `dev.dsr-taskrunner.request.filed`.
 */
export const CE_TYPE_PREFIX = 'dev.dsr-taskrunner.';

/** `ce-type` of an event. */
export function ceTypeOf(type: LifecycleEventType): string {
  return `${CE_TYPE_PREFIX}${type}`;
}

/**
 * An event's data: ids, kind, law, status, deadlines and counts. Never a subject identifier (nor
 * the peppered subject hash: pseudonymous data is still personal data under GDPR Recital 26),
 * never `notes`, an extension's reason, a denial's note, or who acted.
 */
export interface LifecycleEventData {
  requestId: string;
  externalId?: string;
  /** The request's type: `deletion` or `records`. */
  requestType: Request['type'];
  regulation: Request['regulation'];
  status: RequestStatus;
  dryRun: boolean;
  receivedAt: string;
  dueAt: string;
  originalDueAt?: string;
  acknowledgeBy?: string;
  acknowledgedAt?: string;
  verifiedAt?: string;
  approvedAt?: string;
  extendedAt?: string;
  /** The deadline an extension moved (the reason is free text: never carried). */
  previousDueAt?: string;
  deniedAt?: string;
  denyReason?: DenyReason;
  completedAt?: string;
  deadlineRisk?: 'ok' | 'at_risk' | 'overdue';
  /** Instances per state. */
  counts: Request['counts'];
  /** instance.failed: the task whose instance failed, and its attempt series. */
  taskId?: string;
  series?: number;
}

/** One CloudEvent, as the outbox keeps it and the publisher sends it (binary content mode). */
export interface LifecycleEvent {
  /** `ce-id`: the same change always gives the same id, so a redelivery is recognisable. */
  id: string;
  type: LifecycleEventType;
  /** `ce-source`, e.g. `//dsr-taskrunner/my-project`. */
  source: string;
  /** `ce-subject`: the request id (never the data subject). */
  subject: string;
  /** `ce-time`: when the change happened. */
  time: string;
  data: LifecycleEventData;
}

/** `ce-source` for a deployment: `//dsr-taskrunner/<project>`. */
export function eventSourceFor(projectId: string): string {
  return `//dsr-taskrunner/${projectId}`;
}

const RISK_ORDER = { ok: 0, at_risk: 1, overdue: 2 } as const;

/**
 * The events a change of a request's document announces, in the order they happened. `before`
 * is null for a new request. Each event's id is a hash of the request id, the type and what
 * tells this occurrence apart (the time the change records, the deadline in force for a risk
 * crossing, the instance and series for a failure), so deriving it again gives the same id.
 */
export function lifecycleEvents(
  before: Request | null,
  after: Request,
  source: string,
): LifecycleEvent[] {
  const events: LifecycleEvent[] = [];
  const add = (
    type: LifecycleEventType,
    discriminator: string,
    time: string,
    extra: Partial<LifecycleEventData> = {},
  ) => {
    events.push({
      id: eventId(after.id, type, discriminator),
      type,
      source,
      subject: after.id,
      time,
      data: { ...dataOf(after), ...extra },
    });
  };
  const at = after.updatedAt;

  if (before === null) add('request.filed', after.id, after.createdAt);
  const was = before ?? undefined;

  if (after.acknowledgement !== undefined && was?.acknowledgement === undefined) {
    add('request.acknowledged', after.acknowledgement.at, after.acknowledgement.at);
  }
  if (after.verification?.state === 'verified' && was?.verification?.state !== 'verified') {
    const when = after.verification.at ?? at;
    add('request.verified', when, when);
  }
  if (after.approvedAt !== undefined && was?.approvedAt === undefined) {
    add('request.approved', after.approvedAt, after.approvedAt);
  }
  if (after.extension !== undefined && was?.extension === undefined) {
    add('request.extended', after.extension.at, after.extension.at);
  }
  if (after.status === 'denied' && was?.status !== 'denied') {
    const when = after.denial?.at ?? at;
    add('request.denied', when, when);
  }
  for (const failed of newFailures(was?.failedInstances, after.failedInstances)) {
    const [taskId, series] = splitFailure(failed);
    add('instance.failed', failed, at, { taskId, ...(series === undefined ? {} : { series }) });
  }
  const risk = after.deadlineRisk ?? 'ok';
  if (RISK_ORDER[risk] > RISK_ORDER[was?.deadlineRisk ?? 'ok'] && risk !== 'ok') {
    // Once per crossing: an extension resets the risk to ok with a new dueAt, so a later
    // crossing of the new deadline is a new event with a new id.
    add(risk === 'at_risk' ? 'request.at_risk' : 'request.overdue', after.dueAt, at);
  }
  // Each closed status of work is its own event: a dry run's end is never `request.completed`.
  for (const closed of [
    'completed',
    'partially_completed',
    'completed_with_errors',
    'dry_run_completed',
    'dry_run_completed_with_errors',
  ] as const) {
    if (after.status === closed && was?.status !== closed) {
      const when = after.completedAt ?? at;
      add(`request.${closed}`, when, when);
    }
  }
  return events;
}

/** A deterministic `ce-id`: a SHA-256 of the request id, the type and the occurrence. */
export function eventId(
  requestId: string,
  type: LifecycleEventType,
  discriminator: string,
): string {
  return createHash('sha256')
    .update(`${requestId}\n${type}\n${discriminator}`)
    .digest('hex')
    .slice(0, 32);
}

function newFailures(
  before: readonly string[] | undefined,
  after: readonly string[] | undefined,
): string[] {
  const seen = new Set(before ?? []);
  return (after ?? []).filter((f) => !seen.has(f));
}

function splitFailure(failed: string): [string, number | undefined] {
  const i = failed.lastIndexOf('#');
  if (i < 0) return [failed, undefined];
  const series = Number(failed.slice(i + 1));
  return [failed.slice(0, i), Number.isSafeInteger(series) ? series : undefined];
}

/** The data an event carries, picked field by field (an allow-list, never a spread). */
function dataOf(r: Request): LifecycleEventData {
  const data: LifecycleEventData = {
    requestId: r.id,
    requestType: r.type,
    regulation: r.regulation,
    status: r.status,
    dryRun: r.dryRun,
    receivedAt: r.receivedAt,
    dueAt: r.dueAt,
    counts: { ...r.counts },
  };
  const optional: Partial<LifecycleEventData> = {
    externalId: r.externalId,
    originalDueAt: r.originalDueAt,
    acknowledgeBy: r.acknowledgeBy,
    acknowledgedAt: r.acknowledgement?.at,
    verifiedAt: r.verification?.state === 'verified' ? r.verification.at : undefined,
    approvedAt: r.approvedAt,
    extendedAt: r.extension?.at,
    previousDueAt: r.extension?.previousDueAt,
    deniedAt: r.denial?.at,
    denyReason: r.denial?.reason,
    completedAt: r.completedAt,
    deadlineRisk: r.deadlineRisk,
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) Object.assign(data, { [key]: value });
  }
  return data;
}
