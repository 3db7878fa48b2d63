import type { google } from '@google-cloud/tasks/build/protos/protos';
import { ManualClock } from '../../../emulators/cloud-tasks';
import { waitFor } from '../../helpers/wait-for';
import { LOCATION_PATH, queuePath, useEmulatorAndReceiver, Status } from './fixture';

type RetryConfig = google.cloud.tasks.v2.IRetryConfig;
const seconds = (s: number) => ({ seconds: s });
const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

describe('Cloud Tasks emulator: retries, backoff and deadlines (on a manual clock)', () => {
  const clock = new ManualClock();
  /** Per-queue scripted answers: the receiver looks up the queue in the request headers. */
  const scripts = new Map<string, (attempt: number) => number | 'hang'>();
  const t = useEmulatorAndReceiver({ clock }, (req) => {
    const queue = String(req.headers['x-cloudtasks-queuename']);
    const attempt = Number(req.headers['x-cloudtasks-taskretrycount']);
    return scripts.get(queue)?.(attempt) ?? 200;
  });

  async function queueWith(
    id: string,
    retryConfig: RetryConfig,
    script: (attempt: number) => number | 'hang',
  ) {
    scripts.set(id, script);
    await t.h.client.createQueue({
      parent: LOCATION_PATH,
      queue: { name: queuePath(id), retryConfig },
    });
    const [task] = await t.h.client.createTask({
      parent: queuePath(id),
      task: { httpRequest: { url: t.receiver.url }, dispatchDeadline: seconds(15) },
    });
    return task.name ?? '';
  }

  /** Waits until attempt `n` has its outcome recorded; returns the task, or undefined once it is gone. */
  async function settled(name: string, n: number) {
    return waitFor(
      () =>
        t.h.client.getTask({ name }).then(
          ([t]) => t,
          (err: { code?: number }) => {
            if (err.code === Status.NOT_FOUND) return undefined;
            throw err;
          },
        ),
      (t) => t === undefined || (t.dispatchCount === n && !!t.lastAttempt?.responseStatus),
      { intervalMs: 1, what: `attempt ${n} of ${name}` },
    );
  }

  /** Fails every attempt and returns the waits between them, until the task is given up. */
  async function runToExhaustion(name: string): Promise<number[]> {
    const gaps: number[] = [];
    for (let n = 1; ; n++) {
      const task = await settled(name, n);
      if (task === undefined) return gaps;
      gaps.push((ms(task.scheduleTime) - ms(task.lastAttempt?.responseTime)) / 1000);
      clock.advanceToNextTimer();
    }
  }

  it('backs off 10, 20, 40, 80, 160, 240, 300 s for min 10 s, max 300 s, 3 doublings', async () => {
    const name = await queueWith(
      'backoff',
      { minBackoff: seconds(10), maxBackoff: seconds(300), maxDoublings: 3, maxAttempts: 9 },
      () => 503,
    );
    expect(await runToExhaustion(name)).toEqual([10, 20, 40, 80, 160, 240, 300, 300]);
    expect(
      t.receiver.requests.filter((r) => r.headers['x-cloudtasks-queuename'] === 'backoff'),
    ).toHaveLength(9);
  });

  it('keeps retrying until both maxAttempts and maxRetryDuration are reached', async () => {
    const fixed = { minBackoff: seconds(10), maxBackoff: seconds(10) };
    const durationLast = await queueWith(
      'both-duration',
      { ...fixed, maxAttempts: 3, maxRetryDuration: seconds(60) },
      () => 500,
    );
    // Attempts at 0, 10, ... 60 s: the third attempt is not enough while under 60 s have passed.
    expect(await runToExhaustion(durationLast)).toHaveLength(6);
    const attemptsLast = await queueWith(
      'both-attempts',
      { ...fixed, maxAttempts: 5, maxRetryDuration: seconds(15) },
      () => 500,
    );
    expect(await runToExhaustion(attemptsLast)).toHaveLength(4);
  });

  it('retries past 100 attempts with maxAttempts -1', async () => {
    const name = await queueWith(
      'unlimited',
      { maxAttempts: -1, minBackoff: seconds(1), maxBackoff: seconds(1) },
      (attempt) => (attempt < 150 ? 500 : 200),
    );
    for (let n = 1; n <= 150; n++) {
      await settled(name, n);
      clock.advanceToNextTimer();
    }
    await t.h.emulator.waitForIdle(queuePath('unlimited'));
    expect(
      t.receiver.requests.filter((r) => r.headers['x-cloudtasks-queuename'] === 'unlimited'),
    ).toHaveLength(151);
  });

  it('aborts an attempt at its dispatchDeadline, counts it a failure and retries', async () => {
    const name = await queueWith('deadline', { minBackoff: seconds(1) }, (attempt) =>
      attempt === 0 ? 'hang' : 200,
    );
    const ours = () =>
      t.receiver.requests.filter((r) => r.headers['x-cloudtasks-queuename'] === 'deadline');
    await waitFor(
      () => ours().length,
      (n) => n === 1,
      { intervalMs: 1 },
    );
    clock.advance(14_999);
    expect((await t.h.client.getTask({ name }))[0].lastAttempt?.responseStatus).toBeFalsy();
    clock.advance(1);
    const failed = await settled(name, 1);
    expect(failed?.lastAttempt?.responseStatus?.code).toBe(Status.DEADLINE_EXCEEDED);
    expect(failed?.responseCount).toBe(0);
    await waitFor(
      () => ours()[0]?.aborted,
      (aborted) => aborted === true,
      { what: 'the receiver to see the abort' },
    );

    clock.advanceToNextTimer();
    await t.h.emulator.waitForIdle(queuePath('deadline'));
    // As recorded from the service: the timed-out attempt reaches the next one as a 504.
    expect(ours()[1]?.headers).toMatchObject({
      'x-cloudtasks-taskretrycount': '1',
      'x-cloudtasks-taskexecutioncount': '0',
      'x-cloudtasks-taskpreviousresponse': '504',
      'x-cloudtasks-taskretryreason': '',
    });
  });
});
