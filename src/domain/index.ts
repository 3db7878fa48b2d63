/**
 * Glossary:
 *
 * - Request: one data-subject request (`deletion` or `records`) about one subject, a person known
 *   by one or more string identifiers (email, userId, gaClientId, ...).
 * - Task: a registered unit of work for one system, run by a named executor with a validated
 *   config. Tasks are registered through the API, never by editing code or SQL.
 * - Instance: exactly one per (request, task). Its id is the task id, under the request, so
 *   intake can be repeated safely.
 * - Run: one attempt at an instance. Every attempt keeps its own record with its evidence.
 * - Executor: the code behind a task, selected by name from a registry (no eval).
 * - Attempt series: a fresh series of attempts begins when an operator retries a failed
 *   instance; Cloud Task names include it so the new series never collides with the old.
 */
export * from './errors';
export * from './model';
export * from './states';
export * from './deadline';
export * from './cost';
export * from './retry-policy';
export * from './subject';
export * from './execution-window';
