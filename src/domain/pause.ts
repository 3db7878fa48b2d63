import { z } from 'zod';
import {
  decideClaim,
  moveTo,
  type ClaimDecision,
  type DeliveryClaim,
  type InstancePatch,
  type LifecycleTask,
} from './lifecycle';
import { isWellFormedText, type Instance, type Task, type TaskPause } from './model';

/**
 * A task's circuit breaker (`POST /tasks/:id/pause`, `/resume`) as pure functions. While a task
 * is paused, none of its instances starts an attempt or a batch flush: each one that comes up
 * (the outbox, a delivery, the watchdog's requeue) goes to `paused` instead, keeps the time it
 * was due in `scheduleTime` and spends no attempt, and its Cloud Task ends (no redelivery). On
 * resume, dispatch moves every `paused` instance of the task back to the outbox; each then gets
 * a Cloud Task under a fresh name (`-r<n>`). Work already running finishes, and polls of a
 * waiting long job go on (they watch work that started; they start none).
 */

const reasonText = z
  .string({ invalid_type_error: 'a string' })
  .trim()
  .min(1, 'say why (it is recorded on the task and shown to operators)')
  .max(500, 'at most 500 characters')
  .refine(isWellFormedText, 'well-formed Unicode (no lone surrogates)');

/** `POST /tasks/:id/pause` body. */
export const pauseBodySchema = z.object({ reason: reasonText }).strict();
/** `POST /tasks/:id/resume` body. */
export const resumeBodySchema = z.object({ reason: reasonText.optional() }).strict();

/** The refusal a paused task adds to a claim's. */
export type PauseAwareDecision =
  ClaimDecision | { refuse: 'paused'; dueAt?: undefined; patch?: InstancePatch };

/**
 * decideClaim, with the task's pause on top: a `paused` instance never starts, and a delivery
 * that would start an attempt of a paused task parks the instance in `paused` instead (the
 * attempt is not counted). Polls of a waiting attempt are let through: they watch a job that
 * is already running.
 */
export function decideClaimUnlessPaused(
  current: Instance,
  delivery: DeliveryClaim,
  task: LifecycleTask & Pick<Task, 'paused'>,
  now: Date,
  leaseGraceSeconds: number,
): PauseAwareDecision {
  if (current.state === 'paused') return { refuse: 'paused' };
  const decision = decideClaim(current, delivery, task, now, leaseGraceSeconds);
  if ('refuse' in decision || decision.polling || task.paused === undefined) return decision;
  const patch = pauseInstance(current, task, now);
  return { refuse: 'paused', ...(patch === null ? {} : { patch }) };
}

/** The advice a paused instance shows. */
export function pausedAdvice(task: Pick<Task, 'id'>, pause: TaskPause): string {
  return `task ${task.id} is paused since ${pause.at} by ${pause.by} (${pause.reason}); this instance waits and starts when the task resumes (POST /tasks/${task.id}/resume)`;
}

/**
 * A claimable instance (`pending_enqueue`, `queued`, `retry_scheduled`) of a paused task goes
 * to `paused`, keeping when it was due. Null when it is not claimable or the task is not paused.
 */
export function pauseInstance(
  current: Instance,
  task: Pick<Task, 'id' | 'paused'>,
  now: Date,
): InstancePatch | null {
  const pause = task.paused;
  if (pause === undefined) return null;
  if (!['pending_enqueue', 'queued', 'retry_scheduled'].includes(current.state)) return null;
  const due = current.state === 'retry_scheduled' ? current.nextAttemptAt : current.scheduleTime;
  return moveTo(current, 'paused', {
    scheduleTime: due ?? now.toISOString(),
    cloudTaskName: undefined,
    parked: undefined,
    nextAttemptAt: undefined,
    pausedAt: now.toISOString(),
    advice: pausedAdvice(task, pause),
    updatedAt: now.toISOString(),
  });
}

/**
 * Gives back a claim run-task made on a cached task that a fresh read then showed paused: the
 * instance goes to `paused` with the attempt uncounted. Null unless it is still that claim.
 */
export function unclaimPaused(
  current: Instance,
  claimed: Pick<Instance, 'series' | 'attempt' | 'leaseExpiresAt'>,
  task: Pick<Task, 'id' | 'paused'>,
  now: Date,
): InstancePatch | null {
  const pause = task.paused;
  const same =
    current.state === 'running' &&
    current.series === claimed.series &&
    current.attempt === claimed.attempt &&
    current.leaseExpiresAt === claimed.leaseExpiresAt;
  if (!same || pause === undefined) return null;
  return moveTo(current, 'paused', {
    attempt: Math.max(0, current.attempt - 1),
    totalAttempts: Math.max(0, current.totalAttempts - 1),
    leaseExpiresAt: undefined,
    scheduleTime: now.toISOString(),
    cloudTaskName: undefined,
    pausedAt: now.toISOString(),
    advice: pausedAdvice(task, pause),
    updatedAt: now.toISOString(),
  });
}

/**
 * A `paused` instance of a resumed task back to the outbox, due when it was due (or now, if
 * that has passed), with a fresh Cloud Task name to come. Null unless it is paused.
 */
export function resumeInstance(current: Instance, now: Date): InstancePatch | null {
  if (current.state !== 'paused') return null;
  const due =
    current.scheduleTime !== undefined && Date.parse(current.scheduleTime) > now.getTime()
      ? current.scheduleTime
      : now.toISOString();
  return moveTo(current, 'pending_enqueue', {
    scheduleTime: due,
    resumes: (current.resumes ?? 0) + 1,
    nextAttemptAt: undefined,
    pausedAt: undefined,
    advice: undefined,
    updatedAt: now.toISOString(),
  });
}

/** The task as paused: a new version of it, with who paused it, when and why. */
export function pausedTask(current: Task, pause: TaskPause): Task {
  return { ...current, paused: pause };
}

/** The task as resumed: the pause removed, the resume recorded with the pause it ended. */
export function resumedTask(
  current: Task & { paused: TaskPause },
  resume: { at: string; by: string; reason?: string },
): Task {
  const { paused, ...rest } = current;
  return {
    ...rest,
    resumed: {
      at: resume.at,
      by: resume.by,
      ...(resume.reason === undefined ? {} : { reason: resume.reason }),
      pausedAt: paused.at,
      pausedBy: paused.by,
    },
  };
}
