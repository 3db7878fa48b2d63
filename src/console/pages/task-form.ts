import { getTaskView, registerTask, updateTask, type TaskView } from '../../app/tasks';
import { ValidationError, type FieldIssue } from '../../domain/errors';
import { REQUEST_TYPES } from '../../domain/model';
import type { HttpResponse } from '../../http/types';
import type { FormFields } from '../form';
import { markup, path, type Html } from '../html';
import {
  confirmBox,
  csrfInput,
  field,
  htmlResponse,
  page,
  select,
  seeOther,
  type Viewer,
} from '../layout';
import type { ConsoleCall } from '../router';

type Mode = 'register' | 'edit';

/** The form's fields as typed, so a refused save shows them again with the errors. */
type Values = Partial<Record<FormField, string>>;

const FORM_FIELDS = [
  'id',
  'name',
  'jobType',
  'executor',
  'config',
  'requiredIdentifiers',
  'maxAttempts',
  'timeoutSeconds',
  'approvalsRequired',
  'active',
  'team',
  'teamContact',
  'description',
  'dataSource',
] as const;
type FormField = (typeof FORM_FIELDS)[number];

const isFormField = (name: string): name is FormField =>
  (FORM_FIELDS as readonly string[]).includes(name);

/** A refused save: each issue beside its field, the rest above the form. */
interface Refusal {
  message: string;
  byField: Map<FormField, string[]>;
  general: FieldIssue[];
}

function refusalOf(err: ValidationError): Refusal {
  const byField = new Map<FormField, string[]>();
  const general: FieldIssue[] = [];
  for (const issue of err.issues) {
    const head = issue.path.split(/[.[]/)[0] ?? '';
    if (isFormField(head)) {
      const detail = issue.path === head ? issue.message : `${issue.path}: ${issue.message}`;
      byField.set(head, [...(byField.get(head) ?? []), detail]);
    } else general.push(issue);
  }
  return { message: err.message, byField, general };
}

function valuesOf(task: TaskView): Values {
  return {
    id: task.id,
    name: task.name,
    jobType: task.jobType,
    executor: task.executor,
    config: JSON.stringify(task.config, null, 2),
    requiredIdentifiers: task.requiredIdentifiers.join(', '),
    maxAttempts: String(task.maxAttempts),
    timeoutSeconds: String(task.timeoutSeconds),
    approvalsRequired: String(task.approvalsRequired),
    active: task.active ? 'yes' : '',
    team: task.team ?? '',
    teamContact: task.teamContact ?? '',
    description: task.description ?? '',
    dataSource: task.dataSource ?? '',
  };
}

/** `GET /console/tasks/new` and `GET /console/tasks/:id/edit`. */
export async function taskFormPage(call: ConsoleCall, mode: Mode): Promise<HttpResponse> {
  const values: Values =
    mode === 'edit'
      ? valuesOf(await getTaskView(call.ctx.deps, call.taskId))
      : {
          config: '{}',
          maxAttempts: '5',
          timeoutSeconds: '300',
          approvalsRequired: '0',
          active: 'yes',
        };
  return formPage(call, mode, values);
}

function formPage(call: ConsoleCall, mode: Mode, values: Values, refusal?: Refusal): HttpResponse {
  const { viewer } = call;
  const err = (name: FormField) => refusal?.byField.get(name)?.join('; ');
  const input = (name: FormField, type = 'text', extra: Html = markup``) =>
    markup`<input
      type="${type}"
      id="task-${name}"
      name="${name}"
      value="${values[name] ?? ''}"
      ${err(name) === undefined ? '' : markup` aria-invalid="true" aria-describedby="task-${name}-error"`}${extra}
    />`;
  const area = (name: FormField, cls = '') =>
    markup`<textarea
      id="task-${name}"
      name="${name}"
      class="${cls}"
      ${err(name) === undefined ? '' : markup` aria-invalid="true" aria-describedby="task-${name}-error"`}
    >
${values[name] ?? ''}</textarea>`;
  const executors = call.ctx.deps.executors.names().sort();
  const action = mode === 'register' ? '/console/tasks' : path('/console/tasks', call.taskId);
  const title = mode === 'register' ? 'Register a task' : `Edit task ${call.taskId}`;
  return htmlResponse(
    page({
      title,
      section: 'tasks',
      viewer,
      body: markup` ${
        refusal === undefined
          ? ''
          : markup`<div class="notice error" role="alert">
                <p>
                  <strong>Not saved.</strong>
                  ${refusal.byField.size > 0 ? 'See the fields marked below.' : ''}
                </p>
                ${
                  refusal.general.length === 0
                    ? ''
                    : markup`<ul>
                        ${refusal.general.map((i) => markup`<li><code>${i.path || '(body)'}</code>: ${i.message}</li>`)}
                      </ul>`
                }
              </div>`
      }
        <p class="muted">
          The config is checked against the executor's schema and the target system before anything
          is saved.
        </p>
        <form method="post" action="${action}" class="panel" novalidate>
          ${csrfInput(viewer)}
          ${mode === 'register' ? field({ id: 'task-id', label: 'Task id', control: input('id', 'text', markup` required maxlength="63"`), hint: 'lower-case letters, digits, - and _', error: err('id') }) : ''}
          ${field({ id: 'task-name', label: 'Name', control: input('name', 'text', markup` required maxlength="200"`), error: err('name') })}
          ${field({
            id: 'task-jobType',
            label: 'Job type',
            control: select(
              'task-jobType',
              'jobType',
              REQUEST_TYPES.map((t) => [t, t] as const),
              values.jobType,
            ),
            error: err('jobType'),
          })}
          ${field({
            id: 'task-executor',
            label: 'Executor',
            control: select(
              'task-executor',
              'executor',
              executors.map((e) => [e, e] as const),
              values.executor,
            ),
            error: err('executor'),
          })}
          ${field({ id: 'task-config', label: 'Config (JSON)', control: area('config', 'code'), error: err('config'), wide: true, hint: 'header values show as [redacted]: leave the config as it is to keep them' })}
          ${field({ id: 'task-requiredIdentifiers', label: 'Required identifiers', control: input('requiredIdentifiers'), hint: 'comma-separated, e.g. email, userId', error: err('requiredIdentifiers') })}
          ${field({ id: 'task-maxAttempts', label: 'Max attempts', control: input('maxAttempts', 'number', markup` min="1" max="100"`), error: err('maxAttempts') })}
          ${field({ id: 'task-timeoutSeconds', label: 'Timeout (seconds)', control: input('timeoutSeconds', 'number', markup` min="1"`), error: err('timeoutSeconds') })}
          ${field({
            id: 'task-approvalsRequired',
            label: 'Approvals required',
            control: select(
              'task-approvalsRequired',
              'approvalsRequired',
              [
                ['0', 'none'],
                ['1', 'one approver'],
                ['2', 'two approvers (four eyes)'],
              ],
              values.approvalsRequired,
            ),
            error: err('approvalsRequired'),
          })}
          ${field({ id: 'task-team', label: 'Owning team', control: input('team'), error: err('team') })}
          ${field({ id: 'task-teamContact', label: 'Team contact', control: input('teamContact'), error: err('teamContact') })}
          ${field({ id: 'task-dataSource', label: 'Data source', control: input('dataSource'), error: err('dataSource') })}
          ${field({ id: 'task-description', label: 'Description', control: area('description'), error: err('description'), wide: true })}
          <label class="check" for="task-active"
            ><input
              type="checkbox"
              id="task-active"
              name="active"
              value="yes"
              ${values.active === 'yes' ? markup` checked` : ''}
            />
            Active (new requests get an instance of it)</label
          >
          ${confirmBox('task-confirm', mode === 'register' ? 'Register this task' : 'Save a new version of this task')}
          <p>
            <button type="submit">${mode === 'register' ? 'Register' : 'Save'}</button>
            <a
              href="${mode === 'register' ? '/console/tasks' : path('/console/tasks', call.taskId)}"
              >Back</a
            >
          </p>
        </form>`,
    }),
    refusal === undefined ? 200 : 400,
  );
}

function formValues(fields: FormFields): Values {
  const values: Values = {};
  for (const name of FORM_FIELDS) {
    const v = fields.get(name);
    if (v !== undefined) values[name] = v;
  }
  return values;
}

/** A number field as the schema should see it: a number when it is one, else the text. */
const numberOrText = (v: string) => (/^-?\d+$/.test(v) ? Number(v) : v);

/** The body the API's POST/PATCH would take, from the form; a JSON error names `config`. */
function bodyOf(values: Values, mode: Mode, current?: TaskView): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const set = (name: FormField, value: unknown) => {
    body[name] = value;
  };
  const str = (name: FormField) => {
    const v = values[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  if (mode === 'register') {
    const id = str('id');
    if (id !== undefined) set('id', id);
  }
  for (const name of [
    'name',
    'jobType',
    'executor',
    'team',
    'teamContact',
    'description',
    'dataSource',
  ] as const) {
    const v = str(name);
    if (v !== undefined) set(name, v);
  }
  for (const name of ['maxAttempts', 'timeoutSeconds', 'approvalsRequired'] as const) {
    const v = str(name);
    if (v !== undefined) set(name, numberOrText(v));
  }
  const ids = str('requiredIdentifiers');
  set(
    'requiredIdentifiers',
    ids === undefined
      ? []
      : ids
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
  );
  set('active', values.active === 'yes');
  const configText = str('config') ?? '{}';
  let config: unknown;
  try {
    config = JSON.parse(configText) as unknown;
  } catch (err) {
    throw new ValidationError(`Invalid input: config: not valid JSON`, [
      { path: 'config', message: `not valid JSON: ${(err as Error).message}` },
    ]);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ValidationError('Invalid input: config: a JSON object', [
      { path: 'config', message: 'a JSON object, e.g. {"table": "…"}' },
    ]);
  }
  const unchanged =
    current !== undefined && JSON.stringify(config) === JSON.stringify(current.config);
  if (!unchanged) {
    if (JSON.stringify(config).includes('"[redacted]"')) {
      throw new ValidationError('Invalid input: config: a header value is still [redacted]', [
        {
          path: 'config',
          message:
            'header values are hidden as [redacted]: give each header its value (or a secret reference) before saving a changed config',
        },
      ]);
    }
    set('config', config);
  }
  return body;
}

/** `POST /console/tasks`: registers the task through the API's own validation. */
export async function registerSubmit(call: ConsoleCall): Promise<HttpResponse> {
  const values = formValues(call.form);
  try {
    assertConfirmed(call.form);
    const task = await registerTask(
      call.ctx.deps,
      bodyOf(values, 'register'),
      actorOf(call.viewer),
    );
    return seeOther(path('/console/tasks', task.id));
  } catch (err) {
    if (err instanceof ValidationError) return formPage(call, 'register', values, refusalOf(err));
    throw err;
  }
}

/** `POST /console/tasks/:id`: saves a change (a new version) through the API's validation. */
export async function updateSubmit(call: ConsoleCall): Promise<HttpResponse> {
  const values = formValues(call.form);
  try {
    assertConfirmed(call.form);
    const current = await getTaskView(call.ctx.deps, call.taskId);
    const body = bodyOf(values, 'edit', current);
    await updateTask(call.ctx.deps, call.taskId, body, actorOf(call.viewer));
    return seeOther(path('/console/tasks', call.taskId));
  } catch (err) {
    if (err instanceof ValidationError) return formPage(call, 'edit', values, refusalOf(err));
    throw err;
  }
}

function assertConfirmed(fields: FormFields): void {
  if (fields.get('confirm') !== 'yes') {
    throw new ValidationError('Invalid input: confirm: tick the confirmation box', [
      { path: 'confirm', message: 'tick the confirmation box to save' },
    ]);
  }
}

export const actorOf = (viewer: Viewer) => ({ identity: viewer.identity, roles: viewer.roles });
