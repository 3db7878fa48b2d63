import {
  cancelInstance,
  decideClaim,
  denyInstance,
  denyUnstarted,
  releaseVerified,
  type LifecycleTask,
} from '../../../src/domain/lifecycle';
import type { Denial, Instance, InstanceState } from '../../../src/domain/model';
import {
  CANCELLABLE_STATES,
  canTransition,
  isOpenStatus,
  rollupStatus,
} from '../../../src/domain/states';

const NOW = new Date('2026-03-02T12:00:00Z');
const AT = NOW.toISOString();

const task: LifecycleTask = {
  id: 'crm-delete',
  timeoutSeconds: 60,
  approvalsRequired: 0,
  version: 3,
  versionHash: 'h3',
};

function instance(over: Partial<Instance> = {}): Instance {
  return {
    requestId: 'r'.repeat(32),
    taskId: 'crm-delete',
    taskName: 'CRM delete',
    executor: 'noop',
    jobType: 'deletion',
    state: 'pending_verification',
    attempt: 0,
    totalAttempts: 0,
    series: 1,
    maxAttempts: 3,
    timeoutSeconds: 60,
    cost: { bytesBilled: 0, usd: 0 },
    updatedAt: '2026-03-01T12:00:00Z',
    ...over,
  };
}

const denial: Denial = {
  actor: 'alice@example.com',
  at: AT,
  reason: 'unverifiable_identity',
  note: 'no answer to two requests for proof',
};

describe('an instance held for identity verification', () => {
  it('is never claimed by a delivery, whatever it names', () => {
    for (const attempt of [0, 1, 2]) {
      expect(decideClaim(instance(), { series: 1, attempt }, task, NOW, 10)).toEqual({
        refuse: 'not_verified',
      });
    }
  });

  it('goes to the outbox, due now and pinned to the task version, when its task needs no approval', () => {
    expect(releaseVerified(instance(), task, AT)).toEqual({
      state: 'pending_enqueue',
      scheduleTime: AT,
      taskVersion: { version: 3, hash: 'h3' },
      updatedAt: AT,
    });
  });

  it('goes to approval when its task needs approvers', () => {
    expect(releaseVerified(instance(), { ...task, approvalsRequired: 2 }, AT)).toEqual({
      state: 'pending_approval',
      updatedAt: AT,
    });
  });

  it('goes to the outbox unpinned when its task is gone (the outbox then fails it)', () => {
    expect(releaseVerified(instance(), null, AT)).toMatchObject({ state: 'pending_enqueue' });
  });

  it('is released once: an instance no longer held is left alone', () => {
    for (const state of ['pending_approval', 'queued', 'cancelled'] as const) {
      expect(releaseVerified(instance({ state }), task, AT)).toBeNull();
    }
  });

  it('can be cancelled or denied, and moves nowhere else', () => {
    expect(cancelInstance(instance(), 'op@example.com', AT)).toMatchObject({
      state: 'cancelled',
    });
    expect(denyUnstarted(instance(), denial)).toMatchObject({ state: 'cancelled', denial });
    expect(CANCELLABLE_STATES).toContain('pending_verification');
    for (const to of ['queued', 'running', 'succeeded', 'failed'] as const) {
      expect(canTransition('pending_verification', to)).toBe(false);
    }
  });
});

describe('a request denied whole', () => {
  it('cancels every instance that has not started, with the denial', () => {
    const unstarted: InstanceState[] = [
      'pending_verification',
      'pending_approval',
      'pending_enqueue',
      'queued',
      'retry_scheduled',
    ];
    for (const state of unstarted) {
      expect(denyUnstarted(instance({ state }), denial)).toEqual({
        state: 'cancelled',
        denial,
        cancelledBy: denial.actor,
        advice: `denied by ${denial.actor} at ${AT}: unverifiable_identity`,
        updatedAt: AT,
      });
    }
  });

  it('lets running and waiting work finish, and leaves closed instances alone', () => {
    for (const state of ['running', 'waiting', 'succeeded', 'failed', 'skipped'] as const) {
      expect(denyUnstarted(instance({ state }), denial)).toBeNull();
    }
  });

  it('denying named instances still needs them awaiting approval', () => {
    expect(denyInstance(instance({ state: 'pending_approval' }), denial)).toMatchObject({
      state: 'cancelled',
    });
    expect(denyInstance(instance(), denial)).toBeNull();
  });
});

describe('the request status', () => {
  it('is awaiting_verification while any instance is held, and open', () => {
    expect(rollupStatus(['pending_verification'])).toBe('awaiting_verification');
    expect(rollupStatus(['pending_verification', 'skipped'])).toBe('awaiting_verification');
    expect(rollupStatus(['pending_verification', 'pending_approval'])).toBe(
      'awaiting_verification',
    );
    expect(isOpenStatus('awaiting_verification')).toBe(true);
  });

  it('leaves awaiting_verification once every instance is released or cancelled', () => {
    expect(rollupStatus(['pending_approval', 'skipped'])).toBe('awaiting_approval');
    expect(rollupStatus(['pending_enqueue'])).toBe('in_progress');
    expect(rollupStatus(['cancelled', 'skipped'])).toBe('cancelled');
  });

  it('denied is closed', () => {
    expect(isOpenStatus('denied')).toBe(false);
  });
});
