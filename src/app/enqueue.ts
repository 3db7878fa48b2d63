import { coerceError } from '../domain/errors';
import type { Instance, Task } from '../domain/model';
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
export function cloudTaskName(requestId: string, taskId: string, series: number, attempt: number): string {
  const id = `${requestId}-${taskId}-s${series}-a${attempt}`;
  return `${shortHash(id, 8)}-${id}`;
}

export interface EnqueueOutcome {
  taskId: string;
  ok: boolean;
  cloudTaskName: string;
  scheduleTime: Date;
  error?: Error;
}

/**
 * Creates the Cloud Task for each instance's next attempt. Never throws: an instance whose
 * enqueue failed stays `pending_enqueue` (the outbox) and dispatch tries it again.
 */
export async function enqueueInstances(
  deps: Pick<AppDeps, 'queue' | 'clock' | 'log' | 'settings'>,
  items: { instance: Instance; task: Task; scheduleTime?: Date }[],
): Promise<EnqueueOutcome[]> {
  return Promise.all(
    items.map(async ({ instance, task, scheduleTime }) => {
      const attempt = instance.attempt + 1;
      const name = cloudTaskName(instance.requestId, instance.taskId, instance.series, attempt);
      const when = scheduleTime ?? deps.clock.now();
      const payload: RunTaskPayload = {
        requestId: instance.requestId,
        taskId: instance.taskId,
        series: instance.series,
        attempt,
        taskVersion: task.updatedAt,
      };
      try {
        await deps.queue.enqueue({
          taskName: name,
          scheduleTime: when,
          dispatchDeadlineSeconds: dispatchDeadlineSeconds(
            task.timeoutSeconds,
            deps.settings.dispatchDeadlineMarginSeconds,
          ),
          body: payload,
        });
        return { taskId: instance.taskId, ok: true, cloudTaskName: name, scheduleTime: when };
      } catch (thrown) {
        const error = coerceError(thrown);
        deps.log
          .child({ labels: { requestId: instance.requestId, taskId: instance.taskId } })
          .warn('instance.enqueue_failed', `enqueue failed; dispatch will retry: ${error.message}`);
        return { taskId: instance.taskId, ok: false, cloudTaskName: name, scheduleTime: when, error };
      }
    }),
  );
}
