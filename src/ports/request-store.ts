import type { Instance, InstanceState, Request, RequestStatus, Run, Task } from '../domain/model';

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
  'not_found' | 'finished' | 'leased' | 'not_due' | 'stale' | 'not_approved' | 'approval_stale';

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
  /** Only instances whose `dueField` is at or before this time. */
  dueBefore?: Date;
  dueField?: 'leaseExpiresAt' | 'nextAttemptAt' | 'scheduleTime' | 'updatedAt';
  limit: number;
  cursor?: string;
}

/** Firestore behind a narrow port: tasks, requests, instances and runs. */
export interface RequestStore {
  createTask(task: Task): Promise<Task>;
  getTask(id: string): Promise<Task | null>;
  listTasks(filter?: { jobType?: Task['jobType']; active?: boolean }): Promise<Task[]>;
  updateTask(id: string, patch: Partial<Task>): Promise<Task>;

  /** Writes the request and all its instances atomically; an existing id returns what is stored. */
  createRequest(request: Request, instances: Instance[]): Promise<CreateRequestResult>;
  getRequest(id: string): Promise<Request | null>;
  listRequests(filter: {
    status?: RequestStatus;
    overdue?: boolean;
    limit: number;
    cursor?: string;
  }): Promise<Page<Request>>;
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
   * Records a finished attempt: the run and the instance patch in one batch, guarded by the
   * claim token. When the instance moved on meanwhile (its lease was expired), the run is still
   * recorded and the instance is left as it is; `applied` says which happened.
   */
  finishAttempt(claim: Claim, run: Run, patch: Partial<Instance>): Promise<{ applied: boolean }>;
  /** Records a run outside a claim (e.g. the watchdog's `abandoned`), with a guarded patch. */
  recordRun(run: Run, mutate: InstanceMutation): Promise<Instance | null>;
  listRuns(requestId: string): Promise<Run[]>;

  queryOpenRequests(limit: number, cursor?: string): Promise<Page<Request>>;

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
