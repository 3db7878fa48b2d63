import { z } from 'zod';
import { ConflictError, ForbiddenError, ValidationError } from '../domain/errors';
import { parseTaskId } from '../domain/ids';
import { approveInstance } from '../domain/lifecycle';
import type { Instance, Request } from '../domain/model';
import type { Actor } from './actor';
import type { AppDeps } from './deps';
import { queueInstances } from './enqueue';
import { recordAction } from './evidence';
import { requireRequest, tasksById } from './lookups';
import { getRequestView, type RequestView } from './request-views';
import { rollupRequest } from './rollup';

const approveBodySchema = z
  .object({ taskIds: z.array(z.string()).min(1).max(100).optional() })
  .strict();

/**
 * One approver approves all, or the named, instances awaiting approval. Never the identity that
 * filed the request. An instance is released once as many distinct approvers as its task
 * requires have approved the task's current version; it is pinned to that version, and a task
 * changed afterwards needs approving again.
 */
export async function approveRequest(
  deps: AppDeps,
  id: string,
  body: unknown,
  actor: Actor,
): Promise<RequestView> {
  const { taskIds } = parseBody(approveBodySchema, body);
  const { request, targets } = await decisionTargets(deps, id, taskIds, actor, 'approve');
  if (request.verification?.state === 'pending') {
    throw new ConflictError(
      `request ${id} waits for identity verification: verify it first (POST /requests/${id}/verify)`,
      'verification_pending',
    );
  }
  const tasks = await tasksById(deps, targets);
  const at = deps.clock.now().toISOString();
  const approved = await Promise.all(
    targets.map((t) =>
      deps.store.updateInstance(id, t.taskId, (current) => {
        const task = tasks.get(current.taskId);
        if (task === undefined) return null;
        const approval = {
          actor: actor.identity,
          at,
          taskVersion: task.version,
          taskVersionHash: task.versionHash,
        };
        try {
          return approveInstance(current, approval, task);
        } catch (err) {
          // Already approved by this approver: nothing to add; said below if nothing was.
          if (err instanceof ConflictError && err.code === 'already_approved') return null;
          throw err;
        }
      }),
    ),
  );
  const done = approved.filter((i): i is Instance => i !== null);
  if (done.length === 0 && targets.length > 0) {
    throw new ConflictError(
      `${actor.identity} has already approved ${taskIds === undefined ? 'every instance awaiting approval' : 'those instances'}; approval needs a different approver`,
      'already_approved',
    );
  }
  const released = done.filter((i) => i.state === 'pending_enqueue');
  await recordAction(deps, id, 'approved', actor, {
    taskIds: done.map((i) => i.taskId),
    released: released.map((i) => i.taskId),
    taskVersions: Object.fromEntries(done.map((i) => [i.taskId, tasks.get(i.taskId)?.version])),
  });
  deps.log
    .child({ labels: { requestId: id } })
    .info('request.approved', `${done.length} instance(s) approved, ${released.length} released`, {
      approvedBy: actor.identity,
      taskIds: done.map((i) => i.taskId),
      released: released.map((i) => i.taskId),
      subjectHash: request.subjectHash,
    });
  await queueInstances(deps, released, tasks);
  if (released.length > 0) await markApproved(deps, id, at);
  await rollupRequest(deps, id);
  return getRequestView(deps, id);
}

/**
 * `approvedAt`, set once: when an approval leaves no instance of the request awaiting approval
 * (`request.approved` is derived from it).
 */
async function markApproved(deps: AppDeps, id: string, at: string): Promise<void> {
  const instances = await deps.store.listInstances(id);
  if (instances.some((i) => i.state === 'pending_approval')) return;
  await deps.store.updateRequest(id, (current) =>
    current.approvedAt === undefined ? { approvedAt: at, updatedAt: at } : null,
  );
}

/** The identity that filed a request may not approve or deny it (four-eyes). */
export function assertNotFiler(request: Request, actor: Actor, verb: 'approve' | 'deny'): void {
  if (request.createdBy === actor.identity) {
    throw new ForbiddenError(
      `${actor.identity} filed request ${request.id} and so cannot ${verb} it: four-eyes approval needs another approver`,
      'self_approval',
    );
  }
}

/** The instances an approve or deny acts on; refuses the filer and unknown task ids. */
export async function decisionTargets(
  deps: AppDeps,
  id: string,
  taskIds: readonly string[] | undefined,
  actor: Actor,
  verb: 'approve' | 'deny',
): Promise<{ request: Request; targets: Instance[] }> {
  const request = await requireRequest(deps, id);
  assertNotFiler(request, actor, verb);
  const instances = await deps.store.listInstances(id);
  if (taskIds !== undefined) {
    const known = new Set(instances.map((i) => i.taskId));
    const unknown = taskIds.filter((t) => !known.has(t));
    if (unknown.length > 0) {
      throw new ValidationError(
        `Invalid input: taskIds: no instance for ${unknown.join(', ')}`,
        unknown.map((t) => ({
          path: `taskIds[${taskIds.indexOf(t)}]`,
          message: `request ${id} has no instance for task "${t}"`,
        })),
      );
    }
  }
  const targets = instances.filter(
    (i) => i.state === 'pending_approval' && (taskIds === undefined || taskIds.includes(i.taskId)),
  );
  if (targets.length === 0 && taskIds !== undefined) {
    throw new ConflictError(
      'none of those instances is awaiting approval',
      verb === 'approve' ? 'nothing_to_approve' : 'nothing_to_deny',
    );
  }
  return { request, targets };
}

/** A decision body; task ids are parsed as the router parses path parameters. */
export function parseBody<T extends { taskIds?: string[] | undefined }>(
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  body: unknown,
): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const taskIds = parsed.data.taskIds?.map((t, i) => parseTaskId(t, `taskIds[${i}]`));
  return { ...parsed.data, ...(taskIds === undefined ? {} : { taskIds }) };
}
