import { cellText, renderPairs, renderTable, type Column, type View } from '../output';
import { costLine } from '../progress';
import { shortTime, usd } from './shared';

/** The columns of `requests list`. */
export const REQUEST_COLUMNS: Column[] = [
  { header: 'ID', path: 'id' },
  { header: 'TYPE', path: 'type' },
  { header: 'STATUS', path: 'status' },
  { header: 'REGULATION', path: 'regulation' },
  { header: 'EXTERNAL_ID', path: 'externalId' },
  { header: 'RECEIVED', path: 'receivedAt', show: shortTime },
  { header: 'DUE', path: 'dueAt', show: shortTime },
  { header: 'DAYS_LEFT', path: 'daysLeft' },
  { header: 'RISK', path: 'deadlineRisk' },
  { header: 'USD', path: 'cost.usd', show: usd },
];

const INSTANCE_COLUMNS: Column[] = [
  { header: 'TASK', path: 'taskId' },
  { header: 'STATE', path: 'state' },
  {
    header: 'ATTEMPTS',
    path: 'attempts',
    show: (v, row) => `${cellText(v)}/${cellText(row['maxAttempts'])}`,
  },
  { header: 'USD', path: 'cost.usd', show: usd },
  {
    header: 'LAST',
    path: 'lastError',
    show: (v, row) => {
      const err = v as { code?: string; message?: string } | undefined;
      if (err?.code !== undefined) return `${err.code}: ${err.message ?? ''}`;
      const skipped = row['skippedReason'];
      return typeof skipped === 'string' ? `skipped: ${skipped}` : '';
    },
  },
];

type RequestLike = Record<string, unknown> & { instances?: Record<string, unknown>[] };

/** `requests show` as a table: the request's fields, then its instances. */
export function describeRequest(data: unknown): string {
  const r = (data ?? {}) as RequestLike;
  const denial = r['denial'] as { reason?: string; by?: string } | undefined;
  const verification = r['verification'] as { state?: string; method?: string } | undefined;
  const pairs: [string, unknown][] = [
    ['id', r['id']],
    ['type', r['type']],
    ['status', r['status']],
    ['regulation', r['regulation']],
    ['externalId', r['externalId']],
    ['dryRun', r['dryRun'] === true ? true : undefined],
    ['received', shortTime(r['receivedAt'])],
    ['due', shortTime(r['dueAt'])],
    ['daysLeft', r['daysLeft']],
    ['deadlineRisk', r['deadlineRisk']],
    ['verification', verification?.state],
    ['denied', denial === undefined ? undefined : `${denial.reason ?? ''} by ${denial.by ?? ''}`],
    ['filedBy', r['filedBy']],
    ['identifiers', r['subjectIdentifiers']],
    ['completed', shortTime(r['completedAt'])],
    ['cost', costLine(r['cost'] as { bytesBilled?: number; usd?: number } | undefined)],
    ['notes', r['notes']],
  ];
  const instances = r.instances ?? [];
  return `${renderPairs(pairs)}\n${renderTable(instances, INSTANCE_COLUMNS)}`;
}

/** A request (`show`, the actions' answers, `watch`'s last word). */
export const requestView: View = {
  rows: (data) =>
    data !== null && typeof data === 'object' ? [data as Record<string, unknown>] : [],
  columns: REQUEST_COLUMNS,
  describe: describeRequest,
};
