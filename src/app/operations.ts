import { z } from 'zod';
import { GoneError, NotFoundError, ValidationError } from '../domain/errors';
import { memberKey } from '../domain/batch';
import { cancelBatchMember, cancelInstance, retrySeries } from '../domain/lifecycle';
import { batchOfHandle, joinAgainOf } from './batch-member';
import { CANCELLABLE_STATES } from '../domain/states';
import type { Instance } from '../domain/model';
import type { Actor } from './actor';
import type { AppDeps } from './deps';
import { queueInstances } from './enqueue';
import { recordAction } from './evidence';
import { requireRequest } from './lookups';
import { getRequestView, type RequestView } from './request-views';
import { rollupRequest } from './rollup';

/**
 * Cancels every instance that has not started, and every member of a batch that has not closed
 * (it leaves the batch); running ones, and members of a closed batch, finish and are recorded.
 */
export async function cancelRequest(deps: AppDeps, id: string, actor: Actor): Promise<RequestView> {
  const request = await requireRequest(deps, id);
  const instances = await deps.store.listInstances(id);
  const at = deps.clock.now().toISOString();
  const cancelled = (
    await Promise.all(
      instances.map((i) => {
        if (CANCELLABLE_STATES.includes(i.state)) {
          return deps.store.updateInstance(id, i.taskId, (current) =>
            cancelInstance(current, actor.identity, at),
          );
        }
        return leaveBatch(deps, i, actor, at);
      }),
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

/** A waiting member of an open batch leaves it, then is cancelled; null if it cannot leave. */
async function leaveBatch(
  deps: AppDeps,
  instance: Instance,
  actor: Actor,
  at: string,
): Promise<Instance | null> {
  const handle = instance.waitingHandle;
  if (instance.state !== 'waiting' || handle === undefined || deps.batches === undefined)
    return null;
  const batchId = batchOfHandle(handle);
  // Waiting to join (the store was busy): there is no batch to leave yet.
  if (batchId === undefined && joinAgainOf(handle) === undefined) return null;
  const key = memberKey(instance.requestId, instance.taskId);
  if (batchId !== undefined && !(await deps.batches.leave(batchId, key, 'cancelled'))) return null;
  if (batchId !== undefined) {
    deps.log
      .child({ labels: { requestId: instance.requestId, taskId: instance.taskId, batchId } })
      .info('batch.member_left', `left batch ${batchId} before it closed: request cancelled`, {
        reason: 'cancelled',
      });
  }
  return deps.store.updateInstance(instance.requestId, instance.taskId, (current) =>
    cancelBatchMember(current, handle, actor.identity, at),
  );
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
