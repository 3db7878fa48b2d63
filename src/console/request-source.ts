import type { AppDeps } from '../app/deps';
import { getRequestView, listRequests, type RequestRow } from '../app/requests';
import { NotFoundError } from '../domain/errors';
import { REQUEST_ID_PATTERN } from '../domain/ids';
import { parseRequestFilter, type RequestFilter } from '../domain/request-filter';

export type { RequestRow };

/** The statuses of work still to do: the console's default view. */
export const OPEN_STATUSES = 'awaiting_verification,awaiting_approval,in_progress';

/** The list filters the console offers: GET /requests' own, plus a free search box. */
export interface ConsoleRequestQuery {
  /** A request id or an externalId. */
  q?: string;
  /** The query as given, blanks dropped, for the form and the paging links. */
  given: Record<string, string>;
  filter: RequestFilter;
}

/** Form values the console passes to GET /requests' filter as they are. */
const FILTER_FIELDS = [
  'status',
  'type',
  'regulation',
  'deadlineRisk',
  'overdue',
  'filedFrom',
  'filedTo',
  'dueBefore',
  'dryRun',
  'task',
  'sort',
  'cursor',
] as const;

/**
 * The console's list query: the API's filter (parsed by the same `parseRequestFilter`, so a bad
 * value is the same 400 naming it), with the console's defaults: open requests, soonest
 * deadline first. `status=all` lifts the status filter; `q` searches by id or externalId.
 */
export function parseConsoleQuery(
  query: Record<string, unknown>,
  timeZone: string,
): ConsoleRequestQuery {
  const given: Record<string, string> = {};
  for (const name of ['q', ...FILTER_FIELDS]) {
    const value = Object.hasOwn(query, name) ? query[name] : undefined;
    if (typeof value === 'string' && value.trim() !== '') given[name] = value.trim();
  }
  const q = given['q'];
  const input: Record<string, string> = { sort: 'dueAt', status: OPEN_STATUSES };
  for (const name of FILTER_FIELDS) {
    const value = given[name];
    if (value !== undefined) input[name] = value;
  }
  if (input['status'] === 'all' || q !== undefined) delete input['status'];
  if (q !== undefined && !REQUEST_ID_PATTERN.test(q)) input['externalId'] = q;
  const filter = parseRequestFilter(input, { prefix: ['query'], timeZone });
  return { ...(q === undefined ? {} : { q }), given, filter };
}

/** One page of requests for the console, through the same use case as GET /requests. */
export async function loadRequests(
  deps: AppDeps,
  query: ConsoleRequestQuery,
  ownedBy: string | undefined,
): Promise<{ items: RequestRow[]; nextCursor?: string }> {
  if (query.q !== undefined && REQUEST_ID_PATTERN.test(query.q)) {
    try {
      const { instances: _omit, ...row } = await getRequestView(deps, query.q, ownedBy);
      return { items: [row] };
    } catch (err) {
      if (err instanceof NotFoundError) return { items: [] };
      throw err;
    }
  }
  return listRequests(deps, query.filter, ownedBy);
}
