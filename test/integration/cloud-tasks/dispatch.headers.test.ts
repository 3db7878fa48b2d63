import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { formatEta, ManualClock } from '../../../emulators/cloud-tasks';
import { waitFor } from '../../helpers/wait-for';
import { queuePath, useEmulatorAndReceiver } from './fixture';

interface GoldenScenario {
  requestType: string;
  attempts: Array<{ attempt: number; status: number; headers: Record<string, string> }>;
}
const golden = JSON.parse(
  readFileSync(join(__dirname, '../../fixtures/cloud-tasks/dispatch-headers.golden.json'), 'utf8'),
) as GoldenScenario[];
const httpScenario = golden.find((s) => s.requestType === 'http') as GoldenScenario;

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

describe('Cloud Tasks emulator: HTTP dispatch headers', () => {
  const clock = new ManualClock(Date.UTC(2030, 5, 1, 12, 0, 0, 250));
  const statuses = httpScenario.attempts.map((a) => a.status);
  const t = useEmulatorAndReceiver({ queues: [QUEUE], clock }, (_, i) => statuses[i] ?? 200);

  const settled = (name: string, attempts: number) =>
    waitFor(
      async () => (await t.h.client.getTask({ name }))[0],
      (t) => t.dispatchCount === attempts && !!t.lastAttempt?.responseTime,
      { what: `attempt ${attempts} settled` },
    );

  it('sends exactly the recorded headers for 503, 404, 200, and records each attempt', async () => {
    const [task] = await t.h.client.createTask({
      parent: QUEUE,
      task: { httpRequest: { url: t.receiver.url, body: Buffer.from('payload') } },
    });
    const name = task.name ?? '';
    const etaMs = Number(task.scheduleTime?.seconds) * 1000 + (task.scheduleTime?.nanos ?? 0) / 1e6;
    const fill = (value: string) =>
      value
        .replace('{queue}', QUEUE_ID)
        .replace('{task}', name.slice(name.lastIndexOf('/') + 1))
        .replace('{eta}', formatEta(etaMs));

    const afterFirst = await settled(name, 1);
    expect(afterFirst).toMatchObject({
      dispatchCount: 1,
      responseCount: 1,
      lastAttempt: { responseStatus: { code: 14 } },
    });
    expect(afterFirst.firstAttempt?.dispatchTime).toEqual(afterFirst.lastAttempt?.dispatchTime);
    // The default queue's first retry comes 0.1 s after the failure.
    expect(
      Number(afterFirst.scheduleTime?.seconds) * 1000 + (afterFirst.scheduleTime?.nanos ?? 0) / 1e6,
    ).toBe(clock.now() + 100);
    clock.advance(100);
    const afterSecond = await settled(name, 2);
    expect(afterSecond.lastAttempt?.responseStatus?.code).toBe(5);
    clock.advance(200);
    await t.h.emulator.waitForIdle(QUEUE);

    expect(t.receiver.requests.map((r) => serviceHeaders(r.headers))).toEqual(
      httpScenario.attempts.map((a) =>
        Object.fromEntries(Object.entries(a.headers).map(([k, v]) => [k.toLowerCase(), fill(v)])),
      ),
    );
    expect(t.receiver.requests.every((r) => r.body === 'payload' && r.method === 'POST')).toBe(
      true,
    );
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
