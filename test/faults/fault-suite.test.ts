import { shortHash } from '../../src/domain/subject';
import type { RegisterTaskInput } from '../../src/domain/model';
import type { ErrorAnswer } from '../helpers/http';
import { waitFor } from '../helpers/wait-for';
import { applicable, FaultStack, faultTable, type FaultRow } from './support/fault-stack';

/**
 * The fault suite: each case breaks one thing on the whole local stack and checks, at the end,
 * that every instance is terminal or correctly waiting, that every attempt has a run record,
 * that the request status is right, and that no executor ran more often than its attempts
 * allow (see FaultStack.checkInvariants). The cases share one stack and run in order; the two
 * that move the clock come last. The table of outcomes is printed after the run and kept in
 * docs/reliability.md.
 */
/** The issue's order, for the table; the cases run in another (clock shifts last). */
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

  it('never logs a subject identifier, whatever failed', () => {
    // Declared last, so it runs after every case, over every line they made the functions write.
    expect(f.logs.length).toBeGreaterThan(100);
    expect(f.logs.filter((l) => JSON.stringify(l).includes('subject-'))).toEqual([]);
  });
});
