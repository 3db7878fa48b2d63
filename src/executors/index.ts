import type { Executor } from './contract';
import { demoFlakyExecutor } from './demo-flaky';
import { demoSleepExecutor } from './demo-sleep';
import { createHttpRequestExecutor, type SecretResolver } from './http-request';
import { noopExecutor } from './noop';
import type { OriginPolicy } from './origin-policy';
import { createExecutorRegistry, type ExecutorRegistry } from './registry';

export * from './contract';
export * from './registry';
export type { SecretResolver } from './http-request';
export type { OriginPolicy } from './origin-policy';

export interface BuiltInDeps {
  secrets: SecretResolver;
  fetch?: typeof fetch;
  /** Where http.request may send identifiers and secrets (closed when absent). */
  origins?: OriginPolicy;
  /** Executors added by the deployment (e.g. the BigQuery ones, which need a warehouse). */
  extra?: readonly Executor[];
}

/** The registry of built-in executors. Add new executors here (see docs/adding-a-task.md). */
export function builtInExecutors(deps: BuiltInDeps): ExecutorRegistry {
  return createExecutorRegistry([
    noopExecutor,
    demoSleepExecutor,
    demoFlakyExecutor,
    createHttpRequestExecutor(deps.secrets, deps.fetch, deps.origins),
    ...(deps.extra ?? []),
  ]);
}
