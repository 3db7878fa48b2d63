/**
 * The moving parts of `npm run bench -- load`: an open-loop intake driver (requests are sent on
 * a fixed schedule whether or not earlier ones have been answered, as independent callers
 * would), the Cloud Tasks queue's depth, and the check that every filed request ended.
 */
import { CloudTasksClient } from '@google-cloud/tasks';
import { grpc } from 'google-gax';

/** What one intake window sent and got back. */
export interface IntakeWindow {
  sent: number;
  /** Latencies of the 201 answers, ms. */
  latencies: number[];
  /** Answers other than 201 (and failed connections), by status or error code. */
  errors: Record<string, number>;
  /** Ids of the filed requests. */
  ids: string[];
  /** Requests not sent because too many were already waiting for an answer. */
  shed: number;
}

export interface IntakeOptions {
  apiUrl: string;
  /** Requests a second. */
  rate: number;
  /** Keeps sending until this resolves true (checked every tick), or for `seconds`. */
  seconds?: number;
  until?: () => boolean;
  /** The n-th request's body. */
  body: (n: number) => unknown;
  /** Requests in flight at most; past it a scheduled request is shed and counted. */
  maxInFlight?: number;
}

/**
 * Sends `rate` requests a second to POST /requests on a fixed schedule. Resolves once the window
 * has ended and every request sent in it has been answered (or has failed).
 */
export async function driveIntake(options: IntakeOptions): Promise<IntakeWindow> {
  const { apiUrl, rate, body } = options;
  const maxInFlight = options.maxInFlight ?? 2000;
  const out: IntakeWindow = { sent: 0, latencies: [], errors: {}, ids: [], shed: 0 };
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  const ended = () =>
    options.until?.() === true ||
    (options.seconds !== undefined && performance.now() - started >= options.seconds * 1000);
  let n = 0;
  const send = (k: number) => {
    if (pending.size >= maxInFlight) {
      out.shed += 1;
      return;
    }
    out.sent += 1;
    const t0 = performance.now();
    const p = fetch(`${apiUrl}/requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body(k)),
    })
      .then(async (res) => {
        const text = await res.text();
        if (res.status === 201) {
          out.latencies.push(performance.now() - t0);
          out.ids.push((JSON.parse(text) as { id: string }).id);
        } else {
          out.errors[String(res.status)] = (out.errors[String(res.status)] ?? 0) + 1;
        }
      })
      .catch((err: unknown) => {
        const cause = (err as { cause?: { code?: unknown } }).cause?.code;
        const code = typeof cause === 'string' ? cause : 'fetch';
        out.errors[code] = (out.errors[code] ?? 0) + 1;
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  while (!ended()) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate) + 1;
    while (n < due) send(n++);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(pending);
  return out;
}

/** Counts the tasks in a queue by listing them (BASIC view), up to `cap`. */
export class QueueDepth {
  private readonly client: CloudTasksClient;

  constructor(grpcPort: number) {
    this.client = new CloudTasksClient({
      apiEndpoint: '127.0.0.1',
      port: grpcPort,
      sslCreds: grpc.credentials.createInsecure(),
    });
  }

  async count(queue: string, cap = 20_000): Promise<number> {
    let total = 0;
    let pageToken: string | undefined;
    do {
      const [tasks, , response] = await this.client.listTasks(
        { parent: queue, pageSize: 1000, ...(pageToken === undefined ? {} : { pageToken }) },
        { autoPaginate: false },
      );
      total += tasks.length;
      pageToken = response?.nextPageToken ?? undefined;
    } while (pageToken !== undefined && pageToken !== '' && total < cap);
    return total;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

export interface Unfinished {
  requestId: string;
  status: string;
  openInstances: string[];
}

/**
 * Reads every filed request through the API and returns those that are not completed with
 * every instance terminal (the fault suite's "nothing lost", for the load's requests).
 */
export async function unfinishedRequests(
  apiUrl: string,
  ids: readonly string[],
  terminal: ReadonlySet<string>,
  concurrency = 8,
): Promise<{ checked: number; unfinished: Unfinished[]; instances: number }> {
  const unfinished: Unfinished[] = [];
  let next = 0;
  let instances = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const res = await fetch(`${apiUrl}/requests/${id}`);
        if (res.status !== 200) {
          unfinished.push({ requestId: id, status: `http ${res.status}`, openInstances: [] });
          continue;
        }
        const view = (await res.json()) as {
          status: string;
          instances: { taskId: string; state: string; attempts?: number }[];
        };
        instances += view.instances.length;
        // Each open instance as task:state:attempts, to see where it stopped.
        const open = view.instances
          .filter((i) => !terminal.has(i.state))
          .map((i) => `${i.taskId}:${i.state}:${i.attempts ?? '?'}`);
        if (view.status !== 'completed' || open.length > 0) {
          unfinished.push({ requestId: id, status: view.status, openInstances: open });
        }
      }
    }),
  );
  return { checked: ids.length, unfinished, instances };
}
