import { ApiError } from './errors';

/**
 * The real service's error messages, word for word, as recorded from Cloud Tasks v2 (the codes
 * and texts come from public recordings of the live API). Code that handles errors by message
 * then behaves the same against the emulator as in production.
 */
export const MESSAGES = {
  queueAlreadyExists: 'Queue already exists',
  queueMissing:
    'Queue does not exist. If you just created the queue, wait at least a minute for the queue to initialize.',
  entityNotFound: 'Requested entity was not found.',
  entityAlreadyExists: 'Requested entity already exists',
  queueNameFormat:
    'Queue name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>".',
  taskRecentlyDeleted:
    'The task no longer exists, though a task with this name existed recently. The task either successfully completed or was deleted.',
} as const;

/** A queue that does not exist, as GetQueue, Pause, Resume, Purge and CreateTask say it. */
export const queueMissing = (): ApiError => new ApiError('NOT_FOUND', MESSAGES.queueMissing);

/** DeleteQueue, GetTask, DeleteTask and RunTask on what does not exist. */
export const entityNotFound = (): ApiError => new ApiError('NOT_FOUND', MESSAGES.entityNotFound);

/** A task id with characters the service refuses (the id quoted, as the service does). */
export function invalidTaskId(id: string): ApiError {
  return new ApiError(
    'INVALID_ARGUMENT',
    `Task ID "${id}" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), or underscores (_). Task ID must between 1 and 500 characters.`,
  );
}

/** CreateTask whose task names another queue than the request's parent. */
export function taskQueueMismatch(requestQueue: string, taskQueue: string): ApiError {
  return new ApiError(
    'INVALID_ARGUMENT',
    `The queue name from request ('${requestQueue}') must be the same as the queue name in the named task ('${taskQueue}').`,
  );
}
