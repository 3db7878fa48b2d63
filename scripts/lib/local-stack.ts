import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startCloudTasksEmulator, type Clock as TasksClock } from '../../emulators/cloud-tasks';
import {
  startBigQueryEmulator,
  type BigQueryEmulator,
  type BigQueryEmulatorOptions,
  type Seed,
} from '../../emulators/bigquery';
import { demoWarehouseSeed } from './demo-warehouse';
import { startFirestoreEmulator } from '../../test/helpers/firestore-emulator';
import {
  pubSubAdmin,
  startPubSubEmulator,
  type PubSubAdmin,
} from '../../test/helpers/pubsub-emulator';
import { freePort } from '../../test/helpers/free-port';
import { DEMO_TASKS } from './demo-tasks';
import { ROLES } from '../../src/domain/access';

export interface LocalStackOptions {
  /** The api function's port (default 8080; 0 picks a free one). `npm start`: `PORT`. */
  apiPort?: number;
  /** run-task's port (default 0: a free one). `npm start`: `RUN_TASK_PORT`. */
  runTaskPort?: number;
  /** dispatch's port (default 0: a free one). `npm start`: `DISPATCH_PORT`. */
  dispatchPort?: number;
  projectId?: string;
  /** How often the timer calls dispatch in place of Cloud Scheduler (0 = never). */
  dispatchIntervalMs?: number;
  /** Extra environment for the three functions. */
  env?: Record<string, string>;
  /** Every line the functions print (JSON logs), for tests that scan them. */
  onLogLine?: (line: string, fn: FunctionName) => void;
  registerDemoTasks?: boolean;
  /** The Cloud Tasks emulator's clock (the fault suite shifts it along with CLOCK_OFFSET_MS). */
  tasksClock?: TasksClock;
  /**
   * The BigQuery emulator (in this process, seeded with the demo warehouse): its job timing,
   * streaming buffer and clock, and datasets to seed besides the demo warehouse.
   */
  bigQuery?: Pick<BigQueryEmulatorOptions, 'minJobMs' | 'streamingBufferSeconds' | 'clock'> & {
    extraDatasets?: NonNullable<Seed['datasets']>;
  };
  /**
   * Lifecycle events on Pub/Sub (PUBSUB_TOPIC `dsr-events`): `true` starts the Pub/Sub emulator
   * with the topic and a demo subscription (`npm start`); `{ emulatorHost }` uses an emulator
   * the caller runs (and whose topic it created); absent, events are off.
   */
  events?: true | { emulatorHost: string };
}

export type FunctionName = 'api' | 'runTask' | 'dispatch';

/** The variables `npm start` reads each function's port from. */
export const PORT_VARIABLES: Readonly<Record<FunctionName, string>> = {
  api: 'PORT',
  runTask: 'RUN_TASK_PORT',
  dispatch: 'DISPATCH_PORT',
};

/** A function's port is taken: which one, the variable that moves it, and how to find the holder. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly port: number,
    readonly fn: FunctionName,
  ) {
    const variable = PORT_VARIABLES[fn];
    super(
      `port ${port} (${serviceName(fn)}) is already in use: set ${variable} to a free port ` +
        `(e.g. ${variable}=${port + 10} npm start), or find who holds it with ` +
        `\`lsof -nP -iTCP:${port} -sTCP:LISTEN\` or \`ss -ltnp 'sport = :${port}'\``,
    );
  }
}

export interface LocalStack {
  apiUrl: string;
  runTaskUrl: string;
  dispatchUrl: string;
  projectId: string;
  queuePath: string;
  firestoreHost: string;
  tasksEmulator: Awaited<ReturnType<typeof startCloudTasksEmulator>>;
  /** Its `url` is the functions' BIGQUERY_EMULATOR_HOST. */
  bigQueryEmulator: BigQueryEmulator;
  /** Lifecycle events, when on: the emulator's host, the topic and the demo subscription. */
  events?: { host: string; topic: string; subscription: string; admin: PubSubAdmin };
  /** Stops and restarts one function process (fault tests). */
  restart(fn: FunctionName, signal?: NodeJS.Signals): Promise<void>;
  kill(fn: FunctionName, signal?: NodeJS.Signals): Promise<void>;
  start(fn: FunctionName): Promise<void>;
  /** Changes the functions' environment from their next (re)start on (fault tests). */
  setEnv(vars: Record<string, string>): void;
  dispatchNow(): Promise<unknown>;
  stop(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');
const LOCATION = 'us-central1';
const QUEUE = 'dsr-tasks';
/** The lifecycle events' topic and the local demo subscription (message ordering on). */
export const EVENTS_TOPIC = 'dsr-events';
export const EVENTS_SUBSCRIPTION = 'dsr-events-demo';
/** Cloud Tasks signs every task's OIDC token as this account; run-task accepts no other. */
export const INVOKER = 'tasks-invoker@local-project.iam.gserviceaccount.com';
/** Cloud Scheduler's stand-in calls dispatch as this account, with a token the emulator signs. */
export const SCHEDULER = 'scheduler@local-project.iam.gserviceaccount.com';
/** The local identities and their roles (X-Dev-Identity names the caller in local mode). */
export const LOCAL_IDENTITIES = {
  developer: 'developer@localhost',
  approver: 'approver@localhost',
  auditor: 'auditor@localhost',
} as const;

/**
 * Starts everything on 127.0.0.1: the Firestore emulator (unless FIRESTORE_EMULATOR_HOST is
 * set), our Cloud Tasks emulator, and the three functions as separate processes served by the
 * real functions-framework. `npm start`, the e2e tests and the benchmarks all use it.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const projectId = options.projectId ?? 'dsr-local';
  const cleanups: (() => Promise<void>)[] = [];
  // The ports asked for by number, checked before anything starts (a busy one fails fast).
  const wanted: Record<FunctionName, number> = {
    api: options.apiPort ?? 8080,
    runTask: options.runTaskPort ?? 0,
    dispatch: options.dispatchPort ?? 0,
  };
  await checkPorts(wanted);
  try {
    const existing = process.env['FIRESTORE_EMULATOR_HOST'];
    let firestoreHost: string;
    if (existing !== undefined && existing !== '') firestoreHost = existing;
    else {
      const fs = await startFirestoreEmulator();
      cleanups.push(() => fs.stop());
      firestoreHost = fs.host;
    }
    const queuePath = `projects/${projectId}/locations/${LOCATION}/queues/${QUEUE}`;
    const tasksEmulator = await startCloudTasksEmulator({
      ...(options.tasksClock === undefined ? {} : { clock: options.tasksClock }),
      grpcPort: 0,
      httpPort: 0,
      queues: [
        {
          name: queuePath,
          rateLimits: { maxDispatchesPerSecond: 500, maxConcurrentDispatches: 1000 },
          // Cloud Tasks redelivers a 503'd attempt; run-task answers "not due" until the task's
          // own backoff has passed, so the queue's backoff only needs to be short.
          retryConfig: {
            maxAttempts: -1,
            minBackoff: { seconds: 1 },
            maxBackoff: { seconds: 5 },
            maxDoublings: 2,
          },
        },
      ],
    });
    cleanups.push(() => tasksEmulator.stop());
    const { extraDatasets = [], ...bigQueryOptions } = options.bigQuery ?? {};
    const demoSeed = demoWarehouseSeed();
    const bigQueryEmulator = await startBigQueryEmulator({
      projectId,
      seed: { ...demoSeed, datasets: [...(demoSeed.datasets ?? []), ...extraDatasets] },
      ...bigQueryOptions,
    });
    cleanups.push(() => bigQueryEmulator.stop());
    let events: LocalStack['events'];
    if (options.events === true) {
      const pubsub = await startPubSubEmulator();
      cleanups.push(() => pubsub.stop());
      await pubsub.createTopic(projectId, EVENTS_TOPIC);
      await pubsub.createSubscription(projectId, EVENTS_TOPIC, EVENTS_SUBSCRIPTION, {
        ordering: true,
      });
      events = {
        host: pubsub.host,
        topic: EVENTS_TOPIC,
        subscription: EVENTS_SUBSCRIPTION,
        admin: pubsub,
      };
    } else if (options.events !== undefined) {
      const host = options.events.emulatorHost;
      events = { host, topic: EVENTS_TOPIC, subscription: '', admin: pubSubAdmin(host) };
    }

    const ports: Record<FunctionName, number> = {
      api: wanted.api === 0 ? await freePort() : wanted.api,
      runTask: wanted.runTask === 0 ? await freePort() : wanted.runTask,
      dispatch: wanted.dispatch === 0 ? await freePort() : wanted.dispatch,
    };
    const url = (fn: FunctionName) => `http://127.0.0.1:${ports[fn]}`;
    const env: Record<string, string> = {
      ...pickEnv(process.env),
      GOOGLE_CLOUD_PROJECT: projectId,
      LOCATION,
      TASKS_QUEUE: QUEUE,
      RUN_TASK_URL: `${url('runTask')}/`,
      TASKS_INVOKER_SA: INVOKER,
      SUBJECT_HASH_PEPPER: 'local-development-pepper-not-secret',
      FIRESTORE_EMULATOR_HOST: firestoreHost,
      CLOUD_TASKS_EMULATOR_HOST: `127.0.0.1:${tasksEmulator.grpcPort}`,
      BIGQUERY_EMULATOR_HOST: bigQueryEmulator.url,
      BIGQUERY_POLL_INTERVAL_SECONDS: '2',
      LOCAL_MODE: 'true',
      // run-task and dispatch verify their callers' tokens in full against the emulator's keys.
      TASKS_OIDC_JWKS_URL: `${tasksEmulator.issuer}/jwks`,
      TASKS_OIDC_ISSUER: tasksEmulator.issuer,
      SCHEDULER_SA: SCHEDULER,
      BOOTSTRAP_ADMINS: `user:${LOCAL_IDENTITIES.developer}`,
      // Local partners (tests' echo servers) listen on loopback, on ports picked at random.
      HTTP_ALLOWED_ORIGINS: 'http://127.0.0.1:*,http://localhost:*',
      LEASE_GRACE_SECONDS: '10',
      METADATA_SERVER_DETECTION: 'none',
      ...(events === undefined
        ? {}
        : { PUBSUB_TOPIC: events.topic, PUBSUB_EMULATOR_HOST: events.host }),
      ...options.env,
    };
    const procs = new Map<FunctionName, ChildProcess>();
    const startFn = async (fn: FunctionName) => {
      // tsx's loader in the function's own process (the tsx CLI would run it in a child, which
      // a SIGKILL of the CLI leaves running).
      const child = spawn(
        process.execPath,
        [
          '--import',
          pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href,
          join(ROOT, 'functions/serve.ts'),
          fn,
          String(ports[fn]),
        ],
        {
          env: { ...env, K_SERVICE: serviceName(fn), K_REVISION: `${serviceName(fn)}-local` },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      procs.set(fn, child);
      // What it prints before it listens is held back: a port taken since checkPorts makes it
      // crash with a stack, which is reported as one PortInUseError instead.
      let early: string[] | undefined = [];
      const ready = new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => {
          if (early?.some((line) => line.includes('EADDRINUSE')) === true) {
            reject(new PortInUseError(ports[fn], fn));
          } else {
            reject(
              new Error(
                `function ${fn} exited with ${code} before it was ready:\n${(early ?? []).join('\n')}`,
              ),
            );
          }
        });
        createInterface({ input: child.stderr }).on('line', (line) => {
          if (early !== undefined && line.includes('listening on')) {
            const held = early;
            early = undefined;
            for (const l of held) options.onLogLine?.(l, fn);
            resolve();
          } else if (early !== undefined) early.push(line);
          else options.onLogLine?.(line, fn);
        });
      });
      createInterface({ input: child.stdout }).on('line', (line) => options.onLogLine?.(line, fn));
      await ready;
    };
    const killFn = async (fn: FunctionName, signal: NodeJS.Signals = 'SIGTERM') => {
      const child = procs.get(fn);
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
      procs.delete(fn);
    };
    cleanups.push(async () => {
      await Promise.all([...procs.keys()].map((fn) => killFn(fn)));
    });
    await Promise.all((['api', 'runTask', 'dispatch'] as const).map(startFn));

    const dispatchNow = async () => {
      const token = tasksEmulator.signIdToken(SCHEDULER, dispatchAudience(projectId));
      const res = await fetch(`${url('dispatch')}/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      return res.json() as Promise<unknown>;
    };
    await seedLocalRoles(url('api'));
    if (options.registerDemoTasks ?? true) await registerTasks(url('api'), DEMO_TASKS);
    if ((options.dispatchIntervalMs ?? 0) > 0) {
      const timer = setInterval(
        () => void dispatchNow().catch(() => undefined),
        options.dispatchIntervalMs,
      );
      cleanups.push(async () => clearInterval(timer));
    }
    return {
      apiUrl: url('api'),
      runTaskUrl: url('runTask'),
      dispatchUrl: url('dispatch'),
      projectId,
      queuePath,
      firestoreHost,
      tasksEmulator,
      bigQueryEmulator,
      ...(events === undefined ? {} : { events }),
      kill: killFn,
      start: startFn,
      setEnv: (vars) => void Object.assign(env, vars),
      restart: async (fn, signal) => {
        await killFn(fn, signal);
        await startFn(fn);
      },
      dispatchNow,
      stop: () => runCleanups(cleanups),
    };
  } catch (err) {
    await runCleanups(cleanups);
    throw err;
  }
}

/** dispatch's audience as config derives it (the scheduler's token is minted for it). */
function dispatchAudience(projectId: string): string {
  return `https://${LOCATION}-${projectId}.cloudfunctions.net/dispatch`;
}

/**
 * The local role bindings: developer@localhost holds every role (and is the bootstrap admin),
 * approver@localhost approves, auditor@localhost audits. Any other identity holds none.
 */
export async function seedLocalRoles(apiUrl: string): Promise<void> {
  const as = { 'content-type': 'application/json', 'x-dev-identity': LOCAL_IDENTITIES.developer };
  const current = (await (await fetch(`${apiUrl}/iam/policy`, { headers: as })).json()) as {
    etag: string;
  };
  const members = (role: string) => [
    `user:${LOCAL_IDENTITIES.developer}`,
    ...(role === 'approver' ? [`user:${LOCAL_IDENTITIES.approver}`] : []),
    ...(role === 'auditor' ? [`user:${LOCAL_IDENTITIES.auditor}`] : []),
  ];
  const res = await fetch(`${apiUrl}/iam/policy`, {
    method: 'PUT',
    headers: as,
    body: JSON.stringify({
      etag: current.etag,
      bindings: ROLES.map((role) => ({ role, members: members(role) })),
    }),
  });
  // 409: another process seeded it first (a shared Firestore emulator): nothing to do.
  if (res.status !== 200 && res.status !== 409) {
    throw new Error(`seeding the local roles failed: ${res.status} ${await res.text()}`);
  }
}

/** Registers tasks through the API, skipping those that exist already. */
export async function registerTasks(
  apiUrl: string,
  tasks: readonly { id: string }[],
): Promise<void> {
  for (const task of tasks) {
    const existing = await fetch(`${apiUrl}/tasks/${task.id}`);
    if (existing.status === 200) continue;
    const res = await fetch(`${apiUrl}/tasks`, {
      method: 'POST',
      // The local stack's admin (the default local identity, named here for clarity).
      headers: { 'content-type': 'application/json', 'x-dev-identity': LOCAL_IDENTITIES.developer },
      body: JSON.stringify(task),
    });
    if (res.status !== 201)
      throw new Error(`registering ${task.id} failed: ${res.status} ${await res.text()}`);
  }
}

/**
 * Fails with a PortInUseError for the first port (of those given by number) that something
 * already listens on, and with a plain error when two functions are given the same one.
 */
async function checkPorts(ports: Record<FunctionName, number>): Promise<void> {
  const seen = new Map<number, FunctionName>();
  for (const fn of ['api', 'runTask', 'dispatch'] as const) {
    const port = ports[fn];
    if (port === 0) continue;
    const other = seen.get(port);
    if (other !== undefined) {
      throw new Error(
        `${PORT_VARIABLES[other]} and ${PORT_VARIABLES[fn]} are both ${port}: give each function its own port`,
      );
    }
    seen.set(port, fn);
    if (!(await portFree(port))) throw new PortInUseError(port, fn);
  }
}

/** Whether 127.0.0.1:port can be listened on now (the functions listen there). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(false);
      else reject(err);
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function serviceName(fn: FunctionName): string {
  return fn === 'runTask' ? 'run-task' : fn;
}

async function runCleanups(cleanups: (() => Promise<void>)[]): Promise<void> {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}

function pickEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const keep = ['PATH', 'HOME', 'NODE_OPTIONS', 'TMPDIR', 'LANG'];
  return Object.fromEntries(keep.flatMap((k) => (env[k] === undefined ? [] : [[k, env[k]]])));
}
