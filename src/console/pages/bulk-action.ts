import { fileBulkOperation } from '../../app/bulk-operations';
import type { Role } from '../../domain/access';
import { BULK_ACTION_ROLES, BULK_ACTIONS, type BulkAction } from '../../domain/bulk-operation';
import { ValidationError, type FieldIssue } from '../../domain/errors';
import {
  REQUEST_FILTER_FIELDS,
  requestFilterToQuery,
  type RequestFilter,
} from '../../domain/request-filter';
import type { HttpResponse } from '../../http/types';
import { invalid, text } from '../form';
import { markup, path, type Html } from '../html';
import { confirmBox, csrfInput, field, seeOther, select, type Viewer } from '../layout';
import type { ConsoleCall } from '../router';
import { renderRequests } from './requests';

/**
 * The console's bulk actions (as `POST /requests:bulk`): the Requests page offers the action
 * on every request its filter matches, on every page, carrying that filter in hidden fields;
 * `POST /console/operations` files the operation through the API's own use case (the same
 * parse, the same 400s and the same role per action) and answers 303 to its progress page.
 */

/** Who may file some bulk action: the route's check; each action's own role is checked after. */
export const BULK_ROLES: readonly Role[] = [...new Set(Object.values(BULK_ACTION_ROLES))];

/** The hidden fields carry the filter as `filter.<name>`, as the API's body nests it. */
const FILTER_PREFIX = 'filter.';

const LABELS: Record<BulkAction, string> = {
  approve: 'Approve what awaits approval',
  retry: 'Retry failed instances',
  cancel: 'Cancel what has not finished',
};

/** A bulk form refused (400): what was typed, and why, to show on the Requests page again. */
export interface BulkRefusal {
  action?: string;
  reason?: string;
  message: string;
  issues: FieldIssue[];
}

/** The actions the viewer's roles allow. */
export function bulkActionsFor(viewer: Pick<Viewer, 'roles'>): BulkAction[] {
  return BULK_ACTIONS.filter((a) => viewer.roles.has(BULK_ACTION_ROLES[a]));
}

/** The criteria of a listing's filter as the form's hidden fields (no sort, limit or cursor). */
function criteriaFields(filter: RequestFilter): [string, string][] {
  const query = requestFilterToQuery(filter);
  return REQUEST_FILTER_FIELDS.filter((f) => query[f] !== undefined).map((f) => [
    f,
    query[f] as string,
  ]);
}

/** The filter in words, so the caller sees what the action will sweep. */
function describe(fields: readonly [string, string][]): Html {
  const shown = fields.filter(([name, value]) => !(name === 'dryRun' && value === 'false'));
  if (shown.length === 0) return markup`<em>no criterion</em>`;
  return markup`${shown.map(
    ([name, value], i) =>
      markup`${i === 0 ? '' : '; '}${name} <code>${value.replace(/,/g, ', ')}</code>`,
  )}`;
}

/** "Bulk action on these matches": only for a viewer who may take one of the actions. */
export function bulkForm(
  viewer: Viewer,
  filter: RequestFilter,
  refusal: BulkRefusal | undefined,
): Html {
  const actions = bulkActionsFor(viewer);
  if (actions.length === 0) return markup``;
  const fields = criteriaFields(filter);
  const errorOf = (name: string) =>
    refusal?.issues.find((i) => i.path === name)?.message ?? undefined;
  const filterIssues = (refusal?.issues ?? []).filter(
    (i) => i.path === 'filter' || i.path.startsWith(FILTER_PREFIX) || i.path === '',
  );
  return markup`<section aria-labelledby="bulk-h">
    <h2 id="bulk-h">Bulk action on these matches</h2>
    ${
      refusal === undefined
        ? ''
        : markup`<div class="notice error" role="alert" id="bulk-refusal">
            <p><strong>The bulk action was not filed.</strong> ${refusal.message}</p>
            ${
              filterIssues.length === 0
                ? ''
                : markup`<ul>
                    ${filterIssues.map((i) => markup`<li><code>${i.path || '(body)'}</code>: ${i.message}</li>`)}
                  </ul>`
            }
          </div>`
    }
    <form method="post" action="/console/operations" class="panel" id="bulk">
      ${csrfInput(viewer)}
      ${fields.map(
        ([name, value]) =>
          markup`<input type="hidden" name="${FILTER_PREFIX}${name}" value="${value}" />`,
      )}
      <p>
        Applies to every request this filter matches, on every page, that was filed before you
        send it: ${describe(fields)}. Dispatch carries it out in pages; its progress has its own
        page.
      </p>
      ${field({
        id: 'bulk-action',
        label: 'Action',
        control: select(
          'bulk-action',
          'action',
          actions.map((a) => [a, LABELS[a]] as const),
          refusal?.action,
        ),
        error: errorOf('action'),
      })}
      ${field({
        id: 'bulk-reason',
        label: 'Reason (required, recorded with the operation)',
        control: markup`<textarea id="bulk-reason" name="reason" maxlength="500" required>${refusal?.reason ?? ''}</textarea>`,
        error: errorOf('reason'),
      })}
      ${confirmBox('bulk-confirm', 'Take this action on every matching request')}
      ${errorOf('confirm') === undefined ? '' : markup`<span class="error-text" role="alert">${errorOf('confirm')}</span>`}
      <p><button type="submit" class="danger">Start the bulk action</button></p>
    </form>
  </section>`;
}

/**
 * `POST /console/operations`: the form's fields as the API's body. A refusal (400) shows the
 * Requests page again with the same filter and the field errors; a role refusal is a 403.
 */
export async function bulkSubmit(call: ConsoleCall): Promise<HttpResponse> {
  const filter: Record<string, string> = {};
  for (const [name, value] of call.form) {
    if (name.startsWith(FILTER_PREFIX)) filter[name.slice(FILTER_PREFIX.length)] = value;
  }
  const action = text(call.form, 'action');
  const reason = call.form.get('reason');
  try {
    if (call.form.get('confirm') !== 'yes') {
      throw invalid('confirm', 'tick the confirmation box to take this action');
    }
    const { operationId } = await fileBulkOperation(
      call.ctx.deps,
      { filter, ...(action === undefined ? {} : { action }), reason: reason ?? '' },
      { identity: call.viewer.identity, roles: call.viewer.roles },
    );
    return seeOther(path('/console/operations', operationId));
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const refusal: BulkRefusal = {
      ...(action === undefined ? {} : { action }),
      ...(reason === undefined ? {} : { reason }),
      message: err.message,
      issues: err.issues,
    };
    const query: Record<string, string> = { ...filter };
    // The Requests page's own names: a search box for externalId, `all` for no status filter.
    if (query['externalId'] !== undefined) {
      query['q'] = query['externalId'];
      delete query['externalId'];
    }
    if (query['status'] === undefined) query['status'] = 'all';
    try {
      return await renderRequests(call, query, refusal, 400);
    } catch (shown) {
      // The carried filter itself is bad (a forged form): the error page names its fields.
      throw shown instanceof ValidationError ? err : shown;
    }
  }
}
