import { dispatch } from '../../../src/app/dispatch';
import { cloudTaskName, ENQUEUE_HORIZON_MS } from '../../../src/app/enqueue';
import { fileRequest } from '../../../src/app/requests';
import { after, aTask, T0, useDispatchFixture } from './harness';

const DAY_S = 86_400;

describe('dispatch: the outbox and parked instances', () => {
  const f = useDispatchFixture();
  const task = aTask('crm');
  const pending = { state: 'pending_enqueue' as const, scheduleTime: T0.toISOString() };

  it('enqueues the outbox, and leaves it for the next run while the queue is down', async () => {
    for (const id of ['r1', 'r2']) await f.seed(id, task, pending);
    f.queue.down = true;

    const down = await dispatch(f.deps());

    expect(down).toMatchObject({ enqueued: 0, enqueueFailed: 2 });
    expect((await f.store.store.getInstance('r1', 'crm'))?.state).toBe('pending_enqueue');
    expect(f.events('instance.enqueue_failed')).toHaveLength(2);

    f.queue.down = false;
    const up = await dispatch(f.deps());

    expect(up).toMatchObject({ enqueued: 2, enqueueFailed: 0 });
    expect(await f.store.store.getInstance('r1', 'crm')).toMatchObject({
      state: 'queued',
      cloudTaskName: cloudTaskName('r1', 'crm', 1, 1),
    });
    expect((await dispatch(f.deps())).enqueued).toBe(0);
  });

  it('two dispatch runs at once enqueue each instance once', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `r${i}`);
    for (const id of ids) await f.seed(id, task, pending);

    const runs = await Promise.all([dispatch(f.deps()), dispatch(f.deps())]);

    expect(runs.reduce((n, r) => n + r.enqueued, 0)).toBe(ids.length);
    expect(runs.reduce((n, r) => n + r.enqueueFailed, 0)).toBe(0);
    // Each name was asked for once: the loser of each guarded write did not even try.
    expect([...f.queue.calls].sort()).toEqual(
      ids.map((id) => cloudTaskName(id, 'crm', 1, 1)).sort(),
    );
  });

  it('parks an instance beyond 30 days at intake and re-arms it once it is within range', async () => {
    const notBefore = new Date(T0.getTime() + 40 * DAY_S * 1000).toISOString();
    await f.store.store.createTask(aTask('backups', { notBefore }));
    const deps = f.deps();
    const filed = await fileRequest(
      deps,
      { type: 'deletion', subject: { email: 'a@example.com' } },
      { identity: 'test' },
    );
    const id = filed.view.id;
    expect(filed.view.instances).toEqual([
      expect.objectContaining({
        taskId: 'backups',
        state: 'pending_enqueue',
        scheduleTime: notBefore,
      }),
    ]);
    expect(await f.store.store.getInstance(id, 'backups')).toMatchObject({ parked: true });
    expect(f.queue.calls).toEqual([]);

    // Still 30 days out: not even read.
    f.now = new Date(T0.getTime() + 10 * DAY_S * 1000);
    expect(await dispatch(f.deps())).toMatchObject({ rearmed: 0, enqueued: 0 });
    expect(f.queue.calls).toEqual([]);

    // 29 days before notBefore: within Cloud Tasks' reach.
    f.now = new Date(Date.parse(notBefore) - ENQUEUE_HORIZON_MS);
    expect(await dispatch(f.deps())).toMatchObject({ rearmed: 1, enqueued: 0 });
    const instance = await f.store.store.getInstance(id, 'backups');
    expect(instance).toMatchObject({ state: 'queued', scheduleTime: notBefore });
    expect(instance?.parked).toBeUndefined();
    expect(f.queue.created.map((t) => t.scheduleTime?.toISOString())).toEqual([notBefore]);
    expect(f.events('instance.rearmed')).toEqual([
      expect.objectContaining({ reason: 'parked', scheduleTime: notBefore }),
    ]);
  });

  it('finds an approved or retried instance whose enqueue never happened', async () => {
    await f.seed('r1', task, { state: 'pending_approval' });
    await f.seed('r2', task, { state: 'failed', attempt: 3, totalAttempts: 3 });
    f.queue.down = true;
    const deps = f.deps();
    const { approveRequest, retryInstance } = await import('../../../src/app/requests');
    await approveRequest(deps, 'r1', {}, { identity: 'approver' });
    await retryInstance(deps, 'r2', 'crm', {}, { identity: 'operator' });
    for (const id of ['r1', 'r2']) {
      expect(await f.store.store.getInstance(id, 'crm')).toMatchObject({
        state: 'pending_enqueue',
        scheduleTime: T0.toISOString(),
      });
    }

    f.queue.down = false;
    f.now = new Date(Date.parse(after(60)));
    expect((await dispatch(f.deps())).enqueued).toBe(2);
    expect(f.queue.created.map((t) => t.taskName).sort()).toEqual(
      [cloudTaskName('r1', 'crm', 1, 1), cloudTaskName('r2', 'crm', 2, 1)].sort(),
    );
  });
});
