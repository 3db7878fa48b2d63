import { shortName } from './names';
import { USER_AGENT, type TaskRecord } from './task-model';

/**
 * Headers the service replaces or keeps for itself (HttpRequest.headers reference): a task may
 * not set these; Host and Content-Length are computed by the HTTP client.
 */
const RESERVED = /^(host|content-length|user-agent|x-google-.*|x-appengine-.*|x-cloudtasks-.*)$/i;

/** The X-CloudTasks-TaskETA format: epoch seconds with microseconds. */
export function formatEta(etaMs: number): string {
  return (etaMs / 1000).toFixed(6);
}

/**
 * The headers of one HTTP attempt, as recorded from the service (dispatch-headers.golden.json):
 * the task's own headers first, then the service's. `authorization` replaces any the task set.
 */
export function dispatchHeaders(task: TaskRecord, authorization?: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(task.http.headers)) {
    if (RESERVED.test(name)) continue;
    if (authorization !== undefined && name.toLowerCase() === 'authorization') continue;
    headers[name] = value;
  }
  if (authorization !== undefined) headers['Authorization'] = authorization;
  headers['User-Agent'] = USER_AGENT;
  headers['X-CloudTasks-QueueName'] = shortName(task.queueName);
  headers['X-CloudTasks-TaskName'] = shortName(task.name);
  headers['X-CloudTasks-TaskRetryCount'] = String(task.dispatchCount);
  headers['X-CloudTasks-TaskExecutionCount'] = String(task.executionCount);
  headers['X-CloudTasks-TaskETA'] = formatEta(task.etaMs);
  // Only retries carry these; the service sends the retry reason empty for HTTP targets.
  if (task.previousResponseStatus !== undefined) {
    headers['X-CloudTasks-TaskPreviousResponse'] = String(task.previousResponseStatus);
  }
  if (task.dispatchCount > 0) headers['X-CloudTasks-TaskRetryReason'] = '';
  return headers;
}
