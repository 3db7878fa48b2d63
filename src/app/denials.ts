import { z } from 'zod';
import { ConflictError } from '../domain/errors';
import { denyInstance, denyUnstarted } from '../domain/lifecycle';
import { DENY_REASONS, type Denial, type Instance, type Request } from '../domain/model';
import { CANCELLABLE_STATES } from '../domain/states';
import type { Actor } from './actor';
import { assertNotFiler, decisionTargets, parseBody } from './approvals';
import type { AppDeps } from './deps';
import { recordAction } from './evidence';
import { requireRequest } from './lookups';
import { getRequestView, type RequestView } from './request-views';
import { rollupRequest } from './rollup';
import { refuseClosed } from './lookups';
import { actionNoteSchema } from './verification';

const denyBodySchema = z
  .object({
    reason: z.enum(DENY_REASONS, {
      errorMap: () => ({ message: `reason must be one of: ${DENY_REASONS.join(', ')}` }),
    }),
    note: actionNoteSchema.optional(),
    taskIds: z.array(z.string()).min(1).max(100).optional(),
  })
  .strict();

/**
 * `POST /requests/:id/deny`, by an approver who did not file the request. Without `taskIds` it
 * refuses the whole request: the request records the denial (status `denied`), every instance
 * that has not started is cancelled with it, and work already running or waiting finishes and
 * is recorded. With `taskIds` it refuses only those instances awaiting approval; the request
 * itself is not denied.
 */
export async function denyRequest(
  deps: AppDeps,
  id: string,
  body: unknown,
  actor: Actor,
): Promise<RequestView> {
  const { reason, note, taskIds } = parseBody(denyBodySchema, body);
  const at = deps.clock.now().toISOString();
  const denial: Denial = {
    actor: actor.identity,
    at,
    reason,
    ...(note === undefined ? {} : { note }),
  };
  if (taskIds !== undefined) return denyInstances(deps, id, taskIds, denial, actor);

  const request = await requireRequest(deps, id);
  assertNotFiler(request, actor, 'deny');
  const instances = await deps.store.listInstances(id);
  const unstarted = instances.filter((i) => CANCELLABLE_STATES.includes(i.state));
  // A deny interrupted after its decision: finish cancelling what it left, keep its denial.
  const interrupted = request.denial !== undefined && unstarted.length > 0;
  if (!interrupted) {
    assertDeniable(request);
    const decided = await deps.store.updateRequest(id, (current) => {
      assertDeniable(current);
      return {
        denial: { at, by: actor.identity, reason, ...(note === undefined ? {} : { note }) },
        status: 'denied',
        completedAt: at,
        updatedAt: at,
      };
    });
    if (decided === null) throw new ConflictError(`request ${id} is gone`, 'conflict');
  }
  const stored = request.denial;
  const applied: Denial =
    interrupted && stored !== undefined
      ? {
          actor: stored.by,
          at: stored.at,
          reason: stored.reason,
          ...(stored.note === undefined ? {} : { note: stored.note }),
        }
      : denial;
  const cancelled = (
    await Promise.all(
      unstarted.map((i) =>
        deps.store.updateInstance(id, i.taskId, (current) => denyUnstarted(current, applied)),
      ),
    )
  ).filter((i): i is Instance => i !== null);
  if (!interrupted) {
    await recordAction(deps, id, 'denied', actor, {
      scope: 'request',
      reason,
      ...(note === undefined ? {} : { note }),
      taskIds: cancelled.map((i) => i.taskId),
    });
  }
  deps.log
    .child({ labels: { requestId: id } })
    .info('request.denied', `request denied (${applied.reason})`, {
      deniedBy: applied.actor,
      reason: applied.reason,
      scope: 'request',
      cancelledInstances: cancelled.length,
      subjectHash: request.subjectHash,
    });
  await rollupRequest(deps, id);
  return getRequestView(deps, id);
}

/** A request can be denied while it is open and not denied already; otherwise 409. */
function assertDeniable(request: Request): void {
  refuseClosed(request, 'denied');
}

/** The named instances awaiting approval are refused (cancelled); the request is not denied. */
async function denyInstances(
  deps: AppDeps,
  id: string,
  taskIds: readonly string[],
  denial: Denial,
  actor: Actor,
): Promise<RequestView> {
  const { request, targets } = await decisionTargets(deps, id, taskIds, actor, 'deny');
  const denied = (
    await Promise.all(
      targets.map((t) =>
        deps.store.updateInstance(id, t.taskId, (current) => denyInstance(current, denial)),
      ),
    )
  ).filter((i): i is Instance => i !== null);
  await recordAction(deps, id, 'denied', actor, {
    scope: 'instances',
    reason: denial.reason,
    ...(denial.note === undefined ? {} : { note: denial.note }),
    taskIds: denied.map((i) => i.taskId),
  });
  deps.log.child({ labels: { requestId: id } }).info('request.denied', 'instances denied', {
    deniedBy: actor.identity,
    reason: denial.reason,
    scope: 'instances',
    taskIds: denied.map((i) => i.taskId),
    subjectHash: request.subjectHash,
  });
  await rollupRequest(deps, id);
  return getRequestView(deps, id);
}
