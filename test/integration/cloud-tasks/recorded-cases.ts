/**
 * How to reproduce each error case recorded from the real Cloud Tasks service
 * (test/fixtures/cloud-tasks/service-errors.golden.json): the requests that set the stage, and the
 * one call whose answer was recorded. A call is data (an RPC and its request), so the same case
 * runs through the official client over gRPC and through the REST surface.
 */
import type { CloudTasksClient } from '@google-cloud/tasks';
import { LOCATION_PATH, queuePath } from './fixture';

export type Rpc =
  | 'CreateQueue'
  | 'GetQueue'
  | 'DeleteQueue'
  | 'PauseQueue'
  | 'ResumeQueue'
  | 'PurgeQueue'
  | 'CreateTask'
  | 'GetTask'
  | 'DeleteTask'
  | 'RunTask';

export interface Call {
  rpc: Rpc;
  request: Record<string, unknown>;
}

export interface RecordedCase {
  /** What the stage needs: the queue, and whether it was deleted again or holds a task. */
  setup: Array<'queue' | 'pause' | 'task' | 'delete-task' | 'delete-queue'>;
  invoke: Call;
  /** Why the case cannot be expressed over REST, if it cannot. */
  notOverRest?: string;
}

/** The identifiers one run of a case uses; `queueId` differs per case and transport. */
export interface CaseParams {
  queue: string;
  task: string;
}

export const params = (queueId: string): CaseParams => ({
  queue: queuePath(queueId),
  task: `${queuePath(queueId)}/tasks/recorded-task`,
});

/** The recordings' setup task: a minimal HTTP task. */
const httpTask = (name: string, url = 'https://example.com/') => ({ name, httpRequest: { url } });

const createTaskWithUrl = (url: string) => (p: CaseParams) => ({
  setup: ['queue', 'pause'] as RecordedCase['setup'],
  invoke: { rpc: 'CreateTask' as const, request: { parent: p.queue, task: httpTask(p.task, url) } },
});

export const RECORDED_CASES: Record<string, (p: CaseParams) => RecordedCase> = {
  'queue/create/already-exists': (p) => ({
    setup: ['queue'],
    invoke: { rpc: 'CreateQueue', request: { parent: LOCATION_PATH, queue: { name: p.queue } } },
  }),
  'queue/create/invalid-name': () => ({
    setup: [],
    invoke: {
      rpc: 'CreateQueue',
      request: { parent: LOCATION_PATH, queue: { name: 'not-a-valid-queue-name' } },
    },
  }),
  'queue/create/invalid-parent': (p) => ({
    setup: [],
    invoke: {
      rpc: 'CreateQueue',
      request: { parent: 'not-a-valid-parent', queue: { name: p.queue } },
    },
    notOverRest: 'the parent is a path segment of the REST URL, and this one matches no route',
  }),
  'queue/create/recently-deleted': (p) => ({
    setup: ['queue', 'delete-queue'],
    invoke: { rpc: 'CreateQueue', request: { parent: LOCATION_PATH, queue: { name: p.queue } } },
  }),
  'queue/delete/not-found': (p) => ({
    setup: [],
    invoke: { rpc: 'DeleteQueue', request: { name: p.queue } },
  }),
  'queue/get/not-found': (p) => ({
    setup: [],
    invoke: { rpc: 'GetQueue', request: { name: p.queue } },
  }),
  'queue/get/recently-deleted': (p) => ({
    setup: ['queue', 'delete-queue'],
    invoke: { rpc: 'GetQueue', request: { name: p.queue } },
  }),
  'queue/pause/not-found': (p) => ({
    setup: [],
    invoke: { rpc: 'PauseQueue', request: { name: p.queue } },
  }),
  'queue/purge/not-found': (p) => ({
    setup: [],
    invoke: { rpc: 'PurgeQueue', request: { name: p.queue } },
  }),
  'queue/resume/not-found': (p) => ({
    setup: [],
    invoke: { rpc: 'ResumeQueue', request: { name: p.queue } },
  }),
  'task/create/already-exists': (p) => ({
    setup: ['queue', 'pause', 'task'],
    invoke: { rpc: 'CreateTask', request: { parent: p.queue, task: httpTask(p.task) } },
  }),
  'task/create/invalid-name': (p) => ({
    setup: ['queue', 'pause'],
    invoke: {
      rpc: 'CreateTask',
      request: { parent: p.queue, task: httpTask(`${p.queue}/tasks/not a valid id`) },
    },
  }),
  // The queue is paused so that the accepted task is never sent to example.com.
  'task/create/invalid-url-bad-escape': createTaskWithUrl('http://example.com/%zz'),
  'task/create/invalid-url-empty': createTaskWithUrl(''),
  'task/create/invalid-url-no-scheme': createTaskWithUrl('example.com/path'),
  'task/create/invalid-url-non-http-scheme': createTaskWithUrl('ftp://example.com/'),
  'task/create/queue-mismatch': (p) => ({
    setup: ['queue', 'pause'],
    invoke: {
      rpc: 'CreateTask',
      request: { parent: p.queue, task: httpTask(`${p.queue}-other/tasks/recorded-task`) },
    },
  }),
  'task/create/queue-not-found': (p) => ({
    setup: [],
    invoke: { rpc: 'CreateTask', request: { parent: p.queue, task: httpTask(p.task) } },
  }),
  'task/create/queue-recently-deleted': (p) => ({
    setup: ['queue', 'delete-queue'],
    invoke: { rpc: 'CreateTask', request: { parent: p.queue, task: httpTask(p.task) } },
  }),
  'task/delete/not-found': (p) => ({
    setup: ['queue'],
    invoke: { rpc: 'DeleteTask', request: { name: p.task } },
  }),
  'task/get/not-found': (p) => ({
    setup: ['queue'],
    invoke: { rpc: 'GetTask', request: { name: p.task } },
  }),
  'task/get/recently-deleted': (p) => ({
    setup: ['queue', 'pause', 'task', 'delete-task'],
    invoke: { rpc: 'GetTask', request: { name: p.task } },
  }),
  'task/run/not-found': (p) => ({
    setup: ['queue'],
    invoke: { rpc: 'RunTask', request: { name: p.task } },
  }),
};

/** Sets the stage through the official client. */
export async function runSetup(
  client: CloudTasksClient,
  p: CaseParams,
  steps: RecordedCase['setup'],
): Promise<void> {
  for (const step of steps) {
    if (step === 'queue')
      await client.createQueue({ parent: LOCATION_PATH, queue: { name: p.queue } });
    if (step === 'pause') await client.pauseQueue({ name: p.queue });
    if (step === 'task') await client.createTask({ parent: p.queue, task: httpTask(p.task) });
    if (step === 'delete-task') await client.deleteTask({ name: p.task });
    if (step === 'delete-queue') await client.deleteQueue({ name: p.queue });
  }
}

/** The call through the official client (gRPC). */
export function callGrpc(client: CloudTasksClient, { rpc, request }: Call): Promise<unknown> {
  const method = `${rpc.charAt(0).toLowerCase()}${rpc.slice(1)}`;
  const fn = (client as unknown as Record<string, (r: unknown) => Promise<unknown>>)[method];
  if (fn === undefined) throw new Error(`no client method ${method}`);
  return fn.call(client, request);
}

/** The same call over REST: the google.api.http binding of each RPC. */
export function restRequest({ rpc, request }: Call): {
  method: string;
  path: string;
  body?: unknown;
} {
  const text = (field: string): string => {
    const value = request[field];
    return typeof value === 'string' ? value : '';
  };
  const name = text('name');
  const parent = text('parent');
  switch (rpc) {
    case 'CreateQueue':
      return { method: 'POST', path: `/v2/${parent}/queues`, body: request['queue'] };
    case 'CreateTask':
      return { method: 'POST', path: `/v2/${parent}/tasks`, body: { task: request['task'] } };
    case 'GetQueue':
    case 'GetTask':
      return { method: 'GET', path: `/v2/${name}` };
    case 'DeleteQueue':
    case 'DeleteTask':
      return { method: 'DELETE', path: `/v2/${name}` };
    case 'PauseQueue':
      return { method: 'POST', path: `/v2/${name}:pause`, body: {} };
    case 'ResumeQueue':
      return { method: 'POST', path: `/v2/${name}:resume`, body: {} };
    case 'PurgeQueue':
      return { method: 'POST', path: `/v2/${name}:purge`, body: {} };
    case 'RunTask':
      return { method: 'POST', path: `/v2/${name}:run`, body: {} };
  }
}
