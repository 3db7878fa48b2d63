import { extendRequest } from '../../app/deadlines';
import {
  approveRequest,
  cancelRequest,
  denyRequest,
  retryInstance,
  verifyRequest,
} from '../../app/requests';
import type { Role } from '../../domain/access';
import type { HttpResponse } from '../../http/types';
import { invalid, text, type FormFields } from '../form';
import { seeOther } from '../layout';
import type { ConsoleCall } from '../router';

/** One action on a request: its path segment, who may take it, and the use case it calls. */
export interface RequestAction {
  name: 'approve' | 'deny' | 'extend' | 'verify' | 'cancel';
  roles: readonly Role[];
  /** What the request page says once it is done. */
  done: string;
  run(call: ConsoleCall): Promise<unknown>;
}

/** Roles that read every request (a requester verifying sees only their own). */
const READ_ALL: readonly Role[] = ['approver', 'operator', 'auditor', 'admin'];
const ownedBy = (call: ConsoleCall) =>
  READ_ALL.some((r) => call.viewer.roles.has(r)) ? undefined : call.viewer.identity;

const actor = (call: ConsoleCall) => ({ identity: call.viewer.identity, roles: call.viewer.roles });

/** The task ids ticked on the form, when any (otherwise the action covers the whole request). */
function taskIds(call: ConsoleCall): { taskIds?: string[] } {
  const ids = call.lists.get('taskIds') ?? [];
  return ids.length === 0 ? {} : { taskIds: ids };
}

function optional(fields: FormFields, name: string, as = name): Record<string, string> {
  const value = text(fields, name);
  return value === undefined ? {} : { [as]: value };
}

/** The confirmation checkbox: required by the form, checked again here. */
function assertConfirmed(fields: FormFields): void {
  if (fields.get('confirm') !== 'yes') {
    throw invalid('confirm', 'tick the confirmation box to take this action');
  }
}

/**
 * The actions, each calling the same use case as its API route with the body the API takes
 * (so every rule, and every refusal, is the API's). Approve, cancel and retry take no reason
 * in the API: the console asks for the confirmation only.
 */
export const REQUEST_ACTIONS: readonly RequestAction[] = [
  {
    name: 'approve',
    roles: ['approver'],
    done: 'approved',
    run: (call) => approveRequest(call.ctx.deps, call.requestId, taskIds(call), actor(call)),
  },
  {
    name: 'deny',
    roles: ['approver'],
    done: 'denied',
    run: (call) =>
      denyRequest(
        call.ctx.deps,
        call.requestId,
        { ...optional(call.form, 'reason'), ...optional(call.form, 'note'), ...taskIds(call) },
        actor(call),
      ),
  },
  {
    name: 'extend',
    roles: ['approver'],
    done: 'extended',
    run: (call) =>
      extendRequest(call.ctx.deps, call.requestId, optional(call.form, 'reason'), actor(call)),
  },
  {
    name: 'verify',
    roles: ['approver', 'requester'],
    done: 'verified',
    run: (call) =>
      verifyRequest(
        call.ctx.deps,
        call.requestId,
        { ...optional(call.form, 'method'), ...optional(call.form, 'note') },
        actor(call),
        ownedBy(call),
      ),
  },
  {
    name: 'cancel',
    roles: ['operator'],
    done: 'cancelled',
    run: (call) => cancelRequest(call.ctx.deps, call.requestId, actor(call)),
  },
];

/** Takes an action, then 303 back to the request page with a notice of what was done. */
export async function requestAction(
  action: RequestAction,
  call: ConsoleCall,
): Promise<HttpResponse> {
  assertConfirmed(call.form);
  await action.run(call);
  return seeOther(`/console/requests/${call.requestId}?done=${action.done}`);
}

/** Retries one failed instance (a fresh attempt series), then back to the request page. */
export async function retryAction(call: ConsoleCall): Promise<HttpResponse> {
  assertConfirmed(call.form);
  await retryInstance(call.ctx.deps, call.requestId, call.taskId, {}, actor(call));
  return seeOther(`/console/requests/${call.requestId}?done=retried`);
}
