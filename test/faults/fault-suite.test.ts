// The warehouse helpers first: they make the official BigQuery client load under Jest.
import { FaultWarehouse, maxOutstanding } from './support/warehouse';
import { shortHash } from '../../src/domain/subject';
import type { RegisterTaskInput, Run } from '../../src/domain/model';
import type { ErrorAnswer } from '../helpers/http';
import { waitFor } from '../helpers/wait-for';
import {
  applicable,
  BIGQUERY_MIN_JOB_MS,
  FaultStack,
  faultTable,
  type FaultRow,
} from './support/fault-stack';

/**
 * The fault suite: each case breaks one thing on the whole local stack and checks, at the end,
 * that every instance is terminal or correctly waiting, that every attempt has a run record,
 * that the request status is right, and that no executor ran more often than its attempts
 * allow (see FaultStack.checkInvariants). The cases share one stack and run in order; the two
 * that move the clock come after the others, and the 60 BigQuery deletions, the heaviest case,
 * last: were it to fail, the work it leaves running would slow every case after it. The table
 * of outcomes is printed after the run and kept in docs/reliability.md.
 */
/** The issue's order, for the table; the cases run in another (clock shifts, then the 60 requests). */
const ORDER = [
  'duplicate delivery',
  'handler killed mid-run',
  'queue down at intake',
  'store down',
  'executor hang',
  'retry exhaustion',
  'execution window',
  'parked instance',
  'concurrent dispatch',
  'duplicate request',
  '60 deletion requests on one table at once',
];

describe('fault suite', () => {
  let f: FaultStack;
  const rows: FaultRow[] = [];

  beforeAll(async () => {
    f = await FaultStack.start();
  }, 90_000);
  afterAll(async () => {
    await f?.stop();
    console.log(`Fault suite outcomes\n\n${faultTable(rows, ORDER)}\n`);
  });

  /** A case of the table: its outcome line goes into the printed table, pass or fail. */
  function fault(name: string, does: string, run: () => Promise<string>, timeoutMs = 60_000): void {
    it(
      name,
      async () => {
        const started = Date.now();
        const row = (outcome: string) =>
          rows.push({ name, does, outcome, seconds: (Date.now() - started) / 1000 });
        try {
          row(await run());
        } catch (err) {
          row(`FAILED: ${(err as Error).message.split('\n')[0]?.slice(0, 160)}`);
          throw err;
        } finally {
          // A failed case must not leave the next one without its store or queue.
          await Promise.all([f.store.restore(), f.queue.restore()]);
        }
      },
      timeoutMs,
    );
  }

  const quickRetry = { minBackoffSeconds: 1, maxBackoffSeconds: 1, maxDoublings: 0 };
  /** A demo.sleep task that applies only to subjects with `identifier`. */
  const task = (
    id: string,
    identifier: string,
    config: Record<string, unknown>,
    extra: Partial<RegisterTaskInput> = {},
  ): RegisterTaskInput => ({
    id,
    name: `fault case task ${id}`,
    jobType: 'deletion',
    executor: 'demo.sleep',
    config,
    requiredIdentifiers: [identifier],
    timeoutSeconds: 10,
    maxAttempts: 3,
    retryPolicy: quickRetry,
    ...extra,
  });
  const tallyText = (t: {
    instances: number;
    attempts: number;
    runs: number;
    executions: number;
  }) =>
    `${t.instances} instances, ${t.attempts} attempts, ${t.runs} run records, ${t.executions} executor starts`;

  fault(
    'duplicate delivery',
    'each Cloud Task delivered twice at once: RunTask on the emulator plus a second POST with the same body and headers',
    async () => {
      for (const id of ['dup-a', 'dup-b', 'dup-c'])
        await f.registerTask(task(id, 'fdup', { ms: 300 }));
      await f.pauseQueue();
      const filed = await f.file({ fdup: 'subject-d1' });
      const tasks = (await f.queuedTasks()).filter((t) => t.name.includes(filed.id));
      expect(tasks).toHaveLength(3);
      const direct = await Promise.all(
        tasks.map(async (t) => (await Promise.all([f.runNow(t), f.deliverAgain(t)]))[1]),
      );
      await f.resumeQueue();
      const [done] = await f.settle([filed.id]);
      expect(done?.status).toBe('completed');
      const tally = await f.checkInvariants([filed.id]);
      expect(tally).toEqual({ instances: 3, attempts: 3, runs: 3, executions: 3 });
      // Of each pair, exactly one delivery ran the attempt; the other was turned away.
      const turnedAway = f.events('run.duplicate_delivery', filed.id);
      expect(turnedAway).toHaveLength(3);
      expect(direct.every((d) => d.status === 200)).toBe(true);
      const reasons = [...new Set(turnedAway.map((l) => String(l['reason'])))].sort().join('/');
      return `completed; 6 deliveries, 3 turned away (${reasons}); ${tallyText(tally)}`;
    },
  );

  fault(
    'handler killed mid-run',
    'run-task is killed (SIGKILL) while an executor runs, then restarted; the watchdog recovers it',
    async () => {
      await f.registerTask(
        task('kill-a', 'fkill', { ms: 1500 }, { timeoutSeconds: 2, maxAttempts: 2 }),
      );
      const filed = await f.file({ fkill: 'subject-k1' });
      await waitFor(
        () => f.events('run.started', filed.id).length,
        (n) => n === 1,
        { what: 'the executor to start' },
      );
      await f.stack.kill('runTask', 'SIGKILL');
      await f.stack.start('runTask');
      const [done] = await f.settle([filed.id]);
      expect(done?.status).toBe('completed');
      expect(applicable(done)[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
      const runs = await f.runs(filed.id);
      expect(runs.map((r) => [r.attempt, r.status, r.willRetry])).toEqual([
        [1, 'abandoned', true],
        [2, 'succeeded', false],
      ]);
      expect(f.events('instance.abandoned', filed.id)).toHaveLength(1);
      const tally = await f.checkInvariants([filed.id]);
      return `completed; attempt 1 recorded abandoned by the watchdog, attempt 2 succeeded; ${tallyText(tally)}`;
    },
  );

  fault(
    'queue down at intake',
    'Cloud Tasks is unreachable while requests are filed and approved; they are stored and run once it is back',
    async () => {
      await f.registerTask(task('qdown-a', 'fqdown', { ms: 50 }));
      await f.registerTask(task('qdown-b', 'fqdown', { ms: 50 }, { requiresApproval: true }));
      await f.queue.cut();
      const filed = [
        await f.file({ fqdown: 'subject-q1' }),
        await f.file({ fqdown: 'subject-q2' }),
      ];
      for (const r of filed) {
        expect(applicable(r).map((i) => [i.taskId, i.state])).toEqual([
          ['qdown-a', 'pending_enqueue'],
          ['qdown-b', 'pending_approval'],
        ]);
        const approved = await f.api(
          'POST',
          `/requests/${r.id}/approve`,
          {},
          { headers: { 'X-Dev-Identity': 'approver@localhost' } },
        );
        expect(approved.status).toBe(200);
        expect(applicable(approved.body).map((i) => i.state)).toEqual([
          'pending_enqueue',
          'pending_enqueue',
        ]);
      }
      const whileDown = await f.dispatch();
      expect(whileDown.enqueueFailed).toBeGreaterThanOrEqual(4);
      expect(whileDown.enqueued).toBe(0);
      await f.queue.restore();
      const ids = filed.map((r) => r.id);
      const done = await f.settle(ids);
      expect(done.map((r) => r.status)).toEqual(['completed', 'completed']);
      const tally = await f.checkInvariants(ids);
      expect(tally.attempts).toBe(4);
      return `2 requests answered 201 and approved 200 while down (4 instances pending_enqueue); dispatch enqueued them once the queue was back; completed; ${tallyText(tally)}`;
    },
  );

  fault(
    'store down',
    'Firestore is unreachable during intake; the answer is 503, nothing is half-written, and the repeat is safe',
    async () => {
      await f.registerTask(task('sdown-a', 'fsdown', { ms: 50 }));
      const body = {
        type: 'deletion',
        subject: { fsdown: 'subject-s1' },
        externalId: 'store-down-1',
      };
      const id = `x${shortHash(`external\nstore-down-1`, 31)}`;
      await f.store.cut();
      const started = Date.now();
      const down = await f.api<ErrorAnswer>('POST', '/requests', body);
      const seconds = (Date.now() - started) / 1000;
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
      expect(down.body.error.code).toBe('store.unavailable');
      expect(down.body.error.message).toMatch(/Firestore\) is unavailable/);
      expect(seconds).toBeLessThan(8);
      await f.store.restore();
      // Nothing was written: neither the request nor any of its instances.
      expect(await f.document(`requests/${id}`)).toBeNull();
      expect(await f.document(`requests/${id}/instances/sdown-a`)).toBeNull();
      // The functions' clients reconnect with their own backoff.
      const again = await waitFor(
        () => f.api('POST', '/requests', body),
        (r) => r.status !== 503,
        { timeoutMs: 30_000, what: 'the api to reach the store again' },
      );
      expect(again.status).toBe(201);
      expect(again.body.id).toBe(id);
      const repeat = await f.api('POST', '/requests', body);
      expect(repeat.status).toBe(200);
      expect(repeat.body.id).toBe(id);
      const [done] = await f.settle([id]);
      expect(done?.status).toBe('completed');
      const tally = await f.checkInvariants([id]);
      return `503 store.unavailable (Retry-After 5) in ${seconds.toFixed(1)} s; no request or instance written; the repeat got 201, a third call 200 with the same id; completed; ${tallyText(tally)}`;
    },
  );

  fault(
    'executor hang',
    'one executor honours its AbortSignal 2 s late, another ignores it; run-task answers by the timeout each time',
    async () => {
      const hang = { timeoutSeconds: 1, maxAttempts: 2 };
      await f.registerTask(task('hang-late', 'fhang', { ms: 20_000, abortLagMs: 2000 }, hang));
      await f.registerTask(task('hang-ignore', 'fhang', { ms: 20_000, abortLagMs: -1 }, hang));
      const filed = await f.file({ fhang: 'subject-h1' });
      const [done] = await f.settle([filed.id]);
      expect(done?.status).toBe('completed_with_errors');
      for (const instance of applicable(done)) {
        expect(instance).toMatchObject({
          state: 'failed',
          attempts: 2,
          lastError: {
            code: 'timed_out',
            message: 'the executor did not finish within the task timeout of 1 s',
          },
          advice: expect.stringMatching(/^Gave up after 2 of 2 attempts/) as unknown,
        });
      }
      const runs = await f.runs(filed.id);
      expect(runs.map((r) => r.status)).toEqual([
        'timed_out',
        'timed_out',
        'timed_out',
        'timed_out',
      ]);
      const slowest = Math.max(...runs.map((r) => r.durationMs));
      // The timer wins: 1 s timeout plus 250 ms of slack, not the executor's 2 s lag or 20 s.
      expect(slowest).toBeLessThan(1750);
      const tally = await f.checkInvariants([filed.id]);
      return `both timed_out on each of 2 attempts (slowest answer ${slowest} ms), then failed "did not finish within the task timeout of 1 s"; completed_with_errors; ${tallyText(tally)}`;
    },
  );

  fault(
    'retry exhaustion',
    'an executor that always fails retryably; then a retry of the failed instance while the queue is down',
    async () => {
      await f.registerTask(
        task(
          'exhaust',
          'fexhaust',
          { ms: 10, failTimes: 100 },
          { teamContact: 'legacy-oncall@example.com' },
        ),
      );
      const filed = await f.file({ fexhaust: 'subject-e1' });
      const [failed] = await f.settle([filed.id]);
      expect(failed?.status).toBe('completed_with_errors');
      expect(applicable(failed)[0]).toMatchObject({
        state: 'failed',
        attempts: 3,
        lastError: {
          code: 'demo.retryable',
          message: expect.stringMatching(/failing on purpose \(attempt 3/) as unknown,
        },
        advice: expect.stringMatching(
          /Gave up after 3 of 3 attempts.*Contact: legacy-oncall@example.com/,
        ) as unknown,
      });
      const firstSeries = await f.runs(filed.id);
      expect(firstSeries.map((r) => [r.attempt, r.status, r.willRetry])).toEqual([
        [1, 'failed', true],
        [2, 'failed', true],
        [3, 'failed', false],
      ]);
      expect(f.events('run.failed', filed.id)).toHaveLength(1);

      // Fixed, then retried while Cloud Tasks is unreachable: stored as pending_enqueue (202).
      expect(
        (await f.api('PATCH', '/tasks/exhaust', { config: { ms: 10, failTimes: 0 } })).status,
      ).toBe(200);
      await f.queue.cut();
      const retried = await f.api('POST', `/requests/${filed.id}/instances/exhaust/retry`);
      expect(retried.status).toBe(202);
      expect(applicable(retried.body)[0]).toMatchObject({ state: 'pending_enqueue', series: 2 });
      await f.queue.restore();
      const [done] = await f.settle([filed.id]);
      expect(done?.status).toBe('completed');
      expect(applicable(done)[0]).toMatchObject({ state: 'succeeded', series: 2, attempts: 4 });
      const all = await f.runs(filed.id);
      const second = all.find((r) => r.series === 2);
      expect(second).toMatchObject({ attempt: 1, status: 'succeeded' });
      const oldNames = new Set(firstSeries.map((r) => r.delivery?.taskName));
      expect(oldNames.has(second?.delivery?.taskName)).toBe(false);
      const tally = await f.checkInvariants([filed.id]);
      return `failed after 3 of 3 attempts with the last error and advice; the retry (202 while the queue was down) ran as series 2 under a new task name and succeeded; ${tallyText(tally)}`;
    },
  );

  fault(
    'concurrent dispatch',
    'two dispatch runs at once over an outbox of 10 instances',
    async () => {
      for (let i = 0; i < 5; i++) await f.registerTask(task(`conc-${i}`, 'fconc', { ms: 10 }));
      await f.queue.cut();
      const ids = [
        (await f.file({ fconc: 'subject-c1' })).id,
        (await f.file({ fconc: 'subject-c2' })).id,
      ];
      await f.queue.restore();
      const pairs: number[][] = [];
      await waitFor(
        async () => {
          const pair = await Promise.all([f.dispatch(), f.dispatch()]);
          pairs.push(pair.map((p) => p.enqueued));
          return Promise.all(ids.map((id) => f.request(id)));
        },
        (views) => views.every((v) => v.instances.every((i) => i.state !== 'pending_enqueue')),
        { timeoutMs: 20_000, what: 'the outbox to drain' },
      );
      const enqueued = pairs.flat().reduce((a, b) => a + b, 0);
      expect(enqueued).toBe(10);
      const done = await f.settle(ids);
      expect(done.map((r) => r.status)).toEqual(['completed', 'completed']);
      const tally = await f.checkInvariants(ids);
      expect(tally).toEqual({ instances: 10, attempts: 10, runs: 10, executions: 10 });
      const split = pairs.map((p) => p.join(' + ')).join(', then ');
      return `dispatch runs in concurrent pairs enqueued ${split}: each of the 10 instances once; completed; ${tallyText(tally)}`;
    },
  );

  fault(
    'duplicate request',
    'the same subject and type filed again while the first is open, and once more with an externalId',
    async () => {
      await f.registerTask(task('dupreq-a', 'fdupreq', { ms: 10 }));
      const first = await f.file({ fdupreq: 'subject-same-person' });
      const second = await f.file({ fdupreq: 'subject-same-person' });
      const third = await f.file({ fdupreq: 'subject-same-person' }, { externalId: 'dupreq-3' });
      expect(first.duplicateOf).toBeUndefined();
      expect(second.duplicateOf).toBe(first.id);
      expect(third.duplicateOf).toBe(first.id);
      expect((await f.request(second.id)).duplicateOf).toBe(first.id);
      const ids = [first.id, second.id, third.id];
      const done = await f.settle(ids);
      expect(done.map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
      const tally = await f.checkInvariants(ids);
      expect(tally.runs).toBe(3);
      return `2 later requests stored (201) with duplicateOf the first, shown by GET, and each ran; completed; ${tallyText(tally)}`;
    },
  );

  fault(
    'execution window',
    'filed before its window opens (clocks shifted to seconds before a window start); one of two is cancelled before the opening',
    async () => {
      // Shift every clock so that it reads ~50 s past a minute; the window opens at the next minute.
      await f.setClockOffset((50_000 - (Date.now() % 60_000) + 60_000) % 60_000);
      const opening = new Date(Math.ceil((f.now().getTime() + 3000) / 60_000) * 60_000);
      const hhmm = (d: Date) => d.toISOString().slice(11, 16);
      await f.registerTask(
        task(
          'window-a',
          'fwindow',
          { ms: 10 },
          {
            executionWindow: {
              start: hhmm(opening),
              end: hhmm(new Date(opening.getTime() + 30 * 60_000)),
              timeZone: 'UTC',
            },
          },
        ),
      );
      const kept = await f.file({ fwindow: 'subject-w1' });
      const dropped = await f.file({ fwindow: 'subject-w2' });
      for (const r of [kept, dropped]) {
        expect(applicable(r)[0]).toMatchObject({
          state: 'queued',
          scheduleTime: opening.toISOString(),
        });
        expect(Date.parse(r.createdAt)).toBeLessThan(opening.getTime());
      }
      const cancelled = await f.api('POST', `/requests/${dropped.id}/cancel`);
      expect(applicable(cancelled.body)[0]).toMatchObject({
        state: 'cancelled',
        advice: expect.stringMatching(/^cancelled by developer@localhost at /) as unknown,
      });
      const done = await f.settle([kept.id, dropped.id]);
      expect(done.map((r) => r.status)).toEqual(['completed', 'cancelled']);
      const [run] = await f.runs(kept.id);
      expect(Date.parse(run?.startedAt ?? '')).toBeGreaterThanOrEqual(opening.getTime());
      expect(await f.runs(dropped.id)).toEqual([]);
      // The cancelled instance's Cloud Task still came at the opening, and was turned away.
      await waitFor(
        () => f.events('run.duplicate_delivery', dropped.id),
        (l) => l.length === 1 && l[0]?.['reason'] === 'finished',
        { what: 'the cancelled instance’s delivery to be turned away' },
      );
      const tally = await f.checkInvariants([kept.id, dropped.id]);
      return `queued for the window's opening ${hhmm(opening)} UTC and started ${((Date.parse(run?.startedAt ?? '') - opening.getTime()) / 1000).toFixed(1)} s after it; the cancelled twin never ran (its delivery was turned away); ${tallyText(tally)}`;
    },
  );

  fault(
    'parked instance',
    'a task not before 40 days from now: parked, then enqueued by dispatch once in range (clocks shifted 40 days)',
    async () => {
      const notBefore = new Date(f.now().getTime() + 40 * 86_400_000);
      await f.registerTask(
        task('parked-a', 'fparked', { ms: 10 }, { notBefore: notBefore.toISOString() }),
      );
      const filed = await f.file({ fparked: 'subject-p1' });
      expect(applicable(filed)[0]).toMatchObject({
        state: 'pending_enqueue',
        parked: true,
        scheduleTime: notBefore.toISOString(),
      });
      const early = await f.dispatch();
      expect(early.rearmed).toBe(0);
      expect(applicable(await f.request(filed.id))[0]?.state).toBe('pending_enqueue');

      // 40 days on, a few seconds before notBefore: enough that restarting the functions with the
      // new clock (slow on a loaded machine) still leaves dispatch running before notBefore.
      await f.setClockOffset(notBefore.getTime() - Date.now() - 10_000);
      const inRange = await f.dispatch();
      expect(inRange.rearmed).toBe(1);
      expect(f.events('instance.rearmed', filed.id)).toEqual([
        expect.objectContaining({ reason: 'parked', scheduleTime: notBefore.toISOString() }),
      ]);
      const [done] = await f.settle([filed.id]);
      expect(done?.status).toBe('completed');
      const [run] = await f.runs(filed.id);
      expect(Date.parse(run?.startedAt ?? '')).toBeGreaterThanOrEqual(notBefore.getTime());
      const tally = await f.checkInvariants([filed.id]);
      return `parked (pending_enqueue, scheduleTime 40 days out, not sent to Cloud Tasks); dispatch left it until in range, then re-armed it (instance.rearmed) and it ran at notBefore; completed; ${tallyText(tally)}`;
    },
  );

  fault(
    '60 deletion requests on one table at once',
    `60 deletion requests filed at once for two BigQuery deletion tasks, each on its own demo table: one statement per request (batch: false, the table lease) on warehouse.entries, and batched (maxWaitSeconds 2) on warehouse.events; every job takes ${BIGQUERY_MIN_JOB_MS} ms in the emulator`,
    async () => {
      const wh = new FaultWarehouse(f.stack.bigQueryEmulator.url, f.stack.projectId);
      const table = (name: string) => `${f.stack.projectId}.warehouse.${name}`;
      const n = 60;
      const ids = Array.from({ length: n }, (_, i) => `subject-bulk-${String(i).padStart(2, '0')}`);

      // The control: the limit is live on this stack. DELETEs sent at once without a lease (a
      // pipeline fanning out one per request) overflow warehouse.entries' DML queue.
      const burst = await wh.burst(`DELETE FROM warehouse.entries WHERE owner_id = 'nobody'`, 25);
      expect(burst.refused.length).toBeGreaterThan(0);
      expect(burst.refused[0]).toBe(
        `Resources exceeded during query execution: Too many DML statements outstanding against table ${f.stack.projectId}:warehouse.entries, limit is 20.`,
      );

      // Each subject's rows: 3 events and 2 entries, written by query jobs (never in the
      // streaming buffer, which DML refuses).
      const mine = { events: 'user_id IN UNNEST(@ids)', entries: 'owner_id IN UNNEST(@ids)' };
      const others = {
        events: 'user_id NOT IN UNNEST(@ids)',
        entries: '(owner_id IS NULL OR owner_id NOT IN UNNEST(@ids))',
      };
      const count = (t: 'events' | 'entries', where: string) =>
        wh.count(`SELECT COUNT(*) AS n FROM warehouse.${t} WHERE ${where}`, { ids });
      const before = {
        events: await count('events', others.events),
        entries: await count('entries', others.entries),
      };
      const seeded = new Set([
        await wh.append(
          'warehouse',
          'events',
          `SELECT id AS user_id, 'fault_bulk' AS event_name, TIMESTAMP '2024-06-01 00:00:00+00' AS ts,
             '/faults' AS page, CONCAT('fs-', id) AS session_id
           FROM UNNEST(@ids) AS id, UNNEST([1, 2, 3]) AS copy`,
          { ids },
        ),
        await wh.append(
          'warehouse',
          'entries',
          `SELECT CONCAT('fe-', id, '-', CAST(copy AS STRING)) AS entry_id, id AS owner_id,
             CONCAT(id, '@example.invalid') AS owner_email, 'fault bulk entry' AS title,
             TIMESTAMP '2024-06-01 00:00:00+00' AS created_at
           FROM UNNEST(@ids) AS id, UNNEST([1, 2]) AS copy`,
          { ids },
        ),
      ]);
      expect(await count('events', mine.events)).toBe(3 * n);
      expect(await count('entries', mine.entries)).toBe(2 * n);

      const deletion = (
        id: string,
        t: string,
        column: string,
        batch: false | { maxSubjects: number; maxWaitSeconds: number },
      ): RegisterTaskInput => ({
        id,
        name: `fault case task ${id}`,
        jobType: 'deletion',
        executor: 'bigquery.delete',
        // Its identifier, fbulkUser, is this case's alone: other cases' requests skip the task.
        config: { table: `warehouse.${t}`, column, identifier: 'fbulkUser', batch },
        timeoutSeconds: 60,
        maxAttempts: 3,
        retryPolicy: quickRetry,
      });
      await f.registerTask(deletion('bulk-entries-each', 'entries', 'owner_id', false));
      await f.registerTask(
        deletion('bulk-events-batched', 'events', 'user_id', {
          maxSubjects: 1000,
          maxWaitSeconds: 2,
        }),
      );

      // The emulator's jobs carry real time; runs carry the functions' (shifted by the cases before).
      const filedAt = Date.now();
      const filedAtShifted = f.now().getTime();
      // A 503 (the store slow to answer under the burst) wrote nothing: the filer tries again,
      // with the same externalId so that a repeat can never file twice.
      const fileOne = (id: string) =>
        waitFor(
          () =>
            f.api('POST', '/requests', {
              type: 'deletion',
              subject: { fbulkUser: id },
              externalId: `bulk-${id}`,
            }),
          (res) => res.status !== 503,
          { timeoutMs: 60_000, intervalMs: 1000, what: `filing ${id}` },
        ).then((res) => {
          if (res.status !== 201 && res.status !== 200) {
            throw new Error(`filing: ${res.status} ${JSON.stringify(res.body)}`);
          }
          return res.body;
        });
      const filed = await Promise.all(ids.map(fileOne));
      const requestIds = filed.map((r) => r.id);
      // Until every request is settled, or an instance has failed for good (then the case fails
      // at once, naming the errors, rather than after the timeout). Under this load the api may
      // answer 503 (the store is slow to answer): such a look is taken again.
      const look = async (id: string) => {
        const res = await f.api('GET', `/requests/${id}`);
        return res.status === 200 ? res.body : undefined;
      };
      const views = await waitFor(
        async () => {
          await f.dispatch();
          return Promise.all(requestIds.map(look));
        },
        (vs) =>
          vs.every(
            (v) => v !== undefined && !['in_progress', 'awaiting_approval'].includes(v.status),
          ) || vs.some((v) => applicable(v).some((i) => i.state === 'failed')),
        { timeoutMs: 180_000, intervalMs: 2000, what: `the ${n} requests to settle` },
      );
      const done = views.filter((v) => v !== undefined);
      // Any instance that did not succeed: counted by task, state and error code on the first
      // line of the failure (the table's), each distinct error message on the lines after it.
      const unfinished = new Map<string, number>();
      const messages = new Set<string>();
      for (const r of done) {
        for (const i of applicable(r).filter((x) => x.state !== 'succeeded')) {
          const why = `${i.taskId} ${i.state}${i.lastError === undefined ? '' : ` (${i.lastError.code})`}`;
          unfinished.set(why, (unfinished.get(why) ?? 0) + 1);
          if (i.lastError !== undefined)
            messages.add(`${i.lastError.code}: ${i.lastError.message}`);
        }
      }
      if (unfinished.size > 0) {
        throw new Error(
          [
            `not all succeeded: ${[...unfinished].map(([why, times]) => `${times} × ${why}`).join(', ')}`,
            ...messages,
          ].join('\n'),
        );
      }
      expect(done.map((r) => r.status)).toEqual(requestIds.map(() => 'completed'));
      for (const r of done) {
        expect(applicable(r).map((i) => [i.taskId, i.state])).toEqual([
          ['bulk-entries-each', 'succeeded'],
          ['bulk-events-batched', 'succeeded'],
        ]);
      }

      // No DML-limit error anywhere: in any run, in any line the functions logged, in any job.
      const runsOf = async (id: string) =>
        (
          await waitFor(
            () => f.api<{ runs: Run[] }>('GET', `/requests/${id}/runs`),
            (res) => res.status === 200,
            { timeoutMs: 30_000, intervalMs: 500, what: `the runs of ${id}` },
          )
        ).body.runs;
      const runs = (await Promise.all(requestIds.map(runsOf))).flat();
      const limitHits = runs.filter(
        (r) =>
          r.error?.message.includes('Too many DML statements') === true ||
          r.error?.code === 'bigquery.rate_limited',
      );
      expect(limitHits).toEqual([]);
      expect(
        f.logs.filter((l) =>
          /Too many DML statements|bigquery\.rate_limited/.test(JSON.stringify(l)),
        ),
      ).toEqual([]);
      const jobs = (await wh.jobs()).filter(
        (j) => j.createdAt >= filedAt && !burst.accepted.has(j.id) && !seeded.has(j.id),
      );
      expect(jobs.filter((j) => j.error !== undefined)).toEqual([]);

      // Per request: one DELETE each on entries, never two outstanding at once.
      const finals = runs.filter((r) => r.status === 'succeeded');
      const each = finals.filter((r) => r.taskId === 'bulk-entries-each');
      expect(each).toHaveLength(n);
      for (const r of each) {
        expect(r.evidence).toMatchObject({ affectedRows: 2, remainingRows: 0 });
        expect(r.evidence.batch).toBeUndefined();
      }
      const entryDeletes = jobs.filter((j) => j.mutates === table('entries'));
      expect(entryDeletes.length).toBeGreaterThanOrEqual(n);
      expect(maxOutstanding(jobs, table('entries'))).toBe(1);
      const leaseWaits = runs.filter(
        (r) => r.taskId === 'bulk-entries-each' && /table lease is held/.test(r.message),
      ).length;

      // Batched: each member's own rows, and one DELETE per batch on events.
      const batched = finals.filter((r) => r.taskId === 'bulk-events-batched');
      expect(batched).toHaveLength(n);
      const batches = new Map<string, { members: number; statements: number; runs: number }>();
      for (const r of batched) {
        expect(r.evidence).toMatchObject({ affectedRows: 3, remainingRows: 0 });
        const b = r.evidence.batch;
        expect(b).toBeDefined();
        const seen = batches.get(b?.id ?? '') ?? {
          members: b?.members ?? 0,
          statements: b?.statements ?? 0,
          runs: 0,
        };
        seen.runs += 1;
        batches.set(b?.id ?? '', seen);
      }
      for (const b of batches.values()) {
        expect(b.runs).toBe(b.members);
        expect(b.statements).toBe(1);
      }
      const eventDeletes = jobs.filter((j) => j.mutates === table('events'));
      expect(eventDeletes.length).toBeGreaterThanOrEqual(batches.size);
      expect(maxOutstanding(jobs, table('events'))).toBe(1);

      // Nothing lost: every subject's rows gone, every other row still there.
      expect(await count('events', mine.events)).toBe(0);
      expect(await count('entries', mine.entries)).toBe(0);
      expect(await count('events', others.events)).toBe(before.events);
      expect(await count('entries', others.entries)).toBe(before.entries);

      const tally = await f.checkInvariants(requestIds);
      expect(tally.instances).toBe(2 * n);
      const lastAt = (rs: typeof runs) =>
        (Math.max(...rs.map((r) => Date.parse(r.finishedAt))) - filedAtShifted) / 1000;
      const sizes = [...batches.values()].map((b) => b.members).join(' + ');
      return (
        `all ${n} completed, the last ${lastAt(finals).toFixed(1)} s after filing; ` +
        `per request: ${entryDeletes.length} DELETEs on entries, at most ${maxOutstanding(jobs, table('entries'))} outstanding (${leaseWaits} polls found the table lease held), done at ${lastAt(each).toFixed(1)} s; ` +
        `batched: ${batches.size} ${batches.size === 1 ? 'batch' : 'batches'} (${sizes} subjects), ${eventDeletes.length} DELETE${eventDeletes.length === 1 ? '' : 's'} on events, done at ${lastAt(batched).toFixed(1)} s; ` +
        `0 DML-limit errors in ${runs.length} runs and ${jobs.length} jobs; ${5 * n} subject rows gone, ${before.events + before.entries} other rows unchanged; ` +
        `control: ${burst.refused.length} of 25 DELETEs sent at once refused ("limit is 20"); ${tallyText(tally)}`
      );
    },
    240_000,
  );

  it('never logs a subject identifier, whatever failed', () => {
    // Declared last, so it runs after every case, over every line they made the functions write.
    expect(f.logs.length).toBeGreaterThan(100);
    expect(f.logs.filter((l) => JSON.stringify(l).includes('subject-'))).toEqual([]);
  });
});
