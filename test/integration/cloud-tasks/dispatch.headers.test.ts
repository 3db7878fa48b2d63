import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { formatEta, ManualClock } from '../../../emulators/cloud-tasks';
import { waitFor } from '../../helpers/wait-for';
import { queuePath, useEmulatorAndReceiver, type Respond } from './fixture';

interface GoldenScenario {
  requestType: string;
  attempts: Array<{ attempt: number; status: number; headers: Record<string, string> }>;
}
const golden = JSON.parse(
  readFileSync(join(__dirname, '../../fixtures/cloud-tasks/dispatch-headers.golden.json'), 'utf8'),
) as GoldenScenario[];
const scenario = (type: string): GoldenScenario => {
  const found = golden.find((s) => s.requestType === type);
  if (found === undefined) throw new Error(`no recorded ${type} scenario`);
  return found;
};
const httpScenario = scenario('http');
const timeoutScenario = scenario('http-timeout');

const QUEUE_ID = 'golden';
const QUEUE = queuePath(QUEUE_ID);
/** Added by any HTTP client, not by Cloud Tasks; the recording left them out too. */
const TRANSPORT = new Set(['host', 'connection', 'content-length', 'transfer-encoding']);

function serviceHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => !TRANSPORT.has(name))
      .map(([name, value]) => [name, String(value)]),
  );
}

/** Each scenario's path answers with its recorded statuses in turn; status 0 is no answer. */
const PATHS: Record<string, GoldenScenario> = {
  '/task?s=http': httpScenario,
  '/task?s=timeout': timeoutScenario,
};
const answered = new Map<string, number>();
const respond: Respond = (request) => {
  const n = answered.get(request.path) ?? 0;
  answered.set(request.path, n + 1);
  const status = PATHS[request.path]?.attempts[n]?.status ?? 200;
  return status === 0 ? 'hang' : status;
};

describe('Cloud Tasks emulator: HTTP dispatch headers', () => {
  const clock = new ManualClock(Date.UTC(2030, 5, 1, 12, 0, 0, 250));
  const t = useEmulatorAndReceiver({ queues: [QUEUE], clock }, respond);

  /** The task once its attempt number `attempts` has an outcome. */
  const settled = (name: string, attempts: number) =>
    waitFor(
      async () => (await t.h.client.getTask({ name }))[0],
      (t) => t.dispatchCount === attempts && !!t.lastAttempt?.responseStatus,
      { what: `attempt ${attempts} settled` },
    );
  const ms = (ts: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    Number(ts?.seconds) * 1000 + (ts?.nanos ?? 0) / 1e6;

  /** Creates a task for the scenario's path and walks the clock through its recorded attempts. */
  async function replay(golden: GoldenScenario, query: string) {
    const [task] = await t.h.client.createTask({
      parent: QUEUE,
      task: {
        httpRequest: { url: `${t.receiver.url}?s=${query}`, body: Buffer.from('payload') },
        dispatchDeadline: { seconds: 15 },
      },
    });
    const name = task.name ?? '';
    const fill = (value: string) =>
      value
        .replace('{queue}', QUEUE_ID)
        .replace('{task}', name.slice(name.lastIndexOf('/') + 1))
        .replace('{eta}', formatEta(ms(task.scheduleTime)));
    const tasks = [];
    for (const [i, attempt] of golden.attempts.entries()) {
      if (attempt.status === 0) {
        // No answer: the dispatch deadline (15 s, on the emulator's clock) ends the attempt.
        await waitFor(
          () => t.receiver.requests.filter((r) => r.path === `/task?s=${query}`).length,
          (n) => n === i + 1,
          { what: `attempt ${i + 1} received` },
        );
        clock.advance(15_000);
      }
      if (i === golden.attempts.length - 1) break;
      const after = await settled(name, i + 1);
      tasks.push(after);
      clock.advance(ms(after.scheduleTime) - clock.now());
    }
    await t.h.emulator.waitForIdle(QUEUE);
    const received = t.receiver.requests.filter((r) => r.path === `/task?s=${query}`);
    expect(received.map((r) => serviceHeaders(r.headers))).toEqual(
      golden.attempts.map((a) =>
        Object.fromEntries(Object.entries(a.headers).map(([k, v]) => [k.toLowerCase(), fill(v)])),
      ),
    );
    expect(received.every((r) => r.body === 'payload' && r.method === 'POST')).toBe(true);
    return tasks;
  }

  it('sends exactly the recorded headers for 503, 404, 429, 500, 302, 200, and records each attempt', async () => {
    const tasks = await replay(httpScenario, 'http');
    const [afterFirst] = tasks;
    expect(afterFirst).toMatchObject({
      dispatchCount: 1,
      responseCount: 1,
      lastAttempt: { responseStatus: { code: 14 } },
    });
    expect(afterFirst?.firstAttempt?.dispatchTime).toEqual(afterFirst?.lastAttempt?.dispatchTime);
    expect(tasks.map((task) => task.lastAttempt?.responseStatus?.code)).toEqual([14, 5, 8, 13, 9]);
    // The default queue's retries back off 0.1 s, 0.2 s, 0.4 s ... after each failure.
    expect(tasks.map((task) => ms(task.scheduleTime) - ms(task.lastAttempt?.responseTime))).toEqual(
      [100, 200, 400, 800, 1600],
    );
  });

  it('reports an attempt that timed out to the next one as a 504, as recorded', async () => {
    const [afterTimeout] = await replay(timeoutScenario, 'timeout');
    expect(afterTimeout).toMatchObject({
      dispatchCount: 1,
      responseCount: 0,
      lastAttempt: { responseStatus: { code: 4 } },
    });
  });

  it("forwards the task's own headers, adds no Content-Type and keeps reserved ones for itself", async () => {
    const before = t.receiver.requests.length;
    await t.h.client.createTask({
      parent: QUEUE,
      task: {
        httpRequest: {
          url: `${t.receiver.url}?q=1`,
          httpMethod: 'PUT',
          headers: { 'X-Custom': 'yes', 'User-Agent': 'mine', 'X-CloudTasks-QueueName': 'spoof' },
          body: Buffer.from('{}'),
        },
      },
    });
    await t.h.emulator.waitForIdle(QUEUE);
    const got = t.receiver.requests[before];
    expect(got?.method).toBe('PUT');
    expect(got?.path).toBe('/task?q=1');
    expect(got?.headers).toMatchObject({
      'x-custom': 'yes',
      'user-agent': 'Google-Cloud-Tasks',
      'x-cloudtasks-queuename': QUEUE_ID,
    });
    expect(got?.headers['content-type']).toBeUndefined();
  });
});
