import { z } from 'zod';
import { extendedDueAt, type DeadlineSettings } from '../domain/deadline';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors';
import { isWellFormedText, type Request } from '../domain/model';
import type { Actor } from './actor';
import type { AppDeps } from './deps';
import { recordAction } from './evidence';
import { refuseClosed, requireRequest } from './lookups';
import { getRequestView, type RequestView } from './request-views';

/**
 * The deadline actions on a request (docs/compliance.md#acknowledge-extend-verify-deny):
 * `POST /requests/:id/extend` grants the one extension its law allows, before its deadline, with
 * a reason; `POST /requests/:id/acknowledge` records that the person was told the request was
 * received (CCPA: within 10 business days). Each is recorded in the request's ledger with the
 * verified actor. A refusal writes nothing.
 */

export const MAX_EXTENSION_REASON_LENGTH = 2000;

const extendBodySchema = z
  .object({
    reason: z
      .string({
        required_error: 'reason is required: say why the request needs more time',
        invalid_type_error: 'reason must be a string',
      })
      .trim()
      .min(1, 'reason must not be empty: say why the request needs more time')
      .max(
        MAX_EXTENSION_REASON_LENGTH,
        `reason must be at most ${MAX_EXTENSION_REASON_LENGTH} characters`,
      )
      .refine(isWellFormedText, 'reason must be well-formed Unicode (no lone surrogates)'),
  })
  .strict();

const acknowledgeBodySchema = z.object({}).strict();

/**
 * Grants the extension: `dueAt` moves by the regulation's extension (GDPR and UK GDPR two
 * months, CCPA 45 days, `other` OTHER_EXTENSION_DAYS) and `extension` records who, when, why and
 * the deadline it replaced. Refused (409) for a closed, denied or cancelled request, for a
 * regulation without an extension, a second time, and once the deadline in force has passed.
 */
export async function extendRequest(
  deps: AppDeps,
  id: string,
  body: unknown,
  actor: Actor,
): Promise<RequestView> {
  const parsed = extendBodySchema.safeParse(body ?? {});
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const { reason } = parsed.data;
  const now = deps.clock.now();
  const at = now.toISOString();
  const decide = (current: Request): Partial<Request> => {
    const dueAt = extensionDueAt(current, now, deps.settings);
    return {
      dueAt,
      extension: { at, by: actor.identity, reason, previousDueAt: current.dueAt },
      updatedAt: at,
    };
  };
  decide(await requireRequest(deps, id)); // refuse before any write
  const updated = await deps.store.updateRequest(id, decide);
  if (updated?.extension === undefined) throw new NotFoundError(`no request with id ${id}`);
  await recordAction(deps, id, 'extended', actor, {
    reason,
    previousDueAt: updated.extension.previousDueAt,
    dueAt: updated.dueAt,
  });
  deps.log.child({ labels: { requestId: id } }).info('request.extended', 'deadline extended', {
    extendedBy: actor.identity,
    regulation: updated.regulation,
    previousDueAt: updated.extension.previousDueAt,
    dueAt: updated.dueAt,
    subjectHash: updated.subjectHash,
  });
  return getRequestView(deps, id);
}

/**
 * The new deadline of an extension granted at `now`, or a ConflictError naming why none may be.
 * The extension is counted from the deadline in force, which for a request not yet extended is
 * the one computed at filing (or restarted by a verification where the clock waited for it).
 */
export function extensionDueAt(request: Request, now: Date, settings: DeadlineSettings): string {
  refuseClosed(request, 'extended');
  if (request.extension !== undefined) {
    throw new ConflictError(
      `the request was extended already (${request.extension.at}); the law allows one extension`,
      'already_extended',
    );
  }
  if (now.getTime() > Date.parse(request.dueAt)) {
    throw new ConflictError(
      `the deadline (${request.dueAt}) has passed: an extension must be granted before it`,
      'deadline_passed',
    );
  }
  const dueAt = extendedDueAt(request.regulation, new Date(request.dueAt), settings);
  if (dueAt === null) {
    throw new ConflictError(
      `${request.regulation} requests have no extension${request.regulation === 'other' ? ' (OTHER_EXTENSION_DAYS is 0)' : ''}`,
      'no_extension',
    );
  }
  return dueAt.toISOString();
}

/**
 * Records that the person was told their request was received: `acknowledgement {at, by}`.
 * Once only (409 `already_acknowledged`). Any regulation may record one; CCPA asks for it by
 * `acknowledgeBy`. A late acknowledgement is recorded too, and the ledger says it was late.
 */
export async function acknowledgeRequest(
  deps: AppDeps,
  id: string,
  body: unknown,
  actor: Actor,
  ownedBy?: string,
): Promise<RequestView> {
  const parsed = acknowledgeBodySchema.safeParse(body ?? {});
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const at = deps.clock.now().toISOString();
  const decide = (current: Request): Partial<Request> => {
    if (current.acknowledgement !== undefined) {
      throw new ConflictError(
        `the request was acknowledged already (${current.acknowledgement.at})`,
        'already_acknowledged',
      );
    }
    return { acknowledgement: { at, by: actor.identity }, updatedAt: at };
  };
  const request = await requireRequest(deps, id, ownedBy);
  decide(request); // refuse before any write
  const updated = await deps.store.updateRequest(id, decide);
  if (updated === null) throw new NotFoundError(`no request with id ${id}`);
  const late = updated.acknowledgeBy !== undefined && at > updated.acknowledgeBy;
  await recordAction(deps, id, 'acknowledged', actor, {
    ...(updated.acknowledgeBy === undefined ? {} : { acknowledgeBy: updated.acknowledgeBy }),
    late,
  });
  deps.log
    .child({ labels: { requestId: id } })
    .info('request.acknowledged', late ? 'acknowledged late' : 'acknowledged', {
      acknowledgedBy: actor.identity,
      regulation: updated.regulation,
      acknowledgeBy: updated.acknowledgeBy ?? null,
      late,
      subjectHash: updated.subjectHash,
    });
  return getRequestView(deps, id);
}
