/**
 * `npm run bench -- coldstart [--pairs 10]`: for each deployed function (api, runTask, dispatch),
 * the wall time from process start to its first 200 answer, against the local emulators, paired
 * with a hello-world functions-framework function in alternating runs (function, hello, function,
 * hello, …). Each pair gives a ratio; the bench reports the median ratio, its spread and the
 * median times, then which client packages each function loads before that first answer. Each
 * timed process also reports its CPU time to the first answer (bench/lib/coldstart-cpu.js): the
 * CPU ratio, which a busy machine disturbs less than the wall-time ratio the goals are set on.
 *
 * What runs is what deploys: the entry compiled by the deploy build (`tsc -p
 * tsconfig.build.json`, to a temporary directory), served by the functions-framework CLI under
 * plain Node, as the Node.js buildpack serves dist/functions/index.js. The hello-world function
 * (bench/lib/coldstart-hello.js) is served by the same CLI, with the same environment.
 *
 * The emulators start once for the whole bench: the gcloud Firestore emulator, and our Cloud
 * Tasks and BigQuery emulators in this process, as scripts/lib/local-stack.ts starts them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startCloudTasksEmulator } from '../emulators/cloud-tasks';
import { startBigQueryEmulator } from '../emulators/bigquery';
import { demoWarehouseSeed } from '../scripts/lib/demo-warehouse';
import { INVOKER, LOCAL_IDENTITIES, SCHEDULER } from '../scripts/lib/local-stack';
import { startFirestoreEmulator } from '../test/helpers/firestore-emulator';
import { freePort } from '../test/helpers/free-port';

const ROOT = join(__dirname, '..');
const FF_CLI = join(ROOT, 'node_modules/@google-cloud/functions-framework/build/src/main.js');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const HELLO = join(__dirname, 'lib', 'coldstart-hello.js');
const MODULES_HOOK = join(__dirname, 'lib', 'coldstart-modules.js');
const CPU_HOOK = join(__dirname, 'lib', 'coldstart-cpu.js');
const PROJECT = 'dsr-coldstart';
const LOCATION = 'us-central1';
const QUEUE = 'dsr-tasks';
const START_TIMEOUT_MS = 30_000;

type FunctionName = 'api' | 'runTask' | 'dispatch';
const FUNCTIONS: readonly FunctionName[] = ['api', 'runTask', 'dispatch'];
/** The issue's goals (median ratio to the hello-world function). */
const GOALS: Record<FunctionName, number> = { api: 2.0, runTask: 2.5, dispatch: 2.0 };

/** One request the process must answer 200: the first answer after start that counts. */
interface Probe {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** A process to start: the functions-framework CLI on a source and a target. */
interface Served {
  label: string;
  source: string;
  target: string;
  probe: () => Probe;
}

interface PairStats {
  fnMs: number[];
  helloMs: number[];
  ratios: number[];
  /** CPU time (user + system) to the first answer, each side, and their ratio per pair. */
  fnCpuMs: number[];
  helloCpuMs: number[];
  cpuRatios: number[];
}

/** One timed start: wall time from spawn to the first 200, and the process's CPU time to it. */
interface Start {
  ms: number;
  cpuMs: number;
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { pairs: { type: 'string', default: '10' } } });
  const pairs = Number(values.pairs);
  if (!Number.isInteger(pairs) || pairs < 1) throw new Error('--pairs takes a positive integer');
  if (pairs < 10) console.log(`note: ${pairs} pairs; the baseline in bench/README.md used 10`);

  const cleanups: (() => Promise<void>)[] = [];
  try {
    const buildDir = mkdtempSync(join(tmpdir(), 'dsr-coldstart-'));
    cleanups.push(async () => rmSync(buildDir, { recursive: true, force: true }));
    const buildMs = build(buildDir);
    console.log(`compiled the deploy build (tsconfig.build.json) in ${Math.round(buildMs)} ms`);

    const firestore = await startFirestoreEmulator();
    cleanups.push(() => firestore.stop());
    const queuePath = `projects/${PROJECT}/locations/${LOCATION}/queues/${QUEUE}`;
    const tasks = await startCloudTasksEmulator({
      grpcPort: 0,
      httpPort: 0,
      queues: [{ name: queuePath }],
    });
    cleanups.push(() => tasks.stop());
    const bigQuery = await startBigQueryEmulator({
      projectId: PROJECT,
      seed: demoWarehouseSeed(),
    });
    cleanups.push(() => bigQuery.stop());

    // One port for every start: each process has exited before the next one starts.
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      ...pickEnv(process.env),
      GOOGLE_CLOUD_PROJECT: PROJECT,
      LOCATION,
      TASKS_QUEUE: QUEUE,
      RUN_TASK_URL: `${url}/`,
      TASKS_INVOKER_SA: INVOKER,
      SUBJECT_HASH_PEPPER: 'local-development-pepper-not-secret',
      FIRESTORE_EMULATOR_HOST: firestore.host,
      CLOUD_TASKS_EMULATOR_HOST: `127.0.0.1:${tasks.grpcPort}`,
      BIGQUERY_EMULATOR_HOST: bigQuery.url,
      LOCAL_MODE: 'true',
      TASKS_OIDC_JWKS_URL: `${tasks.issuer}/jwks`,
      TASKS_OIDC_ISSUER: tasks.issuer,
      SCHEDULER_SA: SCHEDULER,
      BOOTSTRAP_ADMINS: `user:${LOCAL_IDENTITIES.developer}`,
      HTTP_ALLOWED_ORIGINS: 'http://127.0.0.1:*,http://localhost:*',
      METADATA_SERVER_DETECTION: 'none',
    };
    const entry = join(buildDir, 'app');
    const bearer = (email: string, audience: string) => ({
      authorization: `Bearer ${tasks.signIdToken(email, audience)}`,
    });
    const served: Record<FunctionName, Served> = {
      // An authenticated route that reads the store (the access policy), not /healthz: the
      // first useful answer needs the Firestore client loaded and connected, and a health check
      // would let lazy loading move that cost out of the measurement.
      api: {
        label: 'api',
        source: entry,
        target: 'api',
        probe: () => ({
          method: 'GET',
          path: '/iam/policy',
          headers: { 'x-dev-identity': LOCAL_IDENTITIES.developer },
        }),
      },
      // A well-formed delivery, with the invoker's OIDC token (verified against the emulator's
      // key set), of a task that does not exist: run-task reads it and answers 200 task_missing.
      runTask: {
        label: 'runTask',
        source: entry,
        target: 'runTask',
        probe: () => ({
          method: 'POST',
          path: '/',
          headers: { 'content-type': 'application/json', ...bearer(INVOKER, `${url}/`) },
          body: JSON.stringify({
            requestId: '0'.repeat(32),
            taskId: 'coldstart-missing',
            series: 1,
            attempt: 0,
            taskVersion: 1,
          }),
        }),
      },
      // The scheduler's call with its OIDC token: a reconcile pass over an empty store.
      dispatch: {
        label: 'dispatch',
        source: entry,
        target: 'dispatch',
        probe: () => ({
          method: 'POST',
          path: '/',
          headers: bearer(SCHEDULER, `https://${LOCATION}-${PROJECT}.cloudfunctions.net/dispatch`),
        }),
      },
    };
    const hello: Served = {
      label: 'hello',
      source: HELLO,
      target: 'hello',
      probe: () => ({ method: 'GET', path: '/', headers: {} }),
    };
    const start = (s: Served, extraArgs: string[] = [], extraEnv: Record<string, string> = {}) =>
      coldStart(s, port, { ...env, K_SERVICE: s.target, ...extraEnv }, extraArgs);
    // A timed start: the CPU hook (bench/lib/coldstart-cpu.js) on both sides of every pair.
    const cpuFile = join(buildDir, 'cpu.json');
    const timed = async (s: Served): Promise<Start> => {
      rmSync(cpuFile, { force: true });
      const ms = await start(s, ['--require', CPU_HOOK], { BENCH_COLDSTART_CPU_FILE: cpuFile });
      const { cpuMs } = JSON.parse(readFileSync(cpuFile, 'utf8')) as { cpuMs: number };
      return { ms, cpuMs };
    };

    // Warm-up, untimed: the file cache, and the emulators' first queries of this project.
    for (const fn of FUNCTIONS) await start(served[fn]);
    await start(hello);

    const results = new Map<FunctionName, PairStats>();
    for (const fn of FUNCTIONS) {
      const stats: PairStats = {
        fnMs: [],
        helloMs: [],
        ratios: [],
        fnCpuMs: [],
        helloCpuMs: [],
        cpuRatios: [],
      };
      for (let i = 0; i < pairs; i++) {
        const a = await timed(served[fn]);
        const b = await timed(hello);
        stats.fnMs.push(a.ms);
        stats.helloMs.push(b.ms);
        stats.ratios.push(a.ms / b.ms);
        stats.fnCpuMs.push(a.cpuMs);
        stats.helloCpuMs.push(b.cpuMs);
        stats.cpuRatios.push(a.cpuMs / b.cpuMs);
      }
      results.set(fn, stats);
      console.log(
        `${fn}: ${stats.ratios.map((r, i) => `${round(stats.fnMs[i]!, 0)}/${round(stats.helloMs[i]!, 0)}=${round(r, 2)}`).join(' ')}` +
          ` (CPU ms: ${stats.cpuRatios.map((r, i) => `${round(stats.fnCpuMs[i]!, 0)}/${round(stats.helloCpuMs[i]!, 0)}=${round(r, 2)}`).join(' ')})`,
      );
    }

    // Which client packages each function loads before its first answer (an extra, untimed
    // start with the recording hook, so the hook costs the timed runs nothing).
    console.log('\nclient packages loaded, in order (ms since process start; * = before the');
    console.log(
      'first request arrived, otherwise while answering it), and what first required each:',
    );
    for (const s of [...FUNCTIONS.map((fn) => served[fn]), hello]) {
      const file = join(buildDir, `modules-${s.label}.jsonl`);
      await start(s, ['--require', MODULES_HOOK], { BENCH_COLDSTART_MODULES_FILE: file });
      const lines = existsSync(file)
        ? readFileSync(file, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map(
              (l) =>
                JSON.parse(l) as { module?: string; event?: string; ms: number; from?: string },
            )
        : [];
      const firstRequest = lines.find((l) => l.event === 'first_request')?.ms ?? Infinity;
      console.log(`${s.label} (first request arrived at ${firstRequest} ms):`);
      for (const l of lines) {
        if (l.module === undefined) continue;
        const from = l.from === undefined ? '' : shortPath(l.from, buildDir);
        console.log(
          `  ${l.ms < firstRequest ? '*' : ' '} ${String(l.ms).padStart(5)} ms  ${l.module.padEnd(34)} ${from}`,
        );
      }
    }

    console.log(
      '\n| function | pairs | median ms | hello median ms | median ratio | ratio min–max | ratio IQR | CPU ms (hello) | CPU ratio | goal |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    const benchLines: string[] = [];
    for (const fn of FUNCTIONS) {
      const s = results.get(fn)!;
      const ratio = median(s.ratios);
      const line = {
        name: `coldstart.${fn}`,
        entry: 'compiled',
        pairs,
        median_ms: round(median(s.fnMs), 1),
        hello_median_ms: round(median(s.helloMs), 1),
        ratio_min: round(Math.min(...s.ratios), 2),
        ratio_p25: round(quantile(s.ratios, 0.25), 2),
        ratio_p75: round(quantile(s.ratios, 0.75), 2),
        ratio_max: round(Math.max(...s.ratios), 2),
        cpu_median_ms: round(median(s.fnCpuMs), 1),
        hello_cpu_median_ms: round(median(s.helloCpuMs), 1),
        cpu_ratio: round(median(s.cpuRatios), 2),
        goal: GOALS[fn],
        met: ratio <= GOALS[fn],
        ratio: round(ratio, 2),
      };
      console.log(
        `| ${fn} | ${pairs} | ${line.median_ms} | ${line.hello_median_ms} | ${line.ratio} | ${line.ratio_min}–${line.ratio_max} | ${line.ratio_p25}–${line.ratio_p75} | ${line.cpu_median_ms} (${line.hello_cpu_median_ms}) | ${line.cpu_ratio} | ≤ ${line.goal} (${line.met ? 'met' : 'not met'}) |`,
      );
      benchLines.push(`BENCH ${JSON.stringify(line)}`);
    }
    console.log('');
    for (const l of benchLines) console.log(l);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/**
 * The deploy build (`npm run build`'s tsc, tsconfig.build.json) into `<dir>/app/dist`, with a
 * package.json whose main is dist/functions/index.js (as in the deployed zip) and a link to
 * this repository's node_modules. Returns the build's wall time.
 */
function build(dir: string): number {
  const app = join(dir, 'app');
  const t0 = performance.now();
  const tsc = spawnSync(
    process.execPath,
    [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(app, 'dist')],
    { cwd: ROOT, stdio: 'inherit' },
  );
  if (tsc.status !== 0) throw new Error(`tsc failed (exit ${tsc.status ?? tsc.signal})`);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'dsr-taskrunner-coldstart', main: 'dist/functions/index.js' }),
  );
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
  return performance.now() - t0;
}

/**
 * Starts `functions-framework --target=<target> --source=<source>` and times from the spawn to
 * the end of the first 200 answer to the probe (retried every 2 ms while the port refuses), then
 * stops the process and waits for it to exit. Any other answer, or an exit, fails the bench.
 */
async function coldStart(
  s: Served,
  port: number,
  env: Record<string, string>,
  nodeArgs: string[],
): Promise<number> {
  const probe = s.probe();
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeArgs, FF_CLI, `--target=${s.target}`, `--source=${s.source}`, `--port=${port}`],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${s.label} exited before answering:\n${output}`);
      }
      if (performance.now() - t0 > START_TIMEOUT_MS) {
        throw new Error(`${s.label} did not answer 200 in ${START_TIMEOUT_MS} ms:\n${output}`);
      }
      const answer = await send(port, probe);
      if (answer === undefined) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      const ms = performance.now() - t0;
      if (answer.status !== 200) {
        throw new Error(`${s.label} answered ${answer.status}: ${answer.body}\n${output}`);
      }
      return ms;
    }
  } finally {
    await stop(child, exited);
  }
}

/** One request on a fresh connection; undefined when the port is not listening yet. */
function send(port: number, probe: Probe): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: probe.method,
        path: probe.path,
        headers: probe.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET') resolve(undefined);
      else reject(err);
    });
    req.end(probe.body);
  });
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const group = -child.pid;
  try {
    process.kill(group, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // gone already
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

function shortPath(file: string, buildDir: string): string {
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) return file.slice(nm + 'node_modules/'.length);
  if (file.startsWith(buildDir)) return relative(join(buildDir, 'app'), file);
  return relative(ROOT, file);
}

function pickEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG'];
  return Object.fromEntries(keep.flatMap((k) => (env[k] === undefined ? [] : [[k, env[k]]])));
}

function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
