import { getOperation } from '../../app/bulk-operations';
import type { OperationView } from '../../domain/bulk-operation';
import { requestFilterToQuery } from '../../domain/request-filter';
import type { HttpResponse } from '../../http/types';
import { markup, path, type Html } from '../html';
import { htmlResponse, page, tag, time } from '../layout';
import type { ConsoleCall } from '../router';

/** `GET /console/operations/:id`: a bulk action's progress (as GET /operations/:id). */
export async function operationPage(call: ConsoleCall): Promise<HttpResponse> {
  const op = await getOperation(call.ctx.deps, call.operationId);
  const p = op.progress;
  const filter = Object.entries(requestFilterToQuery(op.filter)).filter(
    ([name, value]) => !(name === 'dryRun' && value === 'false'),
  );
  return htmlResponse(
    page({
      title: `Bulk ${op.action}`,
      section: 'requests',
      viewer: call.viewer,
      body: markup`<p><a href="/console/requests">Back to the requests</a></p>
        <dl class="facts" id="operation">
          <dt>Operation</dt>
          <dd><code>${op.id}</code></dd>
          <dt>State</dt>
          <dd>${stateTag(op)}</dd>
          <dt>Action</dt>
          <dd>${op.action}</dd>
          <dt>Reason</dt>
          <dd>${op.reason}</dd>
          <dt>Filter</dt>
          <dd>
            ${filter.map(([name, value], i) => markup`${i === 0 ? '' : '; '}${name} <code>${value.replace(/,/g, ', ')}</code>`)}
          </dd>
          <dt>Filed by</dt>
          <dd>${op.actor}</dd>
          <dt>Filed</dt>
          <dd>${time(op.createdAt)}</dd>
          <dt>Finished</dt>
          <dd>${op.finishedAt === undefined ? markup`<span class="muted">not yet</span>` : time(op.finishedAt)}</dd>
        </dl>
        ${
          op.state === 'running'
            ? markup`<p class="notice" role="status">
                Dispatch works through the matches a page at a time: reload this page to see its
                progress.
              </p>`
            : ''
        }
        <h2 id="progress">Progress</h2>
        <div class="table-wrap">
          <table id="counts">
            <thead>
              <tr>
                <th scope="col">Matched</th>
                <th scope="col">Processed</th>
                <th scope="col">Succeeded</th>
                <th scope="col">Skipped</th>
                <th scope="col">Failed</th>
                <th scope="col">Pages</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <td class="num" data-count="matched">${p.matched}</td>
                <td class="num" data-count="processed">${p.processed}</td>
                <td class="num" data-count="succeeded">${p.succeeded}</td>
                <td class="num" data-count="skipped">${p.skipped}</td>
                <td class="num" data-count="failed">${p.failed}</td>
                <td class="num" data-count="pages">${p.pages}</td>
              </tr>
            </tbody>
          </table>
        </div>
        <p class="muted">
          Skipped: nothing to do for that request (approved or retried already, nothing left to
          cancel).
        </p>
        <h2 id="failures">Failures</h2>
        ${failures(op)}`,
    }),
  );
}

function stateTag(op: OperationView): Html {
  if (op.state === 'running') return tag('in_progress', 'running');
  return op.progress.failed > 0
    ? tag('completed_with_errors', 'done with failures')
    : tag('completed', 'done');
}

function failures(op: OperationView): Html {
  if (op.failures.length === 0) return markup`<p>None.</p>`;
  return markup`<div class="table-wrap">
      <table class="responsive" id="failure-list">
        <thead>
          <tr>
            <th scope="col">Request</th>
            <th scope="col">Task</th>
            <th scope="col">Code</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          ${op.failures.map(
            (f) =>
              markup`<tr>
                <th scope="row" data-label="Request">
                  <a href="${path('/console/requests', f.requestId)}"><code>${f.requestId}</code></a>
                </th>
                <td data-label="Task">${f.taskId ?? '—'}</td>
                <td data-label="Code"><code>${f.code}</code></td>
                <td data-label="Message">${f.message}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${op.failuresOmitted === 0 ? '' : markup`<p class="muted">And ${op.failuresOmitted} more failures not kept.</p>`}`;
}
