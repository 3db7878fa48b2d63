import { z } from 'zod';
import type { ErrorCode } from './error-codes';
import type { ChainHead } from './evidence';
import { TASK_ID_PATTERN } from './ids';

export const REQUEST_TYPES = ['deletion', 'records'] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

/**
 * The laws a request is answered under; each counts its deadline its own way
 * (src/domain/deadline.ts, docs/compliance.md).
 */
export const REGULATIONS = ['gdpr', 'uk_gdpr', 'ccpa', 'lgpd', 'other'] as const;
export type Regulation = (typeof REGULATIONS)[number];

/** Why a request was refused (`POST /requests/:id/deny`); the CCPA record keeps the basis. */
export const DENY_REASONS = [
  'unverifiable_identity',
  'exempt',
  'manifestly_unfounded',
  'excessive',
  'legal_hold',
  'other',
] as const;
export type DenyReason = (typeof DENY_REASONS)[number];

/** How a request reached the business: a web form, email, phone, post, in person, an agent, an API. */
export const REQUEST_CHANNELS = [
  'web',
  'email',
  'phone',
  'mail',
  'in_person',
  'authorized_agent',
  'api',
] as const;
export type RequestChannel = (typeof REQUEST_CHANNELS)[number];

/** A request filed `pending` runs nothing until `POST /requests/:id/verify` records who verified it. */
export const VERIFICATION_STATES = ['pending', 'verified'] as const;
export type VerificationState = (typeof VERIFICATION_STATES)[number];

/**
 * How the person's identity was verified (`POST /requests/:id/verify`): documents checked,
 * questions only they could answer, a login to their account, a link sent to their address,
 * proof of an authorised agent's mandate, or another way (say which in the note).
 */
export const VERIFICATION_METHODS = [
  'document_check',
  'knowledge_based',
  'account_login',
  'email_link',
  'authorized_agent_proof',
  'other',
] as const;
export type VerificationMethod = (typeof VERIFICATION_METHODS)[number];

export const MAX_IDENTIFIER_LENGTH = 256;

const identifierValue = z
  .string({ invalid_type_error: 'an identifier must be a string' })
  .min(1, 'an identifier must not be empty')
  .max(MAX_IDENTIFIER_LENGTH, `an identifier must be at most ${MAX_IDENTIFIER_LENGTH} characters`)
  .refine(isWellFormedText, 'an identifier must be well-formed Unicode (no lone surrogates)');

const identifierName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'identifier names are letters, digits and underscores')
  .refine((name) => !isReservedName(name), {
    message: 'an identifier name must not be an inherited property name (constructor, toString, …)',
  });

/**
 * Names an object inherits (`constructor`, `toString`, `__proto__`, …) or shaped like one: a
 * subject or config keyed by them would read the prototype's member where the caller's value
 * was meant, so they are refused wherever a caller names a key.
 */
export function isReservedName(name: string): boolean {
  return name in Object.prototype || /^__.*__$/.test(name);
}

/** The person a request is about: one or more string identifiers. */
export const subjectSchema = z
  .record(identifierName, identifierValue)
  .refine((s) => Object.keys(s).length > 0, {
    message: 'the subject needs at least one identifier (e.g. email, userId, gaClientId)',
  })
  .refine((s) => Object.keys(s).length <= 20, { message: 'at most 20 identifiers' });
export type Subject = Record<string, string>;

/**
 * An ISO-8601 date-time with an offset that names a real instant: zod's pattern alone takes
 * offsets such as `+99:00`, which `new Date` turns into an invalid date (and a 500 downstream).
 */
export const isoDateTime = z
  .string()
  .datetime({ offset: true, message: 'an ISO-8601 date-time, e.g. 2026-01-31T12:00:00Z' })
  .refine((value) => Number.isFinite(Date.parse(value)), {
    message: 'not a real instant (an offset is at most ±23:59), e.g. 2026-01-31T12:00:00Z',
  });

/** `POST /requests` body. Unknown top-level fields are refused, not ignored. */
export const fileRequestSchema = z
  .object({
    type: z.enum(REQUEST_TYPES, {
      errorMap: () => ({ message: `type must be one of: ${REQUEST_TYPES.join(', ')}` }),
    }),
    subject: subjectSchema,
    regulation: z.enum(REGULATIONS).default('gdpr'),
    receivedAt: isoDateTime.optional(),
    dueAt: isoDateTime.optional(),
    externalId: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'externalId: 1-128 of letters, digits and . _ : -')
      .optional(),
    notes: z
      .string()
      .max(4000)
      .refine(isWellFormedText, 'notes must be well-formed Unicode (no lone surrogates)')
      .optional(),
    dryRun: z.boolean().default(false),
    /** How the person made the request (the CCPA record of 11 CCR §7101 keeps it). */
    channel: z.enum(REQUEST_CHANNELS).default('api'),
    /** `pending`: the person's identity is still to be verified; nothing runs until it is. */
    verification: z.enum(['pending', 'none']).default('none'),
  })
  .strict();
export type FileRequestInput = z.infer<typeof fileRequestSchema>;

/** Moved to ids.ts with the other id patterns; re-exported for existing importers. */
export { TASK_ID_PATTERN };

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM (24 h)');

export const executionWindowSchema = z
  .object({
    start: hhmm,
    end: hhmm,
    timeZone: z
      .string()
      .default('UTC')
      .refine(isValidTimeZone, { message: 'an IANA time zone, e.g. Europe/Berlin' }),
  })
  .strict()
  .refine((w) => w.start !== w.end, { message: 'start and end must differ', path: ['end'] });
export type ExecutionWindow = z.infer<typeof executionWindowSchema>;

export const retryPolicySchema = z
  .object({
    minBackoffSeconds: z.number().min(0).max(86_400).default(10),
    maxBackoffSeconds: z.number().min(0).max(86_400).default(600),
    maxDoublings: z.number().int().min(0).max(16).default(4),
  })
  .strict()
  .refine((p) => p.maxBackoffSeconds >= p.minBackoffSeconds, {
    message: 'maxBackoffSeconds must be at least minBackoffSeconds',
    path: ['maxBackoffSeconds'],
  });
export type RetryPolicy = z.infer<typeof retryPolicySchema>;

/** The longest executor timeout: run-task's function timeout must cover it plus a margin. */
export const MAX_TASK_TIMEOUT_SECONDS = 1740;

/** `POST /tasks` body. The executor's own schema checks `config` in the app layer. */
export const registerTaskSchema = z
  .object({
    id: z.string().regex(TASK_ID_PATTERN, 'lower-case letters, digits, - and _, at most 63'),
    name: z.string().min(1).max(200),
    jobType: z.enum(REQUEST_TYPES),
    executor: z.string().min(1).max(100),
    config: z.record(z.unknown()).default({}),
    requiredIdentifiers: z.array(identifierName).default([]),
    executionWindow: executionWindowSchema.optional(),
    /**
     * No attempt starts before this instant (a system frozen until a migration, a purge that
     * must wait for backups to rotate). Beyond Cloud Tasks' 30-day horizon the instance is
     * parked and dispatch re-arms it once in range.
     */
    notBefore: isoDateTime.optional(),
    timeoutSeconds: z.number().int().min(1).max(MAX_TASK_TIMEOUT_SECONDS).default(300),
    maxAttempts: z.number().int().min(1).max(100).default(5),
    retryPolicy: retryPolicySchema.default({}),
    /** One approver when true; `approvalsRequired` says how many (two for four-eyes). */
    requiresApproval: z.boolean().optional(),
    /** Distinct approvers, never the filer, before an instance runs: 0, 1 or 2. */
    approvalsRequired: z
      .number()
      .int()
      .min(0)
      .max(2)
      .transform((n) => n as ApprovalsRequired)
      .optional(),
    active: z.boolean().default(true),
    team: z.string().max(200).optional(),
    teamContact: z.string().max(200).optional(),
    description: z.string().max(4000).optional(),
    dataSource: z.string().max(200).optional(),
  })
  .strict();
export type RegisterTaskInput = z.input<typeof registerTaskSchema>;

/** `PATCH /tasks/:id`: any field but the id. */
export const updateTaskSchema = registerTaskSchema.omit({ id: true }).partial().strict();

export type Task = z.infer<typeof registerTaskSchema> & {
  createdAt: string;
  updatedAt: string;
  /** 1 at registration, +1 per change; every version is kept (`tasks/{id}/versions/{v}`). */
  version: number;
  /** SHA-256 of what runs (executor, config, …): approvals and runs name it. */
  versionHash: string;
  /** Distinct approvers an instance needs before it runs (0 = none); `requiresApproval` = > 0. */
  approvalsRequired: ApprovalsRequired;
  /** The identity that registered it (absent on tasks registered before identities). */
  createdBy?: string;
  /** The identity that made its current version. */
  updatedBy?: string;
  /**
   * Set while the task is paused (`POST /tasks/:id/pause`): its instances wait in `paused`,
   * nothing of it starts, deadlines keep counting. Pausing and resuming each make a version.
   */
  paused?: TaskPause;
  /** The last resume (`POST /tasks/:id/resume`): who, when, why, and the pause it ended. */
  resumed?: { at: string; by: string; reason?: string; pausedAt: string; pausedBy: string };
};

/** A task's circuit breaker, open: who paused it, when and why. */
export interface TaskPause {
  at: string;
  by: string;
  reason: string;
}

export type ApprovalsRequired = 0 | 1 | 2;

/**
 * One version of a task as kept, immutable, at `tasks/{taskId}/versions/{version}`: the task
 * whole as it was, who made the version and when. Version 1 is the registration.
 */
export interface TaskVersion {
  taskId: string;
  version: number;
  /** The task's `versionHash` at this version (recomputable from `task`). */
  versionHash: string;
  kind: 'registered' | 'changed';
  actor: string;
  at: string;
  /** The fields that differ from the version before (at registration, the fields given). */
  fields: string[];
  task: Task;
}

export const INSTANCE_STATES = [
  'pending_verification',
  'pending_approval',
  'pending_enqueue',
  'queued',
  'running',
  'retry_scheduled',
  'waiting',
  /** Its task is paused: no attempt starts until the task resumes (src/domain/pause.ts). */
  'paused',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/**
 * A request's status, derived from its instances (src/domain/request-status.ts). Closed real
 * work reads `completed`, `partially_completed` (some tasks cancelled, none failed),
 * `completed_with_errors`, `cancelled` or `denied`; a closed dry run reads `dry_run_completed`
 * or `dry_run_completed_with_errors`, never `completed` (docs/compliance.md, "Request status").
 */
export const REQUEST_STATUSES = [
  'awaiting_verification',
  'awaiting_approval',
  'in_progress',
  'completed',
  'partially_completed',
  'completed_with_errors',
  'cancelled',
  'denied',
  'dry_run_completed',
  'dry_run_completed_with_errors',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export interface Cost {
  bytesBilled: number;
  usd: number;
}

/** The outcome of one attempt, as kept on its run record. */
export const RUN_STATUSES = [
  'succeeded',
  'not_found',
  'waiting',
  'failed',
  'timed_out',
  'abandoned',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** One approver's approval of an instance, for one version of its task. */
export interface Approval {
  actor: string;
  at: string;
  taskVersion: number;
  /** The approved task version's hash: a task changed after approval is no longer covered. */
  taskVersionHash: string;
}

/** An approver's refusal: the instance is cancelled, with who and why. */
export interface Denial {
  actor: string;
  at: string;
  /** A DenyReason (free text on instances denied before the reasons were fixed). */
  reason: string;
  note?: string;
}

export interface Request {
  id: string;
  type: RequestType;
  subject: Subject;
  subjectHash: string;
  /** Identifiers whose given form differs from the normalised one (e.g. ` Jane@X.com`), as given. */
  subjectAsGiven?: Subject;
  regulation: Regulation;
  /** How the request was made (absent on requests filed before it was recorded: `api`). */
  channel?: RequestChannel;
  receivedAt: string;
  /** The response deadline now in force (moved by an extension, by a paused clock). */
  dueAt: string;
  /** The deadline as first computed at filing, before any extension. */
  originalDueAt?: string;
  /** When the law asks for an acknowledgement (CCPA: 10 business days), by when. */
  acknowledgeBy?: string;
  acknowledgement?: { at: string; by: string };
  /** The one extension the law allows, with who granted it, when and why. */
  extension?: { at: string; by: string; reason: string; previousDueAt: string };
  /** Identity verification: `pending` holds every instance; `verified` records who and how. */
  verification?: {
    state: VerificationState;
    /** When verification was asked for (the filing). */
    since: string;
    at?: string;
    by?: string;
    method?: string;
  };
  /** A refused request (status `denied`): the basis, who refused it and when. */
  denial?: { at: string; by: string; reason: DenyReason; note?: string };
  /** When the last approval released the request (status left `awaiting_approval`). */
  approvedAt?: string;
  /**
   * The deadline risk as dispatch last recorded it: `request.at_risk` and `request.overdue` fire
   * once per crossing into a worse one.
   */
  deadlineRisk?: 'ok' | 'at_risk' | 'overdue';
  /** Failed instances already announced (`instance.failed`), as `taskId#series`. */
  failedInstances?: string[];
  externalId?: string;
  notes?: string;
  dryRun: boolean;
  /**
   * The tasks it has an instance of, sorted (written with the request, so a listing filters by
   * task without reading instances; absent on requests filed before it was kept).
   */
  taskIds?: string[];
  status: RequestStatus;
  overdue: boolean;
  duplicateOf?: string;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  completedAt?: string;
  /**
   * False until dispatch minimises the closed request: its subject identifiers are then removed
   * (only their kinds stay, in `subjectKinds`) and its records package deleted.
   */
  minimised?: boolean;
  minimisedAt?: string;
  subjectKinds?: string[];
  /** When Firestore's TTL policy deletes the minimised request and everything under it. */
  retainUntil?: string;
  counts: Partial<Record<InstanceState, number>>;
  cost: Cost;
  /** The last entry of the request's ledger (`requests/{id}/ledger`): filed, approved, ... */
  ledgerHead?: ChainHead;
}

export interface RunSummary {
  runId: string;
  attempt: number;
  status: RunStatus;
  message: string;
  finishedAt: string;
}

export interface Instance {
  requestId: string;
  taskId: string;
  taskName: string;
  executor: string;
  jobType: RequestType;
  state: InstanceState;
  /** Attempts started in the current series. */
  attempt: number;
  /** Attempts started across every series. */
  totalAttempts: number;
  series: number;
  maxAttempts: number;
  timeoutSeconds: number;
  cloudTaskName?: string;
  /**
   * When the next attempt is due to be delivered. Every `pending_enqueue` instance has one: the
   * outbox is read by it (`scheduleTime <= now + horizon`).
   */
  scheduleTime?: string;
  /** Set while its scheduleTime is beyond Cloud Tasks' 30-day horizon; dispatch re-arms it. */
  parked?: boolean;
  /** When it went to `paused` (its task was paused); its scheduleTime keeps the time it was due. */
  pausedAt?: string;
  /**
   * Times it was re-armed after a pause: its Cloud Task names carry `-r<n>`, since Cloud Tasks
   * refuses a name used in the last hour and the paused delivery used the one it had.
   */
  resumes?: number;
  nextAttemptAt?: string;
  leaseExpiresAt?: string;
  waitingHandle?: string;
  /**
   * What earlier attempts of this series finished (the last waiting handle of an attempt that
   * then failed), so a retry skips it: the shards a sharded delete already changed.
   */
  progress?: string;
  /** Polls scheduled for the waiting attempt; the next poll task carries this number. */
  polls?: number;
  skippedReason?: string;
  lastRun?: RunSummary;
  lastError?: { code: ErrorCode; message: string };
  advice?: string;
  /** Approvals of the current task version; `approvalsRequired` distinct approvers release it. */
  approvals?: Approval[];
  denial?: Denial;
  /** When a retry last started a new series (a burst of retries starts one). */
  retriedAt?: string;
  /** The task version the instance was approved for (or last claimed with). */
  taskVersion?: { version: number; hash: string };
  cancelledBy?: string;
  cost: Cost;
  updatedAt: string;
  /** The last run recorded for this instance: its runs form a hash chain ending here. */
  runChain?: ChainHead;
}

/** What an auditor asks of a run: what was touched, how much, which jobs, who approved. */
export interface RunEvidence {
  touched?: string[];
  affectedRows?: number;
  /** After a deletion: the subject's rows still there, counted by the same match rule. */
  remainingRows?: number;
  /** The queries that counted `remainingRows`: their job ids and what they cost. */
  verification?: { jobIds: string[]; bytesBilled: number; usd: number };
  jobIds?: string[];
  bytesBilled?: number;
  /** Every approver of the task version that ran (four-eyes tasks have two). */
  approvedBy?: string[];
  unrecoverableAfter?: string;
  /**
   * A batched run: the batch that served it and the batch's totals. The run's own cost is its
   * share of the batch's jobs; the shares of a batch add up exactly to what its jobs billed.
   */
  batch?: {
    id: string;
    members?: number;
    statements?: number;
    affectedRows?: number;
    bytesBilled?: number;
    usd?: number;
  };
}

export interface Run {
  runId: string;
  requestId: string;
  taskId: string;
  executor: string;
  attempt: number;
  series: number;
  /** Set on the run that a poll of a waiting attempt wrote (the attempt's own run says `waiting`). */
  poll?: number;
  status: RunStatus;
  message: string;
  willRetry: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  cost: Cost;
  error?: { code: ErrorCode; message: string };
  delivery?: { taskName?: string; retryCount?: number; executionCount?: number };
  evidence: RunEvidence;
  output?: unknown;
  dryRun: boolean;
  /** The task version that ran, and its hash (what an approval pinned). */
  taskVersion?: number;
  taskVersionHash?: string;
  /** The run's place in its instance's hash chain (src/domain/evidence.ts); the store sets them. */
  seq: number;
  prevHash: string;
  hash: string;
}

export function zeroCost(): Cost {
  return { bytesBilled: 0, usd: 0 };
}

/** No lone UTF-16 surrogates: such a string has no UTF-8 form, so nothing downstream can hold it. */
export function isWellFormedText(text: string): boolean {
  return !/\p{Surrogate}/u.test(text);
}

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
