import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { startCloudTasksEmulator, type CloudTasksEmulator } from '../../../emulators/cloud-tasks';
import {
  createCloudTasksClient,
  createCloudTasksQueue,
} from '../../../src/adapters/cloud-tasks/cloud-tasks-queue';
import { cloudTaskName, dispatchDeadlineSeconds } from '../../../src/app/enqueue';
import { RetryableError } from '../../../src/domain/errors';
import { freePort } from '../../helpers/free-port';
import { waitFor } from '../../helpers/wait-for';

process.env['METADATA_SERVER_DETECTION'] = 'none';

const QUEUE = 'projects/adapter-test/locations/us-central1/queues/dsr-tasks';

describe('CloudTasksQueue against the Cloud Tasks emulator', () => {
  let emulator: CloudTasksEmulator;
  let receiver: Server;
  let url: string;
  const received: { headers: IncomingHttpHeaders; body: string; at: number }[] = [];

  beforeAll(async () => {
    emulator = await startCloudTasksEmulator({ grpcPort: 0, httpPort: 0, queues: [QUEUE] });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body, at: Date.now() });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await emulator?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  const queueFor = (host: string) =>
    createCloudTasksQueue(createCloudTasksClient(host), {
      projectId: 'adapter-test',
      location: 'us-central1',
      queueId: 'dsr-tasks',
      targetUrl: url,
      invokerServiceAccount: 'tasks-invoker@adapter-test.iam.gserviceaccount.com',
    });

  it('creates a named task with scheduleTime, dispatchDeadline and an OIDC token; a repeat is "exists"', async () => {
    const queue = queueFor(`127.0.0.1:${emulator.grpcPort}`);
    const name = cloudTaskName('req1', 'crm-erasure', 1, 1);
    const scheduleTime = new Date(Date.now() + 1500);
    const input = {
      taskName: name,
      scheduleTime,
      dispatchDeadlineSeconds: dispatchDeadlineSeconds(60, 30),
      body: { requestId: 'req1', taskId: 'crm-erasure' },
    };
    await expect(queue.enqueue(input)).resolves.toBe('created');
    await expect(queue.enqueue(input)).resolves.toBe('exists');
    const delivered = await waitFor(
      () => received.find((r) => r.headers['x-cloudtasks-taskname'] === name),
      (r) => r !== undefined,
      { what: 'the delivery' },
    );
    expect(delivered!.at).toBeGreaterThanOrEqual(scheduleTime.getTime() - 50);
    expect(JSON.parse(delivered!.body)).toEqual(input.body);
    expect(delivered!.headers['content-type']).toBe('application/json');
    const token = String(delivered!.headers['authorization']).replace(/^Bearer /, '');
    expect(decodeJwt(token)).toMatchObject({
      aud: url,
      email: 'tasks-invoker@adapter-test.iam.gserviceaccount.com',
    });
  });

  it('clamps the dispatch deadline to 15 s..30 min', () => {
    expect(dispatchDeadlineSeconds(1, 5)).toBe(15);
    expect(dispatchDeadlineSeconds(1740, 30)).toBe(1770);
    expect(dispatchDeadlineSeconds(1790, 30)).toBe(1800);
  });

  it('answers RetryableError when the queue cannot be reached', async () => {
    const queue = queueFor(`127.0.0.1:${await freePort()}`);
    await expect(
      queue.enqueue({ taskName: 'x-1', dispatchDeadlineSeconds: 30, body: {} }),
    ).rejects.toBeInstanceOf(RetryableError);
  });
});
