/**
 * `npm run bench -- load [--steps 1,10,50,100,200] [--step-seconds 15] [--with-faults]`: ramps
 * intake on the local stack (three function processes under the real functions-framework, the
 * Firestore emulator, our Cloud Tasks emulator with the service's per-queue maximum of 500
 * dispatches/s and 1000 concurrent), each request with 20 `noop` tasks, and reports per step:
 * intake p50/p99 and errors, instances completed per second, queue depth, Firestore contention
 * and what saturated first. It stops at the first step that cannot keep up. With
 * `--with-faults` it then holds the highest sustained step while the fault suite
 * (`npx jest test/faults`, its own stack) runs, and checks that every request filed during the
 * whole bench ends completed with all its instances terminal.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { registerTasks, startLocalStack } from '../scripts/lib/local-stack';
import { startFirestoreEmulator } from '../test/helpers/firestore-emulator';
import { TERMINAL_INSTANCE_STATES } from '../src/domain/states';
import type { RegisterTaskInput } from '../src/domain/model';
import { opsSince, probeEnv, readFirestoreOps } from './lib/firestore-ops';
import { driveIntake, QueueDepth, unfinishedRequests, type IntakeWindow } from './lib/load-driver';
import {
  functionFigures,
  hostFigures,
  LOAD_PROBE,
  round,
  sampleHost,
  type FunctionFigures,
  type HostFigures,
} from './lib/load-resources';
import { saturation, type Pressure } from './lib/load-saturation';

const TASKS = 20;
/** The local stack's queue limit (the service's per-queue maximum). */
const QUEUE_DISPATCHES_PER_S = 500;

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      steps: { type: 'string', default: '1,10,50,100,200' },
      'step-seconds': { type: 'string', default: '15' },
      'drain-seconds': { type: 'string', default: '60' },
      threshold: { type: 'string', default: '0.9' },
      'with-faults': { type: 'boolean', default: false },
      'fault-rate': { type: 'string' },
    },
  });
  const steps = values.steps.split(',').map(Number);
  const stepSeconds = Number(values['step-seconds']);
  const drainSeconds = Number(values['drain-seconds']);
  const threshold = Number(values.threshold);
  if (steps.some((s) => !(s > 0)) || !(stepSeconds > 0) || !(threshold > 0 && threshold <= 1)) {
    throw new Error('--steps are positive rates, --step-seconds > 0, 0 < --threshold <= 1');
  }

  process.env['METADATA_SERVER_DETECTION'] = 'none';
  const fs = await startFirestoreEmulator();
  process.env['FIRESTORE_EMULATOR_HOST'] = fs.host;
  // Stopped from outside (Ctrl-C, a timeout): the emulator runs in a process group of its own.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void fs.stop().finally(() => process.exit(130)));
  }
  const opsDir = mkdtempSync(join(tmpdir(), 'bench-load-ops-'));
  const probeDir = mkdtempSync(join(tmpdir(), 'bench-load-probe-'));
  const ops = probeEnv(opsDir);
  let completed = 0;
  const stack = await startLocalStack({
    apiPort: 0,
    projectId: `bench-load-${Date.now()}`,
    registerDemoTasks: false,
    // dispatch every 5 s as `npm start` does: roll-ups, watchdog and outbox run under the load.
    dispatchIntervalMs: 5000,
    env: {
      ...ops,
      NODE_OPTIONS: `${ops['NODE_OPTIONS']} --require ${LOAD_PROBE}`,
      BENCH_LOAD_PROBE_DIR: probeDir,
    },
    onLogLine: (line, fn) => {
      if (fn === 'runTask' && line.includes('"event":"run.finished"')) completed += 1;
    },
  }).catch(async (err: unknown) => {
    await fs.stop();
    throw err;
  });
  const depth = new QueueDepth(stack.tasksEmulator.grpcPort);
  const filedIds: string[] = [];
  let filedInstances = 0;
  const backlog = () => filedInstances - completed;
  const results: StepResult[] = [];
  let faultResult: Record<string, unknown> | undefined;
  let n = 0;
  const body = () => ({
    type: 'deletion',
    subject: { email: `load-${n}@example.com` },
    externalId: `load-${Date.now()}-${n++}`,
  });
  const record = (w: IntakeWindow) => {
    filedIds.push(...w.ids);
    filedInstances += w.ids.length * TASKS;
  };
  try {
    await registerTasks(stack.apiUrl, noopTasks());
    // Warm-up (unmeasured): JIT, connections, the tasks list cache.
    record(await driveIntake({ apiUrl: stack.apiUrl, rate: 2, seconds: 2, body }));
    await drained(backlog, 60);

    for (const rate of steps) {
      const r = await runStep(rate);
      results.push(r);
      console.log(`BENCH ${JSON.stringify(r)}`);
      if (!r.kept_up) break;
    }
    const sustained = results.filter((r) => r.kept_up);
    const ceiling = sustained.at(-1)?.rate ?? 0;
    const broke = results.find((r) => !r.kept_up);
    const summary = {
      name: 'load.summary',
      steps: results.map((r) => r.rate),
      step_seconds: stepSeconds,
      highest_sustained_rate: ceiling,
      highest_sustained_instances_per_s: sustained.at(-1)?.instances_completed_per_s ?? 0,
      first_failing_rate: broke?.rate ?? null,
      first_saturated: broke?.first_saturated ?? null,
      why: broke?.why ?? null,
      cores: results[0]?.host.cores,
    };
    console.log(`BENCH ${JSON.stringify(summary)}`);
    console.log(humanTable(results));

    if (values['with-faults']) {
      const rate = values['fault-rate'] === undefined ? ceiling : Number(values['fault-rate']);
      if (!(rate > 0)) throw new Error('no step was sustained: nothing to hold under faults');
      faultResult = await holdUnderFaults(rate);
      console.log(`BENCH ${JSON.stringify(faultResult)}`);
    }
  } finally {
    await depth.close().catch(() => undefined);
    // The queue first: with a backlog it keeps delivering to run-task, whose server would never
    // finish closing.
    await stack.tasksEmulator.stop().catch(() => undefined);
    await stack.stop();
    await fs.stop();
    rmSync(opsDir, { recursive: true, force: true });
    rmSync(probeDir, { recursive: true, force: true });
  }
  process.exit(faultResult !== undefined && faultResult['ok'] !== true ? 1 : 0);

  /** One step: `rate` requests a second for `stepSeconds`, then the drain. */
  async function runStep(rate: number): Promise<StepResult> {
    const c0 = completed;
    const host0 = sampleHost(fs.pid);
    const ops0 = readFirestoreOps(opsDir);
    const t0 = Date.now();
    const depths: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        depths.push(await depth.count(stack.queuePath).catch(() => -1));
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    })();
    const w = await driveIntake({ apiUrl: stack.apiUrl, rate, seconds: stepSeconds, body });
    record(w);
    const t1 = Date.now();
    const c1 = completed;
    const backlogAtEnd = backlog();
    const host1 = sampleHost(fs.pid);
    const fns = functionFigures(probeDir, t0, t1);
    sampling = false;
    await sampler;
    const drainS = await drained(backlog, drainSeconds);
    const ops1 = readFirestoreOps(opsDir);
    const seconds = (t1 - t0) / 1000;
    const filedInStep = w.ids.length * TASKS;
    const completionRatio = filedInStep === 0 ? 0 : (c1 - c0) / filedInStep;
    const errors = Object.values(w.errors).reduce((a, b) => a + b, 0) + w.shed;
    const host = hostFigures(host0, host1);
    const dispatchPerS = (c1 - c0) / seconds;
    const pressure = saturation(fns, host, dispatchPerS / QUEUE_DISPATCHES_PER_S);
    const opsStep = opsSince(ops0, ops1);
    const sum = (k: 'reads' | 'writes') =>
      Object.values(opsStep).reduce((a, o) => a + (o?.[k] ?? 0), 0);
    const commitErrors = mergeCodes(Object.values(fns).map((f) => f.commitErrors));
    // Kept up: no intake error, at least `threshold` of the step's instances done within the
    // step, and the rest drained within a quarter of a step (the backlog did not grow).
    const keptUp =
      errors === 0 &&
      completionRatio >= threshold &&
      drainS !== null &&
      drainS <= Math.max(2, stepSeconds / 4);
    const why = keptUp
      ? null
      : [
          errors > 0 ? `${errors} intake errors` : '',
          completionRatio < threshold
            ? `${Math.round(completionRatio * 100)} % of the step's instances done in the step`
            : '',
          drainS === null
            ? `backlog ${backlog()} not drained in ${drainSeconds} s`
            : drainS > Math.max(2, stepSeconds / 4)
              ? `backlog took ${drainS} s to drain`
              : '',
        ]
          .filter((s) => s !== '')
          .join('; ');
    return {
      name: `load.step_${rate}_per_s`,
      rate,
      seconds: round(seconds),
      requests_sent: w.sent,
      requests_filed: w.ids.length,
      intake_errors: errors,
      intake_error_codes: { ...w.errors, ...(w.shed > 0 ? { shed: w.shed } : {}) },
      intake_p50_ms: round(percentile(w.latencies, 50)),
      intake_p99_ms: round(percentile(w.latencies, 99)),
      offered_instances_per_s: round((w.ids.length * TASKS) / seconds),
      instances_completed_per_s: round(dispatchPerS),
      // CPU per unit of work, steadier than rates on a shared machine: what sizes Cloud Run.
      run_task_cpu_ms_per_instance:
        c1 > c0 ? round(((fns['run-task']?.cpu ?? 0) * seconds * 1000) / (c1 - c0)) : null,
      api_cpu_ms_per_request:
        w.ids.length > 0 ? round(((fns['api']?.cpu ?? 0) * seconds * 1000) / w.ids.length) : null,
      firestore_emulator_cpu_ms_per_instance:
        c1 > c0 ? round((host.firestoreCpu * seconds * 1000) / (c1 - c0)) : null,
      completion_ratio: round(completionRatio),
      backlog_at_end: backlogAtEnd,
      drain_s: drainS,
      queue_depth_max: Math.max(0, ...depths),
      queue_depth_samples: depths,
      firestore_ops_per_instance:
        filedInStep === 0 ? 0 : round((sum('reads') + sum('writes')) / filedInStep),
      firestore_guard_conflicts: commitErrors['9'] ?? 0,
      firestore_aborted: commitErrors['10'] ?? 0,
      firestore_commit_errors: commitErrors,
      functions: fns,
      host,
      pressure: pressure.ranked.slice(0, 4),
      first_saturated: pressure.first,
      kept_up: keptUp,
      why,
    };
  }

  /** Holds `rate` while the fault suite runs beside it; then drains and checks every request. */
  async function holdUnderFaults(rate: number): Promise<Record<string, unknown>> {
    const logFile = join(probeDir, '..', `bench-load-faults-${process.pid}.log`);
    const started = Date.now();
    let jestDone = false;
    const jest = new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn('npx', ['jest', 'test/faults'], {
        cwd: join(__dirname, '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
        env: faultSuiteEnv(),
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('exit', (code) => {
        jestDone = true;
        resolve({ code, output });
      });
    });
    const c0 = completed;
    const w = await driveIntake({ apiUrl: stack.apiUrl, rate, until: () => jestDone, body });
    record(w);
    const seconds = (Date.now() - started) / 1000;
    const c1 = completed;
    const { code, output } = await jest;
    writeFileSync(logFile, output);
    // Bounded: the API check below is the verdict, the log count only says when to look. A
    // backlog the machine is still working through is not a loss: wait (up to 30 minutes) until
    // the queue holds nothing more, then look.
    const drainStarted = Date.now();
    let drainS = await drained(backlog, 300);
    while (drainS === null && Date.now() - drainStarted < 1_800_000) {
      if ((await depth.count(stack.queuePath).catch(() => -1)) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
    if (drainS === null) drainS = await drained(backlog, 30);
    const queueDepthAtCheck = await depth.count(stack.queuePath).catch(() => -1);
    const check = await unfinishedRequests(
      stack.apiUrl,
      filedIds,
      new Set<string>(TERMINAL_INSTANCE_STATES),
    );
    const tests = /Tests:\s+(.*)/.exec(output)?.[1]?.trim() ?? 'no summary';
    const errors = Object.values(w.errors).reduce((a, b) => a + b, 0) + w.shed;
    return {
      name: 'load.with_faults',
      rate,
      seconds: round(seconds),
      requests_filed: w.ids.length,
      intake_errors: errors,
      intake_p50_ms: round(percentile(w.latencies, 50)),
      intake_p99_ms: round(percentile(w.latencies, 99)),
      instances_completed_per_s: round((c1 - c0) / seconds),
      drain_s: drainS,
      waited_s: round((Date.now() - drainStarted) / 1000),
      queue_depth_at_check: queueDepthAtCheck,
      fault_suite_exit: code,
      fault_suite_tests: tests,
      fault_suite_log: logFile,
      requests_checked: check.checked,
      instances_checked: check.instances,
      requests_unfinished: check.unfinished.length,
      unfinished_sample: check.unfinished.slice(0, 5),
      ok: code === 0 && check.unfinished.length === 0 && check.instances === check.checked * TASKS,
    };
  }
}

interface StepResult {
  name: string;
  rate: number;
  seconds: number;
  requests_sent: number;
  requests_filed: number;
  intake_errors: number;
  intake_error_codes: Record<string, number>;
  intake_p50_ms: number;
  intake_p99_ms: number;
  offered_instances_per_s: number;
  instances_completed_per_s: number;
  run_task_cpu_ms_per_instance: number | null;
  api_cpu_ms_per_request: number | null;
  firestore_emulator_cpu_ms_per_instance: number | null;
  completion_ratio: number;
  backlog_at_end: number;
  drain_s: number | null;
  queue_depth_max: number;
  queue_depth_samples: number[];
  firestore_ops_per_instance: number;
  firestore_guard_conflicts: number;
  firestore_aborted: number;
  firestore_commit_errors: Record<string, number>;
  functions: Record<string, FunctionFigures>;
  host: HostFigures;
  pressure: Pressure[];
  first_saturated: string | null;
  kept_up: boolean;
  why: string | null;
}

/** 20 `noop` deletion tasks: the only tasks in the bench's stack, so each request gets 20. */
function noopTasks(): RegisterTaskInput[] {
  return Array.from({ length: TASKS }, (_, t) => ({
    id: `load-noop-${t}`,
    name: `load noop ${t}`,
    jobType: 'deletion',
    executor: 'noop',
    config: {},
    timeoutSeconds: 30,
    maxAttempts: 3,
    retryPolicy: { minBackoffSeconds: 1, maxBackoffSeconds: 5, maxDoublings: 2 },
  }));
}

/**
 * The fault suite's environment: the bench's Firestore emulator (FIRESTORE_EMULATOR_HOST, which
 * jest's global setup reuses; the suite works in a project of its own), so the two share the
 * store as well as the cores; none of the bench's probes.
 */
function faultSuiteEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  delete env['BENCH_FIRESTORE_OPS_DIR'];
  delete env['BENCH_LOAD_PROBE_DIR'];
  return env;
}

/** Seconds until the backlog is empty, or null if it is not within `limit` seconds. */
async function drained(backlog: () => number, limit: number): Promise<number | null> {
  const t0 = Date.now();
  while (backlog() > 0) {
    if (Date.now() - t0 > limit * 1000) return null;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return round((Date.now() - t0) / 1000);
}

function mergeCodes(all: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of all) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function humanTable(results: StepResult[]): string {
  const head = [
    'req/s',
    'intake p50/p99 ms',
    'errors',
    'offered inst/s',
    'done inst/s',
    'drain s',
    'queue depth max',
    'guard conflicts',
    'first saturated',
    'kept up',
  ];
  const rows = results.map((r) => [
    String(r.rate),
    `${r.intake_p50_ms} / ${r.intake_p99_ms}`,
    String(r.intake_errors),
    String(r.offered_instances_per_s),
    String(r.instances_completed_per_s),
    String(r.drain_s ?? '>limit'),
    String(r.queue_depth_max),
    String(r.firestore_guard_conflicts),
    r.first_saturated ?? '-',
    r.kept_up ? 'yes' : `no: ${r.why}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
