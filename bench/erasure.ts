/**
 * `npm run bench -- erasure [--rows 1000000] [--requests 1000] [--max-subjects 1000]
 * [--wait-seconds 60] [--modes per_request,batched] [--concurrency N] [--dispatch-ms 300000]
 * [--queue-concurrency N] [--queue-rate N] [--stall-minutes 15] [--timeout-minutes 240]
 * [--log-file FILE]`:
 * erasure at volume (issue 11). The same workload runs twice, each time on a fresh local stack
 * and a fresh table: `--requests` deletion requests for distinct subjects, filed at once, against
 * one `bigquery.delete` task on a GA4-style events table of `--rows` rows (the emulator of
 * `npm run bench -- bigquery`, in a process of its own; bench/lib/ga4-data.ts).
 * - `per_request`: the task has `batch: false`; every request runs its own DELETE and its
 *   verification COUNT, one at a time on the table (the table lease);
 * - `batched`: `batch: { maxSubjects, maxWaitSeconds }`; the requests join batches, and each
 *   batch's flush runs a grouped COUNT, one DELETE … IN UNNEST(@subjects) and a grouped COUNT.
 * Per mode: bytes billed and USD (the requests' costs, from the API), BigQuery jobs (jobs.list
 * on the emulator), DML-limit errors (runs, logs and jobs), time from the first filing to the
 * last completion, requests per second, Firestore operations per instance (every function
 * process counted by bench/lib/firestore-op-probe.js), and a COUNT afterwards that none of the
 * subjects' rows is left and no other row went. Each mode ends with a `BENCH {...}` line; the
 * batched one carries the ratios against the per-request mode of the same run.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BigQuery, Job } from '@google-cloud/bigquery';
import { createBigQueryClient } from '../src/adapters/bigquery/bigquery-warehouse';
import { createCloudTasksClient } from '../src/adapters/cloud-tasks/cloud-tasks-queue';
import { LOCAL_IDENTITIES, startLocalStack, type LocalStack } from '../scripts/lib/local-stack';
import { startEmulatorProcess, type EmulatorProcess } from './lib/bigquery-emulator-process';
import {
  opsSince,
  probeEnv,
  readFirestoreOps,
  type FirestoreOps,
  type FirestoreOpsByFunction,
} from './lib/firestore-ops';
import { benchData, emailOf, subjectOf, type BenchData } from './lib/ga4-data';

type ModeName = 'per_request' | 'batched';
const MODES: readonly ModeName[] = ['per_request', 'batched'];
const TASK_ID = 'ga4-events-erasure';
const DML_LIMIT = /Too many DML statements/;
const RATE_LIMITED = 'bigquery.rate_limited';
const GOAL_BYTES_RATIO = 50;
/** The GA4 match: the email among `user_properties`, trimmed and lower-cased on both sides. */
const GA4_EMAIL = { path: 'user_properties', kind: 'keyValue', key: 'email', normalise: 'email' };
const SUBJECT_MATCH =
  "EXISTS (SELECT 1 FROM UNNEST(user_properties) AS kv WHERE kv.key = 'email' " +
  'AND LOWER(TRIM(kv.value.string_value)) IN UNNEST(@subjects))';

interface Options {
  rows: number;
  requests: number;
  maxSubjects: number;
  waitSeconds: number;
  modes: ModeName[];
  dispatchMs: number;
  /** Filings in flight at once (default: every request at once). */
  concurrency: number;
  /**
   * The Cloud Tasks queue's maxConcurrentDispatches and maxDispatchesPerSecond; the local
   * stack's are 1000 and 500, the deployed defaults (infra/variables.tf) 100 and 10.
   */
  queueConcurrency?: number;
  queueRate?: number;
  timeoutMs: number;
  /** A mode stops when no request finished and no statement billed anything for this long. */
  stallMs: number;
  /** Where every line the functions print goes (appended), for a look afterwards. */
  logFile?: string;
}

interface ModeResult {
  name: string;
  mode: ModeName;
  rows: number;
  requests: number;
  batch: false | { maxSubjects: number; maxWaitSeconds: number };
  /** The Cloud Tasks queue's limits during the run. */
  queue: { maxConcurrentDispatches: number; maxDispatchesPerSecond: number };
  completed: boolean;
  stalled: boolean;
  requests_completed: number;
  requests_failed: number;
  /** Requests the API could not be read for afterwards (their cost is missing from the sums). */
  requests_unread: number;
  bytes_billed: number;
  usd: number;
  bigquery_jobs: number;
  dml_statements: number;
  jobs_bytes_billed: number;
  batches: number;
  /**
   * Every sign of BigQuery's DML limit: jobs the emulator refused with it, runs that recorded it
   * (or `bigquery.rate_limited`), and log lines that show it (one refusal may appear in all three).
   */
  dml_limit_errors: number;
  dml_limit_jobs: number;
  dml_limit_runs: number;
  dml_limit_log_lines: number;
  wall_ms: number;
  intake_ms: number;
  /** Filings answered 503 (or cut off) and sent again with the same externalId. */
  intake_retries: number;
  requests_per_s: number;
  firestore_ops_per_instance: number;
  firestore_reads: number;
  firestore_writes: number;
  firestore_transaction_conflicts: number;
  firestore_dispatch_ops: number;
  /** Runs recorded (from run-task's and the watchdog's log lines), and those that answered waiting. */
  runs: number;
  runs_waiting: number;
  /** The runs' bytes billed as their log lines give them: a check on `bytes_billed`. */
  bytes_billed_logged: number;
  rows_deleted: number;
  subject_rows_before: number;
  subject_rows_left: number;
  other_rows_lost: number;
  load_ms: number;
}

/** Everything started and not yet stopped, stopped on the way out (also on Ctrl-C). */
const running = new Set<() => Promise<void>>();

export async function main(args: string[]): Promise<void> {
  const options = parseOptions(args);
  process.env['METADATA_SERVER_DETECTION'] = 'none';
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping the stack and the emulator...`);
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results = new Map<ModeName, ModeResult>();
  try {
    for (const mode of options.modes) {
      const result = await runMode(mode, options);
      results.set(mode, result);
      report(result, results.get('per_request'));
    }
    if (results.size === 2) summary(results.get('per_request')!, results.get('batched')!);
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // The in-process emulators' clients may keep handles open; the work is done.
  process.exit(0);
}

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      rows: { type: 'string', default: '1000000' },
      requests: { type: 'string', default: '1000' },
      'max-subjects': { type: 'string', default: '1000' },
      'wait-seconds': { type: 'string', default: '60' },
      modes: { type: 'string', default: MODES.join(',') },
      'dispatch-ms': { type: 'string', default: '300000' },
      concurrency: { type: 'string' },
      'queue-concurrency': { type: 'string' },
      'queue-rate': { type: 'string' },
      'timeout-minutes': { type: 'string', default: '240' },
      'stall-minutes': { type: 'string', default: '15' },
      'log-file': { type: 'string' },
    },
  });
  const int = (name: string, value: string, min: number): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min)
      throw new Error(`--${name} must be an integer ≥ ${min}`);
    return n;
  };
  const modes = values.modes.split(',').map((m) => m.trim().replace('-', '_'));
  for (const m of modes) {
    if (!(MODES as readonly string[]).includes(m))
      throw new Error(`--modes: ${m} is not one of ${MODES.join(', ')}`);
  }
  const options: Options = {
    rows: int('rows', values.rows, 1),
    requests: int('requests', values.requests, 1),
    maxSubjects: int('max-subjects', values['max-subjects'], 1),
    waitSeconds: int('wait-seconds', values['wait-seconds'], 0),
    // Per-request first: the batched line carries the ratios against it.
    modes: MODES.filter((m) => modes.includes(m)),
    dispatchMs: int('dispatch-ms', values['dispatch-ms'], 0),
    concurrency: int('concurrency', values.concurrency ?? values.requests, 1),
    ...(values['queue-concurrency'] === undefined
      ? {}
      : { queueConcurrency: int('queue-concurrency', values['queue-concurrency'], 1) }),
    ...(values['queue-rate'] === undefined
      ? {}
      : { queueRate: int('queue-rate', values['queue-rate'], 1) }),
    timeoutMs: int('timeout-minutes', values['timeout-minutes'], 1) * 60_000,
    stallMs: int('stall-minutes', values['stall-minutes'], 1) * 60_000,
    ...(values['log-file'] === undefined ? {} : { logFile: values['log-file'] }),
  };
  const users = benchData(options.rows).users;
  if (options.requests > users) {
    throw new Error(
      `--requests ${options.requests}: the table of ${options.rows} rows has ${users} users`,
    );
  }
  return options;
}

async function runMode(mode: ModeName, options: Options): Promise<ModeResult> {
  const projectId = `erasure-${mode === 'batched' ? 'b' : 'p'}-${Date.now().toString(36)}`;
  const data: BenchData = { ...benchData(options.rows), projectId };
  const table = `${projectId}.${data.datasetId}.${data.tableId}`;
  const batch =
    mode === 'batched'
      ? { maxSubjects: options.maxSubjects, maxWaitSeconds: options.waitSeconds }
      : (false as const);
  const emails = Array.from({ length: options.requests }, (_, k) => emailOf(subjectOf(data, k)));
  console.log(
    `\n== ${mode}: ${options.requests} deletion requests, ${options.rows.toLocaleString('en')} rows, ` +
      `batch ${JSON.stringify(batch)}`,
  );

  const emulator = await track(startEmulatorProcess(data), (e) => e.stop());
  console.log(
    `BigQuery emulator (pid ${emulator.pid}): ${emulator.rows.toLocaleString('en')} rows loaded in ` +
      `${(emulator.loadMs / 1000).toFixed(1)} s`,
  );
  const opsDir = mkdtempSync(join(tmpdir(), 'erasure-firestore-ops-'));
  const logs = new LogWatch();
  const stack = await track(
    startLocalStack({
      apiPort: 0,
      projectId,
      dispatchIntervalMs: options.dispatchMs,
      registerDemoTasks: false,
      env: { BIGQUERY_EMULATOR_HOST: emulator.url, ...probeEnv(opsDir) },
      onLogLine: (line, fn) => {
        logs.line(line);
        if (options.logFile !== undefined)
          appendFileSync(options.logFile, `${mode} ${fn} ${line}\n`);
      },
    }),
    (s) => s.stop(),
  );
  try {
    const queue = await setQueueLimits(stack, options);
    console.log(
      `Cloud Tasks queue: ${queue.maxConcurrentDispatches} concurrent, ` +
        `${queue.maxDispatchesPerSecond}/s; dispatch every ${options.dispatchMs / 1000} s`,
    );
    await api(stack, 'POST', '/tasks', {
      id: TASK_ID,
      name: 'Delete GA4 events of the subject',
      jobType: 'deletion',
      executor: 'bigquery.delete',
      config: { table, match: GA4_EMAIL, identifier: 'email', batch },
      timeoutSeconds: 600,
      maxAttempts: 3,
      retryPolicy: { minBackoffSeconds: 5, maxBackoffSeconds: 60, maxDoublings: 3 },
      description: "Deletes the subject's events from the bench's GA4 table.",
    });

    const bq = createBigQueryClient(projectId, emulator.url);
    const totalBefore = await count(bq, `SELECT COUNT(*) AS n FROM \`${table}\``, {});
    const subjectRowsBefore = await count(
      bq,
      `SELECT COUNT(*) AS n FROM \`${table}\` WHERE ${SUBJECT_MATCH}`,
      { subjects: emails },
    );
    const jobsBefore = new Set((await listJobs(bq)).map((j) => j.id));
    await sleep(500);
    const opsBefore = readFirestoreOps(opsDir);

    // File every request at once; the api answers a repeat of an externalId with the same one.
    apiRetries.unavailable = 0;
    apiRetries.network = 0;
    const started = performance.now();
    const ids = await mapLimit(
      emails.map((email, i) => ({ email, i })),
      options.concurrency,
      async ({ email, i }) => {
        const filed = (await api(stack, 'POST', '/requests', {
          type: 'deletion',
          subject: { email },
          externalId: `erasure-${projectId}-${i}`,
        })) as { id: string };
        return filed.id;
      },
    );
    const intakeMs = performance.now() - started;
    const intakeRetries = apiRetries.unavailable + apiRetries.network;
    console.log(
      `filed ${ids.length} requests in ${(intakeMs / 1000).toFixed(1)} s ` +
        `(${apiRetries.unavailable} answers 503 and ${apiRetries.network} network errors, tried again)`,
    );

    const deadline = started + options.timeoutMs;
    let lastReport = performance.now();
    let done = logs.doneOf(ids);
    let stalled = false;
    while (done < ids.length && performance.now() < deadline) {
      await sleep(250);
      done = logs.doneOf(ids);
      const now = performance.now();
      if (now - Math.max(logs.lastProgressAt, started + intakeMs) > options.stallMs) {
        stalled = true;
        break;
      }
      if (now - lastReport >= 30_000) {
        lastReport = now;
        console.log(
          `  ${done} of ${ids.length} done after ${((now - started) / 1000).toFixed(0)} s ` +
            `(runs so far by error: ${JSON.stringify(Object.fromEntries(logs.errorCodes))})`,
        );
      }
    }
    const completed = done === ids.length;
    const lastDone = Math.max(
      ...ids.map((id) => logs.completions.get(id)?.at ?? performance.now()),
    );
    const wallMs = lastDone - started;
    if (stalled) {
      console.log(
        `STALLED: ${done} of ${ids.length} done, no run finished with a result for ` +
          `${options.stallMs / 60_000} min; the mode stops here`,
      );
    } else if (!completed) console.log(`TIMED OUT: ${done} of ${ids.length} done`);
    else console.log(`all ${ids.length} done after ${(wallMs / 1000).toFixed(1)} s`);

    // What the pipeline still has in flight (a batch's own timer flush) is its work too.
    await stack.tasksEmulator
      .waitForIdle(stack.queuePath, { timeoutMs: (options.waitSeconds + 30) * 1000 })
      .catch(() => console.log('  (the queue was not idle; Firestore counts read anyway)'));
    await sleep(600);
    const ops = opsSince(opsBefore, readFirestoreOps(opsDir));

    // The requests' status and cost, read through the API once the work is over (the runs are
    // counted from the log lines: a per-request run records well over 100 000 of them).
    let unread = 0;
    const views = (
      await mapLimit(ids, 8, async (id) => {
        try {
          return [(await api(stack, 'GET', `/requests/${id}`, undefined, 600_000)) as RequestView];
        } catch (error) {
          unread++;
          if (unread <= 3) console.log(`  could not read ${id}: ${String(error)}`);
          return [];
        }
      })
    ).flat();
    for (const [error, n] of logs.failures) console.log(`  runs failed for good (${n}×): ${error}`);
    const statuses = new Map<string, number>();
    for (const v of views) statuses.set(v.status, (statuses.get(v.status) ?? 0) + 1);
    if (unread > 0) statuses.set('unread', unread);
    console.log(`  request statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    const jobs = (await listJobs(bq)).filter((j) => !jobsBefore.has(j.id));
    const dmlJobs = jobs.filter((j) => /^\s*(DELETE|UPDATE|MERGE)\b/i.test(j.query));
    const dmlLimitRuns = logs.dmlLimitRuns;
    const dmlLimitJobs = jobs.filter((j) => DML_LIMIT.test(j.error ?? '')).length;

    const totalAfter = await count(bq, `SELECT COUNT(*) AS n FROM \`${table}\``, {});
    const subjectRowsLeft = await count(
      bq,
      `SELECT COUNT(*) AS n FROM \`${table}\` WHERE ${SUBJECT_MATCH}`,
      { subjects: emails },
    );

    const work = sumOps(ops, ['api', 'run-task']);
    const dispatch = sumOps(ops, ['dispatch']);
    const bytes = views.reduce((sum, v) => sum + (v.cost?.bytesBilled ?? 0), 0);
    const usd = views.reduce((sum, v) => sum + (v.cost?.usd ?? 0), 0);
    const batches = logs.batchIds;
    const rowsDeleted = totalBefore - totalAfter;
    return {
      name: `erasure.${mode}`,
      mode,
      rows: totalBefore,
      requests: ids.length,
      batch,
      queue,
      completed,
      stalled,
      requests_completed: views.filter((v) => v.status === 'completed').length,
      requests_failed: views.filter((v) => v.status !== 'completed').length,
      requests_unread: unread,
      bytes_billed: bytes,
      usd: round(usd, 9),
      bigquery_jobs: jobs.length,
      dml_statements: dmlJobs.length,
      jobs_bytes_billed: jobs.reduce((sum, j) => sum + j.bytesBilled, 0),
      batches: batches.size,
      dml_limit_errors: dmlLimitRuns + dmlLimitJobs + logs.dmlLimitLines,
      dml_limit_jobs: dmlLimitJobs,
      dml_limit_runs: dmlLimitRuns,
      dml_limit_log_lines: logs.dmlLimitLines,
      wall_ms: round(wallMs, 0),
      intake_ms: round(intakeMs, 0),
      intake_retries: intakeRetries,
      requests_per_s: round(ids.length / (wallMs / 1000), 2),
      firestore_ops_per_instance: round((work.reads + work.writes) / ids.length, 2),
      firestore_reads: work.reads,
      firestore_writes: work.writes,
      firestore_transaction_conflicts: work.aborted,
      firestore_dispatch_ops: dispatch.reads + dispatch.writes,
      runs: logs.runs,
      runs_waiting: logs.waitingRuns,
      bytes_billed_logged: logs.bytesBilled,
      rows_deleted: rowsDeleted,
      subject_rows_before: subjectRowsBefore,
      subject_rows_left: subjectRowsLeft,
      other_rows_lost: rowsDeleted - (subjectRowsBefore - subjectRowsLeft),
      load_ms: round(emulator.loadMs, 0),
    };
  } catch (error) {
    console.error(`${mode} failed; the functions' last lines:\n${logs.tail.join('\n')}`);
    throw error;
  } finally {
    await untrack(stack, () => stopStack(stack));
    await untrack(emulator, () => emulator.stop());
    rmSync(opsDir, { recursive: true, force: true });
  }
}

function report(result: ModeResult, perRequest: ModeResult | undefined): void {
  const rows: Array<[string, string]> = [
    [
      'requests completed',
      `${result.requests_completed} of ${result.requests} (not completed ${result.requests_failed}, unread ${result.requests_unread})`,
    ],
    [
      'bytes billed',
      `${result.bytes_billed.toLocaleString('en')} (${mib(result.bytes_billed)} MiB)`,
    ],
    ['USD', `$${result.usd}`],
    [
      'BigQuery jobs',
      `${result.bigquery_jobs} (DML ${result.dml_statements}; batches ${result.batches})`,
    ],
    ['jobs bytes billed (emulator)', result.jobs_bytes_billed.toLocaleString('en')],
    [
      'DML-limit errors',
      `${result.dml_limit_errors} (jobs refused ${result.dml_limit_jobs}, runs ${result.dml_limit_runs}, log lines ${result.dml_limit_log_lines})`,
    ],
    [
      'first filing → last completion',
      `${(result.wall_ms / 1000).toFixed(1)} s (intake ${(result.intake_ms / 1000).toFixed(1)} s)`,
    ],
    ['requests/s', String(result.requests_per_s)],
    [
      'Firestore ops/instance (api + run-task)',
      `${result.firestore_ops_per_instance} (${result.firestore_reads} reads, ${result.firestore_writes} writes, ${result.firestore_transaction_conflicts} aborted commits)`,
    ],
    ['Firestore ops of dispatch', String(result.firestore_dispatch_ops)],
    ['runs recorded', `${result.runs} (${result.runs_waiting} answered waiting)`],
    ['bytes billed by the runs (logs)', result.bytes_billed_logged.toLocaleString('en')],
    [
      'rows deleted',
      `${result.rows_deleted} (the subjects had ${result.subject_rows_before}; left ${result.subject_rows_left}; other rows lost ${result.other_rows_lost})`,
    ],
  ];
  console.table(Object.fromEntries(rows.map(([k, v]) => [k, { value: v }])));
  const line: Record<string, unknown> = { ...result };
  delete line['mode'];
  if (result.mode === 'batched' && perRequest !== undefined) {
    const bytesRatio = round(perRequest.bytes_billed / Math.max(1, result.bytes_billed), 1);
    const jobsRatio = round(perRequest.bigquery_jobs / Math.max(1, result.bigquery_jobs), 1);
    Object.assign(line, {
      bytes_billed_ratio: bytesRatio,
      jobs_ratio: jobsRatio,
      wall_time_ratio: round(result.wall_ms / Math.max(1, perRequest.wall_ms), 3),
      goals: goalsOf(perRequest, result),
    });
  }
  console.log(`BENCH ${JSON.stringify(line)}`);
}

function goalsOf(perRequest: ModeResult, batched: ModeResult) {
  const allGone = (r: ModeResult) =>
    r.completed && r.subject_rows_left === 0 && r.other_rows_lost === 0 && r.rows_deleted > 0;
  return {
    bytesBilledRatioAtLeast50:
      perRequest.bytes_billed / Math.max(1, batched.bytes_billed) >= GOAL_BYTES_RATIO,
    noDmlLimitError: perRequest.dml_limit_errors === 0 && batched.dml_limit_errors === 0,
    everySubjectsRowsGone: allGone(perRequest) && allGone(batched),
    batchedNoSlower: batched.completed && batched.wall_ms <= perRequest.wall_ms,
  };
}

function summary(perRequest: ModeResult, batched: ModeResult): void {
  const goals = goalsOf(perRequest, batched);
  const mark = (met: boolean) => (met ? 'met' : 'NOT MET');
  console.log('\n== per request vs batched');
  console.table({
    'bytes billed': {
      per_request: perRequest.bytes_billed,
      batched: batched.bytes_billed,
      ratio: round(perRequest.bytes_billed / Math.max(1, batched.bytes_billed), 1),
    },
    USD: {
      per_request: perRequest.usd,
      batched: batched.usd,
      ratio: round(perRequest.usd / Math.max(1e-12, batched.usd), 1),
    },
    'BigQuery jobs': {
      per_request: perRequest.bigquery_jobs,
      batched: batched.bigquery_jobs,
      ratio: round(perRequest.bigquery_jobs / Math.max(1, batched.bigquery_jobs), 1),
    },
    'DML-limit errors': {
      per_request: perRequest.dml_limit_errors,
      batched: batched.dml_limit_errors,
      ratio: '',
    },
    'wall s': {
      per_request: perRequest.wall_ms / 1000,
      batched: batched.wall_ms / 1000,
      ratio: round(perRequest.wall_ms / Math.max(1, batched.wall_ms), 1),
    },
    'requests/s': {
      per_request: perRequest.requests_per_s,
      batched: batched.requests_per_s,
      ratio: '',
    },
    'Firestore ops/instance': {
      per_request: perRequest.firestore_ops_per_instance,
      batched: batched.firestore_ops_per_instance,
      ratio: '',
    },
  });
  console.log(
    `goals: bytes_billed_ratio ≥ ${GOAL_BYTES_RATIO}: ${mark(goals.bytesBilledRatioAtLeast50)}; ` +
      `no DML-limit error: ${mark(goals.noDmlLimitError)}; every subject's rows gone (and no other): ` +
      `${mark(goals.everySubjectsRowsGone)}; batched no slower: ${mark(goals.batchedNoSlower)}`,
  );
}

/** Applies --queue-concurrency / --queue-rate (UpdateQueue, official client); returns the limits. */
async function setQueueLimits(stack: LocalStack, options: Options): Promise<ModeResult['queue']> {
  const client = createCloudTasksClient(`127.0.0.1:${stack.tasksEmulator.grpcPort}`);
  try {
    const paths = [
      ...(options.queueConcurrency === undefined ? [] : ['rate_limits.max_concurrent_dispatches']),
      ...(options.queueRate === undefined ? [] : ['rate_limits.max_dispatches_per_second']),
    ];
    const [queue] =
      paths.length === 0
        ? await client.getQueue({ name: stack.queuePath })
        : await client.updateQueue({
            queue: {
              name: stack.queuePath,
              rateLimits: {
                ...(options.queueConcurrency === undefined
                  ? {}
                  : { maxConcurrentDispatches: options.queueConcurrency }),
                ...(options.queueRate === undefined
                  ? {}
                  : { maxDispatchesPerSecond: options.queueRate }),
              },
            },
            updateMask: { paths },
          });
    return {
      maxConcurrentDispatches: Number(queue.rateLimits?.maxConcurrentDispatches ?? 0),
      maxDispatchesPerSecond: Number(queue.rateLimits?.maxDispatchesPerSecond ?? 0),
    };
  } finally {
    await client.close();
  }
}

interface RequestView {
  id: string;
  status: string;
  cost?: { bytesBilled: number; usd: number };
}

interface Completion {
  at: number;
  outcome: string;
}

/**
 * The functions' log lines, read as they come: a request is done when run-task (or the
 * watchdog) logs its instance's last run (`run.finished` succeeded or not_found, or
 * `run.failed`). Watching costs no Firestore reads, so it changes none of the counts.
 */
class LogWatch {
  readonly completions = new Map<string, Completion>();
  /** Runs logged, by their error code. */
  readonly errorCodes = new Map<string, number>();
  /** The last time a request finished or a run billed a statement. */
  lastProgressAt = 0;
  dmlLimitLines = 0;
  /** Runs whose error is BigQuery's DML limit (`bigquery.rate_limited`, or its message). */
  dmlLimitRuns = 0;
  runs = 0;
  waitingRuns = 0;
  bytesBilled = 0;
  readonly batchIds = new Set<string>();
  /** The messages of runs that failed for good, and how many times. */
  readonly failures = new Map<string, number>();
  readonly tail: string[] = [];

  line(line: string): void {
    if (!line.startsWith('{')) {
      this.keep(line);
      return;
    }
    if (DML_LIMIT.test(line) || line.includes(`"errorCode":"${RATE_LIMITED}"`))
      this.dmlLimitLines++;
    if (line.includes('"severity":"ERROR"')) this.keep(line.slice(0, 600));
    if (line.includes('"event":"batch.joined"')) {
      const batchId = /"batchId":"([^"]+)"/.exec(line)?.[1];
      if (batchId !== undefined) this.batchIds.add(batchId);
      return;
    }
    if (!line.includes('"event":"run.finished"') && !line.includes('"event":"run.failed"')) return;
    let entry: {
      event?: string;
      message?: string;
      outcome?: string;
      errorCode?: string;
      bytesBilled?: number;
      willRetry?: boolean;
      superseded?: boolean;
      'logging.googleapis.com/labels'?: { requestId?: string };
    };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    this.runs++;
    if (entry.outcome === 'waiting') this.waitingRuns++;
    this.bytesBilled += entry.bytesBilled ?? 0;
    if (entry.errorCode === RATE_LIMITED || DML_LIMIT.test(entry.message ?? ''))
      this.dmlLimitRuns++;
    if (entry.event === 'run.failed') {
      const message = (entry.message ?? '').slice(0, 300);
      this.failures.set(message, (this.failures.get(message) ?? 0) + 1);
    }
    if (entry.errorCode !== undefined) {
      this.errorCodes.set(entry.errorCode, (this.errorCodes.get(entry.errorCode) ?? 0) + 1);
    }
    if ((entry.bytesBilled ?? 0) > 0) this.lastProgressAt = performance.now();
    const id = entry['logging.googleapis.com/labels']?.requestId;
    if (id === undefined || entry.superseded === true) return;
    const terminal =
      entry.event === 'run.failed' ||
      (entry.event === 'run.finished' &&
        entry.willRetry !== true &&
        (entry.outcome === 'succeeded' || entry.outcome === 'not_found'));
    if (terminal && !this.completions.has(id)) {
      this.completions.set(id, { at: performance.now(), outcome: entry.outcome ?? 'failed' });
      this.lastProgressAt = performance.now();
    }
  }

  doneOf(ids: readonly string[]): number {
    return ids.reduce((n, id) => n + (this.completions.has(id) ? 1 : 0), 0);
  }

  private keep(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 40) this.tail.shift();
  }
}

interface JobSummary {
  id: string;
  query: string;
  bytesBilled: number;
  error?: string;
}

/**
 * Every job of the project, through the official client (jobs.list, page by page). The pages are
 * followed by hand: with `autoPaginate`, the client reads `maxResults` as a cap on the whole
 * listing, which once cut a 2,000-job run's count to 1,000.
 */
async function listJobs(bq: BigQuery): Promise<JobSummary[]> {
  const jobs: Job[] = [];
  let pageToken: string | undefined;
  do {
    const [page, next] = await bq.getJobs({
      autoPaginate: false,
      maxResults: 1000,
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    jobs.push(...page);
    pageToken = (next as { pageToken?: string } | null)?.pageToken;
  } while (pageToken !== undefined);
  return jobs.map((job) => {
    const meta = job.metadata as {
      jobReference?: { jobId?: string };
      configuration?: { query?: { query?: string } };
      statistics?: { query?: { totalBytesBilled?: string } };
      status?: { errorResult?: { message?: string } };
    };
    return {
      id: meta.jobReference?.jobId ?? job.id ?? '',
      query: meta.configuration?.query?.query ?? '',
      bytesBilled: Number(meta.statistics?.query?.totalBytesBilled ?? 0),
      ...(meta.status?.errorResult?.message === undefined
        ? {}
        : { error: meta.status.errorResult.message }),
    };
  });
}

async function count(
  bq: BigQuery,
  query: string,
  params: Record<string, unknown>,
): Promise<number> {
  const [rows] = await bq.query({ query, params, useLegacySql: false });
  return Number((rows[0] as { n: unknown } | undefined)?.n ?? NaN);
}

/** API answers and failures seen while filing (503s tried again, as a client would). */
const apiRetries = { unavailable: 0, network: 0 };

/**
 * One API call as the local developer (every role). A 503 (`store.unavailable`) or a network
 * error is tried again after its Retry-After (repeating a filing with its externalId is safe),
 * for up to `patienceMs`; any other error status fails the call.
 */
async function api(
  stack: LocalStack,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  patienceMs = 120_000,
): Promise<unknown> {
  const giveUpAt = Date.now() + patienceMs;
  for (;;) {
    let wait = 1000;
    try {
      const res = await fetch(`${stack.apiUrl}${path}`, {
        method,
        headers: {
          'x-dev-identity': LOCAL_IDENTITIES.developer,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (res.status < 300) return JSON.parse(text) as unknown;
      if (res.status !== 503 || Date.now() > giveUpAt) {
        throw new ApiError(`${method} ${path}: ${res.status} ${text}`);
      }
      apiRetries.unavailable++;
      wait = Math.max(wait, Number(res.headers.get('retry-after') ?? 1) * 1000);
    } catch (error) {
      if (error instanceof ApiError || Date.now() > giveUpAt) throw error;
      apiRetries.network++;
    }
    // Jittered, so the retries of a burst do not arrive together again.
    await sleep(wait * (0.5 + Math.random()));
  }
}

class ApiError extends Error {}

function sumOps(ops: FirestoreOpsByFunction, fns: string[]): FirestoreOps {
  return fns.reduce(
    (sum, fn) => ({
      reads: sum.reads + (ops[fn]?.reads ?? 0),
      writes: sum.writes + (ops[fn]?.writes ?? 0),
      aborted: sum.aborted + (ops[fn]?.aborted ?? 0),
    }),
    { reads: 0, writes: 0, aborted: 0 },
  );
}

async function track<T>(started: Promise<T>, stop: (value: T) => Promise<void>): Promise<T> {
  const value = await started;
  const stopper = () => stop(value);
  stoppers.set(value, stopper);
  running.add(stopper);
  return value;
}

const stoppers = new Map<unknown, () => Promise<void>>();

async function untrack(
  value: EmulatorProcess | LocalStack,
  stop: () => Promise<void>,
): Promise<void> {
  const stopper = stoppers.get(value);
  if (stopper !== undefined) running.delete(stopper);
  stoppers.delete(value);
  await stop();
}

/**
 * Stops the local stack. A function asked to stop (SIGTERM) closes its server, which waits for
 * the requests in flight; under a backlog those can hang on the store for minutes, and the queue
 * keeps delivering. After 20 s the functions still running are killed, and the rest of the
 * stack (emulators, Firestore's process group) is stopped as usual.
 */
async function stopStack(stack: LocalStack): Promise<void> {
  const stopping = stack.stop();
  const late = await Promise.race([stopping.then(() => false), sleep(20_000).then(() => true)]);
  if (late) {
    console.log('  (functions still busy after 20 s: killed)');
    await Promise.all(
      (['api', 'runTask', 'dispatch'] as const).map((fn) => stack.kill(fn, 'SIGKILL')),
    );
  }
  await stopping;
}

async function stopAll(): Promise<void> {
  for (const stop of [...running].reverse()) {
    running.delete(stop);
    await stop().catch((error: unknown) => console.error('stopping failed:', error));
  }
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
