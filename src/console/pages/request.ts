import { getEvidence, type RequestEvidence } from '../../app/evidence';
import type { InstanceView, RequestView } from '../../app/request-views';
import { getRequestView } from '../../app/requests';
import type { Role } from '../../domain/access';
import type { LedgerEntry } from '../../domain/evidence';
import { DENY_REASONS, VERIFICATION_METHODS } from '../../domain/model';
import { isOpenStatus } from '../../domain/states';
import type { HttpResponse } from '../../http/types';
import { markup, path, type Html } from '../html';
import {
  confirmBox,
  csrfInput,
  field,
  fmtBytes,
  fmtUsd,
  htmlResponse,
  page,
  select,
  tag,
  time,
  type Viewer,
} from '../layout';
import type { ConsoleCall } from '../router';

const READ_ALL: readonly Role[] = ['approver', 'operator', 'auditor', 'admin'];
const EVIDENCE_READERS: readonly Role[] = ['auditor', 'operator', 'admin'];
const DONE: Record<string, string> = {
  approved: 'Approved.',
  denied: 'Denied.',
  extended: 'Deadline extended.',
  verified: 'Identity verification recorded.',
  cancelled: 'Cancelled what had not started.',
  retried: 'Retry started.',
};

const holds = (viewer: Viewer, roles: readonly Role[]) => roles.some((r) => viewer.roles.has(r));

/** `GET /console/requests/:id`: facts, instances, the activity timeline and the actions. */
export async function requestPage(call: ConsoleCall): Promise<HttpResponse> {
  const { ctx, viewer, requestId } = call;
  const own = holds(viewer, READ_ALL) ? undefined : viewer.identity;
  const view = await getRequestView(ctx.deps, requestId, own);
  const evidence = holds(viewer, EVIDENCE_READERS)
    ? await getEvidence(ctx.deps, requestId, viewer)
    : undefined;
  const done =
    typeof call.req.query['done'] === 'string' ? DONE[call.req.query['done']] : undefined;
  const title = `Request ${view.externalId ?? view.id}`;
  return htmlResponse(
    page({
      title,
      section: 'requests',
      viewer,
      body: markup` ${done === undefined ? '' : markup`<p class="notice success" role="status">${done}</p>`}
        <p>
          <a href="${path('/console/requests', view.id)}">Refresh</a> ·
          <a href="/console/requests">All requests</a>
        </p>
        ${facts(view)}
        <h2 id="instances">Instances</h2>
        ${instancesTable(view, evidence, viewer)} ${recordsLink(view, viewer)}
        <h2 id="actions">Actions</h2>
        ${actions(view, viewer)}
        <h2 id="timeline">Activity</h2>
        ${timeline(evidence)}`,
    }),
  );
}

function facts(view: RequestView): Html {
  const risk =
    view.daysLeft === undefined
      ? ''
      : markup` ${tag(view.deadlineRisk, view.deadlineRisk === 'ok' ? 'on time' : undefined)}
        (${daysText(view.daysLeft)})`;
  return markup`<dl class="facts">
      <dt>Request id</dt>
      <dd><code>${view.id}</code></dd>
      <dt>External id</dt>
      <dd>${view.externalId ?? '—'}</dd>
      <dt>Type</dt>
      <dd>${view.type}${view.dryRun ? ' (dry run: nothing changes)' : ''}</dd>
      <dt>Regulation</dt>
      <dd>${view.regulation}</dd>
      <dt>Status</dt>
      <dd>${tag(view.status)}</dd>
      <dt>Due</dt>
      <dd>${time(view.dueAt)}${risk}</dd>
      ${
        view.originalDueAt === undefined || view.originalDueAt === view.dueAt
          ? ''
          : markup`<dt>Originally due</dt>
              <dd>${time(view.originalDueAt)}</dd>`
      }
      <dt>Received</dt>
      <dd>${time(view.receivedAt)}</dd>
      <dt>Filed by</dt>
      <dd>${view.filedBy}</dd>
      <dt>Identifiers</dt>
      <dd>
        ${view.subjectIdentifiers.join(', ') || '—'}
        <span class="muted">(values are never shown)</span>
      </dd>
      ${
        view.verification === undefined
          ? ''
          : markup`<dt>Verification</dt>
              <dd>${verificationText(view.verification)}</dd>`
      }
      ${
        view.extension === undefined
          ? ''
          : markup`<dt>Extension</dt>
              <dd>
                by ${view.extension.by} at ${time(view.extension.at)}: ${view.extension.reason}
              </dd>`
      }
      ${
        view.denial === undefined
          ? ''
          : markup`<dt>Denial</dt>
              <dd>
                ${view.denial.reason} by ${view.denial.by} at
                ${time(view.denial.at)}${view.denial.note === undefined ? '' : markup`: ${view.denial.note}`}
              </dd>`
      }
      ${
        view.approvedAt === undefined
          ? ''
          : markup`<dt>Approved</dt>
              <dd>${time(view.approvedAt)}</dd>`
      }
      ${
        view.completedAt === undefined
          ? ''
          : markup`<dt>Completed</dt>
              <dd>${time(view.completedAt)}</dd>`
      }
      <dt>Cost</dt>
      <dd>${fmtUsd(view.cost.usd)} (${fmtBytes(view.cost.bytesBilled)} billed)</dd>
      ${
        view.estimate === undefined
          ? ''
          : markup`<dt>Estimate</dt>
              <dd>
                ${view.estimate.wouldAffectRows} rows, ${fmtUsd(view.estimate.estimatedUsd)}
                (${fmtBytes(view.estimate.estimatedBytesBilled)})
              </dd>`
      }
      <dt>Notes</dt>
      <dd>${view.notes === undefined ? '—' : markup`<span class="notes">${view.notes}</span>`}</dd>
    </dl>
    ${view.zeroMatchWarning === undefined ? '' : markup`<p class="notice error">${view.zeroMatchWarning.tasks.join(', ')}: ${view.zeroMatchWarning.message}</p>`}`;
}

function verificationText(v: NonNullable<RequestView['verification']>): string {
  if (v.state === 'pending') return 'pending: nothing runs until someone verifies';
  return `${v.method ?? 'verified'}${v.by === undefined ? '' : ` by ${v.by}`}${v.at === undefined ? '' : ` at ${v.at}`}`;
}

export function daysText(days: number): string {
  if (days < 0) return `${-days} day${days === -1 ? '' : 's'} late`;
  if (days === 0) return 'due today';
  return `${days} day${days === 1 ? '' : 's'} left`;
}

function instancesTable(view: RequestView, evidence: RequestEvidence | undefined, viewer: Viewer) {
  const byTask = new Map(evidence?.instances.map((i) => [i.taskId, i]) ?? []);
  const canRetry = viewer.roles.has('operator');
  return markup`<div class="table-wrap">
    <table class="responsive">
      <caption class="muted">
        Each task's instance: its state, attempts, cost and evidence.
      </caption>
      <thead>
        <tr>
          <th scope="col">Task</th>
          <th scope="col">State</th>
          <th scope="col" class="num">Attempts</th>
          <th scope="col" class="num">Cost</th>
          <th scope="col">Last run</th>
          <th scope="col">Evidence</th>
          ${canRetry ? markup`<th scope="col">Retry</th>` : ''}
        </tr>
      </thead>
      <tbody>
        ${view.instances.map((i) => {
          const ev = byTask.get(i.taskId);
          return markup`<tr>
            <th scope="row" data-label="Task">
              <a href="${path('/console/tasks', i.taskId)}">${i.taskId}</a><br /><span class="muted"
                >${i.taskName}</span
              >
            </th>
            <td data-label="State">${tag(i.state)}${approvalsText(i)}</td>
            <td data-label="Attempts" class="num">${i.attempts} of ${i.maxAttempts}</td>
            <td data-label="Cost" class="num">
              ${fmtUsd(i.cost.usd)}<br /><span class="muted">${fmtBytes(i.cost.bytesBilled)}</span>
            </td>
            <td data-label="Last run">${lastRun(i)}</td>
            <td data-label="Evidence">
              ${ev === undefined ? markup`<span class="muted">${evidence === undefined ? 'not visible to your role' : 'no runs'}</span>` : markup`${ev.runs.length} run${ev.runs.length === 1 ? '' : 's'}, chain ${ev.verified ? 'verified' : markup`<strong>not verified</strong>`}${evidenceTouched(ev.runs)}`}
            </td>
            ${canRetry ? markup`<td data-label="Retry">${retryForm(view, i, viewer)}</td>` : ''}
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}

function approvalsText(i: InstanceView): Html {
  if (i.approvals === undefined || i.approvals.length === 0) return markup``;
  return markup`<br /><span class="muted"
      >approved by ${i.approvals.map((a) => a.actor).join(', ')}</span
    >`;
}

function lastRun(i: InstanceView): Html {
  const run = i.lastRun;
  return markup`${run === undefined ? '—' : markup`${run.status} ${time(run.finishedAt)}`}
  ${i.lastError === undefined ? '' : markup`<br /><span class="error-text">${i.lastError.code}: ${i.lastError.message}</span>`}
  ${i.advice === undefined ? '' : markup`<br /><span class="muted">${i.advice}</span>`}
  ${i.skippedReason === undefined ? '' : markup`<br /><span class="muted">${i.skippedReason}</span>`}`;
}

function evidenceTouched(runs: RequestEvidence['instances'][number]['runs']): Html {
  const last = runs[runs.length - 1] as { evidence?: { touched?: unknown[] } } | undefined;
  const touched = last?.evidence?.touched;
  if (!Array.isArray(touched) || touched.length === 0) return markup``;
  return markup`<br /><span class="muted"
      >touched ${touched.length} target${touched.length === 1 ? '' : 's'}</span
    >`;
}

function retryForm(view: RequestView, i: InstanceView, viewer: Viewer): Html {
  if (i.state !== 'failed') return markup`<span class="muted">—</span>`;
  const id = `retry-${i.taskId}`;
  return markup`<form
    method="post"
    action="${path('/console/requests', view.id, 'instances', i.taskId, 'retry')}"
  >
    ${csrfInput(viewer)} ${confirmBox(`${id}-confirm`, `Retry ${i.taskId} with its current config`)}
    <button type="submit" class="secondary">Retry</button>
  </form>`;
}

function recordsLink(view: RequestView, viewer: Viewer): Html {
  if (view.type !== 'records') return markup``;
  if (!viewer.roles.has('records_reader')) {
    return markup`<p class="muted">The records package can be downloaded by a records reader.</p>`;
  }
  return markup`<p>
    <a class="button secondary" href="${path('/requests', view.id, 'records', 'package')}" download
      >Download the records package (zip)</a
    >
    <span class="muted">Each download is recorded.</span>
  </p>`;
}

function actions(view: RequestView, viewer: Viewer): Html {
  const open = isOpenStatus(view.status);
  const forms: Html[] = [];
  const base = (name: string) => path('/console/requests', view.id, name);
  const awaiting = view.instances.filter((i) => i.state === 'pending_approval');
  const pendingVerification = view.verification?.state === 'pending';
  if (open && viewer.roles.has('approver') && awaiting.length > 0) {
    forms.push(
      markup`<form method="post" action="${base('approve')}" aria-labelledby="approve-h">
        <h3 id="approve-h">Approve</h3>
        ${csrfInput(viewer)}
        <fieldset>
          <legend>Instances awaiting approval (none ticked: all of them)</legend>
          ${awaiting.map((i) => markup`<label class="check" for="approve-${i.taskId}"><input type="checkbox" id="approve-${i.taskId}" name="taskIds" value="${i.taskId}" /> ${i.taskId}</label>`)}
        </fieldset>
        ${confirmBox('approve-confirm', 'I have checked this request and approve it')}
        <button type="submit">Approve</button>
      </form>`,
    );
  }
  if (open && viewer.roles.has('approver')) {
    forms.push(
      markup`<form method="post" action="${base('deny')}" aria-labelledby="deny-h">
        <h3 id="deny-h">Deny</h3>
        ${csrfInput(viewer)}
        ${field({ id: 'deny-reason', label: 'Reason', control: select('deny-reason', 'reason', [['', 'Choose a reason'], ...DENY_REASONS.map((r) => [r, r.replace(/_/g, ' ')] as const)], undefined, markup` required`) })}
        ${field({ id: 'deny-note', label: 'Note (kept in the evidence; no identifiers)', control: markup`<textarea id="deny-note" name="note" maxlength="2000"></textarea>` })}
        ${confirmBox('deny-confirm', 'Deny this request: what has not started is cancelled')}
        <button type="submit" class="danger">Deny</button>
      </form>`,
    );
    if (view.extension === undefined) {
      forms.push(
        markup`<form method="post" action="${base('extend')}" aria-labelledby="extend-h">
          <h3 id="extend-h">Extend the deadline</h3>
          ${csrfInput(viewer)}
          ${field({ id: 'extend-reason', label: 'Reason', control: markup`<textarea id="extend-reason" name="reason" maxlength="2000" required></textarea>` })}
          ${confirmBox('extend-confirm', "Use the law's one extension for this request")}
          <button type="submit">Extend</button>
        </form>`,
      );
    }
  }
  if (
    open &&
    pendingVerification &&
    (viewer.roles.has('approver') || viewer.roles.has('requester'))
  ) {
    forms.push(
      markup`<form method="post" action="${base('verify')}" aria-labelledby="verify-h">
        <h3 id="verify-h">Record identity verification</h3>
        ${csrfInput(viewer)}
        ${field({ id: 'verify-method', label: 'How was the identity verified?', control: select('verify-method', 'method', [['', 'Choose a method'], ...VERIFICATION_METHODS.map((m) => [m, m.replace(/_/g, ' ')] as const)], undefined, markup` required`) })}
        ${field({ id: 'verify-note', label: 'Note (no identifiers)', control: markup`<textarea id="verify-note" name="note" maxlength="2000"></textarea>` })}
        ${confirmBox('verify-confirm', 'I verified the identity as stated')}
        <button type="submit">Record verification</button>
      </form>`,
    );
  }
  if (open && viewer.roles.has('operator')) {
    forms.push(
      markup`<form method="post" action="${base('cancel')}" aria-labelledby="cancel-h">
        <h3 id="cancel-h">Cancel</h3>
        ${csrfInput(viewer)}
        <p class="muted">Cancels every instance that has not started; running ones finish.</p>
        ${confirmBox('cancel-confirm', 'Cancel what has not started')}
        <button type="submit" class="danger">Cancel request</button>
      </form>`,
    );
  }
  if (forms.length === 0) {
    return markup`<p class="muted">
      ${open ? 'No action is open to your role on this request.' : 'The request is closed: no action is open.'}
    </p>`;
  }
  return markup`<div class="actions">${forms}</div>`;
}

const KIND_TEXT: Record<string, string> = {
  filed: 'Filed',
  approved: 'Approved',
  denied: 'Denied',
  verified: 'Identity verified',
  extended: 'Deadline extended',
  acknowledged: 'Acknowledged',
  cancelled: 'Cancelled',
  retried: 'Retried',
};

function timeline(evidence: RequestEvidence | undefined): Html {
  if (evidence === undefined) {
    return markup`<p class="muted">
      The activity trail is shown to auditors, operators and admins.
    </p>`;
  }
  // The ledger's actions and every run, in one list by time: what people did and what ran.
  const items: { at: string; line: Html }[] = [
    ...evidence.ledger.entries.map((e) => ({
      at: e.at,
      line: markup`<strong>${KIND_TEXT[e.kind] ?? e.kind}</strong> by ${e.actor}${e.taskIds === undefined ? '' : markup` (${e.taskIds.join(', ')})`}${detailText(e)}`,
    })),
    ...evidence.instances.flatMap((i) =>
      i.runs.map((run) => ({
        at: run.finishedAt,
        line: markup`Run of <strong>${i.taskId}</strong> (attempt ${run.attempt}): ${run.status}`,
      })),
    ),
  ].sort((a, b) => a.at.localeCompare(b.at));
  return markup`<p>
      Evidence chain:
      ${evidence.verified ? markup`${tag('ok', 'verified')} every chain checks against its head` : markup`${tag('failed', 'not verified')} ${evidence.problems.join('; ')}`}
    </p>
    <ol class="timeline">
      ${items.map((item) => markup`<li>${time(item.at)}: ${item.line}</li>`)}
    </ol>`;
}

function detailText(e: LedgerEntry): Html {
  const d = e.details ?? {};
  const parts: string[] = [];
  for (const key of ['reason', 'method', 'note', 'dueAt']) {
    const v = Object.hasOwn(d, key) ? d[key] : undefined;
    if (typeof v === 'string') parts.push(`${key}: ${v}`);
  }
  return parts.length === 0 ? markup`` : markup`: ${parts.join('; ')}`;
}
