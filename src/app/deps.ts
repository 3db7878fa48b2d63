import type { Regulation } from '../domain/model';
import type { ExecutorRegistry } from '../executors/registry';
import type { BatchStore } from '../ports/batch-store';
import type { LifecycleEventsDeps } from './event-outbox';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { OperationStore } from '../ports/operation-store';
import type { RequestStore } from '../ports/request-store';
import type { TaskQueue } from '../ports/task-queue';

/** The settings the use cases read (a slice of Config, so tests can build it directly). */
export interface AppSettings {
  subjectHashPepper: string;
  pricePerTiB: number;
  dispatchDeadlineMarginSeconds: number;
  leaseGraceSeconds: number;
  dispatchPageSize: number;
  /** Dispatch stops starting new pages after this long, so a backlog cannot blow its deadline. */
  dispatchBudgetSeconds: number;
  /** A queued, retrying or waiting instance whose delivery is this late gets its Cloud Task again. */
  rearmAfterSeconds: number;
  /** IANA zone in which receipts are dated and deadline days end (BUSINESS_TIME_ZONE). */
  businessTimeZone: string;
  /** Regulation `other`: its response period and its one extension (0: none), in days. */
  otherResponseDays: number;
  otherExtensionDays: number;
  /** Overrides of CLOCK_RUNS_WHILE_VERIFYING (src/domain/deadline.ts), per regulation. */
  clockRunsWhileVerifying?: Partial<Record<Regulation, boolean>>;
  /** Dispatch warns (`request.verification_overdue`) of a request pending verification this long. */
  verificationAlertHours: number;
  duplicateWindowDays: number;
  /** Days after a request closes before dispatch minimises it (subject and records removed). */
  piiRetentionDays: number;
  /** Days a minimised request's proof is kept before the TTL deletes it; 0 keeps it for ever. */
  recordRetentionDays: number;
  streamingBufferRetrySeconds: number;
  pollIntervalSeconds: number;
  timeTravelDays: number;
}

/** Everything a use case needs, passed as a plain parameter. */
export interface AppDeps {
  store: RequestStore;
  queue: TaskQueue;
  clock: Clock;
  log: Logger;
  executors: ExecutorRegistry;
  settings: AppSettings;
  /** Batches of subjects (docs/jobs.md); without it, every task runs one statement per request. */
  batches?: BatchStore;
  /** Lifecycle events (docs/compliance.md); without it, nothing is published. */
  events?: LifecycleEventsDeps;
  /** Bulk operations (`POST /requests:bulk`); without it, that route answers 503. */
  operations?: OperationStore;
}

export const DEFAULT_SETTINGS: AppSettings = {
  subjectHashPepper: 'local-development-pepper',
  pricePerTiB: 6.25,
  dispatchDeadlineMarginSeconds: 30,
  leaseGraceSeconds: 60,
  dispatchPageSize: 200,
  dispatchBudgetSeconds: 180,
  rearmAfterSeconds: 900,
  businessTimeZone: 'UTC',
  otherResponseDays: 30,
  otherExtensionDays: 0,
  verificationAlertHours: 72,
  duplicateWindowDays: 30,
  piiRetentionDays: 30,
  recordRetentionDays: 1095,
  streamingBufferRetrySeconds: 5400,
  pollIntervalSeconds: 30,
  timeTravelDays: 7,
};
