import { coerceError } from '../domain/errors';
import type { EnqueueInput } from '../ports/task-queue';
import type { Instance, Task } from '../domain/model';
import { nextTaskOpening } from '../domain/execution-window';
import { pausedAdvice } from '../domain/pause';
import { shortHash } from '../domain/subject';
import type { AppDeps } from './deps';

/** The body of every Cloud Task that targets run-task. */
export interface RunTaskPayload {
  requestId: string;
  taskId: string;
  series: number;
  /** The attempt this Cloud Task was created for (Cloud Tasks' own retries reuse it). */
  attempt: number;
  /** The task's version when enqueued, so run-task can cache task definitions safely. */
  taskVersion: number;
  /** Set on a delayed task that polls a waiting attempt's long job. */
  poll?: number;
  /** A poll sent ahead of its time (a batch's flush finished): claimed at once. */
  early?: true;
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
  /** Re-arms after a pause (Instance.resumes): each gets names of its own. */
  resumes = 0,
): string {
  const id = `${requestId}-${taskId}-s${series}-a${attempt}${resumes > 0 ? `-r${resumes}` : ''}`;
  return `${shortHash(id, 8)}-${id}`;
}

/** Cloud Tasks refuses a scheduleTime more than 30 days ahead; park anything beyond this. */
export const ENQUEUE_HORIZON_MS = 29 * 24 * 60 * 60 * 1000;

/**
 * The fields an instance gets when it is handed to the queue for its next attempt: scheduled at
 * the task's next opening (its `notBefore`, then its window) at or after `notBefore`. An opening
 * beyond the Cloud Tasks horizon parks the instance in `pending_enqueue`; dispatch re-arms it.
 * A paused task's instance goes to `paused` instead, keeping that time (src/domain/pause.ts).
 */
export function queuedFields(
  instance: Instance,
  task: Pick<Task, 'executionWindow' | 'notBefore'> & Partial<Pick<Task, 'id' | 'paused'>>,
  now: Date,
  notBefore: Date = now,
): Pick<Instance, 'state' | 'cloudTaskName' | 'scheduleTime' | 'parked'> &
  Partial<Pick<Instance, 'pausedAt' | 'advice'>> {
  const at = nextTaskOpening(task, notBefore.getTime() > now.getTime() ? notBefore : now);
  if (task.paused !== undefined) {
    return {
      state: 'paused',
      cloudTaskName: undefined,
      scheduleTime: at.toISOString(),
      parked: undefined,
      pausedAt: now.toISOString(),
      advice: pausedAdvice({ id: task.id ?? instance.taskId }, task.paused),
    };
  }
  const parked = at.getTime() - now.getTime() > ENQUEUE_HORIZON_MS;
  return {
    state: parked ? 'pending_enqueue' : 'queued',
    cloudTaskName: cloudTaskName(
      instance.requestId,
      instance.taskId,
      instance.series,
      instance.attempt + 1,
      instance.resumes,
    ),
    scheduleTime: at.toISOString(),
    // A patch key set to undefined removes the field.
    parked: parked ? true : undefined,
  };
}

/** One delivery of an instance: an attempt, or a poll of a waiting attempt. */
export interface DeliverySpec {
  attempt: number;
  poll?: number;
  /** When Cloud Tasks should deliver it (ISO); now when absent. */
  at?: string;
}

/**
 * The Cloud Task for one delivery. Its name is deterministic per (instance, series, attempt,
 * poll), so creating it twice is answered ALREADY_EXISTS: a repeat is always harmless.
 */
export function runTaskInput(
  instance: Pick<Instance, 'requestId' | 'taskId' | 'series'> & Partial<Pick<Instance, 'resumes'>>,
  task: Pick<Task, 'timeoutSeconds' | 'version'>,
  marginSeconds: number,
  delivery: DeliverySpec,
): EnqueueInput {
  const name = cloudTaskName(
    instance.requestId,
    instance.taskId,
    instance.series,
    delivery.attempt,
    instance.resumes,
  );
  const body: RunTaskPayload = {
    requestId: instance.requestId,
    taskId: instance.taskId,
    series: instance.series,
    attempt: delivery.attempt,
    taskVersion: task.version,
    ...(delivery.poll === undefined ? {} : { poll: delivery.poll }),
  };
  return {
    taskName: delivery.poll === undefined ? name : `${name}-p${delivery.poll}`,
    ...(delivery.at === undefined ? {} : { scheduleTime: new Date(delivery.at) }),
    dispatchDeadlineSeconds: dispatchDeadlineSeconds(task.timeoutSeconds, marginSeconds),
    body,
  };
}

/**
 * The delivery an instance is waiting for, as it stands: the next attempt of a `queued` one,
 * the redelivery of a `retry_scheduled` one, the next poll of a `waiting` one.
 */
export function pendingDelivery(instance: Instance): DeliverySpec | undefined {
  const at = (iso: string | undefined) => (iso === undefined ? {} : { at: iso });
  switch (instance.state) {
    case 'queued':
      return { attempt: instance.attempt + 1, ...at(instance.scheduleTime) };
    case 'retry_scheduled':
      return { attempt: instance.attempt, ...at(instance.nextAttemptAt) };
    case 'waiting':
      return {
        attempt: instance.attempt,
        poll: instance.polls ?? 1,
        ...at(instance.nextAttemptAt),
      };
    default:
      return undefined;
  }
}

type QueueDeps = Pick<AppDeps, 'queue' | 'store' | 'clock' | 'log' | 'settings'>;

/**
 * Creates the Cloud Task of a `queued` instance (already marked, so a delivery always finds its
 * instance). On failure the instance goes back to `pending_enqueue` — the outbox that dispatch
 * drains — unless a delivery has claimed it meanwhile. Never throws.
 */
export async function sendQueued(
  deps: QueueDeps,
  instance: Instance,
  task: Task,
): Promise<{ instance: Instance; sent: boolean }> {
  const delivery = pendingDelivery(instance);
  if (instance.state !== 'queued' || delivery === undefined) return { instance, sent: false };
  const input = runTaskInput(instance, task, deps.settings.dispatchDeadlineMarginSeconds, delivery);
  try {
    await deps.queue.enqueue(input);
    return { instance, sent: true };
  } catch (thrown) {
    const error = coerceError(thrown);
    deps.log
      .child({ labels: { requestId: instance.requestId, taskId: instance.taskId } })
      .warn('instance.enqueue_failed', `enqueue failed; dispatch will retry: ${error.message}`, {
        cloudTaskName: input.taskName,
      });
    const reverted = await deps.store
      .updateInstance(instance.requestId, instance.taskId, (current) =>
        current.state === 'queued' && current.cloudTaskName === input.taskName
          ? { state: 'pending_enqueue', updatedAt: deps.clock.now().toISOString() }
          : null,
      )
      .catch(() => null);
    return { instance: reverted ?? instance, sent: false };
  }
}

/** Sends every `queued` instance of `items` to the queue; returns each instance as it now is. */
export async function sendToQueue(
  deps: QueueDeps,
  items: readonly { instance: Instance; task: Task }[],
): Promise<Instance[]> {
  const sent = await Promise.all(
    items.map(({ instance, task }) => sendQueued(deps, instance, task)),
  );
  return sent.map((s) => s.instance);
}

/** What one pass over the outbox did with an instance. */
export type OutboxOutcome =
  /** Marked `queued` and its Cloud Task created. */
  | 'enqueued'
  /** Its Cloud Task could not be created: back in `pending_enqueue`. */
  | 'failed'
  /** Its opening is beyond the horizon: (still) parked. */
  | 'parked'
  /** Its task is paused: it waits in `paused` until the task resumes. */
  | 'paused'
  /** Not ours to send: no longer pending, its task is gone, or another run took it. */
  | 'skipped';

export interface OutboxResult {
  instance: Instance;
  outcome: OutboxOutcome;
  /** It was parked until this pass moved it into range. */
  rearmed: boolean;
}

/**
 * Moves `pending_enqueue` instances to `queued` (a guarded write, so of two concurrent passes
 * only one sends each instance) and creates their Cloud Tasks. An instance whose opening is
 * beyond the horizon is parked instead.
 */
export async function queueInstances(
  deps: QueueDeps,
  instances: readonly Instance[],
  tasks: ReadonlyMap<string, Task>,
): Promise<OutboxResult[]> {
  const now = deps.clock.now();
  const updatedAt = now.toISOString();
  return Promise.all(
    instances.map(async (instance): Promise<OutboxResult> => {
      const task = tasks.get(instance.taskId);
      if (instance.state !== 'pending_enqueue' || task === undefined) {
        return { instance, outcome: 'skipped', rearmed: false };
      }
      let wasParked = false;
      let stillParked = false;
      const marked = await deps.store.updateInstance(
        instance.requestId,
        instance.taskId,
        (current) => {
          // A guarded write may run this more than once: decide from scratch each time.
          wasParked = false;
          stillParked = false;
          if (current.state !== 'pending_enqueue') return null;
          wasParked = current.parked === true;
          const fields = queuedFields(current, task, now);
          stillParked = fields.state !== 'queued';
          // Parked already, for the same time: nothing to write.
          if (stillParked && wasParked && current.scheduleTime === fields.scheduleTime) return null;
          return { ...fields, updatedAt };
        },
      );
      if (marked === null)
        return { instance, outcome: stillParked ? 'parked' : 'skipped', rearmed: false };
      if (marked.state === 'paused') return { instance: marked, outcome: 'paused', rearmed: false };
      if (marked.state !== 'queued') return { instance: marked, outcome: 'parked', rearmed: false };
      const { instance: after, sent } = await sendQueued(deps, marked, task);
      return { instance: after, outcome: sent ? 'enqueued' : 'failed', rearmed: wasParked && sent };
    }),
  );
}
