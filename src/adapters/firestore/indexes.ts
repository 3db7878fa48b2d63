/**
 * The indexes the store's queries need, as data: Terraform (`google_firestore_index` and
 * `google_firestore_field`) is checked against this list. Firestore builds single-field
 * indexes with collection scope by itself; collection-group scope and composites must be
 * declared.
 */

import type { InstanceQuery } from '../../ports/request-store';

export type IndexOrder = 'ASCENDING' | 'DESCENDING';

export interface CompositeIndex {
  collectionGroup: string;
  queryScope: 'COLLECTION' | 'COLLECTION_GROUP';
  fields: readonly { fieldPath: string; order: IndexOrder }[];
  /** Which store method needs it. */
  usedBy: readonly string[];
}

/** A single-field index with collection-group scope (`google_firestore_field`). */
export interface FieldOverride {
  collectionGroup: string;
  fieldPath: string;
  queryScope: 'COLLECTION_GROUP';
  order: IndexOrder;
  usedBy: readonly string[];
}

const DUE_FIELDS = [
  'leaseExpiresAt',
  'nextAttemptAt',
  'scheduleTime',
  'updatedAt',
] as const satisfies readonly NonNullable<InstanceQuery['dueField']>[];

const asc = (fieldPath: string) => ({ fieldPath, order: 'ASCENDING' as const });

/** queryInstances: `state in [...]` and `dueField <= t`, ordered by the due field. */
const instancesDueBy = (dueField: string): CompositeIndex => ({
  collectionGroup: 'instances',
  queryScope: 'COLLECTION_GROUP',
  fields: [asc('state'), asc(dueField)],
  usedBy: [`queryInstances (dueField ${dueField})`],
});

/** Equality filters on requests, newest first. */
const requestsNewestFirst = (usedBy: string, ...equalities: string[]): CompositeIndex => ({
  collectionGroup: 'requests',
  queryScope: 'COLLECTION',
  fields: [...equalities.map(asc), { fieldPath: 'createdAt', order: 'DESCENDING' }],
  usedBy: [usedBy],
});

/**
 * GET /requests (request-scan.ts): `[createdBy ==] dryRun == [status in]`, ordered by
 * receivedAt newest first or by dueAt soonest first. Six indexes serve every filter: the rest
 * is applied in memory to this scan.
 */
const REQUEST_LISTING_ORDERS = [
  { fieldPath: 'receivedAt', order: 'DESCENDING' },
  { fieldPath: 'dueAt', order: 'ASCENDING' },
] as const;
const requestListing = (by: string, ...equalities: string[]): CompositeIndex[] =>
  REQUEST_LISTING_ORDERS.map((orderBy) => ({
    collectionGroup: 'requests',
    queryScope: 'COLLECTION',
    fields: [...equalities.map(asc), orderBy],
    usedBy: [`listRequests (${by}, by ${orderBy.fieldPath})`],
  }));

export const COMPOSITE_INDEXES: readonly CompositeIndex[] = [
  ...DUE_FIELDS.map(instancesDueBy),
  // A paused task's waiting instances (a count), a resumed task's paused ones (paged by id):
  // `state in [...]` and `taskId ==` (task-pause.ts).
  {
    collectionGroup: 'instances',
    queryScope: 'COLLECTION_GROUP',
    fields: [asc('state'), asc('taskId')],
    usedBy: ['queryInstances (taskId)', 'countTaskInstances'],
  },
  ...requestListing('every request', 'dryRun'),
  ...requestListing('statuses', 'dryRun', 'status'),
  // A caller who is only a requester lists the requests they filed.
  ...requestListing('a filer', 'createdBy', 'dryRun'),
  requestsNewestFirst('findRequestsBySubject', 'subjectHash', 'type'),
  {
    collectionGroup: 'requests',
    queryScope: 'COLLECTION',
    fields: [asc('minimised'), asc('completedAt')],
    usedBy: ['queryRequestsToMinimise'],
  },
  // GET /costs: the task audits in a range, across every task's ledger (cost-queries.ts).
  {
    collectionGroup: 'ledger',
    queryScope: 'COLLECTION_GROUP',
    fields: [asc('kind'), asc('at')],
    usedBy: ['queryAuditRuns'],
  },
  // Dispatch re-arms overdue flushes: `state in [open, closed, flushing]` and `dueAt < t`,
  // ordered by dueAt (batch-store.ts).
  {
    collectionGroup: 'batches',
    queryScope: 'COLLECTION',
    fields: [asc('state'), asc('dueAt')],
    usedBy: ['BatchStore.listDue'],
  },
];

export const FIELD_OVERRIDES: readonly FieldOverride[] = [
  {
    collectionGroup: 'instances',
    fieldPath: 'state',
    queryScope: 'COLLECTION_GROUP',
    order: 'ASCENDING',
    usedBy: ['queryInstances (no dueField)'],
  },
  {
    collectionGroup: 'runs',
    fieldPath: 'requestId',
    queryScope: 'COLLECTION_GROUP',
    order: 'ASCENDING',
    usedBy: ['listRuns'],
  },
  {
    collectionGroup: 'runs',
    fieldPath: 'finishedAt',
    queryScope: 'COLLECTION_GROUP',
    order: 'ASCENDING',
    usedBy: ['queryRunsFinished (GET /costs)'],
  },
];
