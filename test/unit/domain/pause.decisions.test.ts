import { cloudTaskName, queuedFields } from '../../../src/app/enqueue';
import type { Instance, Task } from '../../../src/domain/model';
import {
  decideClaimUnlessPaused,
  pauseBodySchema,
  pauseInstance,
  resumedTask,
  resumeInstance,
  unclaimPaused,
} from '../../../src/domain/pause';
import { canTransition, CANCELLABLE_STATES, rollupStatus } from '../../../src/domain/states';

const NOW = new Date('2030-01-01T12:00:00.000Z');
const PAUSE = { at: '2030-01-01T11:00:00.000Z', by: 'op@example.com', reason: 'CRM down' };

const task: Task = {
  id: 'crm',
  name: 'crm',
  jobType: 'deletion',
  executor: 'noop',
  config: {},
  requiredIdentifiers: [],
  timeoutSeconds: 60,
  maxAttempts: 3,
  retryPolicy: { minBackoffSeconds: 1, maxBackoffSeconds: 10, maxDoublings: 2 },
  requiresApproval: false,
  approvalsRequired: 0,
  active: true,
  createdAt: PAUSE.at,
  updatedAt: PAUSE.at,
  version: 1,
  versionHash: 'h1',
};

function anInstance(over: Partial<Instance> = {}): Instance {
  return {
    requestId: 'r'.repeat(32),
    taskId: 'crm',
    taskName: 'crm',
    executor: 'noop',
    jobType: 'deletion',
    state: 'queued',
    attempt: 0,
    totalAttempts: 0,
    series: 1,
    maxAttempts: 3,
    timeoutSeconds: 60,
    scheduleTime: '2030-01-01T11:59:00.000Z',
    cost: { bytesBilled: 0, usd: 0 },
    updatedAt: PAUSE.at,
    ...over,
  };
}

const delivery = { series: 1, attempt: 1 };

describe('a claim on a paused task', () => {
  it('claims as before while the task runs', () => {
    const decision = decideClaimUnlessPaused(anInstance(), delivery, task, NOW, 10);
    expect(decision).toMatchObject({ claim: { state: 'running', attempt: 1 } });
  });

  it('parks the instance in paused instead, keeping its due time and its attempts', () => {
    const decision = decideClaimUnlessPaused(
      anInstance(),
      delivery,
      { ...task, paused: PAUSE },
      NOW,
      10,
    );
    expect(decision).toMatchObject({
      refuse: 'paused',
      patch: {
        state: 'paused',
        scheduleTime: '2030-01-01T11:59:00.000Z',
        pausedAt: NOW.toISOString(),
      },
    });
    expect('patch' in decision && decision.patch?.attempt).toBeFalsy();
  });

  it('never starts a paused instance, whatever the delivery says', () => {
    expect(
      decideClaimUnlessPaused(anInstance({ state: 'paused' }), delivery, task, NOW, 10),
    ).toEqual({ refuse: 'paused' });
  });

  it('keeps the other refusals (a stale delivery moves nothing)', () => {
    const decision = decideClaimUnlessPaused(
      anInstance(),
      { series: 1, attempt: 7 },
      { ...task, paused: PAUSE },
      NOW,
      10,
    );
    expect(decision).toEqual({ refuse: 'stale' });
  });

  it('keeps a retry’s backoff as the time it is due', () => {
    const patch = pauseInstance(
      anInstance({
        state: 'retry_scheduled',
        attempt: 1,
        nextAttemptAt: '2030-01-01T12:05:00.000Z',
      }),
      { id: 'crm', paused: PAUSE },
      NOW,
    );
    expect(patch).toMatchObject({ state: 'paused', scheduleTime: '2030-01-01T12:05:00.000Z' });
    expect(
      pauseInstance(anInstance({ state: 'running' }), { id: 'crm', paused: PAUSE }, NOW),
    ).toBeNull();
  });
});

describe('giving back and resuming', () => {
  it('gives back the very claim only, with the attempt uncounted', () => {
    const claimed = anInstance({
      state: 'running',
      attempt: 1,
      totalAttempts: 3,
      leaseExpiresAt: '2030-01-01T12:01:10.000Z',
    });
    expect(unclaimPaused(claimed, claimed, { id: 'crm', paused: PAUSE }, NOW)).toMatchObject({
      state: 'paused',
      attempt: 0,
      totalAttempts: 2,
      leaseExpiresAt: undefined,
    });
    expect(
      unclaimPaused({ ...claimed, attempt: 2 }, claimed, { id: 'crm', paused: PAUSE }, NOW),
    ).toBeNull();
  });

  it('resumes due when it was due, or now, counting the resume for a fresh Cloud Task name', () => {
    const later = '2030-01-02T00:00:00.000Z';
    expect(resumeInstance(anInstance({ state: 'paused', scheduleTime: later }), NOW)).toMatchObject(
      { state: 'pending_enqueue', scheduleTime: later, resumes: 1, pausedAt: undefined },
    );
    expect(resumeInstance(anInstance({ state: 'paused', resumes: 1 }), NOW)).toMatchObject({
      scheduleTime: NOW.toISOString(),
      resumes: 2,
    });
    expect(resumeInstance(anInstance({ state: 'queued' }), NOW)).toBeNull();
    const name = (resumes?: number) => cloudTaskName('r', 'crm', 1, 1, resumes);
    expect(new Set([name(), name(0), name(1), name(2)]).size).toBe(3);
  });

  it('queues a paused task’s instance as paused, with no Cloud Task name', () => {
    const fields = queuedFields(
      anInstance({ state: 'pending_enqueue' }),
      { ...task, paused: PAUSE },
      NOW,
    );
    expect(fields).toMatchObject({ state: 'paused', cloudTaskName: undefined });
    expect(queuedFields(anInstance({ state: 'pending_enqueue' }), task, NOW).state).toBe('queued');
  });

  it('records the resume with the pause it ended', () => {
    const resumed = resumedTask(
      { ...task, paused: PAUSE },
      { at: NOW.toISOString(), by: 'b@x.com' },
    );
    expect(resumed.paused).toBeUndefined();
    expect(resumed.resumed).toEqual({
      at: NOW.toISOString(),
      by: 'b@x.com',
      pausedAt: PAUSE.at,
      pausedBy: PAUSE.by,
    });
  });
});

describe('the paused state', () => {
  it('is open, cancellable, and leaves only to the outbox or cancelled', () => {
    expect(rollupStatus(['paused', 'succeeded'])).toBe('in_progress');
    expect(CANCELLABLE_STATES).toContain('paused');
    for (const from of ['pending_enqueue', 'queued', 'retry_scheduled', 'running'] as const) {
      expect(canTransition(from, 'paused')).toBe(true);
    }
    expect(canTransition('paused', 'pending_enqueue')).toBe(true);
    expect(canTransition('paused', 'running')).toBe(false);
    expect(canTransition('waiting', 'paused')).toBe(false);
  });

  it('needs a reason to pause, at most 500 characters, and nothing else', () => {
    expect(pauseBodySchema.safeParse({ reason: '  ' }).success).toBe(false);
    expect(pauseBodySchema.safeParse({ reason: 'x'.repeat(501) }).success).toBe(false);
    expect(pauseBodySchema.safeParse({ reason: 'ok', by: 'me' }).success).toBe(false);
    expect(pauseBodySchema.parse({ reason: ' down ' })).toEqual({ reason: 'down' });
  });
});
