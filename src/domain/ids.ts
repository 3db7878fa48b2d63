import { ValidationError } from './errors';

/**
 * Identifiers that name stored documents, branded once parsed so a raw string cannot reach a
 * store call by mistake. The router parses every path parameter with these; the store adapters
 * check again with `assertStoreSafeId` (a second line of defence).
 */
export type RequestId = string & { readonly __brand: 'RequestId' };
export type TaskId = string & { readonly __brand: 'TaskId' };
export type RunId = string & { readonly __brand: 'RunId' };

/** A random uuid's hex, or 'x'/'k' + 31 hex (derived from an externalId or Idempotency-Key). */
export const REQUEST_ID_PATTERN = /^[0-9a-z]{32}$/;
export const TASK_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const RUN_ID_PATTERN = /^s\d{1,4}-a\d{3}-(?:[0-9a-f]{8}|abandoned)$/;

function parseId<T extends string>(
  value: unknown,
  param: string,
  pattern: RegExp,
  what: string,
): T {
  if (typeof value !== 'string' || !pattern.test(value)) {
    const message = `not a ${what}`;
    throw new ValidationError(`Invalid input: ${param}: ${message}`, [{ path: param, message }]);
  }
  return value as T;
}

export function parseRequestId(value: unknown, param = 'id'): RequestId {
  return parseId<RequestId>(value, param, REQUEST_ID_PATTERN, 'request id');
}

export function parseTaskId(value: unknown, param = 'taskId'): TaskId {
  return parseId<TaskId>(value, param, TASK_ID_PATTERN, 'task id');
}

export function parseRunId(value: unknown, param = 'runId'): RunId {
  return parseId<RunId>(value, param, RUN_ID_PATTERN, 'run id');
}

const MAX_ID_BYTES = 1500;

/** Second line of defence in store adapters: refuses '', '/', '.', '..', /^__.*__$/, > 1500 bytes. */
export function assertStoreSafeId(id: string, what: string): void {
  const unsafe =
    typeof id !== 'string' ||
    id === '' ||
    id === '.' ||
    id === '..' ||
    id.includes('/') ||
    /^__.*__$/s.test(id) ||
    Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES;
  if (unsafe) {
    const message = 'not an id a document can be stored under';
    throw new ValidationError(`Invalid input: ${what}: ${message}`, [{ path: what, message }]);
  }
}
