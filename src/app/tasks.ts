import { ConflictError, NotFoundError, ValidationError } from '../domain/errors';
import { registerTaskSchema, updateTaskSchema, type Task } from '../domain/model';
import type { AppDeps } from './deps';

type TaskDeps = Pick<AppDeps, 'store' | 'clock' | 'log' | 'executors'>;

/** Registers a task: the body, then its config against the executor's own schema. */
export async function registerTask(deps: TaskDeps, body: unknown): Promise<Task> {
  const parsed = registerTaskSchema.safeParse(body);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const input = parsed.data;
  const config = deps.executors.parseConfig(input.executor, input.config) as Record<
    string,
    unknown
  >;
  const now = deps.clock.now().toISOString();
  const task: Task = {
    ...input,
    config,
    requiredIdentifiers: requiredIdentifiers(
      deps,
      input.executor,
      config,
      input.requiredIdentifiers,
    ),
    createdAt: now,
    updatedAt: now,
  };
  if ((await deps.store.getTask(task.id)) !== null) {
    throw new ConflictError(
      `a task with id ${task.id} already exists; use PATCH /tasks/${task.id}`,
      'task_exists',
    );
  }
  const created = await deps.store.createTask(task);
  deps.log
    .child({ labels: { taskId: task.id } })
    .info('task.registered', `task ${task.id} registered`, {
      executor: task.executor,
      jobType: task.jobType,
    });
  return created;
}

export async function updateTask(deps: TaskDeps, id: string, body: unknown): Promise<Task> {
  const parsed = updateTaskSchema.safeParse(body);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const current = await getTask(deps, id);
  const patch = parsed.data;
  const executor = patch.executor ?? current.executor;
  const config = deps.executors.parseConfig(executor, patch.config ?? current.config) as Record<
    string,
    unknown
  >;
  const next: Partial<Task> = {
    ...patch,
    config,
    requiredIdentifiers: requiredIdentifiers(
      deps,
      executor,
      config,
      patch.requiredIdentifiers ?? current.requiredIdentifiers,
    ),
    updatedAt: deps.clock.now().toISOString(),
  };
  const updated = await deps.store.updateTask(id, next);
  deps.log.child({ labels: { taskId: id } }).info('task.updated', `task ${id} updated`, {
    fields: Object.keys(patch),
  });
  return updated;
}

export async function getTask(deps: Pick<AppDeps, 'store'>, id: string): Promise<Task> {
  const task = await deps.store.getTask(id);
  if (task === null) throw new NotFoundError(`no task with id ${id}`);
  return task;
}

function requiredIdentifiers(
  deps: TaskDeps,
  executor: string,
  config: unknown,
  declared: readonly string[],
): string[] {
  const fromExecutor = deps.executors.get(executor).requiredIdentifiers?.(config) ?? [];
  return [...new Set([...declared, ...fromExecutor])].sort();
}
