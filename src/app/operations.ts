import { z } from 'zod';
import { GoneError, NotFoundError, ValidationError } from '../domain/errors';
import { cancelInstance, retrySeries } from '../domain/lifecycle';
import { CANCELLABLE_STATES } from '../domain/states';
import type { Instance } from '../domain/model';
import type { Actor } from './actor';
import type { AppDeps } from './deps';
import { queueInstances } from './enqueue';
import { recordAction } from './evidence';
import { requireRequest } from './lookups';
import { getRequestView, type RequestView } from './request-views';
import { rollupRequest } from './rollup';

/** Cancels every instance that has not started; running ones finish and are recorded. */
export async function cancelRequest(deps: AppDeps, id: string, actor: Actor): Promise<RequestView> {
  const request = await requireRequest(deps, id);
  const instances = await deps.store.listInstances(id);
  const at = deps.clock.now().toISOString();
  const cancelled = (
    await Promise.all(
      instances
        .filter((i) => CANCELLABLE_STATES.includes(i.state))
        .map((i) =>
          deps.store.updateInstance(id, i.taskId, (current) =>
            cancelInstance(current, actor.identity, at),
          ),
        ),
    )
  ).filter((i): i is Instance => i !== null);
  await recordAction(deps, id, 'cancelled', actor, { taskIds: cancelled.map((i) => i.taskId) });
  deps.log.child({ labels: { requestId: id } }).info('request.cancelled', 'request cancelled', {
    cancelledBy: actor.identity,
    cancelledInstances: cancelled.length,
    subjectHash: request.subjectHash,
  });
  await rollupRequest(deps, id);
  return getRequestView(deps, id);
}

const retryBodySchema = z
  .object({
    /** The failed series being retried; defaults to the instance's series as read. */
    series: z.number().int().min(1).optional(),
  })
  .strict();

/**
 * Starts a fresh attempt series for a failed instance, with the task's current config. Exactly
 * one series per failure: of concurrent retries one starts it and the others get 409.
 */
export async function retryInstance(
  deps: AppDeps,
  id: string,
  taskId: string,
  body: unknown,
  actor: Actor,
): Promise<RequestView> {
  const parsed = retryBodySchema.safeParse(body ?? {});
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const request = await requireRequest(deps, id);
  if (request.minimised === true) {
    throw new GoneError(
      `request ${id} was minimised at ${request.minimisedAt ?? 'an earlier date'}: its subject identifiers are gone, so nothing can run for it again; file a new request`,
      'request_minimised',
    );
  }
  const [existing, task] = await Promise.all([
    deps.store.getInstance(id, taskId),
    deps.store.getTask(taskId),
  ]);
  if (existing === null) {
    throw new NotFoundError(`request ${id} has no instance for task ${taskId}`);
  }
  if (task === null) throw new NotFoundError(`task ${taskId} no longer exists`);
  const seenSeries = parsed.data.series ?? existing.series;
  const at = deps.clock.now().toISOString();
  const seen = { series: seenSeries, named: parsed.data.series !== undefined };
  const next = await deps.store.updateInstance(id, taskId, (current) =>
    retrySeries(current, seen, task, actor.identity, at),
  );
  if (next === null) throw new NotFoundError(`request ${id} has no instance for task ${taskId}`);
  await recordAction(deps, id, 'retried', actor, { taskIds: [taskId], series: next.series });
  deps.log
    .child({ labels: { requestId: id, taskId } })
    .info('instance.retried', `new attempt series ${next.series}`, {
      retriedBy: actor.identity,
      series: next.series,
    });
  await queueInstances(deps, [next], new Map([[taskId, task]]));
  await rollupRequest(deps, id);
  return getRequestView(deps, id);
}
