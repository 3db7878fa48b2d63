import type { Clock } from './clock';
import { Dispatcher } from './dispatcher';
import {
  entityNotFound,
  MESSAGES,
  queueMissing,
  queueRecentlyDeleted,
  taskQueueMismatch,
} from './service-messages';
import { ApiError, invalid } from './errors';
import { HttpSender } from './http-sender';
import type { TaskIdGenerator } from './ids';
import { checkLocationName, checkResourceProject, parseQueueName, parseTaskName } from './names';
import type { OidcSigner } from './oidc';
import type { PQueue, PTask } from './proto-types';
import { applyUpdateMask, queueConfigFromProto, queueConfigToProto } from './queue-config';
import { NameReservations, QueueState } from './queue-state';
import { newTaskRecord, taskToProto, viewOf, type TaskRecord } from './task-model';

export interface ServiceOptions {
  clock: Clock;
  signer: OidcSigner;
  nextTaskId: TaskIdGenerator;
  reservationWindowMs: number;
  /** How long a deleted queue's name cannot be created again (0: reusable at once). */
  queueReservationWindowMs: number;
  /** Queues that exist at start and again after every reset. */
  initialQueues: PQueue[];
}

interface Page {
  pageSize?: number;
  pageToken?: string;
}

const MAX_QUEUE_PAGE = 9800;
const MAX_TASK_PAGE = 1000;

/**
 * google.cloud.tasks.v2.CloudTasks, transport-free: requests and responses are the wire objects
 * both the gRPC and the REST surfaces use; failures are ApiErrors.
 */
export class CloudTasksService {
  private readonly queues = new Map<string, QueueState>();
  private readonly reservations: NameReservations;
  private readonly queueReservations: NameReservations;
  private readonly dispatcher: Dispatcher;
  private readonly sender: HttpSender;
  /** Idle checks, each with the function that settles its waiter (used to reject on stop). */
  private readonly idleWaiters = new Map<() => void, (error?: Error) => void>();

  constructor(private readonly options: ServiceOptions) {
    this.reservations = new NameReservations(options.reservationWindowMs);
    this.queueReservations = new NameReservations(options.queueReservationWindowMs);
    this.sender = new HttpSender(options.clock);
    this.dispatcher = new Dispatcher(options.clock, this.sender, options.signer, {
      finished: (queue, task) => this.finish(queue, task),
      changed: () => this.changed(),
    });
    this.reset();
  }

  // --- Queues -----------------------------------------------------------------------------

  listQueues(req: { parent?: string; filter?: string } & Page): {
    queues: PQueue[];
    nextPageToken?: string;
  } {
    checkResourceProject(req.parent);
    const parent = checkLocationName(req.parent);
    const state = parseStateFilter(req.filter ?? '');
    const all = [...this.queues.values()]
      .filter((q) => q.config.name.startsWith(`${parent}/queues/`))
      .filter((q) => state === undefined || q.config.state === state)
      .sort((a, b) => (a.config.name < b.config.name ? -1 : 1));
    const { items, ...token } = paginate(all, req, MAX_QUEUE_PAGE);
    return { queues: items.map((q) => queueConfigToProto(q.config)), ...token };
  }

  getQueue(req: { name?: string }): PQueue {
    return queueConfigToProto(this.queue(req.name).config);
  }

  createQueue(req: { parent?: string; queue?: PQueue | null }): PQueue {
    checkResourceProject(req.parent);
    const parent = checkLocationName(req.parent);
    const queue = req.queue ?? {};
    if (parseQueueName(queue.name).parent !== parent) {
      throw invalid(`Queue.name must belong to the parent "${parent}".`);
    }
    if (this.queues.has(queue.name ?? ''))
      throw new ApiError('ALREADY_EXISTS', MESSAGES.queueAlreadyExists);
    if (this.queueReservations.isReserved(queue.name ?? '', this.now()))
      throw queueRecentlyDeleted();
    const config = queueConfigFromProto(queue);
    this.queues.set(config.name, new QueueState(config, this.now()));
    return queueConfigToProto(config);
  }

  /** Updates a queue, or creates it if it does not exist, as the service does. */
  updateQueue(req: { queue?: PQueue | null; updateMask?: { paths?: string[] } | null }): PQueue {
    const patch = req.queue ?? {};
    checkResourceProject(patch.name);
    parseQueueName(patch.name);
    const existing = this.queues.get(patch.name ?? '');
    // Creating through UpdateQueue is held back like CreateQueue (not recorded; the same rule).
    if (!existing && this.queueReservations.isReserved(patch.name ?? '', this.now()))
      throw queueRecentlyDeleted();
    const base: PQueue = existing
      ? queueConfigToProto(existing.config)
      : { name: patch.name ?? '' };
    const merged = applyUpdateMask(base, patch, req.updateMask?.paths ?? []);
    const config = queueConfigFromProto({ ...merged, name: patch.name }, existing?.config);
    if (existing) {
      existing.reconfigure(config, this.now());
      this.dispatcher.pump(existing);
    } else {
      this.queues.set(config.name, new QueueState(config, this.now()));
    }
    return queueConfigToProto(config);
  }

  deleteQueue(req: { name?: string }): Record<string, never> {
    const queue = this.queue(req.name, entityNotFound);
    queue.closed = true;
    queue.clear();
    this.dispatcher.forget(queue);
    this.queues.delete(queue.config.name);
    this.queueReservations.reserve(queue.config.name, this.now());
    this.changed();
    return {};
  }

  purgeQueue(req: { name?: string }): PQueue {
    const queue = this.queue(req.name);
    const now = this.now();
    for (const name of queue.tasks.keys()) this.reservations.reserve(name, now);
    queue.clear();
    queue.config = { ...queue.config, purgeTimeMs: now };
    this.dispatcher.pump(queue);
    this.changed();
    return queueConfigToProto(queue.config);
  }

  pauseQueue(req: { name?: string }): PQueue {
    return this.setState(req.name, 'PAUSED');
  }

  resumeQueue(req: { name?: string }): PQueue {
    return this.setState(req.name, 'RUNNING');
  }

  // --- Tasks ------------------------------------------------------------------------------

  listTasks(req: { parent?: string; responseView?: string | number } & Page): {
    tasks: PTask[];
    nextPageToken?: string;
  } {
    const queue = this.queue(req.parent);
    const view = viewOf(req.responseView);
    const { items, ...token } = paginate([...queue.tasks.values()], req, MAX_TASK_PAGE);
    return { tasks: items.map((t) => taskToProto(t, view)), ...token };
  }

  getTask(req: { name?: string; responseView?: string | number }): PTask {
    // GetTask alone tells a task that existed recently (completed or deleted) from a stranger.
    const recent = (name: string) =>
      this.reservations.isReserved(name, this.now())
        ? new ApiError('NOT_FOUND', MESSAGES.taskRecentlyDeleted)
        : entityNotFound();
    return taskToProto(this.task(req.name, recent).task, viewOf(req.responseView));
  }

  createTask(req: { parent?: string; task?: PTask | null; responseView?: string | number }): PTask {
    checkResourceProject(req.parent);
    parseQueueName(req.parent);
    const queue = this.queues.get(req.parent ?? '');
    if (queue === undefined) throw queueMissing();
    const task = req.task ?? {};
    const now = this.now();
    let name: string;
    if (task.name) {
      const named = parseTaskName(task.name).queue;
      if (named !== queue.config.name) throw taskQueueMismatch(queue.config.name, named);
      name = task.name;
    } else {
      name = `${queue.config.name}/tasks/${this.options.nextTaskId()}`;
    }
    const record = newTaskRecord(task, name, now);
    if (queue.tasks.has(name) || this.reservations.isReserved(name, now)) {
      throw new ApiError('ALREADY_EXISTS', MESSAGES.entityAlreadyExists);
    }
    queue.add(record);
    const created = taskToProto(record, viewOf(req.responseView));
    this.dispatcher.pump(queue);
    return created;
  }

  deleteTask(req: { name?: string }): Record<string, never> {
    const { queue, task } = this.task(req.name);
    this.finish(queue, task);
    this.dispatcher.pump(queue);
    this.changed();
    return {};
  }

  /** Dispatches the task now, even on a paused queue and whatever the rate limits. */
  runTask(req: { name?: string; responseView?: string | number }): PTask {
    const { queue, task } = this.task(req.name);
    if (task.running) {
      throw new ApiError('FAILED_PRECONDITION', 'The task is already running.');
    }
    this.dispatcher.runNow(queue, task);
    return taskToProto(task, viewOf(req.responseView));
  }

  unimplemented(method: string): never {
    throw new ApiError(
      'UNIMPLEMENTED',
      `Method ${method} is not implemented by the Cloud Tasks emulator.`,
    );
  }

  // --- Emulator hooks ---------------------------------------------------------------------

  /** Drops every queue, task and name reservation, then recreates the initial queues. */
  reset(): void {
    for (const queue of this.queues.values()) {
      queue.closed = true;
      queue.clear();
      this.dispatcher.forget(queue);
    }
    this.queues.clear();
    this.reservations.clear();
    this.queueReservations.clear();
    for (const queue of this.options.initialQueues) {
      const { parent } = parseQueueName(queue.name);
      this.createQueue({ parent, queue });
    }
    this.changed();
  }

  isIdle(queueName?: string): boolean {
    if (queueName !== undefined) return this.queues.get(queueName)?.isIdle() ?? true;
    return [...this.queues.values()].every((q) => q.isIdle());
  }

  /** Resolves once nothing is pending or running (in one queue, or in all). */
  waitForIdle(queueName?: string, timeoutMs = 30_000): Promise<void> {
    if (this.isIdle(queueName)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const settle = (error?: Error): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = (): void => {
        if (this.isIdle(queueName)) settle();
      };
      // A real-time bound: with a ManualClock nothing moves unless the test moves it.
      const what = queueName ?? 'queues';
      const timer = setTimeout(
        () => settle(new Error(`Cloud Tasks emulator: ${what} not idle after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.idleWaiters.set(check, settle);
    });
  }

  stop(): void {
    for (const settle of [...this.idleWaiters.values()]) {
      settle(new Error('Cloud Tasks emulator stopped'));
    }
    this.dispatcher.stop();
    for (const queue of this.queues.values()) this.dispatcher.forget(queue);
    this.sender.close();
  }

  // --- Internals --------------------------------------------------------------------------

  private finish(queue: QueueState, task: TaskRecord): void {
    queue.remove(task.name);
    this.reservations.reserve(task.name, this.now());
  }

  private changed(): void {
    for (const check of [...this.idleWaiters.keys()]) check();
  }

  private setState(name: string | undefined, state: 'RUNNING' | 'PAUSED'): PQueue {
    const queue = this.queue(name);
    queue.config = { ...queue.config, state };
    this.dispatcher.pump(queue);
    return queueConfigToProto(queue.config);
  }

  private queue(name: string | undefined, missing: () => ApiError = queueMissing): QueueState {
    checkResourceProject(name);
    parseQueueName(name);
    const queue = this.queues.get(name ?? '');
    if (queue === undefined) throw missing();
    return queue;
  }

  private task(
    name: string | undefined,
    missing: (name: string) => ApiError = entityNotFound,
  ): { queue: QueueState; task: TaskRecord } {
    checkResourceProject(name);
    const parsed = parseTaskName(name);
    const queue = this.queues.get(parsed.queue);
    const task = queue?.tasks.get(name ?? '');
    if (queue === undefined || task === undefined) throw missing(name ?? '');
    return { queue, task };
  }

  private now(): number {
    return this.options.clock.now();
  }
}

function parseStateFilter(filter: string): string | undefined {
  if (filter.trim() === '') return undefined;
  const match = /^\s*state\s*[:=]\s*(RUNNING|PAUSED|DISABLED)\s*$/.exec(filter);
  if (match === null)
    throw invalid(`Unsupported filter "${filter}"; only "state: <STATE>" is supported.`);
  return match[1];
}

/** Offset paging with opaque tokens, bounded by the method's maximum page size. */
function paginate<T>(
  all: T[],
  page: Page,
  maxPageSize: number,
): { items: T[]; nextPageToken?: string } {
  const size = page.pageSize ?? 0;
  if (size < 0) throw invalid('page_size must not be negative.');
  const limit = size === 0 ? maxPageSize : Math.min(size, maxPageSize);
  let offset = 0;
  if (page.pageToken) {
    const match = /^o:(\d+)$/.exec(Buffer.from(page.pageToken, 'base64url').toString());
    if (match === null) throw invalid('Invalid page_token.');
    offset = Number(match[1]);
  }
  const end = offset + limit;
  const items = all.slice(offset, end);
  // Like the service, the last page carries no token at all.
  return end < all.length
    ? { items, nextPageToken: Buffer.from(`o:${end}`).toString('base64url') }
    : { items };
}
