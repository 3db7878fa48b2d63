import { NotFoundError, ValidationError } from '../domain/errors';
import type { Executor } from './contract';

/** Executors by name. Unknown names are refused at task registration, not at run time. */
export interface ExecutorRegistry {
  get(name: string): Executor;
  names(): string[];
  /** Parses a task's config with the executor's schema; ValidationError paths start at `config`. */
  parseConfig(name: string, config: unknown): unknown;
  /**
   * What registration and change accept: the config parsed, and within the deployment's policy
   * (`policyIssues`, each a ValidationError issue at `config.<path>`).
   */
  admitConfig(name: string, config: unknown): unknown;
  /**
   * Checks an admitted config against the system it will run on (the executor's `checkConfig`:
   * a table's schema, a dry run); its issues are a ValidationError at `config.<path>`.
   */
  checkConfig(name: string, config: unknown, signal?: AbortSignal): Promise<void>;
}

/** Throws the issues (paths under `config`) as one ValidationError, if there are any. */
function refuse(found: ReadonlyArray<{ path: readonly string[]; message: string }>): void {
  const issues = found.map((issue) => ({
    path: ['config', ...issue.path].join('.'),
    message: issue.message,
  }));
  if (issues.length > 0) {
    const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new ValidationError(`Invalid input: ${summary}`, issues);
  }
}

export function createExecutorRegistry(executors: readonly Executor[]): ExecutorRegistry {
  const byName = new Map<string, Executor>();
  for (const e of executors) {
    if (byName.has(e.name)) throw new Error(`executor ${e.name} is registered twice`);
    byName.set(e.name, e);
  }
  const get = (name: string): Executor => {
    const e = byName.get(name);
    if (e === undefined) throw new NotFoundError(`no executor named ${name}`);
    return e;
  };
  const parseConfig = (name: string, config: unknown): unknown => {
    const executor = byName.get(name);
    if (executor === undefined) {
      throw new ValidationError(`Invalid input: executor: unknown executor ${name}`, [
        {
          path: 'executor',
          message: `unknown executor "${name}"; known: ${[...byName.keys()].sort().join(', ')}`,
        },
      ]);
    }
    const parsed = executor.configSchema.safeParse(config);
    if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues, ['config']);
    return parsed.data;
  };
  return {
    get,
    names: () => [...byName.keys()].sort(),
    parseConfig,
    admitConfig(name, config) {
      const parsed = parseConfig(name, config);
      refuse(get(name).policyIssues?.(parsed) ?? []);
      return parsed;
    },
    async checkConfig(name, config, signal = new AbortController().signal) {
      refuse((await get(name).checkConfig?.(config, signal)) ?? []);
    },
  };
}
