import { randomBytes } from 'node:crypto';
import { INVOKER, startLocalStack, type LocalStack } from '../../../scripts/lib/local-stack';
import type { Clock as TasksClock } from '../../../emulators/cloud-tasks';
import type { DispatchSummary } from '../../../src/app/dispatch';
import type { RequestView } from '../../../src/app/requests';
import { isTerminal } from '../../../src/domain/states';
import type { InstanceState, RegisterTaskInput, Run } from '../../../src/domain/model';
import { emulatorHost, resetFirestore } from '../../helpers/firestore-emulator';
import { call, type JsonResponse } from '../../helpers/http';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';
import { waitFor } from '../../helpers/wait-for';

/** The Cloud Tasks emulator's clock, shifted by the same offset as the functions' clocks. */
export class OffsetClock implements TasksClock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  setTimer(callback: () => void, delayMs: number): unknown {
    return setTimeout(callback, Math.max(0, delayMs));
  }
  clearTimer(handle: unknown): void {
    clearTimeout(handle as NodeJS.Timeout);
  }
}

/**
 * The least time a BigQuery job takes in the stack's emulator. With 0 a job is done at insert
 * and a table's DML queue never fills; with this, mutating statements sent at once pile up
 * against BigQuery's per-table limit (2 running, 20 queued) as they would on the service.
 */
export const BIGQUERY_MIN_JOB_MS = 300;

/** One structured log line a function wrote. */
export interface LogLine {
  severity: string;
  event: string;
  message: string;
  'logging.googleapis.com/labels'?: { requestId?: string; taskId?: string; runId?: string };
  [field: string]: unknown;
}

/** A Cloud Task as the emulator's REST surface shows it (responseView FULL). */
export interface QueuedCloudTask {
  name: string;
  scheduleTime: string;
  httpRequest: { url: string; body: string; headers?: Record<string, string> };
}

/** What the invariant check found for a set of requests: the numbers each case reports. */
export interface Tally {
  instances: number;
  attempts: number;
  runs: number;
  executions: number;
}

/**
 * The whole local stack (three functions under functions-framework, the Firestore emulator,
 * our Cloud Tasks emulator), with the faults wired in:
 * - Firestore and Cloud Tasks are reached through TCP proxies the suite cuts and restores:
 *   for the functions the store or the queue is then down (connections dropped and refused),
 *   while the emulators keep their state, as the real services do when only the network fails;
 * - the functions' clocks (CLOCK_OFFSET_MS, local mode only) and the Cloud Tasks emulator's
 *   clock move together, for execution windows and parked instances;
 * - the BigQuery emulator (seeded with the demo warehouse) takes BIGQUERY_MIN_JOB_MS per job;
 * - dispatch runs only when the suite calls it (Cloud Scheduler's part), so races are staged.
 */
export class FaultStack {
  private constructor(
    readonly stack: LocalStack,
    /** Firestore, as the functions reach it. */
    readonly store: TcpProxy,
    /** Cloud Tasks, as the functions reach it. */
    readonly queue: TcpProxy,
    /** Every JSON line the functions wrote, in order. */
    readonly logs: LogLine[],
    readonly clock: OffsetClock,
  ) {}

  static async start(): Promise<FaultStack> {
    const store = await startTcpProxy(emulatorHost());
    const queue = await startTcpProxy();
    const logs: LogLine[] = [];
    const clock = new OffsetClock();
    let stack: LocalStack | undefined;
    try {
      stack = await startLocalStack({
        apiPort: 0,
        projectId: `dsr-faults-${randomBytes(3).toString('hex')}`,
        dispatchIntervalMs: 0,
        registerDemoTasks: false,
        tasksClock: clock,
        bigQuery: { minJobMs: BIGQUERY_MIN_JOB_MS },
        onLogLine: (line) => {
          if (!line.startsWith('{')) return;
          try {
            logs.push(JSON.parse(line) as LogLine);
          } catch {
            // a partial line from a killed process
          }
        },
        env: {
          FIRESTORE_EMULATOR_HOST: store.host,
          CLOUD_TASKS_EMULATOR_HOST: queue.host,
          // Leases of timeout + 1 s, so the watchdog acts within seconds.
          LEASE_GRACE_SECONDS: '1',
          // An unreachable store answers 503 within seconds.
          STORE_TIMEOUT_SECONDS: '2',
        },
      });
    } catch (err) {
      await Promise.all([store.close(), queue.close()]);
      throw err;
    }
    queue.target = `127.0.0.1:${stack.tasksEmulator.grpcPort}`;
    return new FaultStack(stack, store, queue, logs, clock);
  }

  async stop(): Promise<void> {
    await this.stack.stop();
    await Promise.all([this.store.close(), this.queue.close()]);
    await resetFirestore(emulatorHost(), this.stack.projectId);
  }

  api<T = RequestView>(
    method: string,
    path: string,
    body?: unknown,
    init?: Parameters<typeof call>[4],
  ): Promise<JsonResponse<T>> {
    return call<T>(this.stack.apiUrl, method, path, body, init);
  }

  async registerTask(task: RegisterTaskInput): Promise<void> {
    const res = await this.api('POST', '/tasks', task);
    if (res.status !== 201)
      throw new Error(`registering ${task.id}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  async file(
    subject: Record<string, string>,
    extra: Record<string, unknown> = {},
  ): Promise<RequestView> {
    const res = await this.api('POST', '/requests', { type: 'deletion', subject, ...extra });
    if (res.status !== 201) throw new Error(`filing: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async request(id: string): Promise<RequestView> {
    const res = await this.api('GET', `/requests/${id}`);
    if (res.status !== 200) throw new Error(`GET ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async runs(id: string): Promise<Run[]> {
    return (await this.api<{ runs: Run[] }>('GET', `/requests/${id}/runs`)).body.runs;
  }

  /** One dispatch run, as Cloud Scheduler would call it. */
  async dispatch(): Promise<DispatchSummary> {
    return (await this.stack.dispatchNow()) as DispatchSummary;
  }

  /**
   * Waits until none of the requests is open any more, calling dispatch between looks (the
   * watchdog and the outbox need it) unless told not to.
   */
  async settle(
    ids: readonly string[],
    { dispatch = true, timeoutMs = 40_000 } = {},
  ): Promise<RequestView[]> {
    return waitFor(
      async () => {
        if (dispatch) await this.dispatch();
        return Promise.all(ids.map((id) => this.request(id)));
      },
      (views) => views.every((v) => !['in_progress', 'awaiting_approval'].includes(v.status)),
      { timeoutMs, intervalMs: 200, what: `requests ${ids.join(', ')} to settle` },
    );
  }

  /** Log lines of `event`, for one request when given. */
  events(event: string, requestId?: string): LogLine[] {
    return this.logs.filter(
      (l) =>
        l.event === event &&
        (requestId === undefined || l['logging.googleapis.com/labels']?.requestId === requestId),
    );
  }

  /**
   * The suite's invariants, for every instance of the requests:
   * - it is terminal, or in one of the states the case allows (correctly waiting);
   * - every attempt it started has a run record (distinct series and attempt in the runs);
   * - its executor started no more often than its attempts: `run.started` lines (one per
   *   executor start, written before the executor runs) never exceed the attempts, and no
   *   series went past maxAttempts. A poll of a waiting attempt (a BigQuery job, a table
   *   lease, a batch) logs `run.started` too, but looks at what its attempt started rather
   *   than starting anything: the lines of runs recorded as polls are not counted.
   */
  async checkInvariants(
    ids: readonly string[],
    allowOpen: readonly InstanceState[] = [],
  ): Promise<Tally> {
    const tally: Tally = { instances: 0, attempts: 0, runs: 0, executions: 0 };
    for (const id of ids) {
      const view = await this.request(id);
      const runs = await this.runs(id);
      for (const instance of applicable(view)) {
        tally.instances += 1;
        const where = `${id}/${instance.taskId}`;
        if (!isTerminal(instance.state) && !allowOpen.includes(instance.state)) {
          throw new Error(`${where} is ${instance.state}, neither terminal nor allowed`);
        }
        const own = runs.filter((r) => r.taskId === instance.taskId);
        const attempts = new Set(
          own.filter((r) => r.poll === undefined).map((r) => `${r.series}/${r.attempt}`),
        );
        if (attempts.size !== instance.attempts) {
          throw new Error(
            `${where}: ${instance.attempts} attempts but run records for ${attempts.size}: ${[...attempts].join(', ')}`,
          );
        }
        const tooFar = own.find((r) => r.attempt > instance.maxAttempts);
        if (tooFar !== undefined)
          throw new Error(`${where}: attempt ${tooFar.attempt} of ${instance.maxAttempts}`);
        const polls = new Set(own.filter((r) => r.poll !== undefined).map((r) => r.runId));
        const started = this.logs.filter(
          (l) =>
            l.event === 'run.started' &&
            l['logging.googleapis.com/labels']?.requestId === id &&
            l['logging.googleapis.com/labels']?.taskId === instance.taskId &&
            !polls.has(l['logging.googleapis.com/labels']?.runId ?? ''),
        ).length;
        if (started > instance.attempts) {
          throw new Error(
            `${where}: the executor started ${started} times for ${instance.attempts} attempts`,
          );
        }
        tally.attempts += instance.attempts;
        tally.runs += own.length;
        tally.executions += started;
      }
    }
    return tally;
  }

  /** Shifts the functions' and the queue's clocks; the functions restart to take it. */
  async setClockOffset(offsetMs: number): Promise<void> {
    this.clock.offsetMs = offsetMs;
    this.stack.setEnv({ CLOCK_OFFSET_MS: String(Math.round(offsetMs)) });
    await Promise.all(
      (['api', 'runTask', 'dispatch'] as const).map((fn) => this.stack.restart(fn)),
    );
  }

  /** The functions' time. */
  now(): Date {
    return new Date(this.clock.now());
  }

  private async tasksRest(method: string, path: string): Promise<unknown> {
    const res = await fetch(`http://127.0.0.1:${this.stack.tasksEmulator.httpPort}/v2/${path}`, {
      method,
    });
    const body = (await res.json()) as unknown;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  }

  pauseQueue(): Promise<unknown> {
    return this.tasksRest('POST', `${this.stack.queuePath}:pause`);
  }

  resumeQueue(): Promise<unknown> {
    return this.tasksRest('POST', `${this.stack.queuePath}:resume`);
  }

  async queuedTasks(): Promise<QueuedCloudTask[]> {
    const body = (await this.tasksRest(
      'GET',
      `${this.stack.queuePath}/tasks?responseView=FULL&pageSize=1000`,
    )) as {
      tasks?: QueuedCloudTask[];
    };
    return body.tasks ?? [];
  }

  /** RunTask: the emulator delivers the task now, with its real headers. */
  runNow(task: QueuedCloudTask): Promise<unknown> {
    return this.tasksRest('POST', `${task.name}:run`);
  }

  /** A second delivery of a Cloud Task straight to run-task, with the headers Cloud Tasks sends. */
  async deliverAgain(task: QueuedCloudTask): Promise<JsonResponse<{ result: string }>> {
    return call<{ result: string }>(this.stack.runTaskUrl, 'POST', '/', undefined, {
      raw: Buffer.from(task.httpRequest.body, 'base64').toString('utf8'),
      headers: {
        'content-type': 'application/json',
        // The token Cloud Tasks attaches: run-task verifies it before anything else.
        authorization: `Bearer ${this.stack.tasksEmulator.signIdToken(INVOKER, `${this.stack.runTaskUrl}/`)}`,
        'X-CloudTasks-QueueName': this.stack.queuePath.split('/').pop() ?? '',
        'X-CloudTasks-TaskName': task.name.split('/').pop() ?? '',
        'X-CloudTasks-TaskRetryCount': '0',
        'X-CloudTasks-TaskExecutionCount': '0',
      },
    });
  }

  /** A Firestore document as the emulator holds it (null when absent), read past the proxy. */
  async document(path: string): Promise<unknown> {
    const res = await fetch(
      `http://${emulatorHost()}/v1/projects/${this.stack.projectId}/databases/(default)/documents/${path}`,
      { headers: { Authorization: 'Bearer owner' } },
    );
    if (res.status === 404) return null;
    return res.json();
  }
}

/** A request's instances that apply to its subject (the other tasks' are skipped). */
export function applicable(view: RequestView | undefined): RequestView['instances'] {
  return (view?.instances ?? []).filter((i) => i.state !== 'skipped');
}

/** One row of the table the suite prints. */
export interface FaultRow {
  name: string;
  does: string;
  outcome: string;
  seconds: number;
}

/** The fault table as markdown, rows in `order` (cases that did not run are listed as such). */
export function faultTable(rows: readonly FaultRow[], order: readonly string[]): string {
  const line = (name: string) => {
    const r = rows.find((row) => row.name === name);
    return r === undefined
      ? `| ${name} | | did not run | |`
      : `| ${r.name} | ${r.does} | ${r.outcome} | ${r.seconds.toFixed(1)} |`;
  };
  return ['| case | what it does | outcome | s |', '|---|---|---|---|', ...order.map(line)].join(
    '\n',
  );
}
