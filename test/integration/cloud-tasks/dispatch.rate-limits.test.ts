import { ManualClock } from '../../../emulators/cloud-tasks';
import { waitFor } from '../../helpers/wait-for';
import { LOCATION_PATH, queuePath, useEmulatorAndReceiver, type Harness } from './fixture';

async function createTasks(h: Harness, queue: string, url: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await h.client.createTask({ parent: queue, task: { httpRequest: { url } } });
  }
}

describe('Cloud Tasks emulator: rate limits on real time', () => {
  const t = useEmulatorAndReceiver();

  it('holds maxDispatchesPerSecond 20 within 10% once the burst is spent', async () => {
    const queue = queuePath('twenty');
    const [created] = await t.h.client.createQueue({
      parent: LOCATION_PATH,
      queue: { name: queue, rateLimits: { maxDispatchesPerSecond: 20 } },
    });
    const burst = created.rateLimits?.maxBurstSize ?? 0;
    expect(burst).toBe(4);
    await createTasks(t.h, queue, t.receiver.url, 44);
    await t.h.emulator.waitForIdle(queue);
    const steady = t.receiver.requests.slice(burst - 1).map((r) => r.at);
    const rate = (steady.length - 1) / (((steady.at(-1) ?? 0) - (steady[0] ?? 0)) / 1000);
    expect(rate).toBeGreaterThan(18);
    expect(rate).toBeLessThan(22);
  });
});

describe('Cloud Tasks emulator: rate and concurrency limits (on a manual clock)', () => {
  const clock = new ManualClock();
  const t = useEmulatorAndReceiver({ clock }, (req) => (req.path.includes('hang') ? 'hang' : 200));

  const dispatched = async (queue: string) =>
    (await t.h.client.listTasks({ parent: queue }))[0].filter((t) => (t.dispatchCount ?? 0) > 0)
      .length;
  const received = (queue: string) =>
    t.receiver.requests.filter(
      (r) => r.headers['x-cloudtasks-queuename'] === queue.split('/').at(-1),
    ).length;

  it('dispatches at a fractional rate: one task every 2 s at 0.5/s', async () => {
    const queue = queuePath('half');
    const [created] = await t.h.client.createQueue({
      parent: LOCATION_PATH,
      queue: { name: queue, rateLimits: { maxDispatchesPerSecond: 0.5 } },
    });
    expect(created.rateLimits).toMatchObject({ maxDispatchesPerSecond: 0.5, maxBurstSize: 1 });
    await createTasks(t.h, queue, t.receiver.url, 3);
    await waitFor(
      () => received(queue),
      (n) => n === 1,
    );
    clock.advance(1999);
    // The first task is done; the other two wait for a token.
    expect((await t.h.client.listTasks({ parent: queue }))[0]).toHaveLength(2);
    expect(await dispatched(queue)).toBe(0);
    clock.advance(1);
    await waitFor(
      () => received(queue),
      (n) => n === 2,
    );
    clock.advance(2000);
    await t.h.emulator.waitForIdle(queue);
    expect(received(queue)).toBe(3);
  });

  it('never has more than maxConcurrentDispatches attempts in flight', async () => {
    const queue = queuePath('two-at-a-time');
    await t.h.client.createQueue({
      parent: LOCATION_PATH,
      queue: { name: queue, rateLimits: { maxConcurrentDispatches: 2 } },
    });
    await createTasks(t.h, queue, `${t.receiver.url}/hang`, 5);
    expect(await dispatched(queue)).toBe(2);
    // Both hanging attempts hit their deadline; the freed slots go to the next two tasks.
    clock.advance(10 * 60 * 1000);
    await waitFor(
      () => dispatched(queue),
      (n) => n === 4,
    );
    await t.h.client.purgeQueue({ name: queue });
  });
});
