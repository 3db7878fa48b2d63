/**
 * `npm run bench -- tasks [--seconds 20]`: the Cloud Tasks emulator against a local handler that
 * answers 200 at once, on one queue at the service's maximum rate (500/s).
 * - latency: create→dispatch, one task at a time, paced below the rate limit;
 * - throughput: dispatches per second sustained over 20 s with a standing backlog;
 * - baseline: a bare keep-alive HTTP POST loop to the same handler, measured in the same run.
 */
import { CloudTasksClient } from '@google-cloud/tasks';
import { grpc } from 'google-gax';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { startCloudTasksEmulator } from '../emulators/cloud-tasks';

const QUEUE = 'projects/bench/locations/us-central1/queues/bench';
const LATENCY_SAMPLES = 1000;
const LATENCY_PACE_MS = 4;
const BACKLOG = 2000;
const PRODUCERS = 16;
const BASELINE_SECONDS = 5;

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { seconds: { type: 'string', default: '20' } } });
  const seconds = Number(values.seconds);
  process.env['METADATA_SERVER_DETECTION'] = 'none';

  // The handler resolves the waiter of the task it receives, and counts everything.
  const waiters = new Map<string, () => void>();
  let received = 0;
  const handler = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      const name = req.headers['x-cloudtasks-taskname'];
      if (typeof name === 'string') waiters.get(name)?.();
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => handler.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(handler.address() as AddressInfo).port}/`;

  const emulator = await startCloudTasksEmulator({
    queues: [
      { name: QUEUE, rateLimits: { maxDispatchesPerSecond: 500, maxConcurrentDispatches: 1000 } },
    ],
  });
  const client = new CloudTasksClient({
    apiEndpoint: '127.0.0.1',
    port: emulator.grpcPort,
    sslCreds: grpc.credentials.createInsecure(),
  });
  let seq = 0;
  const create = (name = `t${++seq}`) =>
    client.createTask({
      parent: QUEUE,
      task: { name: `${QUEUE}/tasks/${name}`, httpRequest: { url, body: Buffer.from('{}') } },
    });

  try {
    // Warm-up: connections, JIT, the client's channel.
    for (let i = 0; i < 200; i++) await create();
    await emulator.waitForIdle(QUEUE);

    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const name = `lat${i}`;
      const start = performance.now();
      const delivered = new Promise<void>((resolve) => waiters.set(name, resolve));
      await create(name);
      await delivered;
      waiters.delete(name);
      latencies.push(performance.now() - start);
      const rest = LATENCY_PACE_MS - (performance.now() - start);
      if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    }
    await emulator.waitForIdle(QUEUE);

    // Throughput: producers keep a backlog so the queue never runs dry; count what the handler sees.
    const before = received;
    const startedAt = performance.now();
    const endAt = startedAt + seconds * 1000;
    let created = 0;
    const producer = async () => {
      while (performance.now() < endAt) {
        if (created - (received - before) > BACKLOG) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        created++;
        await create();
      }
    };
    const window = new Promise<number>((resolve) =>
      setTimeout(() => resolve(received - before), seconds * 1000),
    );
    await Promise.all(Array.from({ length: PRODUCERS }, producer));
    const dispatched = await window;
    await client.purgeQueue({ name: QUEUE });
    const rate = dispatched / seconds;

    // Baseline: the same handler, a bare POST loop over one keep-alive connection.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const baseStart = performance.now();
    let posts = 0;
    while (performance.now() - baseStart < BASELINE_SECONDS * 1000) {
      await post(url, agent);
      posts++;
    }
    const baselineRate = posts / ((performance.now() - baseStart) / 1000);
    agent.destroy();

    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const round = (n: number, d = 2) => Number(n.toFixed(d));
    const result = {
      name: 'tasks.dispatch',
      p50_ms: round(p50),
      p99_ms: round(p99),
      rate_per_s: round(rate, 0),
      baseline_rate_per_s: round(baselineRate, 0),
      ratio: round(rate / baselineRate, 3),
    };
    console.log(`BENCH ${JSON.stringify(result)}`);
    console.table({
      'create→dispatch p50 (ms)': { value: result.p50_ms, target: '≤ 10' },
      'create→dispatch p99 (ms)': { value: result.p99_ms, target: '' },
      [`dispatches/s over ${seconds} s`]: {
        value: result.rate_per_s,
        target: '≥ 500 (queue max 500/s)',
      },
      'baseline POST loop /s': { value: result.baseline_rate_per_s, target: '' },
      'ratio (dispatch / baseline)': { value: result.ratio, target: '' },
    });
  } finally {
    await client.close();
    await emulator.stop();
    handler.closeAllConnections();
    handler.close();
  }
}

function post(url: string, agent: http.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'Content-Length': 2 } },
      (res) => {
        res.resume();
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
