import { auditTask, type AuditView } from '../../app/audit';
import { getTaskView, type TaskView } from '../../app/tasks';
import { ValidationError, type FieldIssue } from '../../domain/errors';
import type { HttpResponse } from '../../http/types';
import { text } from '../form';
import { markup, path, type Html } from '../html';
import { csrfInput, field, fmtBytes, fmtUsd, type Viewer } from '../layout';
import type { ConsoleCall } from '../router';
import { actorOf } from './task-form';
import { taskDetail } from './tasks';

/** An audit's outcome on the task page: the answer, or the refusal, with what was typed. */
export interface AuditOutcome {
  values: Record<string, string>;
  view?: AuditView;
  refusal?: { message: string; issues: FieldIssue[] };
}

/** The identifiers an audit asks for: the task's required ones, else email and userId. */
const auditIdentifiers = (task: TaskView) =>
  task.requiredIdentifiers.length > 0 ? task.requiredIdentifiers : ['email', 'userId'];

/** `POST /console/tasks/:id/audit`: runs the audit and shows its estimate on the task page. */
export async function auditSubmit(call: ConsoleCall): Promise<HttpResponse> {
  const task = await getTaskView(call.ctx.deps, call.taskId);
  const values: Record<string, string> = {};
  for (const name of auditIdentifiers(task)) {
    const v = text(call.form, `subject.${name}`);
    if (v !== undefined) values[name] = v;
  }
  try {
    const view = await auditTask(
      call.ctx.deps,
      call.taskId,
      { subject: values },
      actorOf(call.viewer),
    );
    return taskDetail(call, { values, view });
  } catch (err) {
    if (err instanceof ValidationError) {
      return taskDetail(
        call,
        { values, refusal: { message: err.message, issues: err.issues } },
        400,
      );
    }
    throw err;
  }
}

/** The audit form, and the last audit's estimate under it. */
export function auditForm(task: TaskView, viewer: Viewer, audit: AuditOutcome | undefined): Html {
  const names = auditIdentifiers(task);
  return markup`<form
      method="post"
      action="${path('/console/tasks', task.id, 'audit')}"
      class="panel"
    >
      ${csrfInput(viewer)}
      <p class="muted">
        Runs the task in audit mode against one person: nothing is changed, and the run is recorded
        with your name.
      </p>
      ${names.map((name) => field({ id: `audit-${name}`, label: name, control: markup`<input type="text" id="audit-${name}" name="subject.${name}" value="${audit?.values[name] ?? ''}" autocomplete="off" />` }))}
      <p><button type="submit">Run the audit</button></p>
    </form>
    ${audit?.refusal === undefined ? '' : markup`<div class="notice error" role="alert"><p>${audit.refusal.message}</p></div>`}
    ${audit?.view === undefined ? '' : auditResult(audit.view)}`;
}

function auditResult(view: AuditView): Html {
  const e = view.estimate;
  return markup`<section class="notice success" aria-labelledby="audit-result-h" role="status">
    <h3 id="audit-result-h">Audit result</h3>
    <p>${view.message}</p>
    ${
      e === null
        ? markup`<p class="muted">This executor gives no estimate.</p>`
        : markup`<dl class="facts">
            <dt>Would affect</dt>
            <dd>${e.wouldAffectRows ?? '—'} rows</dd>
            <dt>Estimated bytes billed</dt>
            <dd>${fmtBytes(e.estimatedBytesBilled)}</dd>
            <dt>Estimated cost</dt>
            <dd>${fmtUsd(e.estimatedUsd)}</dd>
          </dl>`
    }
    <p class="muted">
      The audit itself cost ${fmtUsd(view.cost.usd)} (${fmtBytes(view.cost.bytesBilled)}), in
      ${view.durationMs} ms.
    </p>
  </section>`;
}
