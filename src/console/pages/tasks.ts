import { getTaskView, listTasksView, type TaskView } from '../../app/tasks';
import type { AppDeps } from '../../app/deps';
import type { Instance } from '../../domain/model';
import type { HttpResponse } from '../../http/types';
import { markup, path, type Html } from '../html';
import { htmlResponse, page, tag, time, type Viewer } from '../layout';
import type { ConsoleCall } from '../router';
import { auditForm, type AuditOutcome } from './task-audit';
import { pauseSection } from './task-pause';

/** How many failed instances the registry reads for its "last failures" column. */
const FAILURES_READ = 500;

export interface TaskFailures {
  count: number;
  /** The most recent failed instance of the task (by its last update). */
  latest?: { requestId: string; at: string; code: string; message: string };
}

/**
 * Failed instances by task, from the store's failed-instance query (the index dispatch uses),
 * bounded to FAILURES_READ: the column says "at least" when the bound was reached.
 */
export async function failuresByTask(
  deps: Pick<AppDeps, 'store'>,
): Promise<{ byTask: Map<string, TaskFailures>; truncated: boolean }> {
  const page = await deps.store.queryInstances({ states: ['failed'], limit: FAILURES_READ });
  const byTask = new Map<string, TaskFailures>();
  for (const i of page.items as (Instance & { updatedAt?: string })[]) {
    const entry = byTask.get(i.taskId) ?? { count: 0 };
    entry.count += 1;
    const at = i.lastRun?.finishedAt ?? i.updatedAt ?? '';
    if (entry.latest === undefined || at > entry.latest.at) {
      entry.latest = {
        requestId: i.requestId,
        at,
        code: i.lastError?.code ?? i.lastRun?.status ?? 'failed',
        message: i.lastError?.message ?? i.lastRun?.message ?? '',
      };
    }
    byTask.set(i.taskId, entry);
  }
  return { byTask, truncated: page.nextCursor !== undefined };
}

/** `GET /console/tasks`: the registry with owner, executor, job type and last failures. */
export async function tasksPage(call: ConsoleCall): Promise<HttpResponse> {
  const { ctx, viewer } = call;
  const [tasks, failures] = await Promise.all([listTasksView(ctx.deps), failuresByTask(ctx.deps)]);
  const sorted = [...tasks].sort((a, b) => a.id.localeCompare(b.id));
  return htmlResponse(
    page({
      title: 'Tasks',
      section: 'tasks',
      viewer,
      body: markup` ${viewer.roles.has('admin') ? markup`<p><a class="button" href="/console/tasks/new">Register a task</a></p>` : ''}
        <div class="table-wrap">
          <table class="responsive" id="tasks">
            <caption class="muted">
              Every registered task. Failures count the failed instances not retried
              yet${failures.truncated ? ` (at least; the first ${FAILURES_READ} read)` : ''}.
            </caption>
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Owner</th>
                <th scope="col">Executor</th>
                <th scope="col">Job type</th>
                <th scope="col">Approvals</th>
                <th scope="col">Active</th>
                <th scope="col">Last failures</th>
              </tr>
            </thead>
            <tbody>
              ${sorted.map((t) => row(t, failures.byTask.get(t.id)))}
            </tbody>
          </table>
        </div>`,
    }),
  );
}

function row(t: TaskView, failures: TaskFailures | undefined): Html {
  return markup`<tr>
    <th scope="row" data-label="Task">
      <a href="${path('/console/tasks', t.id)}">${t.id}</a><br /><span class="muted"
        >${t.name}</span
      >
    </th>
    <td data-label="Owner">${owner(t)}</td>
    <td data-label="Executor"><code>${t.executor}</code></td>
    <td data-label="Job type">${t.jobType}</td>
    <td data-label="Approvals">
      ${t.approvalsRequired === 0 ? 'none' : `${t.approvalsRequired} approver${t.approvalsRequired === 1 ? '' : 's'}`}
    </td>
    <td data-label="Active">${t.paused !== undefined ? tag('failed', 'paused') : t.active ? 'yes' : tag('inactive', 'inactive')}</td>
    <td data-label="Last failures">${failureText(failures)}</td>
  </tr>`;
}

function owner(t: TaskView): Html {
  if (t.team === undefined && t.teamContact === undefined)
    return markup`<span class="muted">—</span>`;
  return markup`${t.team ?? ''}${t.teamContact === undefined ? '' : markup`<br /><span class="muted">${t.teamContact}</span>`}`;
}

function failureText(f: TaskFailures | undefined): Html {
  if (f === undefined) return markup`<span class="muted">none</span>`;
  return markup`${tag('failed', `${f.count} failed`)}${
    f.latest === undefined
      ? ''
      : markup`<br /><a href="${path('/console/requests', f.latest.requestId)}">latest</a>
          ${time(f.latest.at || undefined)}:
          <span class="error-text">${f.latest.code}</span> ${f.latest.message}`
  }`;
}

/** `GET /console/tasks/:id`: the task, its edit link and its audit (dry run). */
export async function taskPage(call: ConsoleCall): Promise<HttpResponse> {
  return taskDetail(call);
}

/** The task page, with the outcome of an audit just run (or its refusal) when there is one. */
export async function taskDetail(
  call: ConsoleCall,
  audit?: AuditOutcome,
  status = 200,
): Promise<HttpResponse> {
  const { ctx, viewer, taskId } = call;
  const task = await getTaskView(ctx.deps, taskId);
  return htmlResponse(
    page({
      title: `Task ${task.id}`,
      section: 'tasks',
      viewer,
      body: markup` <p>
          <a href="/console/tasks">All tasks</a
          >${viewer.roles.has('admin') ? markup` · <a href="${path('/console/tasks', task.id, 'edit')}">Edit this task</a>` : ''}
        </p>
        ${taskFacts(task)}
        <h2 id="pause">Pause</h2>
        ${pauseSection(task, viewer)}
        <h2 id="audit">Audit (dry run)</h2>
        ${auditSection(task, viewer, audit)}`,
    }),
    status,
  );
}

function taskFacts(t: TaskView): Html {
  return markup`<dl class="facts">
    <dt>Name</dt>
    <dd>${t.name}</dd>
    <dt>Description</dt>
    <dd class="description">${t.description ?? '—'}</dd>
    <dt>Owner</dt>
    <dd>${owner(t)}</dd>
    <dt>Executor</dt>
    <dd><code>${t.executor}</code></dd>
    <dt>Job type</dt>
    <dd>${t.jobType}</dd>
    <dt>Active</dt>
    <dd>${t.active ? 'yes' : 'no'}</dd>
    <dt>Required identifiers</dt>
    <dd>${t.requiredIdentifiers.join(', ') || '—'}</dd>
    <dt>Approvals</dt>
    <dd>${t.approvalsRequired}</dd>
    <dt>Attempts, timeout</dt>
    <dd>${t.maxAttempts} attempts, ${t.timeoutSeconds} s each</dd>
    <dt>Version</dt>
    <dd>
      ${t.version}
      <span class="muted"
        >(${t.versionHash.slice(0, 12)}…) by ${t.updatedBy ?? 'unknown'} at ${t.updatedAt}</span
      >
    </dd>
    <dt>Config</dt>
    <dd><pre>${JSON.stringify(t.config, null, 2)}</pre></dd>
  </dl>`;
}

function auditSection(task: TaskView, viewer: Viewer, audit: AuditOutcome | undefined): Html {
  if (!viewer.roles.has('task_tester')) {
    return markup`<p class="muted">
      A task tester can run this task's audit against an identifier: nothing is changed.
    </p>`;
  }
  return auditForm(task, viewer, audit);
}
