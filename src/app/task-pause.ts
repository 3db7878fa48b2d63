import { ConflictError, coerceError, ValidationError } from '../domain/errors';
import type { InstanceState, Instance, Task, TaskPause } from '../domain/model';
import {
  pauseBodySchema,
  pausedTask,
  resumeBodySchema,
  resumedTask,
  resumeInstance,
  unclaimPaused,
} from '../domain/pause';
import type { Logger } from '../ports/logger';
import type { Claim } from '../ports/request-store';
import type { Actor } from './actor';
import type { AppDeps } from './deps';
import { taskOf, taskView, versionWrite, type TaskView } from './tasks';

/**
 * A task's circuit breaker (fides #1900: stop the work of a downstream system that is broken).
 * Pausing and resuming each make a version of the task (`GET /tasks/:id/versions`) that names
 * who did it, when and why; the task shows `paused: { at, by, reason }` while paused. The
 * instances themselves go to `paused` lazily, as each comes up (src/domain/pause.ts), and
 * dispatch re-arms them after the resume, so neither call touches thousands of documents.
 */

type PauseDeps = Pick<AppDeps, 'store' | 'clock' | 'log'>;

/** States in which an instance of a paused task is waiting to start (alerting counts them). */
export const WAITING_STATES: readonly InstanceState[] = [
  'paused',
  'pending_enqueue',
  'queued',
  'retry_scheduled',
];

/** How long after a resume dispatch still looks for instances of the task left `paused`. */
export const RESUME_SWEEP_MS = 7 * 24 * 3_600_000;

/** `POST /tasks/:id/pause` `{ reason }`: 409 `already_paused` if it is. */
export async function pauseTask(
  deps: PauseDeps,
  id: string,
  body: unknown,
  actor: Actor,
): Promise<TaskView> {
  const parsed = pauseBodySchema.safeParse(body ?? {});
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const at = deps.clock.now().toISOString();
  const pause: TaskPause = { at, by: actor.identity, reason: parsed.data.reason };
  let already: TaskPause | undefined;
  const updated = await deps.store.updateTask(id, (stored) => {
    const current = taskOf(stored);
    already = current.paused;
    if (already !== undefined) return null;
    const next: Task = {
      ...pausedTask(current, pause),
      version: current.version + 1,
      updatedBy: actor.identity,
      updatedAt: at,
    };
    return versionWrite(next, 'changed', actor, ['paused']);
  });
  if (already !== undefined) {
    const p: TaskPause = already;
    throw new ConflictError(
      `task ${id} is paused already, since ${p.at} by ${p.by} (${p.reason}); resume it first (POST /tasks/${id}/resume)`,
      'already_paused',
    );
  }
  deps.log.child({ labels: { taskId: id } }).warn('task.paused', `task ${id} paused`, {
    pausedBy: actor.identity,
    reason: pause.reason,
    version: updated.version,
  });
  return taskView(updated);
}

/**
 * `POST /tasks/:id/resume` `{ reason? }`: 409 `not_paused` if it is not. The task's `paused`
 * instances go back to the outbox at the next dispatch run (`rearmResumedTask`).
 */
export async function resumeTask(
  deps: PauseDeps,
  id: string,
  body: unknown,
  actor: Actor,
): Promise<TaskView> {
  const parsed = resumeBodySchema.safeParse(body ?? {});
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const at = deps.clock.now().toISOString();
  let wasPaused: TaskPause | undefined;
  const updated = await deps.store.updateTask(id, (stored) => {
    const current = taskOf(stored);
    wasPaused = current.paused;
    if (current.paused === undefined) return null;
    const next: Task = {
      ...resumedTask(
        { ...current, paused: current.paused },
        {
          at,
          by: actor.identity,
          ...(parsed.data.reason === undefined ? {} : { reason: parsed.data.reason }),
        },
      ),
      version: current.version + 1,
      updatedBy: actor.identity,
      updatedAt: at,
    };
    return versionWrite(next, 'changed', actor, ['paused', 'resumed']);
  });
  if (wasPaused === undefined) {
    throw new ConflictError(`task ${id} is not paused`, 'not_paused');
  }
  const p: TaskPause = wasPaused;
  deps.log.child({ labels: { taskId: id } }).info('task.resumed', `task ${id} resumed`, {
    resumedBy: actor.identity,
    ...(parsed.data.reason === undefined ? {} : { reason: parsed.data.reason }),
    pausedAt: p.at,
    pausedMinutes: Math.round((Date.parse(at) - Date.parse(p.at)) / 60_000),
    version: updated.version,
  });
  return taskView(updated);
}

/** Whether dispatch should look for `paused` instances of this task: resumed lately. */
export function needsResumeSweep(task: Task, now: Date): boolean {
  return (
    task.paused === undefined &&
    task.resumed !== undefined &&
    now.getTime() - Date.parse(task.resumed.at) < RESUME_SWEEP_MS
  );
}

/**
 * One `paused` instance of a task no longer paused, back to the outbox (due when it was due,
 * or now), so the same dispatch run sends it under a fresh Cloud Task name. False when it was
 * no longer paused (another run got there first).
 */
export async function rearmPausedInstance(
  deps: Pick<AppDeps, 'store' | 'log'>,
  instance: Instance,
  now: Date,
): Promise<boolean> {
  const moved = await deps.store.updateInstance(instance.requestId, instance.taskId, (current) =>
    resumeInstance(current, now),
  );
  if (moved === null) return false;
  deps.log
    .child({ labels: { requestId: instance.requestId, taskId: instance.taskId } })
    .info(
      'instance.rearmed',
      `task resumed: instance back in the outbox for ${moved.scheduleTime}`,
      {
        reason: 'resumed',
        scheduleTime: moved.scheduleTime,
        resumes: moved.resumes,
      },
    );
  return true;
}

/**
 * Dispatch, for each paused task that instances wait on: a WARNING `task.paused_open` with how
 * many of its instances wait to start and for how long the task has been paused. The requests' own deadline alerts
 * (`request.overdue`) keep firing as their deadlines near; this line names the cause.
 */
export async function reportPausedTask(
  deps: Pick<AppDeps, 'store' | 'log'>,
  task: Task & { paused: TaskPause },
  now: Date,
): Promise<number> {
  const waiting = await deps.store.countTaskInstances(task.id, WAITING_STATES);
  // Nothing waits on it: nothing is at stake, so nothing to alert on.
  if (waiting === 0) return 0;
  const pausedMinutes = Math.max(
    0,
    Math.round((now.getTime() - Date.parse(task.paused.at)) / 60_000),
  );
  deps.log
    .child({ labels: { taskId: task.id } })
    .warn(
      'task.paused_open',
      `task ${task.id} has been paused for ${pausedMinutes} min (${task.paused.reason}); ${waiting} instance(s) wait to start`,
      {
        waitingInstances: waiting,
        pausedMinutes,
        pausedAt: task.paused.at,
        pausedBy: task.paused.by,
      },
    );
  return waiting;
}

/**
 * run-task, after a claim made on a cached task: the fresh read started alongside it says
 * whether the task was paused meanwhile. If so the claim is given back (the instance goes to
 * `paused`, the attempt uncounted) and true is returned: nothing runs.
 */
export async function giveBackIfPaused(
  deps: Pick<AppDeps, 'store' | 'clock'>,
  claim: Claim,
  fresh: Promise<Task | null>,
  log: Logger,
): Promise<boolean> {
  let latest: Task | null;
  try {
    latest = await fresh;
  } catch (err) {
    // The claim stands on the cached task (not paused when cached); the read is only a check.
    log.warn('run.pause_check_failed', `could not re-read the task: ${coerceError(err).message}`);
    return false;
  }
  if (latest?.paused === undefined) return false;
  const task = latest;
  const now = deps.clock.now();
  const given = await deps.store.updateInstance(
    claim.instance.requestId,
    claim.instance.taskId,
    (current) => unclaimPaused(current, claim.instance, task, now),
  );
  if (given === null) return false;
  log.info('run.paused', `task ${task.id} is paused: claim given back, no attempt spent`, {
    pausedSince: task.paused?.at,
  });
  return true;
}
