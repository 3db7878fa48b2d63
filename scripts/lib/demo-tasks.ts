import type { RegisterTaskInput } from '../../src/domain/model';

const GiB = 2 ** 30;
/** The demo sessions table keeps ten years; the lookback covers all of it. */
const SESSIONS_RETENTION_DAYS = 3650;
/** Emails as people typed them: trimmed and lower-cased on both sides. */
const EMAIL_AS_TYPED = { path: 'email', normalise: 'email' } as const;
/** GA4 keeps the email in the repeated user_properties: key `email`, value.string_value. */
const GA4_EMAIL = {
  path: 'user_properties',
  kind: 'keyValue',
  key: 'email',
  normalise: 'email',
} as const;
/** What the demo warehouse tasks have in common. */
/**
 * The demo's deletions batch as deployed ones do, but close after 5 s rather than the default
 * 15 minutes, so the README's examples finish while you watch (docs/jobs.md, "Batches").
 */
const DEMO_BATCH = { maxSubjects: 1000, maxWaitSeconds: 5 } as const;

const WAREHOUSE_TASK = {
  timeoutSeconds: 120,
  maxAttempts: 3,
  retryPolicy: { minBackoffSeconds: 5, maxBackoffSeconds: 300, maxDoublings: 3 },
  team: 'data-platform',
  teamContact: 'data-platform@example.com',
  dataSource: 'bigquery',
} satisfies Partial<RegisterTaskInput>;

/**
 * The tasks `npm start` registers (idempotently), so a fresh stack has something to run. The
 * `warehouse-*` ones run on the demo warehouse in the BigQuery emulator (demo-warehouse.ts).
 */
export const DEMO_TASKS: RegisterTaskInput[] = [
  {
    id: 'crm-contact-erasure',
    name: 'Erase the CRM contact',
    jobType: 'deletion',
    executor: 'demo.sleep',
    config: { ms: 200 },
    requiredIdentifiers: ['email'],
    timeoutSeconds: 30,
    maxAttempts: 3,
    retryPolicy: { minBackoffSeconds: 1, maxBackoffSeconds: 5, maxDoublings: 2 },
    team: 'crm',
    teamContact: 'crm-oncall@example.com',
    description: 'Deletes the contact record in the CRM.',
    dataSource: 'crm',
  },
  {
    id: 'support-tickets-erasure',
    name: 'Redact support tickets',
    jobType: 'deletion',
    executor: 'noop',
    config: {},
    requiredIdentifiers: ['userId'],
    timeoutSeconds: 30,
    maxAttempts: 3,
    retryPolicy: { minBackoffSeconds: 1, maxBackoffSeconds: 5, maxDoublings: 2 },
    team: 'support',
    description: 'Redacts the subject from support tickets.',
    dataSource: 'helpdesk',
  },
  {
    id: 'ga-user-deletion',
    name: 'GA user deletion',
    jobType: 'deletion',
    executor: 'demo.sleep',
    config: { ms: 100 },
    requiredIdentifiers: ['gaClientId'],
    requiresApproval: true,
    timeoutSeconds: 30,
    maxAttempts: 3,
    retryPolicy: { minBackoffSeconds: 1, maxBackoffSeconds: 5, maxDoublings: 2 },
    team: 'analytics',
    description: 'Deletes the GA client id through the User Deletion API (needs approval).',
    dataSource: 'google-analytics',
  },
  {
    id: 'crm-contact-export',
    name: 'Export the CRM contact',
    jobType: 'records',
    executor: 'demo.sleep',
    config: { ms: 100 },
    requiredIdentifiers: ['email'],
    timeoutSeconds: 30,
    maxAttempts: 3,
    retryPolicy: { minBackoffSeconds: 1, maxBackoffSeconds: 5, maxDoublings: 2 },
    team: 'crm',
    description: 'Exports the contact record for a records request.',
    dataSource: 'crm',
  },
  {
    // Fails both attempts of its first series, so a request that needs it ends
    // `completed_with_errors`; an operator's retry (a new series, attempt 3 overall) succeeds.
    // Only a subject with a `legacyId` needs it (examples/retry-request.json): the other
    // examples skip it.
    id: 'legacy-crm-export',
    name: 'Export from the legacy CRM',
    jobType: 'records',
    executor: 'demo.flaky',
    config: { failAttempts: 2, ms: 100 },
    requiredIdentifiers: ['legacyId'],
    timeoutSeconds: 30,
    maxAttempts: 2,
    retryPolicy: { minBackoffSeconds: 1, maxBackoffSeconds: 1, maxDoublings: 0 },
    team: 'crm',
    teamContact: 'crm-oncall@example.com',
    description:
      'Exports the legacy CRM record. The demo system is down for the first two attempts: retry the failed instance to finish the request.',
    dataSource: 'legacy-crm',
  },
  {
    ...WAREHOUSE_TASK,
    id: 'warehouse-events-delete',
    name: 'Delete analytics events',
    jobType: 'deletion',
    executor: 'bigquery.delete',
    config: {
      table: 'warehouse.events',
      column: 'user_id',
      identifier: 'userId',
      maxBytesBilled: GiB,
      batch: DEMO_BATCH,
    },
    description: "Deletes the subject's rows from warehouse.events.",
  },
  {
    ...WAREHOUSE_TASK,
    id: 'warehouse-entries-owner-null',
    name: 'Remove the owner of entries',
    jobType: 'deletion',
    executor: 'bigquery.nullify',
    config: {
      table: 'warehouse.entries',
      columns: ['owner_id', 'owner_email'],
      whereColumn: 'owner_id',
      identifier: 'userId',
      maxBytesBilled: GiB,
      batch: DEMO_BATCH,
    },
    description: 'Sets owner_id and owner_email to NULL in the entries the subject owns.',
  },
  {
    ...WAREHOUSE_TASK,
    id: 'warehouse-contacts-export',
    name: 'Export CRM contacts from the warehouse',
    jobType: 'records',
    executor: 'bigquery.export',
    config: { table: 'warehouse.contacts', match: EMAIL_AS_TYPED, identifier: 'email' },
    description: "Returns the subject's rows of warehouse.contacts for the records package.",
  },
  {
    ...WAREHOUSE_TASK,
    id: 'warehouse-contacts-delete',
    name: 'Delete CRM contacts from the warehouse',
    jobType: 'deletion',
    executor: 'bigquery.delete',
    config: {
      table: 'warehouse.contacts',
      match: EMAIL_AS_TYPED,
      identifier: 'email',
      maxBytesBilled: GiB,
      batch: DEMO_BATCH,
    },
    description:
      "Deletes the subject's contacts: emails there are as people typed them, so both sides are compared trimmed and lower-cased.",
  },
  {
    ...WAREHOUSE_TASK,
    id: 'ads-audience-delete',
    name: 'Remove the subject from ad audiences',
    jobType: 'deletion',
    executor: 'bigquery.delete',
    config: {
      table: 'warehouse.ad_audiences',
      match: { path: 'hashed_email', normalise: 'email', hash: 'sha256_hex' },
      identifier: 'email',
      maxBytesBilled: GiB,
      batch: DEMO_BATCH,
    },
    description:
      'Deletes audience rows keyed by the SHA-256 of the normalised email (hashed in the app).',
  },
  {
    ...WAREHOUSE_TASK,
    id: 'ads-audience-export',
    name: 'Export ad audience memberships',
    jobType: 'records',
    executor: 'bigquery.export',
    config: {
      table: 'warehouse.ad_audiences',
      match: { path: 'hashed_email', normalise: 'email', hash: 'sha256_hex' },
      identifier: 'email',
      selectColumns: ['audience', 'added_at'],
    },
    description: 'Returns the audiences the subject is in.',
  },
  {
    ...WAREHOUSE_TASK,
    id: 'warehouse-sessions-delete',
    name: 'Delete app sessions',
    jobType: 'deletion',
    executor: 'bigquery.delete',
    config: {
      table: 'warehouse.sessions',
      column: 'user_id',
      identifier: 'userId',
      // The table requires a partition filter: the lookback covers its whole retention.
      partitionLookbackDays: SESSIONS_RETENTION_DAYS,
      maxBytesBilled: GiB,
      batch: DEMO_BATCH,
    },
    description: "Deletes the subject's sessions from the day-partitioned warehouse.sessions.",
  },
  {
    ...WAREHOUSE_TASK,
    id: 'warehouse-sessions-export',
    name: 'Export app sessions',
    jobType: 'records',
    executor: 'bigquery.export',
    config: {
      table: 'warehouse.sessions',
      column: 'user_id',
      identifier: 'userId',
      partitionLookbackDays: SESSIONS_RETENTION_DAYS,
      selectColumns: ['day', 'device', 'duration_s'],
    },
    description: "Returns the subject's sessions.",
  },
  {
    ...WAREHOUSE_TASK,
    id: 'ga4-events-delete',
    name: 'Delete GA4 export events',
    jobType: 'deletion',
    executor: 'bigquery.delete',
    config: {
      table: 'analytics_demo.events_*',
      match: GA4_EMAIL,
      identifier: 'email',
      maxBytesBilled: GiB,
      batch: DEMO_BATCH,
    },
    description:
      "Deletes the subject's events from every daily shard of the GA4 export, found by the email user property.",
  },
  {
    ...WAREHOUSE_TASK,
    id: 'ga4-events-export',
    name: 'Export GA4 events',
    jobType: 'records',
    executor: 'bigquery.export',
    config: {
      table: 'analytics_demo.events_*',
      match: GA4_EMAIL,
      identifier: 'email',
      selectColumns: ['event_date', 'event_name', 'user_pseudo_id'],
    },
    description: "Returns the subject's GA4 events across all shards.",
  },
  {
    ...WAREHOUSE_TASK,
    id: 'warehouse-events-export',
    name: 'Export analytics events',
    jobType: 'records',
    executor: 'bigquery.export',
    config: {
      table: 'warehouse.events',
      column: 'user_id',
      identifier: 'userId',
      selectColumns: ['event_name', 'ts', 'page'],
    },
    description: "Returns the subject's events (name, time, page) for the records package.",
  },
];
