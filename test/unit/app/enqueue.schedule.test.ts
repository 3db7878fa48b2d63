import {
  cloudTaskName,
  ENQUEUE_HORIZON_MS,
  pendingDelivery,
  queuedFields,
  runTaskInput,
} from '../../../src/app/enqueue';
import { nextTaskOpening } from '../../../src/domain/execution-window';
import type { Instance } from '../../../src/domain/model';
import { anInstance } from '../../integration/firestore/fixture';

const now = new Date('2030-03-01T12:00:00.000Z');
const DAY = 86_400_000;

// The builder the store tests use (plain data; importing it does no I/O).
const instance = (overrides: Partial<Instance> = {}): Instance =>
  anInstance('r1', 't1', { state: 'pending_enqueue', ...overrides });

describe('nextTaskOpening', () => {
  it('is the instant itself without a window or notBefore', () => {
    expect(nextTaskOpening({}, now)).toEqual(now);
  });

  it('waits for notBefore, then for the window after it', () => {
    const task = {
      notBefore: '2030-03-05T08:30:00.000Z',
      executionWindow: { start: '22:00', end: '02:00', timeZone: 'UTC' },
    };
    expect(nextTaskOpening(task, now).toISOString()).toBe('2030-03-05T22:00:00.000Z');
    expect(nextTaskOpening({ notBefore: task.notBefore }, now).toISOString()).toBe(task.notBefore);
  });

  it('ignores a notBefore in the past', () => {
    expect(nextTaskOpening({ notBefore: '2020-01-01T00:00:00Z' }, now)).toEqual(now);
  });
});

describe('queuedFields', () => {
  it('queues the next attempt at the next opening, named for that attempt', () => {
    const fields = queuedFields(instance({ attempt: 2, series: 3 }), {}, now);
    expect(fields).toEqual({
      state: 'queued',
      cloudTaskName: cloudTaskName('r1', 't1', 3, 3),
      scheduleTime: now.toISOString(),
      parked: undefined,
    });
  });

  it('honours a later notBefore argument (a retry backoff)', () => {
    const later = new Date(now.getTime() + 30_000);
    expect(queuedFields(instance(), {}, now, later).scheduleTime).toBe(later.toISOString());
  });

  it('parks an opening beyond the 29-day horizon, and queues one just inside it', () => {
    const far = new Date(now.getTime() + ENQUEUE_HORIZON_MS + 1000).toISOString();
    const near = new Date(now.getTime() + ENQUEUE_HORIZON_MS).toISOString();
    expect(queuedFields(instance(), { notBefore: far }, now)).toMatchObject({
      state: 'pending_enqueue',
      scheduleTime: far,
      parked: true,
    });
    expect(queuedFields(instance(), { notBefore: near }, now)).toMatchObject({
      state: 'queued',
      scheduleTime: near,
      parked: undefined,
    });
    expect(ENQUEUE_HORIZON_MS).toBeLessThan(30 * DAY);
  });
});

describe('the Cloud Task of a delivery', () => {
  const task = { timeoutSeconds: 60, version: 4 };

  it('names attempts and polls deterministically', () => {
    const attempt = runTaskInput(instance(), task, 30, { attempt: 2, at: now.toISOString() });
    const poll = runTaskInput(instance(), task, 30, { attempt: 2, poll: 4 });
    expect(attempt).toEqual({
      taskName: cloudTaskName('r1', 't1', 1, 2),
      scheduleTime: now,
      dispatchDeadlineSeconds: 90,
      body: { requestId: 'r1', taskId: 't1', series: 1, attempt: 2, taskVersion: task.version },
    });
    expect(poll.taskName).toBe(`${cloudTaskName('r1', 't1', 1, 2)}-p4`);
    expect(poll.body).toMatchObject({ attempt: 2, poll: 4 });
    expect(poll.scheduleTime).toBeUndefined();
  });

  it.each<[string, Partial<Instance>, ReturnType<typeof pendingDelivery>]>([
    [
      'queued: the next attempt at scheduleTime',
      { state: 'queued', attempt: 1, scheduleTime: 'S' },
      { attempt: 2, at: 'S' },
    ],
    [
      'retrying: the same attempt at nextAttemptAt',
      { state: 'retry_scheduled', attempt: 1, nextAttemptAt: 'N' },
      { attempt: 1, at: 'N' },
    ],
    [
      'waiting: its next poll',
      { state: 'waiting', attempt: 1, polls: 3, nextAttemptAt: 'N' },
      { attempt: 1, poll: 3, at: 'N' },
    ],
    ['running: nothing pending', { state: 'running', attempt: 1 }, undefined],
    ['succeeded: nothing pending', { state: 'succeeded', attempt: 1 }, undefined],
  ])('pending delivery of %s', (_name, overrides, expected) => {
    expect(pendingDelivery(instance(overrides))).toEqual(expected);
  });
});
