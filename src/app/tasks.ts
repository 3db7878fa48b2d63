import { ConflictError, NotFoundError, ValidationError } from '../domain/errors';
import { canonicalJson, sha256Hex } from '../domain/evidence';
import {
  registerTaskSchema,
  updateTaskSchema,
  type ApprovalsRequired,
  type RequestType,
  type Task,
  type TaskVersion,
} from '../domain/model';
import type { TaskVersionWrite } from '../ports/request-store';
import type { Actor } from './actor';
import type { AppDeps } from './deps';

type TaskDeps = Pick<AppDeps, 'store' | 'clock' | 'log' | 'executors'>;

/**
 * The fields that decide what a task does when it runs. Their hash is the task's
 * `versionHash`: an approval covers that hash, and a run names it.
 */
const RUN_FIELDS = [
  'executor',
  'jobType',
  'config',
  'requiredIdentifiers',
  'timeoutSeconds',
  'maxAttempts',
  'retryPolicy',
  'executionWindow',
  'notBefore',
  'approvalsRequired',
] as const satisfies readonly (keyof Task)[];

/** SHA-256 of the canonical JSON of what runs. */
export function taskVersionHash(task: Pick<Task, (typeof RUN_FIELDS)[number]>): string {
  const runs: Record<string, unknown> = {};
  for (const field of RUN_FIELDS) runs[field] = task[field];
  return sha256Hex(canonicalJson(runs));
}

/**
 * Registers a task: the body, then its config against the executor's own schema and the
 * deployment's policy, the job types the executor may serve, and the approvals it needs.
 * Version 1 is kept (`tasks/{id}/versions/1`) and recorded in the task's ledger with its actor
 * and hash, in the same batch as the task.
 */
export async function registerTask(deps: TaskDeps, body: unknown, actor: Actor): Promise<Task> {
  const parsed = registerTaskSchema.safeParse(body);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const input = parsed.data;
  const config = admittedConfig(deps, input.executor, input.jobType, input.config);
  await deps.executors.checkConfig(input.executor, config);
  const now = deps.clock.now().toISOString();
  const approvalsRequired = approvalsOf(input.requiresApproval, input.approvalsRequired);
  const runs = {
    ...input,
    config,
    approvalsRequired,
    requiresApproval: approvalsRequired > 0,
    requiredIdentifiers: requiredIdentifiers(
      deps,
      input.executor,
      config,
      input.requiredIdentifiers,
    ),
  };
  const task: Task = {
    ...runs,
    version: 1,
    versionHash: taskVersionHash(runs),
    createdBy: actor.identity,
    updatedBy: actor.identity,
    createdAt: now,
    updatedAt: now,
  };
  // The create itself refuses a taken id (no read first): say what to do instead.
  const created = await deps.store
    .createTask(task, versionWrite(task, 'registered', actor, Object.keys(input).sort()))
    .catch((err: unknown) => {
      if (err instanceof ConflictError && err.code === 'task_exists') {
        throw new ConflictError(
          `a task with id ${task.id} already exists; use PATCH /tasks/${task.id}`,
          'task_exists',
        );
      }
      throw err;
    });
  deps.log
    .child({ labels: { taskId: task.id } })
    .info('task.registered', `task ${task.id} registered`, {
      executor: task.executor,
      jobType: task.jobType,
      version: 1,
      versionHash: task.versionHash,
      actor: actor.identity,
    });
  return taskOf(created);
}

/**
 * Changes a task. A change that alters any field makes a new version (+1), kept whole with its
 * actor and hash in `tasks/{id}/versions/{version}` and recorded in the task's ledger, in one
 * guarded write with the task; earlier versions stay as they were, so a run's evidence names
 * the exact version it ran. A PATCH that alters nothing is answered with the task as it is, and
 * makes no version. A change to what runs (a new `versionHash`) voids earlier approvals.
 */
export async function updateTask(
  deps: TaskDeps,
  id: string,
  body: unknown,
  actor: Actor,
): Promise<Task> {
  const parsed = updateTaskSchema.safeParse(body);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const patch = parsed.data;
  if (patch.executor !== undefined || patch.jobType !== undefined || patch.config !== undefined) {
    // Checked against the target system before the write: a table's schema, a dry run.
    const current = await getTask(deps, id);
    const executor = patch.executor ?? current.executor;
    const config = admittedConfig(
      deps,
      executor,
      patch.jobType ?? current.jobType,
      patch.config ?? current.config,
    );
    await deps.executors.checkConfig(executor, config);
  }
  const now = deps.clock.now().toISOString();
  let changed: string[] = [];
  const updated = await deps.store.updateTask(id, (stored) => {
    const current = taskOf(stored);
    const executor = patch.executor ?? current.executor;
    const jobType = patch.jobType ?? current.jobType;
    // What runs is checked when the change touches it. An unrelated change (deactivating a
    // task, its description) stays possible after the policy tightened: the run checks again.
    const touchesWhatRuns =
      patch.executor !== undefined || patch.jobType !== undefined || patch.config !== undefined;
    const config = touchesWhatRuns
      ? admittedConfig(deps, executor, jobType, patch.config ?? current.config)
      : current.config;
    const approvalsRequired = approvalsAfter(current, patch);
    const next: Task = {
      ...current,
      ...patch,
      config,
      approvalsRequired,
      requiresApproval: approvalsRequired > 0,
      requiredIdentifiers: requiredIdentifiers(
        deps,
        executor,
        config,
        patch.requiredIdentifiers ?? current.requiredIdentifiers,
      ),
    };
    next.versionHash = taskVersionHash(next);
    changed = (Object.keys(next) as (keyof Task)[])
      .filter((k) => canonicalJson(next[k] ?? null) !== canonicalJson(current[k] ?? null))
      .sort();
    // Nothing differs: no new version.
    if (changed.length === 0) return null;
    const version: Task = {
      ...next,
      version: current.version + 1,
      updatedBy: actor.identity,
      updatedAt: now,
    };
    return versionWrite(version, 'changed', actor, changed);
  });
  if (changed.length === 0) return taskOf(updated);
  deps.log.child({ labels: { taskId: id } }).info('task.updated', `task ${id} updated`, {
    fields: changed,
    version: updated.version,
    versionHash: updated.versionHash,
    actor: actor.identity,
  });
  return taskOf(updated);
}

export async function getTask(deps: Pick<AppDeps, 'store'>, id: string): Promise<Task> {
  const task = await deps.store.getTask(id);
  if (task === null) throw new NotFoundError(`no task with id ${id}`);
  return taskOf(task);
}

/** A task as the API shows it: header values (literal or secret references) are never shown. */
export type TaskView = Task;

/** The task with each header value replaced by `[redacted]` (the header names stay). */
export function taskView(task: Task): TaskView {
  const shown = taskOf(task);
  const config = shown.config;
  const headers = Object.hasOwn(config, 'headers') ? config['headers'] : undefined;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return shown;
  const hidden = Object.fromEntries(Object.keys(headers).map((name) => [name, '[redacted]']));
  return { ...shown, config: { ...config, headers: hidden } };
}

/** `GET /tasks/:id`. */
export async function getTaskView(deps: Pick<AppDeps, 'store'>, id: string): Promise<TaskView> {
  return taskView(await getTask(deps, id));
}

/** `GET /tasks`. */
export async function listTasksView(deps: Pick<AppDeps, 'store'>): Promise<TaskView[]> {
  return (await deps.store.listTasks()).map(taskView);
}

/** One kept version of a task, as the API shows it (header values hidden). */
export type TaskVersionView = Omit<TaskVersion, 'task'> & { task: TaskView };

export function taskVersionView(version: TaskVersion): TaskVersionView {
  return { ...version, task: taskView(version.task) };
}

/** `GET /tasks/:id/versions`: every version of a task, oldest first, each as it was. */
export async function listTaskVersions(
  deps: Pick<AppDeps, 'store'>,
  id: string,
): Promise<{ taskId: string; versions: TaskVersionView[] }> {
  await getTask(deps, id);
  const versions = await deps.store.listTaskVersions(id);
  return { taskId: id, versions: versions.map(taskVersionView) };
}

/** The task as the model has it: without the store's ledger head. */
export function taskOf(stored: Task): Task {
  const { ledgerHead: _head, ...task } = stored as Task & { ledgerHead?: unknown };
  return task;
}

/**
 * The version kept whole, and its ledger entry: the version, its hash and the fields that
 * changed (the hash covers what runs, so the kept copy can be checked against the chain).
 */
export function versionWrite(
  task: Task,
  kind: TaskVersion['kind'],
  actor: Actor,
  fields: readonly string[],
): TaskVersionWrite {
  const at = task.updatedAt;
  const version: TaskVersion = {
    taskId: task.id,
    version: task.version,
    versionHash: task.versionHash,
    kind,
    actor: actor.identity,
    at,
    fields: [...fields],
    task: taskOf(task),
  };
  return {
    version,
    action: {
      kind,
      actor: actor.identity,
      at,
      details: { version: task.version, versionHash: task.versionHash, fields: [...fields] },
    },
  };
}

/** `requiresApproval: true` alone means one approver; both given must agree. */
function approvalsOf(
  requiresApproval: boolean | undefined,
  approvalsRequired: ApprovalsRequired | undefined,
): ApprovalsRequired {
  if (approvalsRequired === undefined) return requiresApproval === true ? 1 : 0;
  if (requiresApproval !== undefined && requiresApproval !== approvalsRequired > 0) {
    const message = 'requiresApproval must agree with approvalsRequired (true when it is 1 or 2)';
    throw new ValidationError(`Invalid input: requiresApproval: ${message}`, [
      { path: 'requiresApproval', message },
    ]);
  }
  return approvalsRequired;
}

/** A change's approvals: `requiresApproval: true` keeps a task's two approvers at two. */
function approvalsAfter(
  current: Task,
  patch: { requiresApproval?: boolean; approvalsRequired?: ApprovalsRequired },
): ApprovalsRequired {
  if (patch.approvalsRequired === undefined) {
    if (patch.requiresApproval === undefined) return current.approvalsRequired;
    if (patch.requiresApproval && current.approvalsRequired > 0) return current.approvalsRequired;
  }
  return approvalsOf(patch.requiresApproval, patch.approvalsRequired);
}

/**
 * The config parsed by the executor's schema and within the deployment's policy, for a job type
 * the executor may serve: a records task may only read, a deletion task only change.
 */
function admittedConfig(
  deps: TaskDeps,
  executor: string,
  jobType: RequestType,
  config: unknown,
): Record<string, unknown> {
  const parsed = deps.executors.admitConfig(executor, config) as Record<string, unknown>;
  const serves = deps.executors.get(executor).jobTypes(parsed);
  if (!serves.includes(jobType)) {
    const message =
      `executor ${executor} with this config serves ${serves.join(' and ') || 'no job type'}, not ${jobType}: ` +
      (jobType === 'records' ? 'a records task may only read' : 'a deletion task must change data');
    throw new ValidationError(`Invalid input: jobType: ${message}`, [{ path: 'jobType', message }]);
  }
  return parsed;
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
