import { ManualClock } from '../../../emulators/cloud-tasks';
import { codeOf, queuePath, startHarness, Status, useEmulatorAndReceiver } from './fixture';

const QUEUE = queuePath('tasks-methods');
const PAUSED = queuePath('tasks-paused');
const MISSING_QUEUE =
  'Queue does not exist. If you just created the queue, wait at least a minute for the queue to initialize.';

describe('Cloud Tasks emulator: task methods and validation', () => {
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  const t = useEmulatorAndReceiver({ queues: [QUEUE, PAUSED], clock, taskIdSeed: 42 });
  const httpRequest = () => ({
    url: t.receiver.url,
    httpMethod: 'POST' as const,
    body: Buffer.from('{"a":1}'),
  });
  beforeAll(async () => {
    await t.h.client.pauseQueue({ name: PAUSED });
  });

  it('creates, gets, lists with paging and deletes tasks; BASIC omits the body', async () => {
    const [created] = await t.h.client.createTask({
      parent: PAUSED,
      task: { httpRequest: httpRequest() },
    });
    expect(created.name).toMatch(new RegExp(`^${PAUSED}/tasks/\\d{19}$`));
    expect(created).toMatchObject({ view: 'BASIC', dispatchCount: 0, responseCount: 0 });
    expect(created.httpRequest?.body ?? []).toHaveLength(0);
    expect(created.scheduleTime?.seconds).toBe(String(clock.now() / 1000));

    const [full] = await t.h.client.getTask({ name: created.name, responseView: 'FULL' });
    expect(Buffer.from(full.httpRequest?.body ?? '').toString()).toBe('{"a":1}');
    expect(full.view).toBe('FULL');

    for (const id of ['b', 'c']) {
      await t.h.client.createTask({
        parent: PAUSED,
        task: { name: `${PAUSED}/tasks/${id}`, httpRequest: httpRequest() },
      });
    }
    const [page, , response] = await t.h.client.listTasks(
      { parent: PAUSED, pageSize: 2 },
      { autoPaginate: false },
    );
    expect(page).toHaveLength(2);
    const [rest] = await t.h.client.listTasks(
      {
        parent: PAUSED,
        pageSize: 2,
        pageToken: response?.nextPageToken ?? '',
        responseView: 'FULL',
      },
      { autoPaginate: false },
    );
    expect(rest).toHaveLength(1);
    expect(rest[0]?.httpRequest?.body).toBeTruthy();

    await t.h.client.deleteTask({ name: created.name });
    expect((await codeOf(t.h.client.getTask({ name: created.name }))).code).toBe(Status.NOT_FOUND);
  });

  it('makes the same task ids from the same seed', async () => {
    const ids = async (seed: number) => {
      const other = await startHarness({
        queues: [QUEUE],
        clock: new ManualClock(),
        taskIdSeed: seed,
      });
      try {
        const names = [];
        for (let i = 0; i < 3; i++) {
          const [task] = await other.client.createTask({
            parent: QUEUE,
            task: { httpRequest: { url: 'http://127.0.0.1:9/' } },
          });
          names.push(task.name);
        }
        return names;
      } finally {
        await other.stop();
      }
    };
    const [a, b] = [await ids(7), await ids(7)];
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(3);
  });

  const rejects = async (task: object, parent = PAUSED) =>
    codeOf(t.h.client.createTask({ parent, task: { httpRequest: httpRequest(), ...task } }));

  it('refuses invalid task ids and ids over 500 characters with INVALID_ARGUMENT', async () => {
    expect((await rejects({ name: `${PAUSED}/tasks/has.dot` })).code).toBe(Status.INVALID_ARGUMENT);
    expect((await rejects({ name: `${PAUSED}/tasks/${'x'.repeat(501)}` })).code).toBe(
      Status.INVALID_ARGUMENT,
    );
    expect((await rejects({ name: `${QUEUE}/tasks/other-queue` })).code).toBe(
      Status.INVALID_ARGUMENT,
    );
    const [ok] = await t.h.client.createTask({
      parent: PAUSED,
      task: { name: `${PAUSED}/tasks/${'x'.repeat(500)}`, httpRequest: httpRequest() },
    });
    expect(ok.name).toHaveLength(PAUSED.length + 7 + 500);
  });

  it('refuses a task for a queue that does not exist with NOT_FOUND and the service message', async () => {
    expect(await rejects({}, queuePath('no-such-queue'))).toEqual({
      code: Status.NOT_FOUND,
      message: MISSING_QUEUE,
    });
  });

  it('refuses a duplicate task name with ALREADY_EXISTS, also after deletion', async () => {
    const name = `${PAUSED}/tasks/dup`;
    await t.h.client.createTask({ parent: PAUSED, task: { name, httpRequest: httpRequest() } });
    expect(await rejects({ name })).toEqual({
      code: Status.ALREADY_EXISTS,
      message: 'Requested entity already exists',
    });
    await t.h.client.deleteTask({ name });
    expect((await rejects({ name })).code).toBe(Status.ALREADY_EXISTS);
    clock.advance(3_600_000);
    const [again] = await t.h.client.createTask({
      parent: PAUSED,
      task: { name, httpRequest: httpRequest() },
    });
    expect(again.name).toBe(name);
  });

  it('refuses a scheduleTime more than 30 days ahead, and treats a past one as now', async () => {
    const seconds = (ms: number) => ({ seconds: Math.floor(ms / 1000) });
    const limit = clock.now() + 30 * 24 * 3600 * 1000;
    expect((await rejects({ scheduleTime: seconds(limit + 1000) })).code).toBe(
      Status.INVALID_ARGUMENT,
    );
    const [atLimit] = await t.h.client.createTask({
      parent: PAUSED,
      task: { scheduleTime: seconds(limit), httpRequest: httpRequest() },
    });
    expect(Number(atLimit.scheduleTime?.seconds)).toBe(limit / 1000);
    const [past] = await t.h.client.createTask({
      parent: PAUSED,
      task: { scheduleTime: seconds(clock.now() - 86_400_000), httpRequest: httpRequest() },
    });
    expect(Number(past.scheduleTime?.seconds)).toBe(clock.now() / 1000);
  });

  it('refuses a dispatchDeadline outside 15 s to 30 min', async () => {
    expect((await rejects({ dispatchDeadline: { seconds: 14 } })).code).toBe(
      Status.INVALID_ARGUMENT,
    );
    expect((await rejects({ dispatchDeadline: { seconds: 1801 } })).code).toBe(
      Status.INVALID_ARGUMENT,
    );
    const [task] = await t.h.client.createTask({
      parent: PAUSED,
      task: { dispatchDeadline: { seconds: 15 }, httpRequest: httpRequest() },
    });
    expect(task.dispatchDeadline?.seconds).toBe('15');
  });

  it('refuses a task over 1 MB', async () => {
    const big = { httpRequest: { url: t.receiver.url, body: Buffer.alloc(1024 * 1024 + 1, 97) } };
    const error = await codeOf(t.h.client.createTask({ parent: PAUSED, task: big }));
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.message).toMatch(/Task size too large/);
  });

  it('answers UNIMPLEMENTED for App Engine tasks', async () => {
    const error = await codeOf(
      t.h.client.createTask({
        parent: PAUSED,
        task: { appEngineHttpRequest: { relativeUri: '/x' } },
      }),
    );
    expect(error.code).toBe(Status.UNIMPLEMENTED);
  });
});
