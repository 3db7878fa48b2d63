import { ApiError, invalid } from './errors';
import { parseTaskName } from './names';
import { MESSAGES } from './service-messages';
import {
  fromMs,
  toMs,
  type PAttempt,
  type PHttpRequest,
  type PTask,
  type View,
} from './proto-types';

/** One attempt, as Task.first_attempt / last_attempt report it. */
export interface Attempt {
  scheduleTimeMs?: number;
  dispatchTimeMs: number;
  responseTimeMs?: number;
  responseStatus?: { code: number; message: string };
}

export interface HttpTarget {
  url: string;
  httpMethod: string;
  headers: Record<string, string>;
  body: Buffer;
  oidcToken?: { serviceAccountEmail: string; audience: string };
  oauthToken?: { serviceAccountEmail: string; scope: string };
}

/** A task and its delivery state. */
export interface TaskRecord {
  name: string;
  queueName: string;
  http: HttpTarget;
  /** When the next attempt is due. */
  scheduleTimeMs: number;
  /** The schedule time at creation: the X-CloudTasks-TaskETA of every attempt. */
  etaMs: number;
  createTimeMs: number;
  dispatchDeadlineMs: number;
  dispatchCount: number;
  responseCount: number;
  /** Responses that were not 5xx: X-CloudTasks-TaskExecutionCount. */
  executionCount: number;
  previousResponseStatus?: number;
  firstAttempt?: Attempt;
  lastAttempt?: Attempt;
  running: boolean;
  /** Bumped whenever the task is rescheduled, so stale heap entries can be recognised. */
  generation: number;
}

/** Cloud Tasks reference: limits on HTTP tasks. */
export const TASK_LIMITS = {
  maxScheduleAheadMs: 30 * 24 * 3600 * 1000,
  defaultDispatchDeadlineMs: 10 * 60 * 1000,
  minDispatchDeadlineMs: 15 * 1000,
  maxDispatchDeadlineMs: 30 * 60 * 1000,
  maxTaskBytes: 1024 * 1024,
  maxHeaderBytes: 80 * 1024,
  maxUrlLength: 2083,
} as const;

/** The User-Agent of every HTTP task, in its headers and on the wire. */
export const USER_AGENT = 'Google-Cloud-Tasks';

const HTTP_METHODS = ['POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** Checks a CreateTask request's task and builds its record; `name` is already decided. */
export function newTaskRecord(task: PTask, name: string, nowMs: number): TaskRecord {
  if (task.appEngineHttpRequest) {
    throw new ApiError(
      'UNIMPLEMENTED',
      'App Engine tasks are not supported by this emulator; use an HTTP task.',
    );
  }
  if (!task.httpRequest) throw invalid('Task.http_request is required.');
  const http = httpTarget(task.httpRequest);
  const size = name.length + http.url.length + http.body.length + headerBytes(http.headers);
  if (size > TASK_LIMITS.maxTaskBytes) {
    throw invalid(
      `Task size too large: ${size} bytes. The maximum task size is ${TASK_LIMITS.maxTaskBytes} bytes.`,
    );
  }
  const requested = task.scheduleTime ? toMs(task.scheduleTime) : 0;
  if (requested > nowMs + TASK_LIMITS.maxScheduleAheadMs) {
    throw invalid('The task schedule_time must be at most 30 days in the future.');
  }
  const dispatchDeadlineMs = task.dispatchDeadline
    ? toMs(task.dispatchDeadline)
    : TASK_LIMITS.defaultDispatchDeadlineMs;
  if (
    dispatchDeadlineMs < TASK_LIMITS.minDispatchDeadlineMs ||
    dispatchDeadlineMs > TASK_LIMITS.maxDispatchDeadlineMs
  ) {
    throw invalid(
      'The dispatch_deadline must be between 15 seconds and 30 minutes (inclusive) for HTTP tasks.',
    );
  }
  const scheduleTimeMs = Math.max(requested, nowMs);
  return {
    name,
    queueName: parseTaskName(name).queue,
    http,
    scheduleTimeMs,
    etaMs: scheduleTimeMs,
    createTimeMs: nowMs,
    dispatchDeadlineMs,
    dispatchCount: 0,
    responseCount: 0,
    executionCount: 0,
    running: false,
    generation: 0,
  };
}

function httpTarget(request: PHttpRequest): HttpTarget {
  const url = request.url ?? '';
  // The recorded answers: an empty URL, then the scheme; a bad %-escape is accepted.
  if (url === '') throw invalid(MESSAGES.urlRequired);
  if (!/^https?:\/\//i.test(url)) throw invalid(MESSAGES.urlScheme);
  if (!URL.canParse(url)) throw invalid('HttpRequest.url is not a valid URL.');
  if (url.length > TASK_LIMITS.maxUrlLength) {
    throw invalid(`HttpRequest.url must be at most ${TASK_LIMITS.maxUrlLength} characters.`);
  }
  const method = httpMethodName(request.httpMethod);
  const body = toBuffer(request.body);
  if (body.length > 0 && !METHODS_WITH_BODY.has(method)) {
    throw invalid(`A request body is allowed only with POST, PUT or PATCH, not ${method}.`);
  }
  const given = request.headers ?? {};
  if (headerBytes(given) > TASK_LIMITS.maxHeaderBytes) {
    throw invalid('The size of HttpRequest.headers must be less than 80KB.');
  }
  // The service keeps the given names' case and returns its own User-Agent with the task
  // (recorded for CreateTask and GetTask, both views); it adds no Content-Type.
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) {
    if (name.toLowerCase() !== 'user-agent') headers[name] = value;
  }
  headers['User-Agent'] = USER_AGENT;
  const target: HttpTarget = { url, httpMethod: method, headers, body };
  if (request.oidcToken) {
    const email = request.oidcToken.serviceAccountEmail ?? '';
    if (email === '') throw invalid('OidcToken.service_account_email is required.');
    target.oidcToken = { serviceAccountEmail: email, audience: request.oidcToken.audience ?? '' };
  } else if (request.oauthToken) {
    const email = request.oauthToken.serviceAccountEmail ?? '';
    if (email === '') throw invalid('OAuthToken.service_account_email is required.');
    target.oauthToken = { serviceAccountEmail: email, scope: request.oauthToken.scope ?? '' };
  }
  return target;
}

function httpMethodName(method: string | number | undefined): string {
  if (typeof method === 'number') return HTTP_METHODS[method - 1] ?? 'POST';
  if (method === undefined || method === '' || method === 'HTTP_METHOD_UNSPECIFIED') return 'POST';
  if (!HTTP_METHODS.includes(method)) throw invalid(`Invalid HttpRequest.http_method: ${method}.`);
  return method;
}

function toBuffer(body: PHttpRequest['body']): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'base64');
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function headerBytes(headers: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers)) n += k.length + v.length;
  return n;
}

/** The wire form of a task; the BASIC view leaves out the body, as the service does. */
export function taskToProto(task: TaskRecord, view: View): PTask {
  const { http } = task;
  const httpRequest: PHttpRequest = {
    url: http.url,
    httpMethod: http.httpMethod,
    headers: http.headers,
    ...(view === 'FULL' && http.body.length > 0 ? { body: http.body } : {}),
    ...(http.oidcToken ? { oidcToken: http.oidcToken } : {}),
    ...(http.oauthToken ? { oauthToken: http.oauthToken } : {}),
  };
  return {
    name: task.name,
    httpRequest,
    scheduleTime: fromMs(task.scheduleTimeMs),
    createTime: fromMs(task.createTimeMs),
    dispatchDeadline: fromMs(task.dispatchDeadlineMs),
    dispatchCount: task.dispatchCount,
    responseCount: task.responseCount,
    ...(task.firstAttempt ? { firstAttempt: attemptToProto(task.firstAttempt) } : {}),
    ...(task.lastAttempt ? { lastAttempt: attemptToProto(task.lastAttempt) } : {}),
    view,
  };
}

function attemptToProto(attempt: Attempt): PAttempt {
  return {
    ...(attempt.scheduleTimeMs !== undefined
      ? { scheduleTime: fromMs(attempt.scheduleTimeMs) }
      : {}),
    dispatchTime: fromMs(attempt.dispatchTimeMs),
    ...(attempt.responseTimeMs !== undefined
      ? { responseTime: fromMs(attempt.responseTimeMs) }
      : {}),
    ...(attempt.responseStatus ? { responseStatus: attempt.responseStatus } : {}),
  };
}

/** BASIC unless FULL is asked for (VIEW_UNSPECIFIED means BASIC). */
export function viewOf(requested: string | number | undefined): View {
  return requested === 'FULL' || requested === 2 ? 'FULL' : 'BASIC';
}
