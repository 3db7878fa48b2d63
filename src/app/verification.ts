import { z } from 'zod';
import { deadlineAfterVerification } from '../domain/deadline';
import { ConflictError, ValidationError } from '../domain/errors';
import { releaseVerified } from '../domain/lifecycle';
import {
  isWellFormedText,
  VERIFICATION_METHODS,
  type Instance,
  type Request,
} from '../domain/model';
import { isOpenStatus } from '../domain/states';
import type { Actor } from './actor';
import type { AppDeps } from './deps';
import { queueInstances } from './enqueue';
import { recordAction } from './evidence';
import { refuseClosed, requireRequest, tasksById } from './lookups';
import { getRequestView, type RequestView } from './request-views';
import { rollupRequest } from './rollup';

export const MAX_NOTE_LENGTH = 2000;

/** A free-text note on a lifecycle action: kept in the ledger, so it must name no identifier. */
export const actionNoteSchema = z
  .string()
  .trim()
  .min(1, 'a note must not be empty (leave it out instead)')
  .max(MAX_NOTE_LENGTH, `a note is at most ${MAX_NOTE_LENGTH} characters`)
  .refine(isWellFormedText, 'a note must be well-formed Unicode (no lone surrogates)');

const verifyBodySchema = z
  .object({
    method: z.enum(VERIFICATION_METHODS, {
      errorMap: () => ({ message: `method must be one of: ${VERIFICATION_METHODS.join(', ')}` }),
    }),
    note: actionNoteSchema.optional(),
  })
  .strict();

/**
 * Why a request cannot be verified now, as a 409; nothing when it can. Checked before anything
 * is written and again inside the guarded write, so a concurrent verify or deny is refused too.
 */
export function assertVerifiable(request: Request): void {
  const verification = request.verification;
  if (verification === undefined) {
    throw new ConflictError(
      `request ${request.id} was not filed pending identity verification; there is nothing to verify`,
      'verification_not_required',
    );
  }
  if (verification.state === 'verified') {
    throw new ConflictError(
      `request ${request.id} was verified already, by ${verification.by ?? 'an earlier call'} at ${verification.at ?? ''}`,
      'already_verified',
    );
  }
  refuseClosed(request, 'verified');
}

/**
 * `POST /requests/:id/verify` (approver, or the requester who filed it): records who verified
 * the person's identity and how, moves the deadline where the law's clock waited for the
 * verification, and releases the instances held for it (to approval where the task needs
 * approvers, else to the queue). The request's `verification` is the decision, written first
 * under a guard; the releases follow it, and a repeat after an interrupted verify releases what
 * is still held (of a request still open) instead of answering 409.
 */
export async function verifyRequest(
  deps: AppDeps,
  id: string,
  body: unknown,
  actor: Actor,
  ownedBy?: string,
): Promise<RequestView> {
  const parsed = verifyBodySchema.safeParse(body ?? {});
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const { method, note } = parsed.data;
  // A requester who reads only their own requests verifies only those: others do not exist.
  const request = await requireRequest(deps, id, ownedBy);
  const instances = await deps.store.listInstances(id);
  const held = instances.filter((i) => i.state === 'pending_verification');
  const interrupted =
    request.verification?.state === 'verified' &&
    held.length > 0 &&
    request.denial === undefined &&
    isOpenStatus(request.status);
  if (!interrupted) assertVerifiable(request);
  const at = deps.clock.now().toISOString();
  const log = deps.log.child({ labels: { requestId: id } });

  if (!interrupted) {
    let movedFrom: string | undefined;
    const verified = await deps.store.updateRequest(id, (current) => {
      assertVerifiable(current);
      const moved = deadlineAfterVerification(current, new Date(at), deps.settings);
      movedFrom = moved === null ? undefined : current.dueAt;
      return {
        verification: {
          state: 'verified',
          since: current.verification?.since ?? at,
          at,
          by: actor.identity,
          method,
        },
        ...(moved === null ? {} : { dueAt: moved.dueAt }),
        updatedAt: at,
      };
    });
    if (verified === null) throw new ConflictError(`request ${id} is gone`, 'conflict');
    await recordAction(deps, id, 'verified', actor, {
      method,
      ...(note === undefined ? {} : { note }),
      ...(movedFrom === undefined ? {} : { dueAtBefore: movedFrom, dueAt: verified.dueAt }),
      taskIds: held.map((i) => i.taskId),
    });
    log.info(
      'request.verified',
      `identity verified (${method}); ${held.length} instance(s) released`,
      {
        verifiedBy: actor.identity,
        method,
        released: held.length,
        dueAt: verified.dueAt,
        ...(movedFrom === undefined ? {} : { dueAtBefore: movedFrom }),
        subjectHash: request.subjectHash,
      },
    );
  }

  const tasks = await tasksById(deps, held);
  const released = (
    await Promise.all(
      held.map((i) =>
        deps.store.updateInstance(id, i.taskId, (current) =>
          releaseVerified(current, tasks.get(current.taskId) ?? null, at),
        ),
      ),
    )
  ).filter((i): i is Instance => i !== null);
  if (interrupted) {
    log.info(
      'request.verified',
      `${released.length} instance(s) still held after an interrupted verify released`,
      {
        verifiedBy: actor.identity,
        method,
        released: released.length,
        subjectHash: request.subjectHash,
      },
    );
  }
  await queueInstances(
    deps,
    released.filter((i) => i.state === 'pending_enqueue'),
    tasks,
  );
  await rollupRequest(deps, id);
  return getRequestView(deps, id);
}
