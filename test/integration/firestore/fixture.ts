import {
  createFirestoreStore,
  type FirestoreStore,
} from '../../../src/adapters/firestore/firestore-store';
import type { Instance, Request, Task } from '../../../src/domain/model';
import type { TaskVersionWrite, UnsealedRun } from '../../../src/ports/request-store';
import { firestoreForTest, type TestFirestore } from '../../helpers/firestore-emulator';

export interface StoreFixture {
  fs: TestFirestore;
  store: FirestoreStore;
}

/**
 * A store on the emulator with a project of this test file's own, emptied after each test and
 * closed after the file. The fixture object is filled in `beforeAll`.
 */
export function useStore(): StoreFixture {
  const fixture = {} as StoreFixture;
  beforeAll(() => {
    fixture.fs = firestoreForTest();
    fixture.store = createFirestoreStore(fixture.fs.db);
  });
  afterEach(async () => {
    await fixture.fs.reset();
    fixture.store.resetStats();
  });
  afterAll(async () => {
    await fixture.fs.close();
  });
  return fixture;
}

const T0 = Date.parse('2026-03-01T09:00:00.000Z');

/** An ISO time `minutes` after a fixed origin, so orderings are explicit. */
export function at(minutes: number): string {
  return new Date(T0 + minutes * 60_000).toISOString();
}

export function aTask(id: string, overrides: Partial<Task> = {}): Task {
  return {
    id,
    name: `task ${id}`,
    jobType: 'deletion',
    executor: 'noop',
    config: {},
    requiredIdentifiers: [],
    timeoutSeconds: 60,
    maxAttempts: 3,
    retryPolicy: { minBackoffSeconds: 1, maxBackoffSeconds: 10, maxDoublings: 2 },
    requiresApproval: false,
    approvalsRequired: 0,
    active: true,
    createdAt: at(0),
    updatedAt: at(0),
    version: 1,
    versionHash: `${id}-v1`,
    ...overrides,
  };
}

/** The next version of `current` with `patch` applied, as the registry hands it to the store. */
export function aTaskVersion(
  current: Task,
  patch: Partial<Task>,
  actor = 'admin@example.com',
): TaskVersionWrite {
  const version = current.version + 1;
  const { ledgerHead: _head, ...task } = {
    ...current,
    ...patch,
    version,
    versionHash: `${current.id}-v${version}`,
    updatedBy: actor,
  } as Task & { ledgerHead?: unknown };
  const fields = Object.keys(patch).sort();
  const at = task.updatedAt;
  return {
    version: {
      taskId: task.id,
      version,
      versionHash: task.versionHash,
      kind: 'changed',
      actor,
      at,
      fields,
      task,
    },
    action: {
      kind: 'changed',
      actor,
      at,
      details: { version, versionHash: task.versionHash, fields },
    },
  };
}

export function aRequest(id: string, overrides: Partial<Request> = {}): Request {
  return {
    id,
    type: 'deletion',
    subject: { email: `${id}@example.com` },
    subjectHash: `hash-${id}`,
    regulation: 'gdpr',
    receivedAt: at(0),
    dueAt: at(30 * 24 * 60),
    dryRun: false,
    status: 'in_progress',
    overdue: false,
    createdAt: at(0),
    updatedAt: at(0),
    createdBy: 'test',
    counts: {},
    cost: { bytesBilled: 0, usd: 0 },
    ...overrides,
  };
}

export function anInstance(
  requestId: string,
  taskId: string,
  overrides: Partial<Instance> = {},
): Instance {
  return {
    requestId,
    taskId,
    taskName: `task ${taskId}`,
    executor: 'noop',
    jobType: 'deletion',
    state: 'queued',
    attempt: 0,
    totalAttempts: 0,
    series: 1,
    maxAttempts: 3,
    timeoutSeconds: 60,
    cost: { bytesBilled: 0, usd: 0 },
    updatedAt: at(0),
    ...overrides,
  };
}

/** A run as callers hand it to the store, which seals it onto the instance's chain. */
export function aRun(
  instance: Pick<Instance, 'requestId' | 'taskId'>,
  runId: string,
  overrides: Partial<UnsealedRun> = {},
): UnsealedRun {
  return {
    runId,
    requestId: instance.requestId,
    taskId: instance.taskId,
    executor: 'noop',
    attempt: 1,
    series: 1,
    status: 'succeeded',
    message: 'done',
    willRetry: false,
    startedAt: at(1),
    finishedAt: at(2),
    durationMs: 60_000,
    cost: { bytesBilled: 0, usd: 0 },
    evidence: {},
    dryRun: false,
    ...overrides,
  };
}

/** A request with `n` instances `t00`, `t01`, ... in `state`. */
export function aRequestWithInstances(
  id: string,
  n: number,
  instance: Partial<Instance> = {},
): { request: Request; instances: Instance[] } {
  const instances = Array.from({ length: n }, (_, i) =>
    anInstance(id, `t${String(i).padStart(2, '0')}`, instance),
  );
  return { request: aRequest(id), instances };
}

/** The claim decision run-task makes, reduced to what the store tests need. */
export function claimIfQueued(current: Instance) {
  if (current.state !== 'queued') return { refuse: 'finished' as const };
  return {
    patch: {
      state: 'running' as const,
      attempt: current.attempt + 1,
      totalAttempts: current.totalAttempts + 1,
      leaseExpiresAt: at(10),
      updatedAt: at(1),
    },
  };
}
