import { pauseTask, resumeTask } from '../../app/task-pause';
import type { TaskView } from '../../app/tasks';
import type { Role } from '../../domain/access';
import type { HttpResponse } from '../../http/types';
import { invalid, text } from '../form';
import { markup, path, type Html } from '../html';
import { confirmBox, csrfInput, field, seeOther, tag, time, type Viewer } from '../layout';
import type { ConsoleCall } from '../router';

/** Who may pause and resume a task (as POST /tasks/:id/pause and /resume). */
export const PAUSERS: readonly Role[] = ['operator', 'admin'];

const actorOf = (viewer: Viewer) => ({ identity: viewer.identity, roles: viewer.roles });

function assertConfirmed(call: ConsoleCall): void {
  if (call.form.get('confirm') !== 'yes') {
    throw invalid('confirm', 'tick the confirmation box to take this action');
  }
}

/** `POST /console/tasks/:id/pause`: the circuit breaker, with its reason. */
export async function pauseSubmit(call: ConsoleCall): Promise<HttpResponse> {
  assertConfirmed(call);
  const reason = text(call.form, 'reason');
  await pauseTask(
    call.ctx.deps,
    call.taskId,
    reason === undefined ? {} : { reason },
    actorOf(call.viewer),
  );
  return seeOther(path('/console/tasks', call.taskId));
}

/** `POST /console/tasks/:id/resume`: its waiting instances are re-armed by the next dispatch. */
export async function resumeSubmit(call: ConsoleCall): Promise<HttpResponse> {
  assertConfirmed(call);
  const reason = text(call.form, 'reason');
  await resumeTask(
    call.ctx.deps,
    call.taskId,
    reason === undefined ? {} : { reason },
    actorOf(call.viewer),
  );
  return seeOther(path('/console/tasks', call.taskId));
}

/** The task's pause state, and the form that pauses or resumes it (for operators and admins). */
export function pauseSection(task: TaskView, viewer: Viewer): Html {
  const paused = task.paused;
  const state =
    paused === undefined
      ? markup`<p>Running normally.</p>`
      : markup`<p>${tag('failed', 'paused')} since ${time(paused.at)} by ${paused.by}: ${paused.reason}. Its instances wait; deadlines keep counting.</p>`;
  if (!PAUSERS.some((r) => viewer.roles.has(r))) return state;
  const verb = paused === undefined ? 'pause' : 'resume';
  return markup`${state}
<form method="post" action="${path('/console/tasks', task.id, verb)}" class="panel">
${csrfInput(viewer)}
${field({
  id: `${verb}-reason`,
  label: paused === undefined ? 'Reason (required)' : 'Reason (optional)',
  control: markup`<textarea id="${verb}-reason" name="reason" maxlength="2000"${paused === undefined ? markup` required` : ''}></textarea>`,
})}
${confirmBox(`${verb}-confirm`, paused === undefined ? 'Pause this task: nothing of it starts until it is resumed' : 'Resume this task: its waiting instances start again')}
<p><button type="submit"${paused === undefined ? markup` class="danger"` : ''}>${paused === undefined ? 'Pause task' : 'Resume task'}</button></p>
</form>`;
}
