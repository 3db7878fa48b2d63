/**
 * `npm run bench -- pipeline [--pairs 5] [--requests 1,50] [--entry framework|lean|bare]`: the
 * pipeline on the local stack, in one process so the store adapter's exact Firestore operation
 * counts are visible. Two scenarios: one request with 20 `noop` tasks, and 50 such requests
 * filed at once. Each is compared with its floor: the same
 * number of bare Firestore round trips plus one emulator dispatch per instance, with no pipeline
 * logic. Pipeline and floor runs alternate (P F P F ..., `--pairs` pairs per scenario); the ratio
 * is taken pair by pair and reported as its median and spread.
 */
import { Firestore } from '@google-cloud/firestore';
import { createServer, type Server } from 'node:http';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { CloudTasksClient } from '@google-cloud/tasks';
import { grpc } from 'google-gax';
import { parseArgs } from 'node:util';
import { startCloudTasksEmulator } from '../emulators/cloud-tasks';
import { startFirestoreEmulator } from '../test/helpers/firestore-emulator';
import { freePort } from '../test/helpers/free-port';
import { seedLocalRoles } from '../scripts/lib/local-stack';
import { bareServer, leaveDomain } from './lib/bare-entry';

const TASKS = 20;
const LOCATION = 'us-central1';
const QUEUE = 'bench';

interface Scenario {
  name: string;
  requests: number;
}

interface PipelineRun {
  ms: number;
  /** CPU time of this process (user + system) over the run: steadier than wall time on a busy machine. */
  cpuMs: number;
  intake: number[];
  completion: number[];
  reads: number;
  writes: number;
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      pairs: { type: 'string', default: '5' },
      // How run-task is served: as deployed, or one of bench/lib/bare-entry.ts's measurements.
      entry: { type: 'string', default: 'framework' },
      // Only the scenarios with these request counts (e.g. `--requests 50`).
      requests: { type: 'string', default: '1,50' },
    },
  });
  const pairs = Number(values.pairs);
  if (!Number.isSafeInteger(pairs) || pairs < 1)
    throw new Error('--pairs must be a positive integer');
  const entry = values.entry;
  if (entry !== 'framework' && entry !== 'lean' && entry !== 'bare')
    throw new Error('--entry must be framework, lean or bare');
  const requestCounts = values.requests.split(',').map(Number);
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  const fs = await startFirestoreEmulator();
  // Stopped from outside (Ctrl-C, a timeout): the emulator runs in a process group of its own.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void fs.stop().finally(() => process.exit(130)));
  }
  const projectId = `bench-${Date.now()}`;
  const queuePath = `projects/${projectId}/locations/${LOCATION}/queues/${QUEUE}`;
  const tasks = await startCloudTasksEmulator({
    grpcPort: 0,
    httpPort: 0,
    queues: [
      {
        name: queuePath,
        rateLimits: { maxDispatchesPerSecond: 500, maxConcurrentDispatches: 1000 },
      },
    ],
  });
  const apiPort = await freePort();
  const runPort = await freePort();
  Object.assign(process.env, {
    GOOGLE_CLOUD_PROJECT: projectId,
    LOCATION,
    TASKS_QUEUE: QUEUE,
    RUN_TASK_URL: `http://127.0.0.1:${runPort}/`,
    TASKS_INVOKER_SA: 'tasks-invoker@bench.iam.gserviceaccount.com',
    SUBJECT_HASH_PEPPER: 'bench-pepper-not-a-secret',
    FIRESTORE_EMULATOR_HOST: fs.host,
    CLOUD_TASKS_EMULATOR_HOST: `127.0.0.1:${tasks.grpcPort}`,
    LOCAL_MODE: 'true',
    // run-task verifies each delivery's OIDC token against the emulator's keys, as locally.
    TASKS_OIDC_JWKS_URL: `${tasks.issuer}/jwks`,
    TASKS_OIDC_ISSUER: tasks.issuer,
    BOOTSTRAP_ADMINS: 'user:developer@localhost',
  });
  // Logs would dominate the timings; the bench measures the pipeline, not stdout.
  const write = process.stdout.write.bind(process.stdout);
  const quiet = () => {
    process.stdout.write = (chunk: string | Uint8Array) =>
      typeof chunk === 'string' && chunk.startsWith('BENCH') ? write(chunk) : true;
  };
  const loud = () => {
    process.stdout.write = write;
  };

  await import('../functions/index');
  const { getRuntime } = await import('../functions/composition');
  // run-task's transport (functions/run-task.ts): the bench's one runtime serves every function.
  const runtime = getRuntime(process.env, { firestoreTransport: 'grpc' });
  const store = runtime.deps.store as unknown as {
    stats(): { reads: number; writes: number };
    resetStats(): void;
  };
  const { runTask } = await import('../functions/run-task');
  if (entry === 'lean') http('runTaskLean', leaveDomain(runTask));
  const servers: Server[] = [
    getTestServer('api'),
    entry === 'bare'
      ? bareServer(runTask)
      : getTestServer(entry === 'lean' ? 'runTaskLean' : 'runTask'),
  ];
  await Promise.all([listen(servers[0]!, apiPort), listen(servers[1]!, runPort)]);
  const api = `http://127.0.0.1:${apiPort}`;
  // The default local identity (developer@localhost) gets every role, as in the local stack.
  await seedLocalRoles(api);

  for (let t = 0; t < TASKS; t++) {
    await post(api, '/tasks', {
      id: `noop-${t}`,
      name: `noop ${t}`,
      jobType: 'deletion',
      executor: 'noop',
      config: {},
    });
  }

  const db = new Firestore({ projectId: `${projectId}-floor` });
  const floorClient = new CloudTasksClient({
    apiEndpoint: '127.0.0.1',
    port: tasks.grpcPort,
    sslCreds: grpc.credentials.createInsecure(),
  });
  const floorQueue = `projects/${projectId}/locations/${LOCATION}/queues/floor`;
  await floorClient.createQueue({
    parent: `projects/${projectId}/locations/${LOCATION}`,
    queue: {
      name: floorQueue,
      rateLimits: { maxDispatchesPerSecond: 500, maxConcurrentDispatches: 1000 },
    },
  });
  let floorHits = 0;
  const floorServer = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      floorHits += 1;
      res.end('ok');
    });
  });
  const floorPort = await freePort();
  await listen(floorServer, floorPort);

  /**
   * Completion is observed in-process, where run-task records each finish: a request is done
   * once every one of its instances has committed a terminal state (what GET /requests/:id
   * reports as completed). Watching costs no Firestore reads and no listener load on the
   * emulator, so neither the counters nor the timings include the bench's own observation.
   */
  const terminal = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);
  const finished = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const finishAttempt = runtime.deps.store.finishAttempt.bind(runtime.deps.store);
  runtime.deps.store.finishAttempt = async (claim, run, patch) => {
    const outcome = await finishAttempt(claim, run, patch);
    if (outcome.applied && patch.state !== undefined && terminal.has(patch.state)) {
      const id = claim.instance.requestId;
      const n = (finished.get(id) ?? 0) + 1;
      finished.set(id, n);
      if (n === TASKS) waiters.get(id)?.();
    }
    return outcome;
  };
  const untilDone = (id: string) =>
    new Promise<void>((resolve) => {
      if (finished.get(id) === TASKS) resolve();
      else waiters.set(id, resolve);
    });

  // One unmeasured request first, so JIT warm-up and first connections are not in the figures.
  quiet();
  const warm = (await post(api, '/requests', {
    type: 'deletion',
    subject: { email: 'warm-up@example.com' },
    externalId: `warm-up-${Date.now()}`,
  })) as { id: string };
  await untilDone(warm.id);
  loud();

  const scenarios: Scenario[] = [
    { name: 'pipeline.one_request_20_tasks', requests: 1 },
    { name: 'pipeline.50_requests_20_tasks', requests: 50 },
  ].filter((s) => requestCounts.includes(s.requests));
  const col = db.collection('floor');

  /** One pipeline run: the scenario's requests filed at once, until every instance is done. */
  const runPipeline = async (scenario: Scenario, pair: number): Promise<PipelineRun> => {
    store.resetStats();
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    const intake: number[] = [];
    const completion: number[] = [];
    await Promise.all(
      Array.from({ length: scenario.requests }, async (_, i) => {
        const t0 = performance.now();
        const filed = await post(api, '/requests', {
          type: 'deletion',
          subject: { email: `bench-${scenario.name}-${pair}-${i}@example.com` },
          externalId: `${scenario.name}-${Date.now()}-${pair}-${i}`,
        });
        intake.push(performance.now() - t0);
        const id = (filed as { id: string }).id;
        await untilDone(id);
        completion.push(performance.now() - t0);
      }),
    );
    const ms = performance.now() - started;
    const cpuMs = cpuSince(cpu0);
    // The listener can see the last commit before run-task has counted it: read the counters
    // once every delivery has been answered.
    await tasks.waitForIdle(queuePath);
    const { reads, writes } = store.stats();
    return { ms, cpuMs, intake, completion, reads, writes };
  };

  /** One floor run: `roundTrips` bare Firestore round trips plus one dispatch per instance. */
  const runFloor = async (
    roundTrips: number,
    instances: number,
  ): Promise<{ ms: number; cpuMs: number }> => {
    floorHits = 0;
    const f0 = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all([
      (async () => {
        const concurrency = 64;
        let next = 0;
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next < roundTrips) {
              const k = next++;
              if (k % 2 === 0) await col.doc(`d${k % 1000}`).set({ k });
              else await col.doc(`d${(k - 1) % 1000}`).get();
            }
          }),
        );
      })(),
      (async () => {
        await Promise.all(
          Array.from({ length: instances }, (_, k) =>
            floorClient.createTask({
              parent: floorQueue,
              task: {
                httpRequest: {
                  url: `http://127.0.0.1:${floorPort}/`,
                  httpMethod: 'POST',
                  body: Buffer.from(String(k)),
                },
              },
            }),
          ),
        );
        while (floorHits < instances) await new Promise((resolve) => setTimeout(resolve, 2));
      })(),
    ]);
    const ms = performance.now() - f0;
    const cpuMs = cpuSince(cpu0);
    await tasks.waitForIdle(floorQueue);
    return { ms, cpuMs };
  };

  const rows: string[][] = [];
  for (const scenario of scenarios) {
    const instances = scenario.requests * TASKS;
    const runs: PipelineRun[] = [];
    const floors: number[] = [];
    const floorCpu: number[] = [];
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    quiet();
    // Pairs run back to back, alternating pipeline and floor (P F P F ...). Each floor does the
    // exact number of Firestore round trips its own pipeline run made, and the ratio is taken
    // pair by pair, so a drift in the machine's speed moves both sides of a pair together.
    for (let pair = 0; pair < pairs; pair++) {
      const run = await runPipeline(scenario, pair);
      const floor = await runFloor(run.reads + run.writes, instances);
      runs.push(run);
      floors.push(floor.ms);
      floorCpu.push(floor.cpuMs);
      ratios.push(run.ms / floor.ms);
      cpuRatios.push(run.cpuMs / floor.cpuMs);
    }
    loud();
    const pipelineMs = runs.map((r) => r.ms);
    const opsPerInstance = runs.map((r) => (r.reads + r.writes) / instances);
    const result = {
      name: scenario.name,
      entry,
      pairs,
      order: 'pipeline,floor',
      p50_ms: round(median(runs.map((r) => percentile(r.completion, 50)))),
      p99_ms: round(median(runs.map((r) => percentile(r.completion, 99)))),
      intake_p50_ms: round(median(runs.map((r) => percentile(r.intake, 50)))),
      instances_per_s: round(instances / (median(pipelineMs) / 1000)),
      pipeline_ms_median: round(median(pipelineMs)),
      floor_ms_median: round(median(floors)),
      ratio_median: round(median(ratios)),
      ratio_q1: round(quantile(ratios, 0.25)),
      ratio_q3: round(quantile(ratios, 0.75)),
      ratio_min: round(Math.min(...ratios)),
      ratio_max: round(Math.max(...ratios)),
      ratios: ratios.map(round),
      pipeline_ms: pipelineMs.map(round),
      floor_ms: floors.map(round),
      // This process's CPU time, pipeline and floor, pair by pair (the Java emulator's is apart).
      pipeline_cpu_ms_median: round(median(runs.map((r) => r.cpuMs))),
      floor_cpu_ms_median: round(median(floorCpu)),
      cpu_ratio_median: round(median(cpuRatios)),
      cpu_ratios: cpuRatios.map(round),
      firestore_ops_per_instance: round(median(opsPerInstance)),
      firestore_reads: median(runs.map((r) => r.reads)),
      firestore_writes: median(runs.map((r) => r.writes)),
    };
    console.log(`BENCH ${JSON.stringify(result)}`);
    rows.push([
      scenario.name,
      String(instances),
      String(pairs),
      `${result.intake_p50_ms}`,
      `${result.p50_ms}`,
      `${result.p99_ms}`,
      `${result.pipeline_ms_median}`,
      `${result.floor_ms_median}`,
      `${result.ratio_median}`,
      `${result.ratio_min}–${result.ratio_max} (IQR ${result.ratio_q1}–${result.ratio_q3})`,
      `${result.firestore_ops_per_instance}`,
    ]);
  }
  console.log(
    table(
      [
        'scenario',
        'instances',
        'pairs',
        'intake p50 ms',
        'done p50 ms',
        'done p99 ms',
        'pipeline ms (median)',
        'floor ms (median)',
        'ratio (median)',
        'ratio min–max',
        'fs ops/instance',
      ],
      rows,
    ),
  );
  await Promise.all(
    [...servers, floorServer].map((s) => new Promise((resolve) => s.close(resolve))),
  );
  await floorClient.close();
  await tasks.stop();
  await fs.stop();
  process.exit(0);
}

/** CPU milliseconds (user + system) this process used since `start`. */
function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
}

async function post(base: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** The median of `values` (the mean of the middle two when their count is even). */
function median(values: number[]): number {
  return quantile(values, 0.5);
}

/** Quantile `q` of `values`, interpolated linearly between the closest ranks. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
