import type { RequestScan } from '../../ports/request-store';
import type { IndexOrder } from './indexes';

/**
 * How a request listing's indexed read (`RequestStore.listRequests`) becomes one Firestore query,
 * as data: the store runs exactly this plan, and a unit test checks that every shape it can take
 * has its composite index in indexes.ts (the emulator serves any query, indexed or not).
 *
 * Why so few shapes: Firestore needs a composite index for each combination of equality
 * filters with an order, and GET /requests has eleven filters and two orders. So the query
 * holds at most these, each always in the same place of the index:
 *   `createdBy ==` (a requester's own) | `status in [...]` (operators),
 *   `dryRun ==` (always: dry runs are listed only when asked for),
 *   a range on the order field, the order field, then the id.
 * Every other filter (type, regulation, overdue, deadline risk, task, a range on the other date,
 * statuses for a requester) is applied in memory to this ordered scan, a bounded number of
 * documents per page (src/app/request-listing.ts). An externalId names one request, so it is an
 * equality on one field that Firestore's automatic single-field index serves.
 */

export interface ScanPlan {
  /** `field == value` or `field in [values]`, in index order. */
  filters: readonly { field: string; op: '==' | 'in'; value: unknown }[];
  /** A range on the order field. */
  range: readonly { op: '>=' | '<'; value: string }[];
  orderBy: { field: 'receivedAt' | 'dueAt'; direction: 'asc' | 'desc' };
}

/** The direction each order reads in: newest filed first, soonest due first. */
export const SCAN_DIRECTION = { receivedAt: 'desc', dueAt: 'asc' } as const;

export function planRequestScan(scan: RequestScan): ScanPlan {
  const filters: ScanPlan['filters'][number][] = [];
  if (scan.by.kind === 'owner')
    filters.push({ field: 'createdBy', op: '==', value: scan.by.createdBy });
  filters.push({ field: 'dryRun', op: '==', value: scan.dryRun });
  if (scan.by.kind === 'status')
    filters.push({ field: 'status', op: 'in', value: [...scan.by.statuses] });
  const range: ScanPlan['range'][number][] = [];
  if (scan.from !== undefined) range.push({ op: '>=', value: scan.from });
  if (scan.before !== undefined) range.push({ op: '<', value: scan.before });
  return {
    filters,
    range,
    orderBy: { field: scan.orderBy, direction: SCAN_DIRECTION[scan.orderBy] },
  };
}

/**
 * The composite index a plan needs: its filters' fields (an `in` is served like an equality),
 * then the order field in its direction (the range is on that field, so it needs nothing more).
 */
export function indexFieldsOf(plan: ScanPlan): { fieldPath: string; order: IndexOrder }[] {
  return [
    ...plan.filters.map((f) => ({ fieldPath: f.field, order: 'ASCENDING' as const })),
    {
      fieldPath: plan.orderBy.field,
      order: plan.orderBy.direction === 'asc' ? ('ASCENDING' as const) : ('DESCENDING' as const),
    },
  ];
}
