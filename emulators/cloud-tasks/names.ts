import { invalid } from './errors';
import { invalidTaskId, projectPermissionDenied, queueNameInvalid } from './service-messages';

/** Resource names, parsed and checked as the service does, with its wording. */

const LOCATION = /^projects\/([^/]+)\/locations\/([^/]+)$/;
const QUEUE = /^(projects\/[^/]+\/locations\/[^/]+)\/queues\/([^/]+)$/;
const TASK = /^(projects\/[^/]+\/locations\/[^/]+\/queues\/[^/]+)\/tasks\/([^/]*)$/;
const QUEUE_ID = /^[A-Za-z0-9-]{1,100}$/;
const TASK_ID = /^[A-Za-z0-9_-]{1,500}$/;
export const MAX_TASK_ID_LENGTH = 500;

const TASK_FORMAT =
  'Task name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>/tasks/<TASK_ID>"';

/**
 * The request's own resource (its `parent` or `name`, not a name inside its body) must lie under
 * `projects/`: anything else is refused as Google's front end does, as a project the caller may
 * not use. An empty one is left to the method's own checks.
 */
export function checkResourceProject(resource: string | undefined): void {
  if (resource !== undefined && resource !== '' && !resource.startsWith('projects/')) {
    throw projectPermissionDenied(resource);
  }
}

export function checkLocationName(name: string | undefined): string {
  if (name === undefined || !LOCATION.test(name)) {
    throw invalid(
      'Location name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>"',
    );
  }
  return name;
}

export function parseQueueName(name: string | undefined): { parent: string; id: string } {
  const match = name === undefined ? null : QUEUE.exec(name);
  if (match === null || !QUEUE_ID.test(match[2] ?? '')) throw queueNameInvalid();
  return { parent: match[1] ?? '', id: match[2] ?? '' };
}

export function parseTaskName(name: string | undefined): { queue: string; id: string } {
  const match = name === undefined ? null : TASK.exec(name);
  if (match === null) throw invalid(TASK_FORMAT);
  const id = match[2] ?? '';
  if (id.length > MAX_TASK_ID_LENGTH || !TASK_ID.test(id)) throw invalidTaskId(id);
  parseQueueName(match[1]);
  return { queue: match[1] ?? '', id };
}

/** The last path segment: queue ids and task ids in dispatch headers. */
export function shortName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}
