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

export const COMPOSITE_INDEXES: readonly CompositeIndex[] = [
  ...DUE_FIELDS.map(instancesDueBy),
  requestsNewestFirst('listRequests (status)', 'status'),
  requestsNewestFirst('listRequests (overdue)', 'overdue'),
  requestsNewestFirst('listRequests (status and overdue)', 'status', 'overdue'),
  // A caller who is only a requester lists the requests they filed.
  requestsNewestFirst('listRequests (createdBy)', 'createdBy'),
  requestsNewestFirst('listRequests (createdBy and status)', 'createdBy', 'status'),
  requestsNewestFirst('listRequests (createdBy and overdue)', 'createdBy', 'overdue'),
  requestsNewestFirst(
    'listRequests (createdBy, status and overdue)',
    'createdBy',
    'status',
    'overdue',
  ),
  requestsNewestFirst('findRequestsBySubject', 'subjectHash', 'type'),
  {
    collectionGroup: 'requests',
    queryScope: 'COLLECTION',
    fields: [asc('minimised'), asc('completedAt')],
    usedBy: ['queryRequestsToMinimise'],
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
];
