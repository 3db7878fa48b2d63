import { ConflictError } from '../../../src/domain/errors';
import {
  abandonAttempt,
  approvalsCover,
  approveInstance,
  cancelInstance,
  decideClaim,
  denyInstance,
  retrySeries,
  settleAttempt,
  type LifecycleTask,
} from '../../../src/domain/lifecycle';
import type { Approval, Instance, RunSummary } from '../../../src/domain/model';

const NOW = new Date('2026-03-02T12:00:00Z');
const iso = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();

const task: LifecycleTask = {
  id: 'crm-delete',
  timeoutSeconds: 60,
  approvalsRequired: 0,
  version: 3,
  versionHash: 'h3',
};
const fourEyes: LifecycleTask = { ...task, approvalsRequired: 2 };

function instance(over: Partial<Instance> = {}): Instance {
  return {
    requestId: 'r'.repeat(32),
    taskId: 'crm-delete',
    taskName: 'CRM delete',
    executor: 'noop',
    jobType: 'deletion',
    state: 'queued',
    attempt: 0,
    totalAttempts: 0,
    series: 1,
    maxAttempts: 3,
    timeoutSeconds: 60,
    scheduleTime: iso(0),
    cost: { bytesBilled: 0, usd: 0 },
    updatedAt: iso(-1000),
    ...over,
  };
}

const approval = (actor: string, hash = 'h3'): Approval => ({
  actor,
  at: iso(0),
  taskVersion: 3,
  taskVersionHash: hash,
});

/** The code of the error `fn` throws (the test fails if it throws none). */
function codeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
  throw new Error('expected a throw');
}

const summary: RunSummary = {
  runId: 's1-a001-00000000',
  attempt: 1,
  status: 'succeeded',
  message: 'ok',
  finishedAt: iso(0),
};

describe('decideClaim: run-task claims only what the queue would have delivered', () => {
  const claim = (
    i: Instance,
    d: { series: number; attempt: number; poll?: number; early?: boolean },
    t = task,
  ) => decideClaim(i, d, t, NOW, 10);

  it('claims the next attempt of a due, queued instance and pins the task version', () => {
    const decision = claim(instance(), { series: 1, attempt: 1 });
    expect(decision).toEqual({
      polling: false,
      claim: expect.objectContaining({
        state: 'running',
        attempt: 1,
        totalAttempts: 1,
        leaseExpiresAt: iso(70_000),
        taskVersion: { version: 3, hash: 'h3' },
      }) as unknown,
    });
  });

  it.each([
    [
      'a finished instance',
      instance({ state: 'succeeded' }),
      { series: 1, attempt: 1 },
      'finished',
    ],
    ['another series', instance(), { series: 2, attempt: 1 }, 'stale'],
    ['an older series', instance({ series: 3 }), { series: 2, attempt: 1 }, 'stale'],
    ['an attempt the queue never made', instance(), { series: 1, attempt: 7 }, 'stale'],
    ['a negative attempt', instance(), { series: 1, attempt: -5 }, 'stale'],
    [
      'a running instance',
      instance({ state: 'running', attempt: 1 }),
      { series: 1, attempt: 1 },
      'leased',
    ],
    [
      'an unapproved instance',
      instance({ state: 'pending_approval' }),
      { series: 1, attempt: 1 },
      'not_approved',
    ],
  ] as const)('refuses %s', (_name, current, delivery, reason) => {
    expect(claim(current, delivery)).toEqual(expect.objectContaining({ refuse: reason }));
  });

  it('refuses an instance scheduled for later with when it is due', () => {
    const decision = claim(instance({ scheduleTime: iso(3_600_000) }), { series: 1, attempt: 1 });
    expect(decision).toEqual({ refuse: 'not_due', dueAt: new Date(iso(3_600_000)) });
  });

  it('refuses before the task notBefore and outside its window', () => {
    const later = claim(
      instance(),
      { series: 1, attempt: 1 },
      { ...task, notBefore: iso(86_400_000) },
    );
    expect(later).toEqual({ refuse: 'not_due', dueAt: new Date(iso(86_400_000)) });
    const window = { start: '01:00', end: '02:00', timeZone: 'UTC' };
    const closed = claim(
      instance(),
      { series: 1, attempt: 1 },
      { ...task, executionWindow: window },
    );
    expect(closed).toEqual({ refuse: 'not_due', dueAt: new Date('2026-03-03T01:00:00Z') });
  });

  it('a retry redelivery claims the same attempt number once its backoff has passed', () => {
    const retrying = instance({ state: 'retry_scheduled', attempt: 2, nextAttemptAt: iso(0) });
    // Cloud Tasks redelivers attempt 1's task after each 503; dispatch re-arms attempt 2's.
    expect(claim(retrying, { series: 1, attempt: 1 })).toHaveProperty('claim.attempt', 3);
    expect(claim(retrying, { series: 1, attempt: 2 })).toHaveProperty('claim.attempt', 3);
    expect(claim(retrying, { series: 1, attempt: 3 })).toEqual({ refuse: 'stale' });
    expect(claim(retrying, { series: 1, attempt: 0 })).toEqual({ refuse: 'stale' });
    const early = { ...retrying, nextAttemptAt: iso(30_000) };
    expect(claim(early, { series: 1, attempt: 1 })).toHaveProperty('refuse', 'not_due');
    // A waiting attempt's poll is due at its nextAttemptAt, unless it was sent early (a batch's
    // flush finished and polls its members at once).
    const waiting = instance({
      state: 'waiting',
      attempt: 1,
      polls: 2,
      waitingHandle: '{"batch":"b"}',
      nextAttemptAt: iso(600_000),
    });
    expect(claim(waiting, { series: 1, attempt: 1, poll: 2 })).toHaveProperty('refuse', 'not_due');
    expect(claim(waiting, { series: 1, attempt: 1, poll: 2, early: true })).toHaveProperty(
      'polling',
      true,
    );
  });

  it('a poll continues its waiting attempt without counting a new one', () => {
    const waiting = instance({
      state: 'waiting',
      attempt: 2,
      totalAttempts: 2,
      polls: 1,
      waitingHandle: 'job-1',
      nextAttemptAt: iso(0),
    });
    const decision = claim(waiting, { series: 1, attempt: 2, poll: 1 });
    expect(decision).toHaveProperty('polling', true);
    expect(decision).toHaveProperty('claim.attempt', 2);
    expect(claim(waiting, { series: 1, attempt: 2, poll: 2 })).toEqual({ refuse: 'stale' });
  });

  it('sends an instance whose task changed after approval back to approval', () => {
    const approved = instance({
      approvals: [approval('a@x.com', 'h2'), approval('b@x.com', 'h2')],
      taskVersion: { version: 2, hash: 'h2' },
    });
    const decision = claim(approved, { series: 1, attempt: 1 }, fourEyes);
    expect(decision).toEqual({
      refuse: 'approval_stale',
      patch: expect.objectContaining({ state: 'pending_approval', approvals: [] }) as unknown,
    });
    const current = instance({ approvals: [approval('a@x.com'), approval('b@x.com')] });
    expect(claim(current, { series: 1, attempt: 1 }, fourEyes)).toHaveProperty('claim');
  });
});

describe('approvals: four eyes, pinned to a task version', () => {
  const pending = instance({ state: 'pending_approval', scheduleTime: undefined });

  it('holds the instance until as many distinct approvers as the task requires', () => {
    const first = approveInstance(pending, approval('a@x.com'), fourEyes);
    expect(first).toEqual({ approvals: [approval('a@x.com')], updatedAt: iso(0) });
    const after = { ...pending, ...first };
    expect(codeOf(() => approveInstance(after, approval('a@x.com'), fourEyes))).toBe(
      'already_approved',
    );
    const second = approveInstance(after, approval('b@x.com'), fourEyes);
    expect(second).toEqual(
      expect.objectContaining({
        state: 'pending_enqueue',
        scheduleTime: iso(0),
        taskVersion: { version: 3, hash: 'h3' },
      }),
    );
  });

  it('drops approvals of an older task version', () => {
    const stale = { ...pending, approvals: [approval('a@x.com', 'h2')] };
    const patch = approveInstance(stale, approval('b@x.com'), fourEyes);
    expect(patch?.approvals).toEqual([approval('b@x.com')]);
    expect(patch?.state).toBeUndefined();
    expect(approvalsCover(stale.approvals, fourEyes)).toBe(false);
  });

  it('leaves an instance that is not awaiting approval alone', () => {
    expect(approveInstance(instance(), approval('a@x.com'), fourEyes)).toBeNull();
    expect(denyInstance(instance(), { actor: 'a', at: iso(0), reason: 'no' })).toBeNull();
  });

  it('a denial cancels with who and why', () => {
    const patch = denyInstance(pending, { actor: 'a@x.com', at: iso(0), reason: 'not verified' });
    expect(patch).toEqual(
      expect.objectContaining({
        state: 'cancelled',
        denial: { actor: 'a@x.com', at: iso(0), reason: 'not verified' },
      }),
    );
  });
});

describe('cancel, retry, settle and abandon', () => {
  it('cancels only what has not started', () => {
    expect(cancelInstance(instance(), 'op', iso(0))).toHaveProperty('state', 'cancelled');
    expect(cancelInstance(instance({ state: 'running' }), 'op', iso(0))).toBeNull();
  });

  it('retries a failed series once: a retry that saw an older series gets 409', () => {
    const failed = instance({ state: 'failed', attempt: 3 });
    const patch = retrySeries(
      failed,
      { series: 1, named: false },
      { maxAttempts: 5, timeoutSeconds: 60 },
      'op',
      iso(0),
    );
    expect(patch).toEqual(
      expect.objectContaining({ state: 'pending_enqueue', series: 2, attempt: 0 }),
    );
    const moved = { ...failed, ...patch };
    expect(
      codeOf(() =>
        retrySeries(
          moved,
          { series: 1, named: true },
          { maxAttempts: 5, timeoutSeconds: 60 },
          'op',
          iso(0),
        ),
      ),
    ).toBe('retry_in_progress');
    expect(
      codeOf(() =>
        retrySeries(
          instance(),
          { series: 1, named: true },
          { maxAttempts: 5, timeoutSeconds: 60 },
          'op',
          iso(0),
        ),
      ),
    ).toBe('not_failed');
  });

  it('a burst of retries starts one series even if that series fails within the burst', () => {
    const limits = { maxAttempts: 1, timeoutSeconds: 60 };
    const failedAgain = instance({ state: 'failed', series: 2, attempt: 1, retriedAt: iso(-5000) });
    expect(
      codeOf(() => retrySeries(failedAgain, { series: 2, named: false }, limits, 'op', iso(0))),
    ).toBe('retry_in_progress');
    // Naming the failed series retries it at once; after the cooldown no name is needed.
    expect(
      retrySeries(failedAgain, { series: 2, named: true }, limits, 'op', iso(0)),
    ).toHaveProperty('series', 3);
    const later = { ...failedAgain, retriedAt: iso(-60_000) };
    expect(retrySeries(later, { series: 2, named: false }, limits, 'op', iso(0))).toHaveProperty(
      'series',
      3,
    );
  });

  it('settles only a running attempt: anything else is an illegal transition', () => {
    const running = instance({ state: 'running', attempt: 1 });
    expect(settleAttempt(running, { kind: 'done' }, { bytesBilled: 10, usd: 1 }, summary)).toEqual(
      expect.objectContaining({ state: 'succeeded', cost: { bytesBilled: 10, usd: 1 } }),
    );
    let thrown: unknown;
    try {
      settleAttempt(
        instance({ state: 'cancelled' }),
        { kind: 'done' },
        { bytesBilled: 0, usd: 0 },
        summary,
      );
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConflictError);
    expect(thrown).toHaveProperty('code', 'illegal_transition');
  });

  it('abandons only the attempt whose lease it saw expire', () => {
    const seen = instance({ state: 'running', attempt: 1, leaseExpiresAt: iso(-1) });
    const failed = abandonAttempt(seen, seen, NOW, summary, { retry: false, advice: 'look' });
    expect(failed).toEqual(expect.objectContaining({ state: 'failed', advice: 'look' }));
    const moved = { ...seen, attempt: 2 };
    expect(abandonAttempt(moved, seen, NOW, summary, { retry: false, advice: 'look' })).toBeNull();
    const notYet = { ...seen, leaseExpiresAt: iso(60_000) };
    expect(abandonAttempt(notYet, notYet, NOW, summary, { retry: false, advice: 'x' })).toBeNull();
  });
});
