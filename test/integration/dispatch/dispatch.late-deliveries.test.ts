import { dispatch } from '../../../src/app/dispatch';
import { cloudTaskName } from '../../../src/app/enqueue';
import { after, aTask, T0, useDispatchFixture } from './harness';

describe('dispatch: deliveries that never came', () => {
  const f = useDispatchFixture();
  const task = aTask('crm');
  /** rearmAfterSeconds 600: anything due more than 10 minutes ago is late. */
  const settings = { rearmAfterSeconds: 600 };
  const queued = {
    state: 'queued' as const,
    scheduleTime: T0.toISOString(),
    cloudTaskName: cloudTaskName('r1', 'crm', 1, 1),
  };

  it('creates a lost Cloud Task of a queued instance again, under its own name', async () => {
    await f.seed('r1', task, queued);
    f.now = new Date(Date.parse(after(599)));
    expect((await dispatch(f.deps(settings))).rearmed).toBe(0);
    expect(f.queue.calls).toEqual([]);

    f.now = new Date(Date.parse(after(601)));
    expect((await dispatch(f.deps(settings))).rearmed).toBe(1);
    expect(f.queue.created).toEqual([
      expect.objectContaining({
        taskName: cloudTaskName('r1', 'crm', 1, 1),
        body: expect.objectContaining({ attempt: 1 }) as unknown,
      }),
    ]);
    expect(f.events('instance.rearmed')).toEqual([
      expect.objectContaining({ reason: 'lost_task' }),
    ]);

    // It exists now: the next run's create is refused by name and changes nothing.
    expect((await dispatch(f.deps(settings))).rearmed).toBe(0);
    expect(f.queue.created).toHaveLength(1);
  });

  it('schedules the lost poll of a waiting instance again, with a deterministic name', async () => {
    await f.seed('r1', task, {
      state: 'waiting',
      attempt: 2,
      totalAttempts: 2,
      polls: 3,
      waitingHandle: 'job-1',
      nextAttemptAt: T0.toISOString(),
    });
    f.now = new Date(Date.parse(after(700)));

    const [a, b] = await Promise.all([dispatch(f.deps(settings)), dispatch(f.deps(settings))]);

    expect((a?.polled ?? 0) + (b?.polled ?? 0)).toBe(1);
    expect(f.queue.created).toEqual([
      expect.objectContaining({
        taskName: `${cloudTaskName('r1', 'crm', 1, 2)}-p3`,
        body: expect.objectContaining({ attempt: 2, poll: 3 }) as unknown,
      }),
    ]);
    expect(f.events('instance.rearmed')).toEqual([
      expect.objectContaining({ reason: 'lost_poll' }),
    ]);
  });

  it('re-creates the Cloud Task of a retrying instance the queue gave up on', async () => {
    await f.seed('r1', task, {
      state: 'retry_scheduled',
      attempt: 1,
      totalAttempts: 1,
      nextAttemptAt: T0.toISOString(),
    });
    f.now = new Date(Date.parse(after(700)));

    expect((await dispatch(f.deps(settings))).rearmed).toBe(1);
    expect(f.queue.created[0]).toMatchObject({
      taskName: cloudTaskName('r1', 'crm', 1, 1),
      body: expect.objectContaining({ attempt: 1 }) as unknown,
    });
  });

  it('fails an instance whose task definition is gone, with the reason', async () => {
    await f.seed('r1', task, { ...queued, taskId: 'deleted-task' });
    f.now = new Date(Date.parse(after(700)));

    await dispatch(f.deps(settings));

    expect(await f.store.store.getInstance('r1', 'deleted-task')).toMatchObject({
      state: 'failed',
      lastError: { code: 'task_missing' },
    });
    expect(f.queue.calls).toEqual([]);
  });
});

describe('dispatch: the time budget', () => {
  const f = useDispatchFixture();

  it('stops starting pages when its budget is spent, and the next run carries on', async () => {
    const task = aTask('crm');
    for (let i = 0; i < 6; i++) {
      await f.seed(`r${i}`, task, { state: 'pending_enqueue', scheduleTime: T0.toISOString() });
    }
    // Every look at the clock costs a second: a budget of 5 s covers about one page.
    let reads = 0;
    const deps = { ...f.deps({ dispatchPageSize: 1, dispatchBudgetSeconds: 5 }) };
    deps.clock = { now: () => new Date(T0.getTime() + 1000 * reads++) };

    const first = await dispatch(deps);

    expect(first.budgetExhausted).toBe(true);
    expect(first.enqueued).toBeGreaterThan(0);
    expect(first.enqueued).toBeLessThan(6);
    expect(f.events('dispatch.finished')).toEqual([
      expect.objectContaining({ severity: 'WARNING', budgetExhausted: true }),
    ]);

    const rest = await dispatch(f.deps());
    expect(first.enqueued + rest.enqueued).toBe(6);
    expect(rest.budgetExhausted).toBe(false);
  });
});
