import { ConflictError, NotFoundError } from '../domain/errors';
import type { Instance, Request, Task } from '../domain/model';
import { isOpenStatus } from '../domain/states';
import type { AppDeps } from './deps';

/**
 * The request, or NotFoundError. With `ownedBy` (a requester who reads only their own requests),
 * another caller's request is not found either: to them it does not exist.
 */
export async function requireRequest(
  deps: Pick<AppDeps, 'store'>,
  id: string,
  ownedBy?: string,
): Promise<Request> {
  const request = await deps.store.getRequest(id);
  if (request === null || (ownedBy !== undefined && request.createdBy !== ownedBy)) {
    throw new NotFoundError(`no request with id ${id}`);
  }
  return request;
}

/** The tasks of these instances, by id (a task that no longer exists is absent). */
export async function tasksById(
  deps: Pick<AppDeps, 'store'>,
  instances: readonly Instance[],
): Promise<Map<string, Task>> {
  const ids = [...new Set(instances.map((i) => i.taskId))];
  const tasks = await Promise.all(ids.map((t) => deps.store.getTask(t)));
  return new Map(tasks.filter((t): t is Task => t !== null).map((t) => [t.id, t]));
}

/**
 * A closed request refuses every lifecycle action, naming how it closed: 409 `request_denied`,
 * `request_cancelled`, or `request_closed` (completed, with or without errors).
 */
export function refuseClosed(request: Request, action: string): void {
  if (request.denial !== undefined || request.status === 'denied') {
    throw new ConflictError(
      `request ${request.id} was denied${request.denial === undefined ? '' : ` by ${request.denial.by} at ${request.denial.at} (${request.denial.reason})`}; it cannot be ${action}`,
      'request_denied',
    );
  }
  if (isOpenStatus(request.status)) return;
  if (request.status === 'cancelled') {
    throw new ConflictError(
      `request ${request.id} was cancelled; it cannot be ${action}`,
      'request_cancelled',
    );
  }
  throw new ConflictError(
    `request ${request.id} is closed (${request.status}); it cannot be ${action}`,
    'request_closed',
  );
}
