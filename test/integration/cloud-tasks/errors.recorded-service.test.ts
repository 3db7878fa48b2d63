import { codeOf, LOCATION_PATH, queuePath, startHarness, Status, type Harness } from './fixture';

/**
 * Each case below was recorded from the real Cloud Tasks v2 service (code and message, word for
 * word); the emulator, driven by the official client, must answer the same.
 */
const QUEUE_MISSING =
  'Queue does not exist. If you just created the queue, wait at least a minute for the queue to initialize.';
const NOT_FOUND = 'Requested entity was not found.';
const HTTP = { httpRequest: { url: 'https://receiver.invalid/' } };

describe('Cloud Tasks emulator: error codes and texts as the service records them', () => {
  let h: Harness;
  const queue = queuePath('recorded');
  const missing = queuePath('no-such-queue');
  beforeAll(async () => {
    h = await startHarness({ queues: [{ name: queue, state: 'PAUSED' }] });
    await h.client.createTask({ parent: queue, task: { name: `${queue}/tasks/kept`, ...HTTP } });
  });
  afterAll(() => h.stop());

  const cases: [string, () => Promise<unknown>, number, string][] = [
    [
      'queue/create/already-exists',
      () => h.client.createQueue({ parent: LOCATION_PATH, queue: { name: queue } }),
      Status.ALREADY_EXISTS,
      'Queue already exists',
    ],
    [
      'queue/create/invalid-name',
      () =>
        h.client.createQueue({
          parent: LOCATION_PATH,
          queue: { name: `${LOCATION_PATH}/queues/not a valid name` },
        }),
      Status.INVALID_ARGUMENT,
      'Queue name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>".',
    ],
    [
      'queue/delete/not-found',
      () => h.client.deleteQueue({ name: missing }),
      Status.NOT_FOUND,
      NOT_FOUND,
    ],
    [
      'queue/get/not-found',
      () => h.client.getQueue({ name: missing }),
      Status.NOT_FOUND,
      QUEUE_MISSING,
    ],
    [
      'queue/pause/not-found',
      () => h.client.pauseQueue({ name: missing }),
      Status.NOT_FOUND,
      QUEUE_MISSING,
    ],
    [
      'queue/purge/not-found',
      () => h.client.purgeQueue({ name: missing }),
      Status.NOT_FOUND,
      QUEUE_MISSING,
    ],
    [
      'queue/resume/not-found',
      () => h.client.resumeQueue({ name: missing }),
      Status.NOT_FOUND,
      QUEUE_MISSING,
    ],
    [
      'task/create/already-exists',
      () => h.client.createTask({ parent: queue, task: { name: `${queue}/tasks/kept`, ...HTTP } }),
      Status.ALREADY_EXISTS,
      'Requested entity already exists',
    ],
    [
      'task/create/invalid-name',
      () =>
        h.client.createTask({
          parent: queue,
          task: { name: `${queue}/tasks/not a valid id`, ...HTTP },
        }),
      Status.INVALID_ARGUMENT,
      'Task ID "not a valid id" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), or underscores (_). Task ID must between 1 and 500 characters.',
    ],
    [
      'task/create/queue-mismatch',
      () =>
        h.client.createTask({ parent: queue, task: { name: `${queue}-other/tasks/t1`, ...HTTP } }),
      Status.INVALID_ARGUMENT,
      `The queue name from request ('${queue}') must be the same as the queue name in the named task ('${queue}-other').`,
    ],
    [
      'task/create/queue-not-found',
      () => h.client.createTask({ parent: missing, task: HTTP }),
      Status.NOT_FOUND,
      QUEUE_MISSING,
    ],
    [
      'task/delete/not-found',
      () => h.client.deleteTask({ name: `${queue}/tasks/never` }),
      Status.NOT_FOUND,
      NOT_FOUND,
    ],
    [
      'task/get/not-found',
      () => h.client.getTask({ name: `${queue}/tasks/never` }),
      Status.NOT_FOUND,
      NOT_FOUND,
    ],
    [
      'task/run/not-found',
      () => h.client.runTask({ name: `${queue}/tasks/never` }),
      Status.NOT_FOUND,
      NOT_FOUND,
    ],
  ];

  it.each(cases)('%s', async (_name, call, code, message) => {
    expect(await codeOf(call())).toEqual({ code, message });
  });

  it('task/get/recently-deleted: a task that existed recently is told apart', async () => {
    const name = `${queue}/tasks/deleted-soon`;
    await h.client.createTask({ parent: queue, task: { name, ...HTTP } });
    await h.client.deleteTask({ name });
    expect(await codeOf(h.client.getTask({ name }))).toEqual({
      code: Status.NOT_FOUND,
      message:
        'The task no longer exists, though a task with this name existed recently. The task either successfully completed or was deleted.',
    });
  });
});
