import { ManualClock } from '../../../emulators/cloud-tasks';
import { waitFor } from '../../helpers/wait-for';
import { codeOf, LOCATION_PATH, queuePath, useEmulatorAndReceiver, Status } from './fixture';

describe('Cloud Tasks emulator: RunTask and task-name reservation', () => {
  const clock = new ManualClock();
  const t = useEmulatorAndReceiver({ clock });

  it('RunTask dispatches at once on a paused queue, and the success deletes the task', async () => {
    const queue = queuePath('paused');
    await t.h.client.createQueue({ parent: LOCATION_PATH, queue: { name: queue } });
    await t.h.client.pauseQueue({ name: queue });
    const [task] = await t.h.client.createTask({
      parent: queue,
      task: { httpRequest: { url: t.receiver.url } },
    });
    const [ran] = await t.h.client.runTask({ name: task.name });
    expect(ran.dispatchCount).toBe(1);
    await waitFor(
      () => codeOf(t.h.client.getTask({ name: task.name })),
      (r) => r.code === Status.NOT_FOUND,
    );
    expect(t.receiver.requests.at(-1)?.headers['x-cloudtasks-taskname']).toBe(
      task.name?.split('/').at(-1),
    );
  });

  it('RunTask ignores the rate limit', async () => {
    const queue = queuePath('slow');
    await t.h.client.createQueue({
      parent: LOCATION_PATH,
      queue: { name: queue, rateLimits: { maxDispatchesPerSecond: 0.5 } },
    });
    await t.h.client.createTask({ parent: queue, task: { httpRequest: { url: t.receiver.url } } });
    const [second] = await t.h.client.createTask({
      parent: queue,
      task: { httpRequest: { url: t.receiver.url } },
    });
    expect(second.dispatchCount).toBe(0);
    await t.h.client.runTask({ name: second.name });
    await t.h.emulator.waitForIdle(queue);
  });

  it('keeps the name of a completed task reserved for an hour', async () => {
    const queue = queuePath('dedup');
    const name = `${queue}/tasks/once`;
    await t.h.client.createQueue({ parent: LOCATION_PATH, queue: { name: queue } });
    await t.h.client.createTask({
      parent: queue,
      task: { name, httpRequest: { url: t.receiver.url } },
    });
    await t.h.emulator.waitForIdle(queue);
    const again = () =>
      t.h.client.createTask({
        parent: queue,
        task: { name, httpRequest: { url: t.receiver.url } },
      });
    expect(await codeOf(again())).toEqual({
      code: Status.ALREADY_EXISTS,
      message: 'Requested entity already exists',
    });
    clock.advance(3_599_999);
    expect((await codeOf(again())).code).toBe(Status.ALREADY_EXISTS);
    clock.advance(1);
    const [created] = await again();
    expect(created.name).toBe(name);
    await t.h.emulator.waitForIdle(queue);
  });
});
