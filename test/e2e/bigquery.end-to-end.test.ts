// The emulator fixture first: it makes the official BigQuery client's HTTP layer load under Jest.
import { BigQuery } from '../integration/bigquery/emulator-fixture';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_TASKS } from '../../scripts/lib/demo-tasks';
import { GA4_DAYS } from '../../scripts/lib/demo-warehouse';
import { registerTasks, startLocalStack, type LocalStack } from '../../scripts/lib/local-stack';
import type { AuditView } from '../../src/app/audit';
import type { RecordsPackage } from '../../src/app/records';
import type { RequestView } from '../../src/app/requests';
import type { RegisterTaskInput, Run } from '../../src/domain/model';
import { call, type ErrorAnswer } from '../helpers/http';
import { waitFor } from '../helpers/wait-for';

/**
 * BigQuery tasks on the whole local stack: api, run-task and dispatch as processes, the
 * Firestore and Cloud Tasks emulators, and the BigQuery emulator seeded with the demo
 * warehouse. Every job takes MIN_JOB_MS and runs wait for none (BIGQUERY_QUICK_WAIT_MS=0), so
 * every BigQuery run goes through the long-job path: `waiting`, then a delayed poll task.
 *
 * The tests share the warehouse and run in order: the audit, the dry run and the records
 * request read the example subject's rows before the deletion removes them.
 */

const PROJECT = 'dsr-e2e-bigquery';
const MiB = 2 ** 20;
const MIN_JOB_MS = 100;
const STREAMING_BUFFER_RETRY_SECONDS = 2;
const BIG_ROW_OWNER = 'b-big';

const example = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '../../examples', name), 'utf8')) as {
    subject: Record<string, string>;
  } & Record<string, unknown>;
const SUBJECT = example('deletion-request.json').subject;
const USER_ID = SUBJECT['userId'] ?? '';
const EMAIL = SUBJECT['email'] ?? '';

/** The emulator's clock: the streaming-buffer test moves it past the buffer window. */
const emulatorClock = { offsetMs: 0, now: () => Date.now() + emulatorClock.offsetMs };

/** 11 rows of 1 MiB: any statement reading `payload` bills more than the 10 MiB minimum. */
const blobs = {
  tableId: 'blobs',
  schema: [
    { name: 'owner_id', type: 'STRING' },
    { name: 'payload', type: 'STRING' },
  ],
  rows: Array.from({ length: 11 }, (_, i) => ({
    owner_id: i < 2 ? BIG_ROW_OWNER : `b-other-${i}`,
    payload: String.fromCharCode(97 + i).repeat(MiB),
  })),
};

/** The demo's BigQuery deletion tasks: each gives an estimate in a dry run. */
const WAREHOUSE_DELETIONS = DEMO_TASKS.filter(
  (t) => t.jobType === 'deletion' && t.executor.startsWith('bigquery.'),
);

const retry = { minBackoffSeconds: 1, maxBackoffSeconds: 1, maxDoublings: 0 };
/** Tasks of this file only; each needs an identifier of its own, so the examples skip them. */
const TASKS: RegisterTaskInput[] = [
  {
    id: 'blobs-delete-capped',
    name: 'Delete blobs under a 10 MiB cap',
    jobType: 'deletion',
    executor: 'bigquery.delete',
    config: {
      table: 'e2e.blobs',
      column: 'owner_id',
      identifier: 'blobOwnerId',
      maxBytesBilled: 10 * MiB,
      // One statement per request: the cap's refusal is this request's own.
      batch: false,
    },
    maxAttempts: 3,
    retryPolicy: retry,
    timeoutSeconds: 60,
  },
  {
    id: 'blobs-export',
    name: 'Export blobs',
    jobType: 'records',
    executor: 'bigquery.export',
    config: { table: 'e2e.blobs', column: 'owner_id', identifier: 'blobOwnerId' },
    maxAttempts: 3,
    retryPolicy: retry,
    timeoutSeconds: 60,
  },
  {
    id: 'streamed-events-delete',
    name: 'Delete freshly streamed events',
    jobType: 'deletion',
    executor: 'bigquery.delete',
    // One statement per request: the retry over the streaming buffer is this request's own.
    config: {
      table: 'warehouse.events',
      column: 'user_id',
      identifier: 'streamedUserId',
      batch: false,
    },
    maxAttempts: 4,
    retryPolicy: retry,
    timeoutSeconds: 60,
  },
];

/** The filer (developer@localhost) cannot approve their own request. */
const APPROVER = { 'X-Dev-Identity': 'approver@localhost' };

describe('BigQuery tasks on the local stack', () => {
  let stack: LocalStack;
  let bq: BigQuery;
  const logLines: string[] = [];
  const api = <T = RequestView>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => call<T>(stack.apiUrl, method, path, body, headers === undefined ? {} : { headers });
  const runsOf = async (id: string) =>
    (await api<{ runs: Run[] }>('GET', `/requests/${id}/runs`)).body.runs;
  const settled = (id: string) =>
    waitFor(
      () => api('GET', `/requests/${id}`),
      (r) => !['in_progress', 'awaiting_approval'].includes(r.body.status),
      { timeoutMs: 45_000, what: `request ${id} to settle` },
    );
  const file = async (body: unknown) => {
    const filed = await api('POST', '/requests', body);
    expect(filed.status).toBe(201);
    return filed.body;
  };

  /** Rows through the official client, straight from the emulator. */
  const query = async <T = Record<string, unknown>>(
    sql: string,
    params: Record<string, string | string[]> = {},
  ) => (await bq.query({ query: sql, params }))[0] as T[];
  const count = async (table: string, column: string, value: string) =>
    Number(
      (
        await query<{ n: number }>(
          `SELECT COUNT(*) AS n FROM \`${PROJECT}.${table}\` WHERE ${column} = @v`,
          { v: value },
        )
      )[0]?.n,
    );

  /**
   * The bytes a statement processes by BigQuery's rules, worked out here from the table's
   * current rows: STRING 2 + UTF-8 length, TIMESTAMP and INT64 8, BOOL 1, NULL 0.
   */
  const columnBytes = async (table: string, columns?: readonly string[]) => {
    const [dataset = '', tableId = ''] = table.split('.');
    const metadata = (await bq.dataset(dataset).table(tableId).getMetadata())[0] as {
      schema: { fields: { name: string; type: string }[] };
    };
    const { fields } = metadata.schema;
    const rows = await query(`SELECT * FROM \`${PROJECT}.${table}\``);
    let bytes = 0;
    for (const row of rows) {
      for (const field of fields) {
        if (columns !== undefined && !columns.includes(field.name)) continue;
        const value = row[field.name];
        if (value === null || value === undefined) continue;
        if (typeof value === 'string') bytes += 2 + Buffer.byteLength(value);
        else if (field.type === 'BOOLEAN') bytes += 1;
        else bytes += 8;
      }
    }
    return bytes;
  };
  /** Rounded up to the MiB, at least 10 MiB per table; nothing processed bills nothing. */
  const billed = (processed: number) =>
    processed === 0 ? 0 : Math.max(10 * MiB, Math.ceil(processed / MiB) * MiB);
  const usd = (bytes: number) => Math.round((bytes / 2 ** 40) * 6.25 * 1e9) / 1e9;
  const costOf = (bytes: number) => ({ bytesBilled: bytes, usd: usd(bytes) });
  const snapshot = async () => ({
    events: await query(`SELECT * FROM \`${PROJECT}.warehouse.events\``),
    entries: await query(`SELECT * FROM \`${PROJECT}.warehouse.entries\``),
    contacts: await query(`SELECT * FROM \`${PROJECT}.warehouse.contacts\``),
  });

  beforeAll(async () => {
    stack = await startLocalStack({
      apiPort: 0,
      projectId: PROJECT,
      dispatchIntervalMs: 1000,
      onLogLine: (l) => logLines.push(l),
      env: {
        BIGQUERY_POLL_INTERVAL_SECONDS: '1',
        BIGQUERY_QUICK_WAIT_MS: '0',
        STREAMING_BUFFER_RETRY_SECONDS: String(STREAMING_BUFFER_RETRY_SECONDS),
      },
      bigQuery: {
        minJobMs: MIN_JOB_MS,
        clock: emulatorClock,
        extraDatasets: [{ datasetId: 'e2e', tables: [blobs] }],
      },
    });
    await registerTasks(stack.apiUrl, TASKS);
    process.env['METADATA_SERVER_DETECTION'] = 'none';
    bq = new BigQuery({ projectId: PROJECT, apiEndpoint: stack.bigQueryEmulator.url });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('audits a task: the COUNT and the estimate by the billing rules, and changes nothing', async () => {
    const before = await snapshot();
    const rows = await count('warehouse.events', 'user_id', USER_ID);
    expect(rows).toBeGreaterThan(0);
    const res = await api<AuditView>('POST', '/tasks/warehouse-events-delete/audit', {
      subject: SUBJECT,
    });
    expect(res.status).toBe(200);
    // DELETE reads user_id, plus the whole target table; COUNT(*) reads user_id alone.
    const processed =
      (await columnBytes('warehouse.events', ['user_id'])) +
      (await columnBytes('warehouse.events'));
    const counted = billed(await columnBytes('warehouse.events', ['user_id']));
    // The DELETE, then the COUNT that verifies it (user_id again): each billed on its own.
    const estimated = billed(processed) + counted;
    expect(res.body).toMatchObject({
      taskId: 'warehouse-events-delete',
      executor: 'bigquery.delete',
      dryRun: true,
      estimate: {
        wouldAffectRows: rows,
        estimatedBytesProcessed: processed,
        estimatedBytesBilled: estimated,
        estimatedUsd: usd(estimated),
        maxBytesBilled: 2 ** 30,
        withinMaxBytesBilled: true,
        statement: `DELETE FROM \`${PROJECT}.warehouse.events\` WHERE \`user_id\` = @subject`,
      },
      cost: costOf(counted),
      evidence: { touched: [`${PROJECT}.warehouse.events`] },
    });
    expect(res.body.message).toMatch(`would delete ${rows} rows`);

    const noop = await api<AuditView>('POST', '/tasks/support-tickets-erasure/audit', {
      subject: SUBJECT,
    });
    expect(noop.body).toMatchObject({ estimate: null, cost: { bytesBilled: 0 } });
    expect(noop.body.message).toMatch(/^audit:/);

    const missing = await api<ErrorAnswer>('POST', '/tasks/warehouse-events-delete/audit', {
      subject: { email: EMAIL },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.issues?.map((i) => i.path)).toEqual(['subject.userId']);
    const malformed = await api<ErrorAnswer>('POST', '/tasks/warehouse-events-delete/audit', {
      subject: { userId: 7 },
      extra: true,
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.issues?.map((i) => i.path)).toEqual(['subject.userId', '']);
    const unknown = await api<ErrorAnswer>('POST', '/tasks/no-such-task/audit', {
      subject: SUBJECT,
    });
    expect(unknown.status).toBe(404);

    expect(await snapshot()).toEqual(before);
  });

  it('runs a dryRun request in audit mode: estimates on the runs and in GET /requests/:id, nothing changed', async () => {
    const before = await snapshot();
    const expected = {
      'warehouse-events-delete': await count('warehouse.events', 'user_id', USER_ID),
      'warehouse-entries-owner-null': await count('warehouse.entries', 'owner_id', USER_ID),
    };
    const filed = await file({
      ...example('deletion-request.json'),
      externalId: 'ZD-48213-audit',
      dryRun: true,
    });
    expect(filed.dryRun).toBe(true);
    await api('POST', `/requests/${filed.id}/approve`, {}, APPROVER);
    const done = await settled(filed.id);
    expect(done.body.status).toBe('dry_run_completed');
    for (const [taskId, rows] of Object.entries(expected)) {
      const instance = done.body.instances.find((i) => i.taskId === taskId);
      expect(instance?.estimate).toMatchObject({ wouldAffectRows: rows });
    }
    const estimates = done.body.instances.flatMap((i) => (i.estimate ? [i.estimate] : []));
    // Every BigQuery deletion task of the demo gives one.
    expect(estimates).toHaveLength(WAREHOUSE_DELETIONS.length);
    // The request's estimate adds up its instances' (as its cost adds up theirs).
    expect(done.body.estimate).toMatchObject({
      instancesEstimated: WAREHOUSE_DELETIONS.length,
      wouldAffectRows: estimates.reduce((n, e) => n + (e.wouldAffectRows ?? 0), 0),
      estimatedBytesBilled: estimates.reduce((n, e) => n + e.estimatedBytesBilled, 0),
    });
    expect(done.body.estimate?.estimatedUsd).toBeCloseTo(
      estimates.reduce((n, e) => n + e.estimatedUsd, 0),
      9,
    );
    const runs = await runsOf(filed.id);
    expect(runs.every((r) => r.dryRun && r.status === 'succeeded')).toBe(true);
    expect(runs.every((r) => r.evidence.unrecoverableAfter === undefined)).toBe(true);
    expect(
      runs.filter((r) => (r.output as { audit?: unknown } | undefined)?.audit !== undefined),
    ).toHaveLength(WAREHOUSE_DELETIONS.length);

    // A dry-run records request: its package holds the estimates, and no rows.
    const records = await file({
      ...example('records-request.json'),
      externalId: 'ZD-48214-audit',
      dryRun: true,
    });
    expect((await settled(records.id)).body.status).toBe('dry_run_completed');
    const pkg = await api<RecordsPackage>('GET', `/requests/${records.id}/records`);
    expect(pkg.body.dryRun).toBe(true);
    expect(pkg.body.tasks.find((t) => t.taskId === 'warehouse-contacts-export')).toMatchObject({
      rows: [],
      rowCount: 0,
      // The CRM holds the email as typed: the task compares it trimmed and lower-cased.
      estimate: { wouldAffectRows: await count('warehouse.contacts', 'LOWER(TRIM(email))', EMAIL) },
    });
    expect(await snapshot()).toEqual(before);
  });

  it('returns the records example through GET /requests/:id/records, a page at a time', async () => {
    const events = await query<{ event_name: string; ts: { value: string }; page: string }>(
      `SELECT event_name, ts, page FROM \`${PROJECT}.warehouse.events\` WHERE user_id = @v`,
      { v: USER_ID },
    );
    const contacts = await count('warehouse.contacts', 'LOWER(TRIM(email))', EMAIL);
    expect(contacts).toBe(2);
    expect(await count('warehouse.contacts', 'email', EMAIL)).toBe(0); // not as typed
    expect(events.length).toBeGreaterThan(5);
    const filed = await file(example('records-request.json'));
    expect((await settled(filed.id)).body.status).toBe('completed');

    const first = await api<RecordsPackage>('GET', `/requests/${filed.id}/records?pageSize=5`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ requestId: filed.id, complete: true, dryRun: false });
    const byTask = Object.fromEntries(first.body.tasks.map((t) => [t.taskId, t]));
    expect(byTask['warehouse-contacts-export']).toMatchObject({
      source: `${PROJECT}.warehouse.contacts`,
      columns: ['email', 'full_name', 'country', 'signed_up', 'marketing_opt_in'],
      rowCount: contacts,
      truncated: false,
    });
    expect(
      byTask['warehouse-contacts-export']?.rows.map((r) =>
        (r['email'] as string).trim().toLowerCase(),
      ),
    ).toEqual([EMAIL, EMAIL]);
    // Every shape of the demo warehouse gives the subject's rows.
    for (const [taskId, rowCount] of Object.entries({
      'ads-audience-export': 1,
      'warehouse-sessions-export': 3,
      'ga4-events-export': 10,
    })) {
      expect(byTask[taskId]).toMatchObject({ rowCount });
    }
    expect(byTask['ga4-events-export']?.columns).toEqual([
      'event_date',
      'event_name',
      'user_pseudo_id',
      '_table_suffix',
    ]);
    const eventsEntry = byTask['warehouse-events-export'];
    expect(eventsEntry).toMatchObject({
      columns: ['event_name', 'ts', 'page'],
      rowCount: events.length,
      offset: 0,
    });
    expect(eventsEntry?.rows).toHaveLength(5);
    // Tasks whose executor keeps no rows are listed too, with none.
    expect(byTask['crm-contact-export']).toMatchObject({ rowCount: 0, rows: [] });

    const pages = [eventsEntry?.rows ?? []];
    let token = eventsEntry?.nextPageToken;
    while (token !== undefined) {
      const next = await api<RecordsPackage>(
        'GET',
        `/requests/${filed.id}/records?pageSize=5&pageToken=${token}`,
      );
      // A next page holds only the sets with rows left (the GA4 export's 10 end on page 2).
      const ids = next.body.tasks.map((t) => t.taskId);
      expect(ids.every((id) => ['warehouse-events-export', 'ga4-events-export'].includes(id))).toBe(
        true,
      );
      const more = next.body.tasks.find((t) => t.taskId === 'warehouse-events-export');
      expect(more?.offset).toBe(pages.flat().length);
      pages.push(more?.rows ?? []);
      token = more?.nextPageToken;
    }
    expect(pages.map((p) => p.length)).toEqual(
      Array.from({ length: Math.ceil(events.length / 5) }, (_, i) =>
        Math.min(5, events.length - i * 5),
      ),
    );
    const normalise = (r: Record<string, unknown>) => ({
      ...r,
      ts: Date.parse(typeof r['ts'] === 'string' ? r['ts'] : (r['ts'] as { value: string }).value),
    });
    expect(pages.flat().map(normalise)).toEqual(events.map(normalise));

    // Every BigQuery run went through the long-job path: waiting, then a poll that finished.
    const runs = await runsOf(filed.id);
    for (const taskId of ['warehouse-contacts-export', 'warehouse-events-export']) {
      const own = runs.filter((r) => r.taskId === taskId);
      expect(own.map((r) => [r.attempt, r.poll, r.status])).toEqual([
        [1, undefined, 'waiting'],
        [1, 1, 'succeeded'],
      ]);
      expect(own[1]?.evidence.jobIds).toEqual(own[0]?.evidence.jobIds);
    }
    const selected = await columnBytes('warehouse.events', ['user_id', 'event_name', 'ts', 'page']);
    expect(runs.find((r) => r.taskId === 'warehouse-events-export' && r.poll === 1)?.cost).toEqual(
      costOf(billed(selected)),
    );

    const badToken = await api<ErrorAnswer>(
      'GET',
      `/requests/${filed.id}/records?pageToken=not-a-token`,
    );
    expect(badToken.status).toBe(400);
    expect(badToken.body.error.issues?.[0]?.path).toBe('query.pageToken');
    const badSize = await api<ErrorAnswer>('GET', `/requests/${filed.id}/records?pageSize=0`);
    expect(badSize.status).toBe(400);
    expect(badSize.body.error.issues?.[0]?.path).toBe('query.pageSize');
  });

  it('keeps an export larger than a Firestore document, and bills it by the rules', async () => {
    const filed = await file({ type: 'records', subject: { blobOwnerId: BIG_ROW_OWNER } });
    expect((await settled(filed.id)).body.status).toBe('completed');
    const first = await api<RecordsPackage>('GET', `/requests/${filed.id}/records?pageSize=1`);
    const entry = first.body.tasks.find((t) => t.taskId === 'blobs-export');
    expect(entry).toMatchObject({ rowCount: 2, columns: ['owner_id', 'payload'] });
    expect(entry?.rows).toEqual([{ owner_id: BIG_ROW_OWNER, payload: 'a'.repeat(MiB) }]);
    const second = await api<RecordsPackage>(
      'GET',
      `/requests/${filed.id}/records?pageSize=1&pageToken=${entry?.nextPageToken ?? ''}`,
    );
    expect(second.body.tasks[0]?.rows).toEqual([
      { owner_id: BIG_ROW_OWNER, payload: 'b'.repeat(MiB) },
    ]);
    expect(second.body.tasks[0]?.nextPageToken).toBeUndefined();

    const run = (await runsOf(filed.id)).find((r) => r.taskId === 'blobs-export' && r.poll === 1);
    // Each 1 MiB row is a segment of its own over three chunks of at most 512 KiB.
    expect(run?.output).toMatchObject({
      records: {
        rowCount: 2,
        segments: [
          { rows: 1, chunks: 3 },
          { rows: 1, chunks: 3 },
        ],
      },
    });
    expect(JSON.stringify(run?.output).length).toBeLessThan(1000);
    // SELECT * reads both columns of all 11 rows: 11 MiB and a little, billed as 12 MiB.
    const processed = await columnBytes('e2e.blobs');
    expect(billed(processed)).toBe(12 * MiB);
    expect(run?.cost).toEqual(costOf(12 * MiB));
  });

  it('deletes and nulls the example subject in batches, each run costing its share of what the rules say, the request their sum', async () => {
    const eventsBefore = await query<{ user_id: string }>(
      `SELECT user_id FROM \`${PROJECT}.warehouse.events\``,
    );
    const mine = eventsBefore.filter((r) => r.user_id === USER_ID).length;
    const owned = await query<{ entry_id: string; title: string }>(
      `SELECT entry_id, title FROM \`${PROJECT}.warehouse.entries\` WHERE owner_id = @v`,
      { v: USER_ID },
    );
    expect(mine).toBeGreaterThan(0);
    expect(owned.length).toBeGreaterThan(0);
    const expectedBytes = {
      // DELETE and UPDATE bill their WHERE column plus the whole target table.
      'warehouse-events-delete': billed(
        (await columnBytes('warehouse.events', ['user_id'])) +
          (await columnBytes('warehouse.events')),
      ),
      'warehouse-entries-owner-null': billed(
        (await columnBytes('warehouse.entries', ['owner_id'])) +
          (await columnBytes('warehouse.entries')),
      ),
    };

    const filed = await file(example('deletion-request.json'));
    await api('POST', `/requests/${filed.id}/approve`, {}, APPROVER);
    const done = await settled(filed.id);
    expect(done.body.status).toBe('completed');
    expect(done.body.zeroMatchWarning).toBeUndefined();

    expect(await count('warehouse.events', 'user_id', USER_ID)).toBe(0);
    expect(await query(`SELECT user_id FROM \`${PROJECT}.warehouse.events\``)).toHaveLength(
      eventsBefore.length - mine,
    );
    expect(await count('warehouse.entries', 'owner_id', USER_ID)).toBe(0);
    const after = await query<{ entry_id: string; owner_id: null; owner_email: null }>(
      `SELECT entry_id, owner_id, owner_email, title FROM \`${PROJECT}.warehouse.entries\` WHERE entry_id IN UNNEST(@ids)`,
      { ids: owned.map((o) => o.entry_id) },
    );
    expect(after).toEqual(owned.map((o) => ({ ...o, owner_id: null, owner_email: null })));
    // The counts that verified them read the WHERE column(s) of what is left.
    const verifyBytes = {
      'warehouse-events-delete': billed(await columnBytes('warehouse.events', ['user_id'])),
      'warehouse-entries-owner-null': billed(
        await columnBytes('warehouse.entries', ['owner_id', 'owner_email']),
      ),
    };

    const runs = await runsOf(done.body.id);
    for (const [taskId, bytes] of Object.entries(expectedBytes)) {
      const verify = verifyBytes[taskId as keyof typeof verifyBytes];
      const own = runs.filter((r) => r.taskId === taskId);
      // The attempt joins its table's batch and waits; the batch's flush runs the change and the
      // count that verifies it; the member's last poll finishes with its share: the whole bill,
      // as it is the batch's only member.
      const first = own[0];
      const finished = own[own.length - 1];
      expect([first?.attempt, first?.poll, first?.status, first?.cost]).toEqual([
        1,
        undefined,
        'waiting',
        costOf(0),
      ]);
      expect(
        own.slice(1, -1).every((r) => r.status === 'waiting' && r.cost.bytesBilled === 0),
      ).toBe(true);
      expect([finished?.attempt, finished?.status, finished?.cost]).toEqual([
        1,
        'succeeded',
        costOf(bytes + verify),
      ]);
      expect(finished?.evidence).toMatchObject({
        touched: [expect.stringContaining(`${PROJECT}.warehouse.`)],
        jobIds: [expect.stringMatching(/^dsr_/), expect.stringMatching(/^dsr_/)],
        affectedRows: taskId === 'warehouse-events-delete' ? mine : owned.length,
        remainingRows: 0,
        verification: { bytesBilled: verify },
        batch: { members: 1, statements: 1, bytesBilled: bytes + verify },
        bytesBilled: bytes + verify,
      });
      // Deleted rows stay in time travel (7 days) and fail-safe (7 more).
      expect(
        Date.parse(finished?.evidence.unrecoverableAfter ?? '') -
          Date.parse(finished?.finishedAt ?? ''),
      ).toBe(14 * 86_400_000);
      // The instance adds up its runs' costs; a batch prices its jobs' total once, then shares it.
      const cost = done.body.instances.find((i) => i.taskId === taskId)?.cost;
      expect(cost?.bytesBilled).toBe(bytes + verify);
      expect(cost?.usd).toBeCloseTo(usd(bytes + verify), 9);
    }
    const total = runs.reduce((n, r) => n + r.cost.bytesBilled, 0);
    expect(done.body.cost.bytesBilled).toBe(total);
    expect(done.body.cost.usd).toBeCloseTo(
      runs.reduce((n, r) => n + r.cost.usd, 0),
      9,
    );
  });

  it('leaves no row of the example subject in any table of the demo warehouse', async () => {
    const hashed = createHash('sha256').update(EMAIL).digest('hex');
    const left: Record<string, string> = {
      'warehouse.events': 'user_id = @id',
      'warehouse.entries': 'owner_id = @id OR LOWER(TRIM(owner_email)) = @email',
      'warehouse.contacts': 'LOWER(TRIM(email)) = @email',
      'warehouse.ad_audiences': 'hashed_email = @hashed',
      'warehouse.sessions': "day >= '2000-01-01' AND user_id = @id",
      ...Object.fromEntries(
        GA4_DAYS.map((day) => [
          `analytics_demo.events_${day}`,
          "user_id = @id OR EXISTS (SELECT 1 FROM UNNEST(user_properties) AS p WHERE p.key = 'email' AND LOWER(TRIM(p.value.string_value)) = @email)",
        ]),
      ),
    };
    // Every table of the demo datasets is checked: a new demo table needs its line here.
    const tables: string[] = [];
    for (const dataset of ['warehouse', 'analytics_demo']) {
      const [found] = await bq.dataset(dataset).getTables();
      tables.push(...found.map((t) => `${dataset}.${t.id ?? ''}`));
    }
    expect(tables.sort()).toEqual(Object.keys(left).sort());
    for (const [table, where] of Object.entries(left)) {
      const rows = await query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM \`${PROJECT}.${table}\` WHERE ${where}`,
        { id: USER_ID, email: EMAIL, hashed },
      );
      expect([table, rows[0]?.n]).toEqual([table, 0]);
    }
  });

  it('fails a statement over maxBytesBilled permanently, says why, records it on the run, and changes nothing', async () => {
    const filed = await file({ type: 'deletion', subject: { blobOwnerId: 'b-other-5' } });
    const done = await settled(filed.id);
    expect(done.body.status).toBe('completed_with_errors');
    const instance = done.body.instances.find((i) => i.taskId === 'blobs-delete-capped');
    expect(instance).toMatchObject({
      state: 'failed',
      attempts: 1,
      lastError: { code: 'bigquery.bytes_billed_limit' },
    });
    const message =
      "would bill at least 12582912 bytes (12 MiB), more than the task's maxBytesBilled of 10485760 bytes (10 MiB). It was stopped before changing anything.";
    expect(instance?.lastError?.message).toContain(message);
    expect(instance?.advice).toMatch(/^Permanent error/);
    const runs = await runsOf(filed.id);
    expect(runs.map((r) => [r.poll, r.status, r.willRetry, r.error?.code])).toEqual([
      [undefined, 'waiting', false, undefined],
      [1, 'failed', false, 'bigquery.bytes_billed_limit'],
    ]);
    expect(runs[1]?.message).toContain(message);
    expect(runs[1]?.cost).toEqual(costOf(0));
    expect(await count('e2e.blobs', 'owner_id', 'b-other-5')).toBe(1);
  });

  it('retries a statement refused over the streaming buffer after the configured delay, saying why, and succeeds once the rows are flushed', async () => {
    const streamed = 'u-streamed-1';
    await bq
      .dataset('warehouse')
      .table('events')
      .insert(
        [1, 2, 3].map((n) => ({
          user_id: streamed,
          event_name: 'login',
          ts: new Date(Date.UTC(2026, 0, n)).toISOString(),
          page: '/',
          session_id: `s-stream-${n}`,
        })),
      );
    const filed = await file({ type: 'deletion', subject: { streamedUserId: streamed } });

    const refused = await waitFor(
      () => runsOf(filed.id),
      (runs) => runs.some((r) => r.status === 'failed'),
      { timeoutMs: 20_000, what: 'the streaming-buffer failure' },
    );
    const failure = refused.find((r) => r.status === 'failed');
    expect(failure).toMatchObject({
      taskId: 'streamed-events-delete',
      attempt: 1,
      willRetry: true,
      error: { code: 'bigquery.streaming_buffer' },
    });
    expect(failure?.message).toMatch(/would affect rows in the streaming buffer/);
    expect(failure?.message).toMatch(
      /nothing was changed, and the statement will be retried in 2 s/,
    );
    const waiting = (await api('GET', `/requests/${filed.id}`)).body.instances.find(
      (i) => i.taskId === 'streamed-events-delete',
    );
    expect(waiting?.lastError?.code).toBe('bigquery.streaming_buffer');
    expect(Date.parse(waiting?.nextAttemptAt ?? '') - Date.parse(failure?.finishedAt ?? '')).toBe(
      STREAMING_BUFFER_RETRY_SECONDS * 1000,
    );
    expect(await count('warehouse.events', 'user_id', streamed)).toBe(3);

    // BigQuery flushes the buffer in its own time; here the emulator's clock moves past it.
    emulatorClock.offsetMs += 31 * 60_000;
    const done = await settled(filed.id);
    expect(done.body.status).toBe('completed');
    const runs = await runsOf(filed.id);
    expect(runs[runs.length - 1]).toMatchObject({
      status: 'succeeded',
      evidence: { affectedRows: 3 },
    });
    expect(runs[runs.length - 1]?.attempt).toBeGreaterThan(1);
    expect(await count('warehouse.events', 'user_id', streamed)).toBe(0);
  });

  it('refuses at registration a task its table cannot serve, naming the field, and keeps the registry as it was', async () => {
    const before = (await api<{ tasks: unknown[] }>('GET', '/tasks')).body;
    const base = {
      name: 'A bad warehouse task',
      jobType: 'deletion',
      executor: 'bigquery.delete',
      maxAttempts: 3,
      retryPolicy: retry,
      timeoutSeconds: 60,
    };
    const cases: Array<[string, Record<string, unknown>, string, string]> = [
      [
        'bad-path',
        {
          ...base,
          config: { table: 'warehouse.contacts', identifier: 'email', match: { path: 'mail' } },
        },
        'config.match.path',
        'the table has no field mail',
      ],
      [
        'bad-kind',
        {
          ...base,
          config: {
            table: 'analytics_demo.events_*',
            identifier: 'email',
            match: { path: 'user_properties' },
          },
        },
        'config.match.kind',
        'use kind: array',
      ],
      [
        'no-lookback',
        {
          ...base,
          config: { table: 'warehouse.sessions', identifier: 'userId', column: 'user_id' },
        },
        'config.partitionLookbackDays',
        'requires a partition filter on day',
      ],
      [
        'no-shards',
        {
          ...base,
          config: { table: 'analytics_demo.sessions_*', identifier: 'email', column: 'email' },
        },
        'config.table',
        'no table matches',
      ],
      [
        'bad-sql',
        {
          ...base,
          executor: 'bigquery.statement',
          config: { sql: 'DELETE FROM warehouse.contacts WHERE mail = @email' },
        },
        'config.sql',
        'Unrecognized name: mail',
      ],
      [
        'wrong-kind',
        {
          ...base,
          executor: 'bigquery.statement',
          jobType: 'records',
          config: { sql: 'DELETE FROM warehouse.contacts WHERE email = @email' },
        },
        'jobType',
        'a records task may only read',
      ],
    ];
    for (const [id, body, path, message] of cases) {
      const res = await api<ErrorAnswer>('POST', '/tasks', { id: `e2e-${id}`, ...body });
      expect([id, res.status]).toEqual([id, 400]);
      const issue = res.body.error.issues?.find((i) => i.path === path);
      expect([id, issue?.message]).toEqual([id, expect.stringContaining(message)]);
      expect((await api('GET', `/tasks/e2e-${id}`)).status).toBe(404);
    }
    expect((await api<{ tasks: unknown[] }>('GET', '/tasks')).body).toEqual(before);
  });

  it('never logs a raw subject identifier', () => {
    expect(logLines.length).toBeGreaterThan(50);
    const identifiers = [...Object.values(SUBJECT), BIG_ROW_OWNER, 'b-other-5', 'u-streamed-1'];
    const leaks = logLines.filter((line) => identifiers.some((v) => line.includes(v)));
    expect(leaks).toEqual([]);
  });
});
