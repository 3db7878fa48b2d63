import type { ChainFields, LedgerAction, LedgerEntry, LedgerScope } from '../domain/evidence';
import type {
  Instance,
  InstanceState,
  Request,
  RequestStatus,
  Run,
  Task,
  TaskVersion,
} from '../domain/model';

/** A run as a caller hands it to the store: the store seals it onto its instance's chain. */
export type UnsealedRun = Omit<Run, keyof ChainFields>;

/** A task version as the registry hands it to the store: the kept copy and its ledger action. */
export interface TaskVersionWrite {
  version: TaskVersion;
  action: LedgerAction;
}

/** What a finish recorded: the run as sealed and written, or null if it was recorded before. */
export interface FinishOutcome {
  /** The instance patch was applied (the claim still held). */
  applied: boolean;
  run: Run | null;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export type CreateRequestResult =
  | { created: true; request: Request; instances: Instance[] }
  | { created: false; request: Request; instances: Instance[] };

/** What a claim returns: the instance as claimed, plus a token that guards the finish. */
export interface Claim {
  instance: Instance;
  token: string;
}

/** Why a delivery did not start an attempt. */
export type ClaimRefusalReason =
  | 'not_found'
  | 'finished'
  | 'leased'
  | 'not_due'
  | 'stale'
  | 'not_verified'
  | 'not_approved'
  | 'approval_stale'
  /** Its task is paused: the instance waits in `paused` (src/domain/pause.ts). */
  | 'paused';

export type ClaimOutcome =
  | { claimed: true; claim: Claim }
  | { claimed: false; reason: ClaimRefusalReason; instance?: Instance };

/**
 * A claim decision: start the attempt with `patch`, or refuse (optionally writing `write`, e.g.
 * an instance whose approval went stale goes back to approval).
 */
export type ClaimDecisionPatch =
  | { patch: Partial<Instance> }
  | { refuse: Exclude<ClaimRefusalReason, 'not_found'>; write?: Partial<Instance> };

/** A guarded read-modify-write: return the patch to apply, or null to leave the document alone. */
export type InstanceMutation = (current: Instance) => Partial<Instance> | null;

export interface InstanceQuery {
  states: readonly InstanceState[];
  /** Only instances of this task (a paused or resumed task's instances). */
  taskId?: string;
  /** Only instances whose `dueField` is at or before this time. */
  dueBefore?: Date;
  dueField?: 'leaseExpiresAt' | 'nextAttemptAt' | 'scheduleTime' | 'updatedAt';
  limit: number;
  cursor?: string;
}

/** The indexed subset a request listing reads: every request, some statuses, or one filer's. */
export type RequestScanBy =
  | { kind: 'all' }
  | { kind: 'status'; statuses: readonly RequestStatus[] }
  | { kind: 'owner'; createdBy: string };

/** The order of a listing: `receivedAt` newest first, `dueAt` soonest first; then by id. */
export type RequestScanOrder = 'receivedAt' | 'dueAt';

/** One indexed read of requests (see `RequestStore.listRequests`). */
export interface RequestScan {
  by: RequestScanBy;
  dryRun: boolean;
  orderBy: RequestScanOrder;
  /** A range on the order field, as ISO instants: at or after `from`, before `before`. */
  from?: string;
  before?: string;
  /** Resume after the request with this order value and id (the last one a page showed). */
  after?: { value: string; id: string };
  limit: number;
}

/** Firestore behind a narrow port: tasks, requests, instances and runs. */
export interface RequestStore {
  /**
   * Creates a task; with `registered`, its version 1 (`tasks/{id}/versions/1`) and the first
   * entry of its ledger too, in the same batch. ConflictError `task_exists` when the id is taken.
   */
  createTask(task: Task, registered?: TaskVersionWrite): Promise<Task>;
  getTask(id: string): Promise<Task | null>;
  listTasks(filter?: { jobType?: Task['jobType']; active?: boolean }): Promise<Task[]>;
  /**
   * A new version of a task, decided on the task as stored: `change` returns the version
   * (whose `task` is the task's next state whole, numbered the stored version + 1) and its ledger
   * action, or null to leave the task alone (the stored task is returned). The task, the
   * version's immutable copy and the ledger entry are one guarded write: all or none, and a
   * concurrent change makes `change` decide again. NotFoundError when there is no such task.
   */
  updateTask(id: string, change: (current: Task) => TaskVersionWrite | null): Promise<Task>;
  /** One kept version of a task, or null. */
  getTaskVersion(id: string, version: number): Promise<TaskVersion | null>;
  /** Every kept version of a task, oldest first. */
  listTaskVersions(id: string): Promise<TaskVersion[]>;

  /**
   * Writes the request and all its instances atomically; an existing id returns what is stored.
   * `filed`, when given, is the first entry of the request's ledger, written in the same batch
   * (the stored request then carries its `ledgerHead`).
   */
  createRequest(
    request: Request,
    instances: Instance[],
    filed?: LedgerAction,
  ): Promise<CreateRequestResult>;
  getRequest(id: string): Promise<Request | null>;
  /**
   * One indexed read of a request listing (`GET /requests`): the subset `scan.by` names, real
   * requests or dry runs, in the scan's order, resuming after `scan.after`. Every shape has a
   * declared index (src/adapters/firestore/request-scan.ts); the rest of a filter is applied in
   * memory by src/app/request-listing.ts.
   */
  listRequests(scan: RequestScan): Promise<Request[]>;
  /** The requests with this externalId (one, as ids derive from it), in no particular order. */
  findRequestsByExternalId(externalId: string, limit: number): Promise<Request[]>;
  /** Open requests of the same subject and type, newest first. */
  findRequestsBySubject(
    subjectHash: string,
    type: Request['type'],
    limit: number,
  ): Promise<Request[]>;
  updateRequest(
    id: string,
    mutate: (current: Request) => Partial<Request> | null,
  ): Promise<Request | null>;

  getInstance(requestId: string, taskId: string): Promise<Instance | null>;
  listInstances(requestId: string): Promise<Instance[]>;
  countOpenInstances(requestId: string): Promise<number>;
  /** How many instances of a task are in one of `states`, across requests (a count query). */
  countTaskInstances(taskId: string, states: readonly InstanceState[]): Promise<number>;
  queryInstances(query: InstanceQuery): Promise<Page<Instance>>;
  updateInstance(
    requestId: string,
    taskId: string,
    mutate: InstanceMutation,
  ): Promise<Instance | null>;
  /** Applies one patch to many instances of a request in one batch (no read). */
  patchInstances(
    requestId: string,
    patches: { taskId: string; patch: Partial<Instance> }[],
  ): Promise<void>;

  /** Starts an attempt: a transaction that moves a claimable instance to `running` with a lease. */
  claimInstance(
    requestId: string,
    taskId: string,
    decide: (current: Instance) => ClaimDecisionPatch,
  ): Promise<ClaimOutcome>;
  /**
   * Records a finished attempt: the run, sealed onto the instance's run chain, and the instance
   * patch (with the new `runChain` head) in one write, guarded by the claim. When the instance
   * moved on meanwhile (its lease was expired), the run is still recorded and chained, and only
   * the instance's `runChain` changes; `applied` says which happened. A run id recorded before
   * answers `{ applied: false, run: null }` and writes nothing.
   */
  finishAttempt(claim: Claim, run: UnsealedRun, patch: Partial<Instance>): Promise<FinishOutcome>;
  /**
   * Records a run outside a claim (e.g. the watchdog's `abandoned`), sealed onto the instance's
   * run chain, with a guarded patch: the run is written only with the patch. A run id recorded
   * before is a ConflictError `run_exists`. The returned instance's `runChain` is the run's.
   */
  recordRun(run: UnsealedRun, mutate: InstanceMutation): Promise<Instance | null>;
  /** Every run of a request, in no particular order (sort by taskId, seq). */
  listRuns(requestId: string): Promise<Run[]>;

  /**
   * Appends an action to a request's or a task's ledger: a guarded write of the parent's
   * `ledgerHead` and the create of `…/ledger/{seq:000000}` in one batch. A missing parent is a
   * NotFoundError. Returns the entry as sealed and written.
   */
  appendLedger(scope: LedgerScope, action: LedgerAction): Promise<LedgerEntry>;
  /** A ledger's entries, ordered by seq. */
  listLedger(scope: LedgerScope): Promise<LedgerEntry[]>;

  queryOpenRequests(limit: number, cursor?: string): Promise<Page<Request>>;

  /**
   * Requests received in [`from`, `to`) (ISO instants), oldest first, then by id: the regulator
   * reports page through them. Minimised requests are included (reports read no identifiers).
   */
  queryRequestsReceived(
    from: string,
    to: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<Request>>;

  /**
   * Run records of every request that finished in [`from`, `to`) (ISO instants), oldest first,
   * then by path: the cost report pages through them (src/app/costs.ts).
   */
  queryRunsFinished(from: string, to: string, limit: number, cursor?: string): Promise<Page<Run>>;
  /**
   * Task audits (`audit_run` entries of the tasks' ledgers) made in [`from`, `to`), oldest
   * first: they write no run, so the cost report reads their cost here.
   */
  queryAuditRuns(
    from: string,
    to: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<LedgerEntry>>;

  /** Requests not yet minimised that closed at or before `closedBefore` (ISO), oldest first. */
  queryRequestsToMinimise(
    closedBefore: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<Request>>;
  /**
   * PII minimisation of one request. `mutate` decides on the current request (null declines,
   * and nothing is touched). Otherwise its records package chunks are deleted, its instances and
   * runs get the TTL time `expireAt` (when given), and last the request is patched, guarded,
   * with the TTL time too. Repeating it after a partial run finishes the job.
   */
  minimiseRequest(
    requestId: string,
    mutate: (current: Request) => Partial<Request> | null,
    expireAt?: Date,
  ): Promise<Request | null>;
}
