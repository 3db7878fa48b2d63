import { ConflictError, NotFoundError, ValidationError } from '../domain/errors';
import { canonicalJson, sha256Hex, type LedgerAction, type LedgerEntry } from '../domain/evidence';
import { registerTaskSchema, updateTaskSchema, type RequestType, type Task } from '../domain/model';
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
 * Registers a task: the body, then its config against the executor's own schema, the job types
 * the executor may serve, and the approvals it needs. Version 1 is recorded, with its actor and
 * hash, in the task's ledger.
 */
export async function registerTask(deps: TaskDeps, body: unknown, actor: Actor): Promise<Task> {
  const parsed = registerTaskSchema.safeParse(body);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const input = parsed.data;
  const config = checkedConfig(deps, input.executor, input.jobType, input.config);
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
  if ((await deps.store.getTask(task.id)) !== null) {
    throw new ConflictError(
      `a task with id ${task.id} already exists; use PATCH /tasks/${task.id}`,
      'task_exists',
    );
  }
  // The task and its version-1 ledger entry are written together: both or none.
  const created = await deps.store.createTask(
    task,
    versionEntry(task, 'registered', actor, Object.keys(input)),
  );
  deps.log
    .child({ labels: { taskId: task.id } })
    .info('task.registered', `task ${task.id} registered`, {
      executor: task.executor,
      jobType: task.jobType,
      version: 1,
      versionHash: task.versionHash,
      actor: actor.identity,
    });
  return created;
}

/**
 * Changes a task. Every change that alters anything makes a new version (+1) whose snapshot,
 * actor and hash go into the task's ledger; the previous versions stay there, so a run's
 * evidence names the exact version it ran. A change to what runs voids earlier approvals.
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
  await getTask(deps, id);
  const now = deps.clock.now().toISOString();
  let changed: string[] = [];
  const updated = await deps.store.updateTask(id, (current) => {
    const executor = patch.executor ?? current.executor;
    const jobType = patch.jobType ?? current.jobType;
    const config = checkedConfig(deps, executor, jobType, patch.config ?? current.config);
    const approvalsRequired =
      patch.approvalsRequired !== undefined || patch.requiresApproval !== undefined
        ? approvalsOf(patch.requiresApproval, patch.approvalsRequired)
        : current.approvalsRequired;
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
    changed = (Object.keys(next) as (keyof Task)[]).filter(
      (k) => canonicalJson(next[k] ?? null) !== canonicalJson(current[k] ?? null),
    );
    // Nothing differs: no new version.
    if (changed.length === 0) return null;
    return {
      ...next,
      version: current.version + 1,
      updatedBy: actor.identity,
      updatedAt: now,
    };
  });
  if (changed.length === 0) return updated;
  await deps.store.appendLedger(
    { kind: 'task', taskId: id },
    versionEntry(updated, 'changed', actor, changed),
  );
  deps.log.child({ labels: { taskId: id } }).info('task.updated', `task ${id} updated`, {
    fields: changed,
    version: updated.version,
    versionHash: updated.versionHash,
    actor: actor.identity,
  });
  return updated;
}

export async function getTask(deps: Pick<AppDeps, 'store'>, id: string): Promise<Task> {
  const task = await deps.store.getTask(id);
  if (task === null) throw new NotFoundError(`no task with id ${id}`);
  return task;
}

/** A task as the API shows it: header values (literal or secret references) are never shown. */
export type TaskView = Task;

export function taskView(task: Task): TaskView {
  const config = task.config;
  const headers = config['headers'];
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return task;
  const hidden = Object.fromEntries(Object.keys(headers).map((name) => [name, '[redacted]']));
  return { ...task, config: { ...config, headers: hidden } };
}

export async function getTaskView(deps: Pick<AppDeps, 'store'>, id: string): Promise<TaskView> {
  return taskView(await getTask(deps, id));
}

export async function listTasksView(deps: Pick<AppDeps, 'store'>): Promise<TaskView[]> {
  return (await deps.store.listTasks()).map(taskView);
}

/** One kept version of a task, from its ledger. */
export interface TaskVersionView {
  version: number;
  versionHash: string;
  kind: 'registered' | 'changed';
  actor: string;
  at: string;
  /** Fields that changed from the version before. */
  fields: string[];
  task: TaskView;
  /** The ledger entry's place in the task's hash chain. */
  seq: number;
  hash: string;
}

/** Every version of a task, oldest first, each as it was (header values hidden). */
export async function listTaskVersions(
  deps: Pick<AppDeps, 'store'>,
  id: string,
): Promise<{ taskId: string; versions: TaskVersionView[] }> {
  await getTask(deps, id);
  const entries = await deps.store.listLedger({ kind: 'task', taskId: id });
  return { taskId: id, versions: entries.flatMap(versionOf) };
}

function versionOf(entry: LedgerEntry): TaskVersionView[] {
  if (entry.kind !== 'registered' && entry.kind !== 'changed') return [];
  const details = entry.details ?? {};
  const task = details['task'] as Task | undefined;
  if (task === undefined) return [];
  return [
    {
      version: task.version,
      versionHash: task.versionHash,
      kind: entry.kind,
      actor: entry.actor,
      at: entry.at,
      fields: Array.isArray(details['fields']) ? (details['fields'] as string[]) : [],
      task: taskView(task),
      seq: entry.seq,
      hash: entry.hash,
    },
  ];
}

/** The version, whole, as a ledger entry: the kept copy a run's evidence points to. */
function versionEntry(
  task: Task,
  kind: 'registered' | 'changed',
  actor: Actor,
  fields: readonly string[],
): LedgerAction {
  const { ledgerHead: _head, ...version } = task as Task & { ledgerHead?: unknown };
  return {
    kind,
    actor: actor.identity,
    at: task.updatedAt,
    details: { version: task.version, versionHash: task.versionHash, fields, task: version },
  };
}

/** `requiresApproval: true` alone means one approver; both given must agree. */
function approvalsOf(requiresApproval: boolean | undefined, approvalsRequired: number | undefined) {
  if (approvalsRequired === undefined) return requiresApproval === true ? 1 : 0;
  if (requiresApproval !== undefined && requiresApproval !== approvalsRequired > 0) {
    const message = 'requiresApproval must agree with approvalsRequired (true when it is 1 or 2)';
    throw new ValidationError(`Invalid input: requiresApproval: ${message}`, [
      { path: 'requiresApproval', message },
    ]);
  }
  return approvalsRequired;
}

/**
 * The config parsed by the executor's schema, for a job type the executor may serve: a records
 * task may only read, a deletion task only change.
 */
function checkedConfig(
  deps: TaskDeps,
  executor: string,
  jobType: RequestType,
  config: unknown,
): Record<string, unknown> {
  const parsed = deps.executors.parseConfig(executor, config) as Record<string, unknown>;
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
