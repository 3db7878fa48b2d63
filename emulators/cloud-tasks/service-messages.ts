import { ApiError } from './errors';

/**
 * The real service's errors, word for word, as recorded from Cloud Tasks v2 (codes, texts and
 * error details come from public recordings of the live API). Code that handles errors by code,
 * message or detail then behaves the same against the emulator as in production.
 */
export const MESSAGES = {
  queueAlreadyExists: 'Queue already exists',
  queueMissing:
    'Queue does not exist. If you just created the queue, wait at least a minute for the queue to initialize.',
  queueRecentlyDeleted:
    'The queue cannot be created because a queue with this name existed too recently.',
  entityNotFound: 'Requested entity was not found.',
  entityAlreadyExists: 'Requested entity already exists',
  queueNameFormat:
    'Queue name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>".',
  taskRecentlyDeleted:
    'The task no longer exists, though a task with this name existed recently. The task either successfully completed or was deleted.',
  urlRequired: 'HttpRequest.url is required.',
  urlScheme: "HttpTarget.url must start with 'http://' or 'https://'.",
} as const;

const REFERENCE = 'https://cloud.google.com/tasks/docs/reference/rest/v2';

/** A queue that does not exist, as GetQueue, Pause, Resume, Purge and CreateTask say it. */
export const queueMissing = (): ApiError => new ApiError('NOT_FOUND', MESSAGES.queueMissing);

/** DeleteQueue, GetTask, DeleteTask and RunTask on what does not exist. */
export const entityNotFound = (): ApiError => new ApiError('NOT_FOUND', MESSAGES.entityNotFound);

/** CreateQueue of a name whose queue was deleted within the hold window. */
export const queueRecentlyDeleted = (): ApiError =>
  new ApiError('FAILED_PRECONDITION', MESSAGES.queueRecentlyDeleted);

/** A malformed queue name, with the service's link to the name's definition. */
export const queueNameInvalid = (): ApiError =>
  new ApiError('INVALID_ARGUMENT', MESSAGES.queueNameFormat, [
    {
      type: 'Help',
      links: [
        {
          description: 'Definition of queue name',
          url: `${REFERENCE}/projects.locations.queues#Queue.FIELDS.name`,
        },
      ],
    },
  ]);

/** A task id with characters the service refuses (the id quoted, as the service does). */
export function invalidTaskId(id: string): ApiError {
  return new ApiError(
    'INVALID_ARGUMENT',
    `Task ID "${id}" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), or underscores (_). Task ID must between 1 and 500 characters.`,
    [
      {
        type: 'Help',
        links: [
          {
            description: 'Definition of task ID',
            url: `${REFERENCE}/projects.locations.queues.tasks#Task.FIELDS.name`,
          },
        ],
      },
    ],
  );
}

/** CreateTask whose task names another queue than the request's parent. */
export function taskQueueMismatch(requestQueue: string, taskQueue: string): ApiError {
  return new ApiError(
    'INVALID_ARGUMENT',
    `The queue name from request ('${requestQueue}') must be the same as the queue name in the named task ('${taskQueue}').`,
  );
}

/**
 * A request resource that is not under `projects/`: Google's front end reads the whole string as
 * the project and refuses it before Cloud Tasks sees the request.
 */
export function projectPermissionDenied(project: string): ApiError {
  const message = `Permission denied on resource project ${project}.`;
  return new ApiError('PERMISSION_DENIED', message, [
    {
      type: 'ErrorInfo',
      reason: 'CONSUMER_INVALID',
      domain: 'googleapis.com',
      metadata: {
        consumer: `projects/${project}`,
        containerInfo: project,
        service: 'cloudtasks.googleapis.com',
      },
    },
    { type: 'LocalizedMessage', locale: 'en-US', message },
    {
      type: 'Help',
      links: [
        { description: 'Google developers console', url: 'https://console.developers.google.com' },
      ],
    },
  ]);
}
