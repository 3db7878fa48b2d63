import { createStructuredLogger } from '../../../src/adapters/cloud-logging/structured-logger';
import { DEFAULT_SETTINGS, type AppDeps, type AppSettings } from '../../../src/app/deps';
import { RetryableError } from '../../../src/domain/errors';
import type { Instance, Task } from '../../../src/domain/model';
import { builtInExecutors } from '../../../src/executors';
import type { EnqueueInput, TaskQueue } from '../../../src/ports/task-queue';
import { aRequest, anInstance, aTask, useStore, type StoreFixture } from '../firestore/fixture';

/**
 * The TaskQueue port as Cloud Tasks behaves at its edge: a name it has seen is answered
 * `exists`, and `down` makes every call fail as an unreachable queue does. It records what
 * was created, so tests can count Cloud Tasks per instance.
 */
export class RecordingQueue implements TaskQueue {
  readonly created: EnqueueInput[] = [];
  readonly calls: string[] = [];
  down = false;

  async enqueue(input: EnqueueInput): Promise<'created' | 'exists'> {
    this.calls.push(input.taskName);
    if (this.down) {
      throw new RetryableError(`queue unreachable for ${input.taskName}`, {
        code: 'queue.unavailable',
      });
    }
    if (this.created.some((t) => t.taskName === input.taskName)) return 'exists';
    this.created.push(input);
    return 'created';
  }

  /** Forgets a task, as Cloud Tasks does once a task is delivered or purged. */
  lose(taskName: string): void {
    const i = this.created.findIndex((t) => t.taskName === taskName);
    if (i >= 0) this.created.splice(i, 1);
  }
}

export interface LoggedLine {
  severity: string;
  event: string;
  message: string;
  [field: string]: unknown;
}

export interface DispatchFixture {
  store: StoreFixture;
  queue: RecordingQueue;
  lines: LoggedLine[];
  /** The clock every use case reads; tests move it. */
  now: Date;
  deps(settings?: Partial<AppSettings>): AppDeps;
  events(event: string): LoggedLine[];
  /** Stores the task (once) and a request with one instance of it. */
  seed(requestId: string, task: Task, instance: Partial<Instance>): Promise<Instance>;
}

export const T0 = new Date('2030-03-01T12:00:00.000Z');

/** The use cases on the Firestore emulator, with a recording queue and a movable clock. */
export function useDispatchFixture(): DispatchFixture {
  const store = useStore();
  const fixture: DispatchFixture = {
    store,
    queue: new RecordingQueue(),
    lines: [],
    now: T0,
    deps: (settings = {}) => ({
      store: store.store,
      queue: fixture.queue,
      clock: { now: () => new Date(fixture.now) },
      log: createStructuredLogger({
        projectId: 'test',
        service: { name: 'dispatch', revision: 'dispatch-1' },
        write: (line) => fixture.lines.push(JSON.parse(line) as LoggedLine),
      }),
      executors: builtInExecutors({ secrets: () => undefined }),
      settings: { ...DEFAULT_SETTINGS, leaseGraceSeconds: 10, ...settings },
    }),
    events: (event) => fixture.lines.filter((l) => l.event === event),
    async seed(requestId, task, patch) {
      if ((await store.store.getTask(task.id)) === null) await store.store.createTask(task);
      const instance = anInstance(requestId, task.id, {
        executor: task.executor,
        maxAttempts: task.maxAttempts,
        timeoutSeconds: task.timeoutSeconds,
        updatedAt: T0.toISOString(),
        ...patch,
      });
      await store.store.createRequest(aRequest(requestId), [instance]);
      return instance;
    },
  };
  beforeEach(() => {
    fixture.queue = new RecordingQueue();
    fixture.lines.splice(0);
    fixture.now = T0;
  });
  return fixture;
}

/** An ISO time `seconds` after T0. */
export function after(seconds: number): string {
  return new Date(T0.getTime() + seconds * 1000).toISOString();
}

export { aTask };
