import { randomUUID } from 'node:crypto';
import { computeDeadlines } from '../domain/deadline';
import { ConflictError, ValidationError } from '../domain/errors';
import {
  fileRequestSchema,
  zeroCost,
  type FileRequestInput,
  type Instance,
  type InstanceState,
  type Request,
  type Subject,
  type Task,
} from '../domain/model';
import { isOpenStatus } from '../domain/states';
import { shortHash, subjectHash } from '../domain/subject';
import type { Actor } from './actor';
import type { AppDeps } from './deps';
import { queuedFields, sendToQueue } from './enqueue';
import { requestView, type RequestView } from './request-views';
import { summarise } from './rollup';

export interface FileRequestResult {
  created: boolean;
  view: RequestView;
}

/** externalId and Idempotency-Key: 1-128 of letters, digits and `. _ : -`. */
const KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Intake: validate, normalise the subject, dedupe on externalId (or the caller's
 * Idempotency-Key), store the request and one instance per active task of its type in one
 * batch, then enqueue what needs no approval. A repeat that differs from what was filed is a
 * conflict, never a silent answer with the old request.
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
  if (idempotencyKey !== undefined && !KEY_PATTERN.test(idempotencyKey)) {
    const message = 'Idempotency-Key: 1-128 of letters, digits and . _ : -';
    throw new ValidationError(`Invalid input: ${message}`, [
      { path: 'headers.Idempotency-Key', message },
    ]);
  }
  const now = deps.clock.now();
  const receivedAt = input.receivedAt === undefined ? now : new Date(input.receivedAt);
  // The law's deadlines, in the business time zone; an explicit dueAt in the body still wins.
  const deadlines = computeDeadlines(input.regulation, receivedAt, deps.settings);
  const dueAt = input.dueAt === undefined ? deadlines.dueAt : new Date(input.dueAt);
  if (dueAt.getTime() <= receivedAt.getTime()) {
    throw new ValidationError('Invalid input: dueAt: must be after receivedAt', [
      { path: 'dueAt', message: 'must be after receivedAt' },
    ]);
  }
  const { subject, asGiven } = normaliseSubject(input.subject);
  const id = requestIdFor(input.externalId, idempotencyKey, actor.identity);
  const hash = subjectHash(subject, deps.settings.subjectHashPepper);
  const [tasks, duplicateOf] = await Promise.all([
    deps.store.listTasks({ jobType: input.type, active: true }),
    findDuplicate(deps, hash, input.type, now),
  ]);
  const iso = now.toISOString();
  // Filed pending verification: every instance waits, and nothing is enqueued, until verified.
  const held = input.verification === 'pending';
  const instances = tasks.map((task) => newInstance(id, task, subject, now, held));
  const request: Request = {
    id,
    type: input.type,
    subject,
    ...(asGiven === undefined ? {} : { subjectAsGiven: asGiven }),
    subjectHash: hash,
    regulation: input.regulation,
    receivedAt: receivedAt.toISOString(),
    dueAt: dueAt.toISOString(),
    originalDueAt: dueAt.toISOString(),
    ...(deadlines.acknowledgeBy === undefined
      ? {}
      : { acknowledgeBy: deadlines.acknowledgeBy.toISOString() }),
    ...(input.externalId === undefined ? {} : { externalId: input.externalId }),
    ...(input.notes === undefined ? {} : { notes: input.notes }),
    ...(duplicateOf === undefined ? {} : { duplicateOf }),
    ...(held ? { verification: { state: 'pending' as const, since: iso } } : {}),
    dryRun: input.dryRun,
    // Denormalised so GET /requests?task= filters without reading instances.
    taskIds: instances.map((i) => i.taskId).sort(),
    ...summarise(instances, undefined, input.dryRun),
    overdue: false,
    minimised: false,
    createdAt: iso,
    updatedAt: iso,
    createdBy: actor.identity,
  };
  const result = await deps.store.createRequest(request, instances, {
    kind: 'filed',
    actor: actor.identity,
    at: iso,
    details: {
      type: request.type,
      regulation: request.regulation,
      dryRun: request.dryRun,
      ...(held ? { verification: 'pending' } : {}),
      subjectHash: hash,
      instances: instances.map((i) => ({ taskId: i.taskId, state: i.state })),
    },
  });
  if (!result.created) assertSameFiling(result.request, request, input);
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
  const view = requestView(result.request, stored, deps.clock.now(), deps.settings);
  if (!result.created) {
    log.info('request.deduplicated', 'repeated externalId: returning the existing request', {
      subjectHash: result.request.subjectHash,
    });
    return { created: false, view };
  }
  log.info('request.filed', `${request.type} request filed with ${instances.length} instance(s)`, {
    subjectHash: hash,
    requestType: request.type,
    regulation: request.regulation,
    dueAt: request.dueAt,
    instanceCount: instances.length,
    dryRun: request.dryRun,
    filedBy: actor.identity,
    ...(result.request.ledgerHead === undefined
      ? {}
      : { chainSeq: result.request.ledgerHead.seq, chainHash: result.request.ledgerHead.hash }),
    ...(duplicateOf === undefined ? {} : { duplicateOf }),
  });
  return { created: true, view };
}

/**
 * The request id. An externalId names one request whatever its type, so a repeat maps to the
 * same document and the create itself dedupes; an Idempotency-Key is scoped to its caller, as
 * payment APIs scope theirs; otherwise a random id.
 */
function requestIdFor(
  externalId: string | undefined,
  idempotencyKey: string | undefined,
  caller: string,
): string {
  if (externalId !== undefined) return `x${shortHash(`external\n${externalId}`, 31)}`;
  if (idempotencyKey !== undefined) {
    return `k${shortHash(`idempotency\n${caller}\n${idempotencyKey}`, 31)}`;
  }
  return randomUUID().replace(/-/g, '');
}

/** A repeat must be the same filing: the same type, subject, regulation and mode. */
function assertSameFiling(existing: Request, filed: Request, input: FileRequestInput): void {
  const differs = [
    existing.type !== filed.type ? 'type' : undefined,
    existing.subjectHash !== filed.subjectHash ? 'subject' : undefined,
    existing.regulation !== filed.regulation ? 'regulation' : undefined,
    existing.dryRun !== filed.dryRun ? 'dryRun' : undefined,
    (existing.verification === undefined) !== (filed.verification === undefined)
      ? 'verification'
      : undefined,
  ].filter((f): f is string => f !== undefined);
  if (differs.length === 0) return;
  const key = input.externalId === undefined ? 'Idempotency-Key' : 'externalId';
  throw new ConflictError(
    `this ${key} was used for request ${existing.id}, filed with a different ${differs.join(', ')}; ` +
      `nothing was changed. File the corrected request under a new ${key}`,
    input.externalId === undefined ? 'idempotency_key_conflict' : 'external_id_conflict',
  );
}

/** Identifier names that hold an email address: `email`, `workEmail`, `billing_email`. */
const EMAIL_NAME = /email$/i;

/**
 * Emails are trimmed and lower-cased, so the same person matches however they typed it; the
 * given form is kept beside it (only where it differs) for executors that need it as given.
 */
export function normaliseSubject(given: Subject): { subject: Subject; asGiven?: Subject } {
  const subject: Subject = {};
  const asGiven: Subject = {};
  for (const [name, value] of Object.entries(given)) {
    const normal = EMAIL_NAME.test(name) ? value.trim().toLowerCase() : value;
    subject[name] = normal;
    if (normal !== value) asGiven[name] = value;
  }
  return Object.keys(asGiven).length === 0 ? { subject } : { subject, asGiven };
}

/**
 * A new instance. One that needs neither verification, approval nor skipping is born `queued`
 * with its Cloud Task name, in the same batch as the request, so intake writes each instance
 * once; the enqueue follows, and a failure sends it back to `pending_enqueue` for dispatch.
 * `held`: the request waits for identity verification, so the instance does too.
 */
function newInstance(
  requestId: string,
  task: Task,
  subject: Subject,
  now: Date,
  held: boolean,
): Instance {
  const missing = task.requiredIdentifiers.filter((k) => !Object.hasOwn(subject, k));
  const needsApproval = (task.approvalsRequired ?? 0) > 0;
  const state: InstanceState =
    missing.length > 0
      ? 'skipped'
      : held
        ? 'pending_verification'
        : needsApproval
          ? 'pending_approval'
          : 'pending_enqueue';
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
    ...(state === 'pending_enqueue'
      ? { taskVersion: { version: task.version, hash: task.versionHash } }
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
