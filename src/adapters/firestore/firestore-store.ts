import {
  FieldPath,
  Timestamp,
  type CollectionReference,
  type DocumentReference,
  type Firestore,
  type Query,
  type QuerySnapshot,
  type WriteBatch,
} from '@google-cloud/firestore';
import { ConflictError, NotFoundError } from '../../domain/errors';
import {
  canonicalJson,
  headOf,
  ledgerEntryId,
  sealEntry,
  type ChainHead,
  type LedgerEntry,
  type LedgerScope,
} from '../../domain/evidence';
import { assertStoreSafeId } from '../../domain/ids';
import {
  INSTANCE_STATES,
  type Instance,
  type Request,
  type RequestStatus,
  type Run,
  type Task,
  type TaskVersion,
} from '../../domain/model';
import { assertLegalPatch } from '../../domain/lifecycle';
import { lifecycleEvents } from '../../domain/lifecycle-events';
import { isTerminal } from '../../domain/states';
import type {
  ClaimOutcome,
  FinishOutcome,
  InstanceMutation,
  InstanceQuery,
  Page,
  RequestStore,
  UnsealedRun,
} from '../../ports/request-store';
import {
  applyPatch,
  decodeClaimToken,
  decodeCursor,
  encodeClaimToken,
  encodeCursor,
  fromStored,
  invalidCursor,
  stripUndefined,
  toUpdateData,
  TTL_FIELD,
} from './codec';
import { boundedMethods } from './availability';
import { costQueries } from './cost-queries';
import { planRequestScan } from './request-scan';
import { writeOutbox } from './event-outbox';
import { guardedWrite, isAlreadyExists, isGuardFailure, type GuardedStep } from './guarded-write';
import { OpCounter, type FirestoreOpStats } from './op-counter';

/** Collection names; the layout is tasks, requests, and instances and runs under a request. */
export const COLLECTIONS = {
  tasks: 'tasks',
  requests: 'requests',
  instances: 'instances',
  runs: 'runs',
  /** Records package chunks, under an instance (firestore-record-store.ts). */
  records: 'records',
  /** Hash-chained actions, under a request or a task: `ledger/{seq:000000}`. */
  ledger: 'ledger',
  /** Kept task versions, immutable, under a task: `versions/{version}`. */
  versions: 'versions',
} as const;

/** Instance states that keep a request open. */
const OPEN_INSTANCE_STATES = INSTANCE_STATES.filter((s) => !isTerminal(s));
const OPEN_REQUEST_STATUSES: readonly RequestStatus[] = [
  'awaiting_verification',
  'awaiting_approval',
  'in_progress',
];

/** A batch holds at most 500 writes. */
export const MAX_BATCH_WRITES = 500;

/** `requests/{requestId}/instances/{taskId}`: an instance, under which its runs and records are. */
export function instanceDoc(db: Firestore, requestId: string, taskId: string): DocumentReference {
  assertStoreSafeId(requestId, 'requestId');
  assertStoreSafeId(taskId, 'taskId');
  return db
    .collection(COLLECTIONS.requests)
    .doc(requestId)
    .collection(COLLECTIONS.instances)
    .doc(taskId);
}

/** Commits `writes` in as few batches as the write limit allows, counting what was written. */
async function commitInBatches(
  db: Firestore,
  ops: OpCounter,
  writes: readonly ((batch: WriteBatch) => void)[],
): Promise<void> {
  for (let i = 0; i < writes.length; i += MAX_BATCH_WRITES) {
    const batch = db.batch();
    const slice = writes.slice(i, i + MAX_BATCH_WRITES);
    for (const write of slice) write(batch);
    await batch.commit();
    ops.committed(slice.length);
  }
}

export interface FirestoreStoreOptions {
  /** Runs of one guarded update before it gives up with a RetryableError. */
  maxGuardedAttempts?: number;
  /**
   * How long one store operation may take before it fails with a RetryableError
   * (`store.unavailable`); an unreachable Firestore otherwise keeps a caller waiting for minutes.
   */
  operationTimeoutMs?: number;
  /**
   * `ce-source` of lifecycle events. When set, every write of a request also writes the events
   * its change announces into `outbox/{ceId}`, in the same commit (event-outbox.ts); unset, no
   * events are kept.
   */
  eventSource?: string;
}

const DEFAULT_OPERATION_TIMEOUT_MS = 10_000;

/** A ledger's parent (a request or a task), as far as the ledger is concerned. */
interface LedgerParent {
  ledgerHead?: ChainHead;
}

/** Guarded attempts of a ledger append: actions on one request may come in bursts. */
const MIN_LEDGER_ATTEMPTS = 25;

/**
 * True when `current` is still the instance as `claimed`, but for its run-chain head: only late
 * runs of earlier attempts were chained onto it since the claim, so the claim still holds.
 */
function stillClaimed(current: Instance, claimed: Instance): boolean {
  const withoutChain = (i: Instance) => canonicalJson({ ...i, runChain: undefined });
  return withoutChain(current) === withoutChain(claimed);
}

export type FirestoreStore = RequestStore & {
  /** Firestore operations issued by this store since it was created or last reset. */
  stats(): FirestoreOpStats;
  resetStats(): void;
};

/**
 * Every instance write goes through the transition table: a mutation whose patch changes the
 * state illegally throws (ConflictError `illegal_transition`) instead of being written.
 */
function checkedMutation(mutate: InstanceMutation): InstanceMutation {
  return (current) => {
    const patch = mutate(current);
    if (patch !== null) assertLegalPatch(current, patch);
    return patch;
  };
}

/**
 * A registry bug, never a caller's error: the version handed to the store must be the task's
 * next one, for this task, and carry the task as of that version.
 */
function assertVersionOf(taskId: string, expected: number, version: TaskVersion): void {
  if (
    version.taskId !== taskId ||
    version.task.id !== taskId ||
    version.version !== expected ||
    version.task.version !== expected
  ) {
    throw new Error(
      `task ${taskId}: version ${version.version} is not its next version ${expected}`,
    );
  }
}

/** One ordering key of a paged query: a field, or the document path (`ID`). */
const ID = Symbol('document id');
type OrderKey = { field: string | typeof ID; direction: 'asc' | 'desc' };

/**
 * The RequestStore on Firestore. It takes a client and never creates one.
 *
 * Layout: `tasks/{taskId}` with its kept versions `tasks/{taskId}/versions/{version}`,
 * `requests/{requestId}`, `requests/{requestId}/instances/{taskId}`,
 * `requests/{requestId}/instances/{taskId}/runs/{runId}`, and the ledgers
 * `requests/{requestId}/ledger/{seq}` and `tasks/{taskId}/ledger/{seq}`. Runs are hash-chained
 * per instance (the instance holds the head, `runChain`) and ledger entries per parent (which
 * holds `ledgerHead`); the head moves in the same guarded write as the entry's create, so a
 * chain never forks (src/domain/evidence.ts). Dates are ISO strings, as in the
 * model. Guarded updates are single-document optimistic transactions (see guarded-write.ts);
 * a mutation that returns null writes nothing, and the method then returns null, as it does
 * for a missing document. Every operation is counted as Firestore bills it (see op-counter.ts).
 * Every operation has a deadline, and an unreachable store surfaces as a RetryableError with
 * code `store.unavailable` (see availability.ts), which the API answers 503.
 */
export function createFirestoreStore(
  db: Firestore,
  opts: FirestoreStoreOptions = {},
): FirestoreStore {
  const ops = new OpCounter();
  const guard = { db, ops, maxAttempts: opts.maxGuardedAttempts ?? 10 };

  const tasks = db.collection(COLLECTIONS.tasks);
  const requests = db.collection(COLLECTIONS.requests);
  // Every id that names a document is checked again here (the router parsed it first).
  const taskRef = (id: string): DocumentReference => {
    assertStoreSafeId(id, 'taskId');
    return tasks.doc(id);
  };
  const requestRef = (id: string): DocumentReference => {
    assertStoreSafeId(id, 'requestId');
    return requests.doc(id);
  };
  const instancesOf = (requestId: string): CollectionReference =>
    requestRef(requestId).collection(COLLECTIONS.instances);
  const instanceRef = (requestId: string, taskId: string) => {
    assertStoreSafeId(taskId, 'taskId');
    return instancesOf(requestId).doc(taskId);
  };
  const runRef = (run: Pick<Run, 'requestId' | 'taskId' | 'runId'>) => {
    assertStoreSafeId(run.runId, 'runId');
    return instanceRef(run.requestId, run.taskId).collection(COLLECTIONS.runs).doc(run.runId);
  };
  const ledgerParent = (scope: LedgerScope): DocumentReference =>
    scope.kind === 'request' ? requestRef(scope.requestId) : taskRef(scope.taskId);
  const ledgerOf = (scope: LedgerScope): CollectionReference =>
    ledgerParent(scope).collection(COLLECTIONS.ledger);
  const versionsOf = (taskId: string): CollectionReference =>
    taskRef(taskId).collection(COLLECTIONS.versions);
  /** Creates a kept task version in `batch`: `create`, so a version is never overwritten. */
  const createVersion = (batch: WriteBatch, version: TaskVersion): number => {
    batch.create(versionsOf(version.taskId).doc(String(version.version)), stripUndefined(version));
    return 1;
  };
  /** The entry's scope field: a request ledger's entries name the request, a task's the task. */
  const scopeField = (scope: LedgerScope) =>
    scope.kind === 'request' ? { requestId: scope.requestId } : { taskId: scope.taskId };

  /** A run sealed onto the chain whose head is `head`, created in `batch`. */
  const sealRun = (head: ChainHead | undefined, run: UnsealedRun): Run => sealEntry(head, run);
  const createRun = (batch: WriteBatch, run: Run): number => {
    batch.create(runRef(run), stripUndefined(run));
    return 1;
  };

  async function lookup<T>(ref: DocumentReference): Promise<T | null> {
    const snap = await ref.get();
    ops.lookups(1);
    return snap.exists ? fromStored<T>(snap.data()) : null;
  }

  async function all<T>(query: Query): Promise<T[]> {
    const snap = await query.get();
    ops.query(snap.size);
    return snap.docs.map((d) => fromStored<T>(d.data()));
  }

  /**
   * The document a cursor names, which must be a document of the listing it came from (a
   * request, or an instance under one) with safe ids; anything else is a forged cursor.
   */
  function docAt(path: unknown, of: 'requests' | 'instances'): DocumentReference {
    const segments = typeof path === 'string' ? path.split('/') : [];
    const shape =
      of === 'requests'
        ? segments.length === 2 && segments[0] === COLLECTIONS.requests
        : segments.length === 4 &&
          segments[0] === COLLECTIONS.requests &&
          segments[2] === COLLECTIONS.instances;
    if (!shape) throw invalidCursor();
    try {
      segments.forEach((segment, i) => i % 2 === 1 && assertStoreSafeId(segment, 'cursor'));
      return db.doc(segments.join('/'));
    } catch {
      throw invalidCursor();
    }
  }

  /** Pages ordered by `order`; a full page carries a cursor made of its last item's keys. */
  async function page<T>(
    query: Query,
    order: readonly OrderKey[],
    limit: number,
    cursor: string | undefined,
    of: 'requests' | 'instances' = 'requests',
  ): Promise<Page<T>> {
    let q = query;
    for (const { field, direction } of order) {
      q = q.orderBy(field === ID ? FieldPath.documentId() : field, direction);
    }
    if (cursor !== undefined) {
      const values = decodeCursor(cursor, order.length);
      q = q.startAfter(...order.map((k, i) => (k.field === ID ? docAt(values[i], of) : values[i])));
    }
    const size = Math.max(1, Math.floor(limit));
    const snap: QuerySnapshot = await q.limit(size).get();
    ops.query(snap.size);
    const items = snap.docs.map((d) => fromStored<T>(d.data()));
    const last = snap.docs[snap.size - 1];
    if (snap.size < size || last === undefined) return { items };
    const keys = order.map(({ field }) =>
      field === ID ? last.ref.path : (last.get(field) as string | boolean | number),
    );
    return { items, nextCursor: encodeCursor(keys) };
  }

  /** A guarded update that returns the patched document, or null when missing or declined. */
  function patchStep<T extends object>(
    current: T | null,
    mutate: (current: T) => Partial<T> | null,
  ): GuardedStep<T, T | null> {
    const patch = current === null ? null : mutate(current);
    if (current === null || patch === null) return { result: null };
    return { update: patch, result: () => applyPatch(current, patch) };
  }

  /**
   * A guarded update of a request: the patch, plus the lifecycle events its change announces,
   * written to the outbox in the same commit, so no transition escapes it.
   */
  function requestStep(
    current: Request | null,
    mutate: (current: Request) => Partial<Request> | null,
  ): GuardedStep<Request, Request | null> {
    const step = patchStep(current, mutate);
    const source = opts.eventSource;
    if (!('update' in step) || current === null || source === undefined) return step;
    const events = lifecycleEvents(current, applyPatch(current, step.update), source);
    if (events.length === 0) return step;
    return { ...step, alsoWrite: (b) => writeOutbox(db, b, events) };
  }

  /** Creates a document, or answers false when it exists already. */
  async function createIfAbsent(ref: DocumentReference, data: object): Promise<boolean> {
    try {
      await ref.create(stripUndefined(data));
    } catch (err) {
      if (isAlreadyExists(err)) return false;
      throw err;
    }
    ops.committed(1);
    return true;
  }

  const store: FirestoreStore = {
    stats: () => ops.snapshot(),
    resetStats: () => ops.reset(),

    async createTask(task, registered) {
      const ref = taskRef(task.id);
      if (registered === undefined) {
        if (!(await createIfAbsent(ref, task))) {
          throw new ConflictError(`a task with id ${task.id} already exists`, 'task_exists');
        }
        return stripUndefined(task);
      }
      assertVersionOf(task.id, 1, registered.version);
      // The task, its version 1 and the first entry of its ledger (with the head that names
      // it): all or none.
      const scope = { kind: 'task', taskId: task.id } as const;
      const entry = sealEntry(undefined, { ...registered.action, ...scopeField(scope) });
      const stored = stripUndefined({ ...task, ledgerHead: headOf(entry) });
      const batch = db.batch();
      batch.create(ref, stored);
      createVersion(batch, registered.version);
      batch.create(ledgerOf(scope).doc(ledgerEntryId(entry.seq)), stripUndefined(entry));
      try {
        await batch.commit();
      } catch (err) {
        if (isAlreadyExists(err)) {
          throw new ConflictError(`a task with id ${task.id} already exists`, 'task_exists');
        }
        throw err;
      }
      ops.committed(3);
      return fromStored<Task>(stored);
    },

    getTask: (id) => lookup<Task>(taskRef(id)),

    async listTasks(filter = {}) {
      let q: Query = tasks;
      if (filter.jobType !== undefined) q = q.where('jobType', '==', filter.jobType);
      if (filter.active !== undefined) q = q.where('active', '==', filter.active);
      return all<Task>(q);
    },

    async updateTask(id, change) {
      const ref = taskRef(id);
      const scope = { kind: 'task', taskId: id } as const;
      let found = false;
      const updated = await guardedWrite<Task & LedgerParent, Task | null>(
        guard,
        ref,
        (current) => {
          found = current !== null;
          const write = current === null ? null : change(current);
          if (current === null || write === null) return { result: null };
          assertVersionOf(id, current.version + 1, write.version);
          // The ledger entry is sealed onto the head read here; the guard on the task document
          // keeps the chain from forking with a concurrent append (an audit run).
          const entry = sealEntry(current.ledgerHead, { ...write.action, ...scopeField(scope) });
          const next: Record<string, unknown> = {
            ...write.version.task,
            ledgerHead: headOf(entry),
          };
          delete next['id']; // the id is the document's name
          // The next version is the task whole: a field it no longer has is removed.
          for (const field of Object.keys(current)) {
            if (field !== 'id' && !Object.hasOwn(next, field)) next[field] = undefined;
          }
          return {
            update: next,
            alsoWrite: (b) => {
              b.create(ledgerOf(scope).doc(ledgerEntryId(entry.seq)), stripUndefined(entry));
              return 1 + createVersion(b, write.version);
            },
            result: () =>
              fromStored<Task>(
                stripUndefined({ ...write.version.task, ledgerHead: headOf(entry) }),
              ),
          };
        },
      );
      if (!found) throw new NotFoundError(`no task with id ${id}`);
      return updated ?? (await lookup<Task>(ref))!;
    },

    async getTaskVersion(id, version) {
      if (!Number.isSafeInteger(version) || version < 1) return null;
      return lookup<TaskVersion>(versionsOf(id).doc(String(version)));
    },

    listTaskVersions: (id) => all<TaskVersion>(versionsOf(id).orderBy('version', 'asc')),

    async createRequest(request, instances, filed) {
      if (instances.length + 4 > MAX_BATCH_WRITES) {
        throw new Error(`a request may have at most ${MAX_BATCH_WRITES - 4} instances`);
      }
      const stranger = instances.find((i) => i.requestId !== request.id);
      if (stranger !== undefined) {
        throw new Error(
          `instance ${stranger.taskId} belongs to ${stranger.requestId}, not ${request.id}`,
        );
      }
      const batch = db.batch();
      const scope = { kind: 'request', requestId: request.id } as const;
      // The first ledger entry and the head that names it are written with the request.
      const entry =
        filed === undefined ? undefined : sealEntry(undefined, { ...filed, ...scopeField(scope) });
      const stored = stripUndefined(
        entry === undefined ? request : { ...request, ledgerHead: headOf(entry) },
      );
      batch.create(requestRef(request.id), stored);
      // request.filed (and whatever else the new request announces), with the request.
      const events =
        opts.eventSource === undefined
          ? 0
          : writeOutbox(db, batch, lifecycleEvents(null, stored, opts.eventSource));
      for (const instance of instances) {
        batch.create(instanceRef(request.id, instance.taskId), stripUndefined(instance));
      }
      if (entry !== undefined) {
        batch.create(ledgerOf(scope).doc(ledgerEntryId(entry.seq)), stripUndefined(entry));
      }
      try {
        await batch.commit();
        ops.committed(1 + instances.length + (entry === undefined ? 0 : 1) + events);
        return { created: true, request: stored, instances: instances.map(stripUndefined) };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      // The id is derived from the external id, so an existing request is the same request.
      const existing = await lookup<Request>(requestRef(request.id));
      if (existing === null) {
        throw new ConflictError(
          `request ${request.id} has instances but no request document`,
          'orphan_instances',
        );
      }
      return {
        created: false,
        request: existing,
        instances: await all<Instance>(instancesOf(request.id)),
      };
    },

    getRequest: (id) => lookup<Request>(requestRef(id)),

    // Exactly the plan request-scan.ts makes, whose every shape has its index (indexes.ts).
    async listRequests(scan) {
      const plan = planRequestScan(scan);
      let q: Query = requests;
      for (const f of plan.filters) q = q.where(f.field, f.op, f.value);
      for (const r of plan.range) q = q.where(plan.orderBy.field, r.op, r.value);
      const { field, direction } = plan.orderBy;
      q = q.orderBy(field, direction).orderBy(FieldPath.documentId(), direction);
      if (scan.after !== undefined) {
        assertStoreSafeId(scan.after.id, 'cursor');
        q = q.startAfter(scan.after.value, requestRef(scan.after.id));
      }
      return all<Request>(q.limit(Math.max(1, Math.floor(scan.limit))));
    },

    // An equality on one field: Firestore's automatic single-field index serves it.
    findRequestsByExternalId: (externalId, limit) =>
      all<Request>(
        requests.where('externalId', '==', externalId).limit(Math.max(1, Math.floor(limit))),
      ),

    async findRequestsBySubject(subjectHash, type, limit) {
      const q = requests
        .where('subjectHash', '==', subjectHash)
        .where('type', '==', type)
        .orderBy('createdAt', 'desc')
        .limit(Math.max(1, Math.floor(limit)));
      return all<Request>(q);
    },

    updateRequest: (id, mutate) =>
      guardedWrite<Request, Request | null>(guard, requestRef(id), (current) =>
        requestStep(current, mutate),
      ),

    getInstance: (requestId, taskId) => lookup<Instance>(instanceRef(requestId, taskId)),

    listInstances: (requestId) => all<Instance>(instancesOf(requestId)),

    async countOpenInstances(requestId) {
      const snap = await instancesOf(requestId)
        .where('state', 'in', OPEN_INSTANCE_STATES)
        .count()
        .get();
      const { count } = snap.data();
      ops.aggregation(count);
      return count;
    },

    async countTaskInstances(taskId, states) {
      assertStoreSafeId(taskId, 'taskId');
      if (states.length === 0) return 0;
      const snap = await db
        .collectionGroup(COLLECTIONS.instances)
        .where('state', 'in', states)
        .where('taskId', '==', taskId)
        .count()
        .get();
      const { count } = snap.data();
      ops.aggregation(count);
      return count;
    },

    async queryInstances(query: InstanceQuery) {
      if (query.states.length === 0) return { items: [] };
      let q: Query = db.collectionGroup(COLLECTIONS.instances).where('state', 'in', query.states);
      if (query.taskId !== undefined) {
        assertStoreSafeId(query.taskId, 'taskId');
        q = q.where('taskId', '==', query.taskId);
      }
      const order: OrderKey[] = [];
      if (query.dueBefore !== undefined) {
        if (query.dueField === undefined) {
          throw new Error('queryInstances: dueBefore needs a dueField');
        }
        q = q.where(query.dueField, '<=', query.dueBefore.toISOString());
        order.push({ field: query.dueField, direction: 'asc' });
      }
      order.push({ field: ID, direction: 'asc' });
      return page<Instance>(q, order, query.limit, query.cursor, 'instances');
    },

    updateInstance: (requestId, taskId, mutate: InstanceMutation) =>
      guardedWrite<Instance, Instance | null>(guard, instanceRef(requestId, taskId), (current) =>
        patchStep(current, checkedMutation(mutate)),
      ),

    patchInstances: (requestId, patches) =>
      commitInBatches(
        db,
        ops,
        patches.map(
          ({ taskId, patch }) =>
            (b) =>
              b.update(instanceRef(requestId, taskId), toUpdateData(patch)),
        ),
      ),

    claimInstance: (requestId, taskId, decide) =>
      guardedWrite<Instance, ClaimOutcome>(guard, instanceRef(requestId, taskId), (current) => {
        if (current === null) return { result: { claimed: false, reason: 'not_found' } };
        const decision = decide(current);
        assertLegalPatch(current, 'refuse' in decision ? (decision.write ?? {}) : decision.patch);
        if ('refuse' in decision) {
          const refused = { claimed: false as const, reason: decision.refuse };
          if (decision.write === undefined) return { result: { ...refused, instance: current } };
          const written = applyPatch(current, decision.write);
          return { update: decision.write, result: () => ({ ...refused, instance: written }) };
        }
        const instance = applyPatch(current, decision.patch);
        return {
          update: decision.patch,
          result: (updateTime) => ({
            claimed: true,
            claim: { instance, token: encodeClaimToken(updateTime) },
          }),
        };
      }),

    async finishAttempt(claim, unsealed, patch) {
      const { requestId, taskId } = claim.instance;
      if (unsealed.requestId !== requestId || unsealed.taskId !== taskId) {
        throw new Error(
          `run ${unsealed.runId} is not of the claimed instance ${requestId}/${taskId}`,
        );
      }
      const ref = instanceRef(requestId, taskId);
      // The claim guards the instance, so the head it read is still the head: no read needed.
      const run = sealRun(claim.instance.runChain, unsealed);
      const batch = db.batch();
      createRun(batch, run);
      batch.update(ref, toUpdateData<Instance>({ ...patch, runChain: headOf(run) }), {
        lastUpdateTime: decodeClaimToken(claim.token),
      });
      try {
        await batch.commit();
        ops.committed(2);
        return { applied: true, run };
      } catch (err) {
        // The same run id already recorded: an earlier call with this run got through.
        if (isAlreadyExists(err)) return { applied: false, run: null };
        if (!isGuardFailure(err)) throw err;
      }
      // The instance was written since the claim: either only late runs were chained onto it
      // (the claim still holds), or it moved on (its lease was expired and it was retried).
      // Either way the run is chained onto the current head in one guarded write; a superseded
      // run changes nothing but the head.
      try {
        return await guardedWrite<Instance, FinishOutcome>(guard, ref, (current) => {
          if (current === null) return { result: { applied: false, run: null } };
          const sealed = sealRun(current.runChain, unsealed);
          const holds = stillClaimed(current, claim.instance);
          const head = { runChain: headOf(sealed) };
          return {
            update: holds ? { ...patch, ...head } : head,
            alsoWrite: (b) => createRun(b, sealed),
            result: () => ({ applied: holds, run: sealed }),
          };
        });
      } catch (err) {
        if (isAlreadyExists(err)) return { applied: false, run: null };
        throw err;
      }
    },

    async recordRun(unsealed, mutate) {
      const ref = instanceRef(unsealed.requestId, unsealed.taskId);
      runRef(unsealed); // checks the run id before anything is read
      try {
        return await guardedWrite<Instance, Instance | null>(guard, ref, (current) => {
          const patch = current === null ? null : mutate(current);
          if (current === null || patch === null) return { result: null };
          const run = sealRun(current.runChain, unsealed);
          const update = { ...patch, runChain: headOf(run) };
          return {
            update,
            alsoWrite: (b) => createRun(b, run),
            result: () => applyPatch(current, update),
          };
        });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        throw new ConflictError(`run ${unsealed.runId} is already recorded`, 'run_exists');
      }
    },

    listRuns: (requestId) => {
      assertStoreSafeId(requestId, 'requestId');
      return all<Run>(db.collectionGroup(COLLECTIONS.runs).where('requestId', '==', requestId));
    },

    async appendLedger(scope, action) {
      const parent = ledgerParent(scope);
      const entries = ledgerOf(scope);
      const attempts = Math.max(guard.maxAttempts, MIN_LEDGER_ATTEMPTS);
      const entry = await guardedWrite<LedgerParent, LedgerEntry | null>(
        { ...guard, maxAttempts: attempts },
        parent,
        (current) => {
          if (current === null) return { result: null };
          const sealed: LedgerEntry = sealEntry(current.ledgerHead, {
            ...action,
            ...scopeField(scope),
          });
          return {
            update: { ledgerHead: headOf(sealed) },
            alsoWrite: (b) => {
              // `create`: a seq already taken means the head was rolled back; refuse, never overwrite.
              b.create(entries.doc(ledgerEntryId(sealed.seq)), stripUndefined(sealed));
              return 1;
            },
            result: () => stripUndefined(sealed),
          };
        },
      );
      if (entry === null) {
        const what =
          scope.kind === 'request' ? `request ${scope.requestId}` : `task ${scope.taskId}`;
        throw new NotFoundError(`no ${what}`);
      }
      return entry;
    },

    listLedger: (scope) => all<LedgerEntry>(ledgerOf(scope).orderBy('seq', 'asc')),

    queryRequestsToMinimise: (closedBefore, limit, cursor) =>
      page<Request>(
        requests.where('minimised', '==', false).where('completedAt', '<=', closedBefore),
        [
          { field: 'completedAt', direction: 'asc' },
          { field: ID, direction: 'asc' },
        ],
        limit,
        cursor,
      ),

    async minimiseRequest(requestId, mutate, expireAt) {
      const ref = requestRef(requestId);
      const current = await lookup<Request>(ref);
      if (current === null || mutate(current) === null) return null;
      // Everything under the request first, the request last: the request's `minimised` flag is
      // the mark of a finished job, so a run cut short is simply done again by the next dispatch.
      const ttl =
        expireAt === undefined ? undefined : { [TTL_FIELD]: Timestamp.fromDate(expireAt) };
      const writes: ((batch: WriteBatch) => void)[] = [];
      const instances = await instancesOf(requestId).get();
      ops.query(instances.size);
      for (const instance of instances.docs) {
        const [runs, records] = await Promise.all([
          instance.ref.collection(COLLECTIONS.runs).select().get(),
          instance.ref.collection(COLLECTIONS.records).select().get(),
        ]);
        ops.query(runs.size);
        ops.query(records.size);
        for (const chunk of records.docs) writes.push((b) => b.delete(chunk.ref));
        if (ttl !== undefined) {
          writes.push((b) => b.update(instance.ref, ttl));
          for (const run of runs.docs) writes.push((b) => b.update(run.ref, ttl));
        }
      }
      if (ttl !== undefined) {
        // The request's ledger goes with it (a TTL-only update: the entries' hashes are kept).
        const ledger = await ref.collection(COLLECTIONS.ledger).select().get();
        ops.query(ledger.size);
        for (const entry of ledger.docs) writes.push((b) => b.update(entry.ref, ttl));
      }
      await commitInBatches(db, ops, writes);
      return guardedWrite<Request, Request | null>(guard, ref, (latest) =>
        requestStep(latest, (r) => {
          const patch = mutate(r);
          return patch === null ? null : { ...patch, ...ttl };
        }),
      ).then((r) => (r === null ? null : fromStored<Request>(r)));
    },

    ...costQueries(db, ops, COLLECTIONS),

    queryOpenRequests: (limit, cursor) =>
      page<Request>(
        requests.where('status', 'in', OPEN_REQUEST_STATUSES),
        [{ field: ID, direction: 'asc' }],
        limit,
        cursor,
      ),

    // A range on one field ordered by it (then the id, ascending): the automatic single-field
    // index serves it, so no composite index is declared (indexes.ts).
    queryRequestsReceived: (from, to, limit, cursor) =>
      page<Request>(
        requests.where('receivedAt', '>=', from).where('receivedAt', '<', to),
        [
          { field: 'receivedAt', direction: 'asc' },
          { field: ID, direction: 'asc' },
        ],
        limit,
        cursor,
      ),
  };
  return boundedMethods(store, opts.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS, [
    'stats',
    'resetStats',
  ]);
}
