import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack';
import { testProjectId } from '../helpers/project-id';
import type { RequestView } from '../../src/app/requests';
import type { Run } from '../../src/domain/model';
import { startEchoingPartner } from '../helpers/echoing-partner';
import { call, type ErrorAnswer } from '../helpers/http';
import { checkLogLinesAgainstMetrics, logMetricsOf } from '../infra/support/log-metrics';
import { loadModule } from '../infra/support/terraform';
import { waitFor } from '../helpers/wait-for';

/** The local stack's approver: the filer (developer@localhost) cannot approve their own request. */
const APPROVER = { 'X-Dev-Identity': 'approver@localhost' };

const TEN_MIB = { bytesBilled: 10 * 2 ** 20, usd: 0.000059605 };
/** The subject of the http.request test, whose email goes into a partner's URL. */
const PARTNER_EMAIL = 'partner.subject+e2e@example.com';

const example = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '../../examples', name), 'utf8')) as Record<
    string,
    unknown
  >;

describe('the pipeline on the local stack', () => {
  let stack: LocalStack;
  const logLines: string[] = [];
  const api = <T = RequestView>(
    method: string,
    path: string,
    body?: unknown,
    init?: Parameters<typeof call>[4],
  ) => call<T>(stack.apiUrl, method, path, body, init);
  const runsOf = async (id: string) =>
    (await api<{ runs: Run[] }>('GET', `/requests/${id}/runs`)).body.runs;
  const requestCount = async () =>
    (await api<{ items: unknown[] }>('GET', '/requests?limit=200')).body.items.length;
  const settled = (id: string) =>
    waitFor(
      () => api('GET', `/requests/${id}`),
      (r) => !['in_progress', 'awaiting_approval'].includes(r.body.status),
      { timeoutMs: 45_000, what: `request ${id} to settle` },
    );

  beforeAll(async () => {
    stack = await startLocalStack({
      projectId: testProjectId('pipeline'),
      apiPort: 0,
      dispatchIntervalMs: 1000,
      onLogLine: (l) => logLines.push(l),
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('files the deletion example, waits for approval, and completes every instance with a run record', async () => {
    const filed = await api('POST', '/requests', example('deletion-request.json'));
    expect(filed.status).toBe(201);
    const id = filed.body.id;
    expect(filed.body.dueAt).toBeDefined();
    const byTask = Object.fromEntries(filed.body.instances.map((i) => [i.taskId, i.state]));
    expect(byTask['ga-user-deletion']).toBe('pending_approval');

    const again = await api('POST', '/requests', example('deletion-request.json'));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(id);

    // Everything but the approval-gated task finishes on its own.
    const unapproved = filed.body.instances.length - 1;
    await waitFor(
      () => api('GET', `/requests/${id}`),
      (r) => r.body.instances.filter((i) => i.state === 'succeeded').length === unapproved,
      { timeoutMs: 30_000, what: 'the unapproved instances to succeed' },
    );
    expect((await api('GET', `/requests/${id}`)).body.status).toBe('awaiting_approval');

    // The filer (developer@localhost) may not approve their own request: another identity does.
    const own = await api<ErrorAnswer>('POST', `/requests/${id}/approve`, {});
    expect(own.status).toBe(403);
    expect(own.body.error.code).toBe('self_approval');
    const approved = await api('POST', `/requests/${id}/approve`, {}, { headers: APPROVER });
    expect(approved.status).toBe(200);
    const ga = approved.body.instances.find((i) => i.taskId === 'ga-user-deletion');
    expect(ga?.approvals?.map((a) => a.actor)).toEqual(['approver@localhost']);

    const done = await settled(id);
    expect(done.body.status).toBe('completed');
    for (const instance of done.body.instances) {
      expect(instance.state).toBe('succeeded');
      expect(instance.attempts).toBe(1);
      expect(instance.lastRun?.status).toBe('succeeded');
    }
    // The demo warehouse tables are small: each BigQuery statement bills the 10 MiB minimum, a
    // change and the count that verifies it per table (the GA4 export has five daily shards).
    const MiB = 2 ** 20;
    const bigQueryBytes: Record<string, number> = {
      'warehouse-events-delete': 20 * MiB,
      'warehouse-entries-owner-null': 20 * MiB,
      'warehouse-contacts-delete': 20 * MiB,
      'warehouse-sessions-delete': 20 * MiB,
      'ads-audience-delete': 20 * MiB,
      'ga4-events-delete': 100 * MiB,
    };
    const bigQueryTasks = Object.keys(bigQueryBytes);
    expect(done.body.instances.map((i) => i.taskId)).toEqual(expect.arrayContaining(bigQueryTasks));
    const totalBytes = Object.values(bigQueryBytes).reduce((a, b) => a + b, 0);
    expect(done.body.cost.bytesBilled).toBe(totalBytes);
    // Each run prices its own bytes, rounded to the nano-dollar.
    expect(done.body.cost.usd).toBeCloseTo((totalBytes / TEN_MIB.bytesBilled) * TEN_MIB.usd, 7);

    const runs = await runsOf(id);
    // One finished run per instance. A batched BigQuery task's attempt first joins its batch
    // and waits (runs costing nothing), then finishes with its share of the batch's bill: all
    // of it here, as each batch has this one request.
    const finished = runs.filter((r) => r.status !== 'waiting');
    expect(finished).toHaveLength(done.body.instances.length);
    for (const run of runs.filter((r) => r.status === 'waiting')) {
      expect(bigQueryTasks).toContain(run.taskId);
      expect(run.cost.bytesBilled).toBe(0);
      expect(run.evidence.batch?.id).toMatch(/^b-/);
    }
    for (const run of finished) {
      expect(run).toMatchObject({
        requestId: id,
        attempt: 1,
        status: 'succeeded',
        willRetry: false,
      });
      expect(run.durationMs).toBeGreaterThanOrEqual(0);
      expect(Date.parse(run.finishedAt)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));
      expect(run.cost.bytesBilled).toBe(bigQueryBytes[run.taskId] ?? 0);
      if (bigQueryTasks.includes(run.taskId)) {
        expect(run.evidence.batch).toMatchObject({ members: 1, bytesBilled: run.cost.bytesBilled });
      }
      expect(run.delivery?.taskName).toMatch(/^[0-9a-f]{8}-/);
      expect(run.delivery?.retryCount).toBe(0);
    }
    const gaRun = runs.find((r) => r.taskId === 'ga-user-deletion');
    expect(gaRun?.evidence.approvedBy).toEqual(['approver@localhost']);
  });

  it('files the records example and completes it', async () => {
    const filed = await api('POST', '/requests', example('records-request.json'));
    expect(filed.status).toBe(201);
    const done = await settled(filed.body.id);
    expect(done.body.status).toBe('completed');
    expect(done.body.type).toBe('records');
  });

  it('retries a failing task, fails it after maxAttempts with the reason, then succeeds after a fix and a retry', async () => {
    const task = {
      id: 'flaky-legacy-erasure',
      name: 'Erase from the legacy system',
      jobType: 'deletion',
      executor: 'demo.sleep',
      config: { ms: 10, failTimes: 10 },
      requiredIdentifiers: ['legacyId'],
      timeoutSeconds: 15,
      maxAttempts: 2,
      retryPolicy: { minBackoffSeconds: 1, maxBackoffSeconds: 1, maxDoublings: 0 },
      teamContact: 'legacy-oncall@example.com',
    };
    expect((await api('POST', '/tasks', task)).status).toBe(201);
    const filed = await api('POST', '/requests', {
      type: 'deletion',
      subject: { legacyId: 'L-991' },
      externalId: 'flaky-1',
    });
    expect(filed.status).toBe(201);
    const id = filed.body.id;
    const failed = await settled(id);
    expect(failed.body.status).toBe('completed_with_errors');
    const instance = failed.body.instances.find((i) => i.taskId === task.id);
    expect(instance).toMatchObject({ state: 'failed', attempts: 2 });
    expect(instance?.lastError?.message).toMatch(/failing on purpose/);
    expect(instance?.advice).toMatch(/retry/);
    const skipped = failed.body.instances.filter((i) => i.state === 'skipped');
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped[0]?.skippedReason).toMatch(/has no/);

    const runs = await runsOf(id);
    expect(runs.map((r) => [r.attempt, r.status, r.willRetry])).toEqual([
      [1, 'failed', true],
      [2, 'failed', false],
    ]);

    expect(
      (await api('PATCH', `/tasks/${task.id}`, { config: { ms: 10, failTimes: 0 } })).status,
    ).toBe(200);
    const retried = await api('POST', `/requests/${id}/instances/${task.id}/retry`);
    expect(retried.status).toBe(202);
    const done = await settled(id);
    expect(done.body.status).toBe('completed');
    const after = done.body.instances.find((i) => i.taskId === task.id);
    expect(after).toMatchObject({ state: 'succeeded', series: 2, attempts: 3 });
    const allRuns = await runsOf(id);
    expect(allRuns).toHaveLength(3);
    expect(allRuns[2]).toMatchObject({ series: 2, attempt: 1, status: 'succeeded' });
  });

  describe('bad input: a clear 4xx with the field, and nothing written', () => {
    const cases: [string, { body?: unknown; raw?: string; path?: string }, number, string][] = [
      ['malformed JSON', { raw: '{"type": "deletion",' }, 400, ''],
      [
        'an unknown request type',
        { body: { type: 'rectification', subject: { email: 'a@b.c' } } },
        400,
        'type',
      ],
      ['a subject with no identifier', { body: { type: 'deletion', subject: {} } }, 400, 'subject'],
      [
        'a non-string identifier',
        { body: { type: 'deletion', subject: { userId: 42 } } },
        400,
        'subject.userId',
      ],
      [
        'an identifier over 256 characters',
        { body: { type: 'deletion', subject: { email: 'x'.repeat(257) } } },
        400,
        'subject.email',
      ],
      [
        'unknown top-level fields',
        { body: { type: 'deletion', subject: { email: 'a@b.c' }, priority: 'high' } },
        400,
        '',
      ],
      [
        'a body over 64 KB',
        { body: { type: 'deletion', subject: { email: 'a@b.c' }, notes: 'x'.repeat(70_000) } },
        413,
        '',
      ],
      [
        'an unknown executor',
        {
          path: '/tasks',
          body: { id: 'bad-exec', name: 'x', jobType: 'deletion', executor: 'sql.eval' },
        },
        400,
        'executor',
      ],
      [
        'a config that fails the executor schema',
        {
          path: '/tasks',
          body: {
            id: 'bad-config',
            name: 'x',
            jobType: 'deletion',
            executor: 'demo.sleep',
            config: { ms: 'slow' },
          },
        },
        400,
        'config.ms',
      ],
    ];
    it.each(cases)('%s', async (_name, input, status, field) => {
      const before = await requestCount();
      const res = await api<ErrorAnswer>(
        'POST',
        input.path ?? '/requests',
        input.body,
        input.raw === undefined ? {} : { raw: input.raw },
      );
      expect(res.status).toBe(status);
      expect(res.body.error.code).toEqual(expect.any(String));
      expect(res.body.error.message).toEqual(expect.any(String));
      if (field !== '') expect((res.body.error.issues ?? []).map((i) => i.path)).toContain(field);
      expect(await requestCount()).toBe(before);
      if (input.path === '/tasks')
        expect((await api('GET', `/tasks/${(input.body as { id: string }).id}`)).status).toBe(404);
    });

    it('a taskId that does not exist at approval', async () => {
      const filed = await api('POST', '/requests', {
        ...example('deletion-request.json'),
        externalId: 'approval-check',
      });
      const res = await api<ErrorAnswer>(
        'POST',
        `/requests/${filed.body.id}/approve`,
        { taskIds: ['no-such-task'] },
        { headers: APPROVER },
      );
      expect(res.status).toBe(400);
      expect(res.body.error.issues?.[0]?.path).toBe('taskIds[0]');
    });
  });

  it('names an http.request endpoint by its URL template, never by the email it sent', async () => {
    const partner = await startEchoingPartner();
    const task = {
      id: 'partner-erasure',
      name: 'Erase at a partner that refuses',
      jobType: 'deletion',
      executor: 'http.request',
      config: { url: `http://127.0.0.1:${partner.port}/answer/400/users/{{subject.email}}` },
      maxAttempts: 1,
    };
    try {
      expect((await api('POST', '/tasks', task)).status).toBe(201);
      const filed = await api('POST', '/requests', {
        type: 'deletion',
        subject: { email: PARTNER_EMAIL },
        externalId: 'partner-1',
      });
      expect((await settled(filed.body.id)).body.status).toBe('completed_with_errors');
      expect(partner.received.map((r) => r.url)).toEqual([
        `/answer/400/users/${encodeURIComponent(PARTNER_EMAIL)}`,
      ]);
      const run = (await runsOf(filed.body.id)).find((r) => r.taskId === task.id);
      expect(run).toMatchObject({ status: 'failed', error: { code: 'http.400' } });
      expect(run?.message).toContain(
        `POST http://127.0.0.1:${partner.port}/answer/400/users/{{subject.email}} answered 400`,
      );
    } finally {
      // Later requests with an email must not pick the task up.
      await api('PATCH', `/tasks/${task.id}`, { active: false });
      await partner.stop();
    }
  });

  it('writes every field the log-based metrics in infra/ read, with the right type', async () => {
    await stack.dispatchNow();
    const problems = checkLogLinesAgainstMetrics(logMetricsOf(await loadModule()), logLines, {
      requireMatch: [
        'dsr_run_outcomes',
        'dsr_run_duration_ms',
        'dsr_run_cost_usd',
        'dsr_run_bytes_billed',
        'dsr_dispatch_runs',
        'dsr_dispatch_enqueued',
        'dsr_dispatch_enqueue_failed',
        'dsr_dispatch_rearmed',
        'dsr_dispatch_expired',
        'dsr_dispatch_polled',
        'dsr_dispatch_items_failed',
        'dsr_dispatch_minimised',
        'dsr_dispatch_duration_ms',
      ],
    });
    expect(problems).toEqual([]);
  });

  it('never logs a raw subject identifier', () => {
    expect(logLines.length).toBeGreaterThan(20);
    const subject = example('deletion-request.json').subject as Record<string, string>;
    const identifiers = [...Object.values(subject), 'L-991', PARTNER_EMAIL];
    // The http.request task sent the email URL-encoded: that form must not leak either.
    const forms = [...identifiers, ...identifiers.map(encodeURIComponent)];
    const leaks = logLines.filter((line) => forms.some((v) => line.includes(v)));
    expect(leaks).toEqual([]);
  });
});
