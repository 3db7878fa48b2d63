import { createStructuredLogger } from '../../src/adapters/cloud-logging/structured-logger';
import type { Executor, ExecutorContext } from '../../src/executors/contract';

/** Finds an executor by name in a list; fails the test if it is missing. */
export function executorNamed(executors: readonly Executor[], name: string): Executor {
  const found = executors.find((e) => e.name === name);
  if (found === undefined) throw new Error(`no executor named ${name}`);
  return found;
}

/**
 * The context run-task would give `executor` for one attempt, with `config` parsed by the
 * executor's schema (so defaults apply, as in production) and a silent logger.
 */
export function executorContext(
  executor: Executor,
  config: unknown,
  overrides: Partial<ExecutorContext<unknown>> = {},
): ExecutorContext<unknown> {
  const subject = overrides.subject ?? { email: 'ada@example.com' };
  return {
    subject,
    subjectAsGiven: subject,
    config: executor.configSchema.parse(config),
    signal: new AbortController().signal,
    requestId: 'req-1',
    taskId: 'task-1',
    attempt: 1,
    dryRun: false,
    log: createStructuredLogger({
      projectId: 'test',
      service: { name: 'test', revision: 'test' },
      write: () => undefined,
    }),
    ...overrides,
  };
}
