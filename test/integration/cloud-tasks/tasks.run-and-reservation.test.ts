import { ManualClock } from '../../../emulators/cloud-tasks';
import { waitFor } from '../../helpers/wait-for';
import {
  codeOf,
  LOCATION_PATH,
  queuePath,
  startHarness,
  startReceiver,
  Status,
  type Harness,
  type Receiver,
} from './fixture';

describe('Cloud Tasks emulator: RunTask and task-name reservation', () => {
  const clock = new ManualClock();
  let h: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
    h = await startHarness({ clock });
  });
  afterAll(async () => {
    await h.stop();
    await receiver.stop();
  });

  it('RunTask dispatches at once on a paused queue, and the success deletes the task', async () => {
    const queue = queuePath('paused');
    await h.client.createQueue({ parent: LOCATION_PATH, queue: { name: queue } });
    await h.client.pauseQueue({ name: queue });
    const [task] = await h.client.createTask({
      parent: queue,
      task: { httpRequest: { url: receiver.url } },
    });
    const [ran] = await h.client.runTask({ name: task.name });
    expect(ran.dispatchCount).toBe(1);
    await waitFor(
      () => codeOf(h.client.getTask({ name: task.name })),
      (r) => r.code === Status.NOT_FOUND,
    );
    expect(receiver.requests.at(-1)?.headers['x-cloudtasks-taskname']).toBe(
      task.name?.split('/').at(-1),
    );
  });

  it('RunTask ignores the rate limit', async () => {
    const queue = queuePath('slow');
    await h.client.createQueue({
      parent: LOCATION_PATH,
      queue: { name: queue, rateLimits: { maxDispatchesPerSecond: 0.5 } },
    });
    await h.client.createTask({ parent: queue, task: { httpRequest: { url: receiver.url } } });
    const [second] = await h.client.createTask({
      parent: queue,
      task: { httpRequest: { url: receiver.url } },
    });
    expect(second.dispatchCount).toBe(0);
    await h.client.runTask({ name: second.name });
    await h.emulator.waitForIdle(queue);
  });

  it('keeps the name of a completed task reserved for an hour', async () => {
    const queue = queuePath('dedup');
    const name = `${queue}/tasks/once`;
    await h.client.createQueue({ parent: LOCATION_PATH, queue: { name: queue } });
    await h.client.createTask({
      parent: queue,
      task: { name, httpRequest: { url: receiver.url } },
    });
    await h.emulator.waitForIdle(queue);
    const again = () =>
      h.client.createTask({ parent: queue, task: { name, httpRequest: { url: receiver.url } } });
    expect(await codeOf(again())).toEqual({
      code: Status.ALREADY_EXISTS,
      message: 'Requested entity already exists',
    });
    clock.advance(3_599_999);
    expect((await codeOf(again())).code).toBe(Status.ALREADY_EXISTS);
    clock.advance(1);
    const [created] = await again();
    expect(created.name).toBe(name);
    await h.emulator.waitForIdle(queue);
  });
});
