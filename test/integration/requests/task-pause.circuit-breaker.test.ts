import { dispatch } from '../../../src/app/dispatch';
import { fileRequest } from '../../../src/app/intake';
import { runInstance } from '../../../src/app/run-instance';
import { pauseTask, resumeTask } from '../../../src/app/task-pause';
import { listTaskVersions } from '../../../src/app/tasks';
import { ConflictError, ValidationError } from '../../../src/domain/errors';
import type { Task } from '../../../src/domain/model';
import type { EnqueueInput } from '../../../src/ports/task-queue';
import { aTask, useDispatchFixture } from '../dispatch/harness';

/**
 * A task's circuit breaker on the Firestore emulator: while the task is paused no delivery of
 * its instances runs or spends an attempt, new filings wait too, deadlines still alert, and
 * dispatch reports the pause; after the resume, dispatch re-arms every paused instance under a
 * fresh Cloud Task name and the work completes. Every pause and resume is a task version.
 */

const FILER = { identity: 'filer@example.com' };
const OPERATOR = { identity: 'operator@example.com' };

function registered(id: string, over: Partial<Task> = {}): Task {
  return aTask(id, { version: 1, versionHash: `${id}-v1`, approvalsRequired: 0, ...over });
}

describe('pausing and resuming a task', () => {
  const f = useDispatchFixture();
  const file = async (email: string) =>
    (await fileRequest(f.deps(), { type: 'deletion', subject: { email } }, FILER)).view.id;
  const instance = (requestId: string) => f.store.store.getInstance(requestId, 'crm');
  const deliver = (task: EnqueueInput) =>
    runInstance(f.deps(), task.body, { taskName: task.taskName, retryCount: 0 });
  const tasksFor = (requestId: string) =>
    f.queue.created.filter((t) => (t.body as { requestId: string }).requestId === requestId);
  const runsOf = async (requestId: string) => (await f.store.store.listRuns(requestId)).length;

  beforeEach(async () => {
    await f.store.store.createTask(registered('crm'));
  });

  it('holds deliveries without spending attempts, alerts, and completes after the resume', async () => {
    const first = await file('a@example.com');
    const [queued] = tasksFor(first);
    expect(queued).toBeDefined();

    const paused = await pauseTask(f.deps(), 'crm', { reason: 'CRM API down (INC-42)' }, OPERATOR);
    expect(paused.paused).toEqual({
      at: f.now.toISOString(),
      by: OPERATOR.identity,
      reason: 'CRM API down (INC-42)',
    });

    // The delivery already in the queue ends (200) and leaves the instance paused, attempt unspent.
    const answer = await deliver(queued!);
    expect(answer).toMatchObject({ status: 200, body: { result: 'paused', state: 'paused' } });
    // Cloud Tasks may deliver it again: still nothing runs.
    expect(await deliver(queued!)).toMatchObject({ status: 200, body: { result: 'paused' } });
    expect(await instance(first)).toMatchObject({
      state: 'paused',
      attempt: 0,
      totalAttempts: 0,
    });
    expect(await runsOf(first)).toBe(0);
    expect(f.events('run.started')).toHaveLength(0);

    // Filed while paused: it waits in paused at once, with no Cloud Task at all.
    const second = await file('b@example.com');
    expect(tasksFor(second)).toHaveLength(0);
    expect((await instance(second))?.state).toBe('paused');

    // Dispatch keeps them waiting, reports the pause, and deadlines keep counting and alerting.
    const created = f.queue.created.length;
    f.now = new Date(f.now.getTime() + 40 * 86_400_000); // past every GDPR deadline
    const during = await dispatch(f.deps());
    expect(during).toMatchObject({ pausedTasks: 1, resumed: 0, enqueued: 0 });
    expect(f.queue.created).toHaveLength(created);
    expect(f.events('task.paused_open')).toEqual([
      expect.objectContaining({
        severity: 'WARNING',
        waitingInstances: 2,
        pausedBy: OPERATOR.identity,
      }),
    ]);
    expect(f.events('request.overdue').map((l) => l.severity)).toEqual(['ERROR', 'ERROR']);
    expect((await instance(first))?.state).toBe('paused');

    const resumed = await resumeTask(f.deps(), 'crm', { reason: 'INC-42 fixed' }, OPERATOR);
    expect(resumed.paused).toBeUndefined();
    expect(resumed.resumed).toMatchObject({ by: OPERATOR.identity, reason: 'INC-42 fixed' });

    // Dispatch re-arms both under fresh names (the paused delivery's name is spent) and sends them.
    const after = await dispatch(f.deps());
    expect(after).toMatchObject({ pausedTasks: 0, resumed: 2, enqueued: 2 });
    for (const id of [first, second]) {
      const fresh = tasksFor(id).filter((t) => t.taskName.endsWith('-a1-r1'));
      expect(fresh).toHaveLength(1);
      expect(await deliver(fresh[0]!)).toMatchObject({
        status: 200,
        body: { result: 'succeeded' },
      });
      expect(await instance(id)).toMatchObject({
        state: 'succeeded',
        attempt: 1,
        totalAttempts: 1,
      });
    }

    // Who paused and resumed, when and why: each is a version of the task.
    const { versions } = await listTaskVersions(f.deps(), 'crm');
    // (Version 1 was stored without its kept copy by this fixture.)
    expect(versions.map((v) => [v.version, v.fields, v.actor])).toEqual([
      [2, ['paused'], OPERATOR.identity],
      [3, ['paused', 'resumed'], OPERATOR.identity],
    ]);
    expect(versions[0]?.task.paused?.reason).toBe('CRM API down (INC-42)');
    expect(versions[1]?.task.resumed).toMatchObject({
      reason: 'INC-42 fixed',
      pausedBy: OPERATOR.identity,
    });
    // Pausing changes nothing that runs: approvals of the task stay valid.
    expect(new Set(versions.map((v) => v.versionHash)).size).toBe(1);
  });

  it('gives back a claim made on a task cached before the pause', async () => {
    const warm = await file('warm@example.com');
    // A first delivery caches the task (version 1) in this run-task instance.
    await deliver(tasksFor(warm)[0]!);
    expect((await instance(warm))?.state).toBe('succeeded');
    const cold = await file('cold@example.com');
    await pauseTask(f.deps(), 'crm', { reason: 'maintenance' }, OPERATOR);

    const answer = await deliver(tasksFor(cold)[0]!);
    expect(answer).toMatchObject({ status: 200, body: { result: 'paused' } });
    expect(await instance(cold)).toMatchObject({ state: 'paused', attempt: 0, totalAttempts: 0 });
    expect(await runsOf(cold)).toBe(0);
  });

  it('cancels a paused instance with its request', async () => {
    await pauseTask(f.deps(), 'crm', { reason: 'maintenance' }, OPERATOR);
    const id = await file('c@example.com');
    const { cancelRequest } = await import('../../../src/app/operations');
    const view = await cancelRequest(f.deps(), id, OPERATOR);
    expect(view.instances[0]?.state).toBe('cancelled');
  });

  it('refuses a pause without a reason, a second pause and a resume of a running task', async () => {
    for (const body of [undefined, {}, { reason: '' }, { reason: 'x', until: 'tomorrow' }]) {
      const err = await pauseTask(f.deps(), 'crm', body, OPERATOR).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]?.path).toMatch(/^(reason|)$/);
    }
    expect((await f.store.store.getTask('crm'))?.version).toBe(1);
    await expect(resumeTask(f.deps(), 'crm', {}, OPERATOR)).rejects.toMatchObject({
      code: 'not_paused',
    });
    await pauseTask(f.deps(), 'crm', { reason: 'first' }, OPERATOR);
    const again = await pauseTask(f.deps(), 'crm', { reason: 'second' }, OPERATOR).catch(
      (e: unknown) => e,
    );
    expect(again).toBeInstanceOf(ConflictError);
    expect(again).toMatchObject({ code: 'already_paused' });
    expect((await f.store.store.getTask('crm'))?.paused?.reason).toBe('first');
  });
});
