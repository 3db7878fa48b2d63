import type { Role } from '../../domain/access';
import { REGULATIONS, REQUEST_STATUSES, REQUEST_TYPES } from '../../domain/model';
import type { HttpResponse } from '../../http/types';
import { markup, path, query as qs, type Html } from '../html';
import { field, fmtUsd, htmlResponse, page, select, tag, time } from '../layout';
import {
  loadRequests,
  OPEN_STATUSES,
  parseConsoleQuery,
  type ConsoleRequestQuery,
  type RequestRow,
} from '../request-source';
import type { ConsoleCall } from '../router';
import { bulkForm, type BulkRefusal } from './bulk-action';
import { daysText } from './request';

const READ_ALL: readonly Role[] = ['approver', 'operator', 'auditor', 'admin'];

const options = (values: readonly string[], any: string) =>
  [['', any], ...values.map((v) => [v, v.replace(/_/g, ' ')] as const)] as const;

/** `GET /console/requests`: open requests by days left, with filters, search and paging. */
export async function requestsPage(call: ConsoleCall): Promise<HttpResponse> {
  return renderRequests(call, call.req.query);
}

/** The Requests page for `given` (a query), with a refused bulk form's errors when there are. */
export async function renderRequests(
  call: ConsoleCall,
  given: Record<string, unknown>,
  refusal?: BulkRefusal,
  status = 200,
): Promise<HttpResponse> {
  const { ctx, viewer } = call;
  const query = parseConsoleQuery(given, ctx.deps.settings.businessTimeZone);
  const own = READ_ALL.some((r) => viewer.roles.has(r)) ? undefined : viewer.identity;
  const { items, nextCursor } = await loadRequests(ctx.deps, query, own);
  const { cursor, ...kept } = query.given;
  return htmlResponse(
    page({
      title: 'Requests',
      section: 'requests',
      viewer,
      body: markup` ${filters(query)}
        ${own === undefined ? '' : markup`<p class="muted">You see the requests you filed.</p>`}
        ${items.length === 0 ? markup`<p class="notice" role="status">No request matches.</p>` : table(items)}
        <nav class="pager" aria-label="Pages">
          ${cursor === undefined ? '' : markup`<a href="/console/requests${qs(kept)}">First page</a>`}
          ${nextCursor === undefined ? '' : markup`<a href="/console/requests${qs({ ...kept, cursor: nextCursor })}">Next page</a>`}
        </nav>
        ${
          // A search by request id shows that one request: its own page has the actions.
          // Nothing matched: nothing to act on.
          (query.q !== undefined && query.filter.externalId === undefined) ||
          (items.length === 0 && refusal === undefined)
            ? ''
            : bulkForm(viewer, query.filter, refusal)
        }`,
    }),
    status,
  );
}

function filters(query: ConsoleRequestQuery): Html {
  const g = query.given;
  const date = (name: string, label: string) =>
    field({
      id: name,
      label,
      control: markup`<input
        type="date"
        id="${name}"
        name="${name}"
        value="${/^\d{4}-\d{2}-\d{2}$/.test(g[name] ?? '') ? g[name] : ''}"
      />`,
    });
  return markup`<form
    class="filters"
    method="get"
    action="/console/requests"
    role="search"
    aria-label="Find requests"
  >
    ${field({ id: 'q', label: 'Request id or external id', control: markup`<input type="search" id="q" name="q" value="${g['q'] ?? ''}" maxlength="200" autocomplete="off" />` })}
    ${field({ id: 'status', label: 'Status', control: select('status', 'status', [['', 'Open (not closed)'], ['all', 'Any status'], ...REQUEST_STATUSES.map((s) => [s, s.replace(/_/g, ' ')] as const)], g['status'] === OPEN_STATUSES ? '' : g['status']) })}
    ${field({ id: 'type', label: 'Type', control: select('type', 'type', options(REQUEST_TYPES, 'Any type'), g['type']) })}
    ${field({ id: 'regulation', label: 'Regulation', control: select('regulation', 'regulation', options(REGULATIONS, 'Any regulation'), g['regulation']) })}
    ${field({
      id: 'deadlineRisk',
      label: 'Deadline',
      control: select(
        'deadlineRisk',
        'deadlineRisk',
        [
          ['', 'Any deadline'],
          ['overdue', 'overdue'],
          ['at_risk', 'at risk'],
          ['at_risk,overdue', 'at risk or overdue'],
          ['ok', 'on time'],
        ],
        g['deadlineRisk'],
      ),
    })}
    ${date('filedFrom', 'Filed from')} ${date('filedTo', 'Filed before')}
    ${field({ id: 'task', label: 'Task id', control: markup`<input type="text" id="task" name="task" value="${g['task'] ?? ''}" maxlength="63" />` })}
    ${field({
      id: 'sort',
      label: 'Order',
      control: select(
        'sort',
        'sort',
        [
          ['', 'Soonest deadline first'],
          ['filedAt', 'Newest filed first'],
        ],
        g['sort'] === 'dueAt' ? '' : g['sort'],
      ),
    })}
    <div class="field">
      <label class="check" for="dryRun"
        ><input
          type="checkbox"
          id="dryRun"
          name="dryRun"
          value="true"
          ${g['dryRun'] === 'true' ? markup` checked` : ''}
        />
        Dry runs only</label
      >
    </div>
    <div class="field"><button type="submit">Apply</button></div>
    <div class="field"><a href="/console/requests">Clear filters</a></div>
  </form>`;
}

function table(items: readonly RequestRow[]): Html {
  return markup`<div class="table-wrap">
    <table class="responsive" id="requests">
      <caption class="muted">
        Overdue rows are red and at-risk rows amber (under 25 % of the period left); each also says
        so in words.
      </caption>
      <thead>
        <tr>
          <th scope="col">Request</th>
          <th scope="col">Type</th>
          <th scope="col">Status</th>
          <th scope="col">Deadline</th>
          <th scope="col">Due</th>
          <th scope="col">Received</th>
          <th scope="col" class="num">Cost</th>
        </tr>
      </thead>
      <tbody>
        ${items.map(
          (r) =>
            markup`<tr
              class="${r.daysLeft === undefined ? '' : r.deadlineRisk}"
              data-request-id="${r.id}"
            >
              <th scope="row" data-label="Request">
                <a href="${path('/console/requests', r.id)}">${r.externalId ?? r.id}</a
                >${r.externalId === undefined ? '' : markup`<br /><span class="muted"><code>${r.id}</code></span>`}${r.dryRun ? markup` ${tag('dry_run', 'dry run')}` : ''}
              </th>
              <td data-label="Type">${r.type}<br /><span class="muted">${r.regulation}</span></td>
              <td data-label="Status">${tag(r.status)}</td>
              <td data-label="Deadline">
                ${r.daysLeft === undefined ? markup`<span class="muted">closed</span>` : markup`${tag(r.deadlineRisk, r.deadlineRisk === 'ok' ? 'on time' : undefined)} ${daysText(r.daysLeft)}`}
              </td>
              <td data-label="Due">${time(r.dueAt)}</td>
              <td data-label="Received">${time(r.receivedAt)}</td>
              <td data-label="Cost" class="num">${fmtUsd(r.cost.usd)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
