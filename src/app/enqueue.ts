import { coerceError } from '../domain/errors';
import type { Instance, Task } from '../domain/model';
import { nextWindowOpening } from '../domain/execution-window';
import { shortHash } from '../domain/subject';
import type { AppDeps } from './deps';

/** The body of every Cloud Task that targets run-task. */
export interface RunTaskPayload {
  requestId: string;
  taskId: string;
  series: number;
  /** The attempt this Cloud Task was created for (Cloud Tasks' own retries reuse it). */
  attempt: number;
  /** The task's `updatedAt` when enqueued, so run-task can cache task definitions safely. */
  taskVersion: string;
  /** Set on a delayed task that polls a waiting attempt's long job. */
  poll?: number;
}

const MIN_DEADLINE_S = 15;
const MAX_DEADLINE_S = 1800;

/** Deadline Cloud Tasks waits for our answer: the task timeout plus a margin, within 15 s..30 min. */
export function dispatchDeadlineSeconds(timeoutSeconds: number, marginSeconds: number): number {
  return Math.min(MAX_DEADLINE_S, Math.max(MIN_DEADLINE_S, timeoutSeconds + marginSeconds));
}

/**
 * Deterministic per (instance, series, attempt), hash-prefixed so names spread across Cloud
 * Tasks' key space. A repeated enqueue of the same attempt gets ALREADY_EXISTS: a success.
 */
export function cloudTaskName(
  requestId: string,
  taskId: string,
  series: number,
  attempt: number,
): string {
  const id = `${requestId}-${taskId}-s${series}-a${attempt}`;
  return `${shortHash(id, 8)}-${id}`;
}

/** Cloud Tasks refuses a scheduleTime more than 30 days ahead; park anything beyond this. */
export const ENQUEUE_HORIZON_MS = 29 * 24 * 60 * 60 * 1000;

/**
 * The fields an instance gets when it is handed to the queue for its next attempt: scheduled at
 * the next opening of the task's window (or `notBefore`, whichever is later). An opening beyond
 * the Cloud Tasks horizon parks the instance in `pending_enqueue`; dispatch re-arms it later.
 */
export function queuedFields(
  instance: Instance,
  task: Pick<Task, 'executionWindow'>,
  now: Date,
  notBefore: Date = now,
): Pick<Instance, 'state' | 'cloudTaskName' | 'scheduleTime'> {
  const at = nextWindowOpening(
    task.executionWindow,
    notBefore.getTime() > now.getTime() ? notBefore : now,
  );
  return {
    state: at.getTime() - now.getTime() > ENQUEUE_HORIZON_MS ? 'pending_enqueue' : 'queued',
    cloudTaskName: cloudTaskName(
      instance.requestId,
      instance.taskId,
      instance.series,
      instance.attempt + 1,
    ),
    scheduleTime: at.toISOString(),
  };
}

/**
 * Creates the Cloud Task of each `queued` instance (already marked, so a delivery always finds
 * its instance). An instance whose enqueue failed goes back to `pending_enqueue` — the outbox
 * that dispatch drains — unless a delivery has claimed it meanwhile. Never throws.
 */
export async function sendToQueue(
  deps: Pick<AppDeps, 'queue' | 'store' | 'clock' | 'log' | 'settings'>,
  items: readonly { instance: Instance; task: Task }[],
): Promise<Instance[]> {
  return Promise.all(
    items.map(async ({ instance, task }) => {
      const name = instance.cloudTaskName;
      if (instance.state !== 'queued' || name === undefined) return instance;
      const payload: RunTaskPayload = {
        requestId: instance.requestId,
        taskId: instance.taskId,
        series: instance.series,
        attempt: instance.attempt + 1,
        taskVersion: task.updatedAt,
      };
      try {
        await deps.queue.enqueue({
          taskName: name,
          ...(instance.scheduleTime === undefined
            ? {}
            : { scheduleTime: new Date(instance.scheduleTime) }),
          dispatchDeadlineSeconds: dispatchDeadlineSeconds(
            task.timeoutSeconds,
            deps.settings.dispatchDeadlineMarginSeconds,
          ),
          body: payload,
        });
        return instance;
      } catch (thrown) {
        const error = coerceError(thrown);
        deps.log
          .child({ labels: { requestId: instance.requestId, taskId: instance.taskId } })
          .warn(
            'instance.enqueue_failed',
            `enqueue failed; dispatch will retry: ${error.message}`,
            { cloudTaskName: name },
          );
        const reverted = await deps.store
          .updateInstance(instance.requestId, instance.taskId, (current) =>
            current.state === 'queued' && current.cloudTaskName === name
              ? { state: 'pending_enqueue', updatedAt: deps.clock.now().toISOString() }
              : null,
          )
          .catch(() => null);
        return reverted ?? instance;
      }
    }),
  );
}

/** Moves `pending_enqueue` instances to `queued` (guarded) and sends them to the queue. */
export async function queueInstances(
  deps: Pick<AppDeps, 'queue' | 'store' | 'clock' | 'log' | 'settings'>,
  instances: readonly Instance[],
  tasks: ReadonlyMap<string, Task>,
): Promise<Instance[]> {
  const now = deps.clock.now();
  const marked = await Promise.all(
    instances.map(async (instance) => {
      const task = tasks.get(instance.taskId);
      if (instance.state !== 'pending_enqueue' || task === undefined) return { instance, task };
      const fields = queuedFields(instance, task, now);
      if (fields.state !== 'queued') return { instance, task };
      const next = await deps.store.updateInstance(
        instance.requestId,
        instance.taskId,
        (current) =>
          current.state === 'pending_enqueue'
            ? { ...queuedFields(current, task, now), updatedAt: now.toISOString() }
            : null,
      );
      return { instance: next ?? instance, task };
    }),
  );
  const sendable = marked.filter(
    (m): m is { instance: Instance; task: Task } =>
      m.task !== undefined && m.instance.state === 'queued',
  );
  const sent = new Map((await sendToQueue(deps, sendable)).map((i) => [i.taskId, i]));
  return marked.map((m) => sent.get(m.instance.taskId) ?? m.instance);
}
