import { lazyHandler, lazyQueue, lazyWarehouse, once } from '../../../functions/lazy';
import type { EnqueueInput, TaskQueue } from '../../../src/ports/task-queue';
import type { Warehouse } from '../../../src/ports/warehouse';

describe('once', () => {
  it('loads on the first call only, and every call shares that load', async () => {
    let loads = 0;
    const get = once(async () => ++loads);
    expect(loads).toBe(0);
    const [a, b] = await Promise.all([get(), get()]);
    expect([a, b, await get()]).toEqual([1, 1, 1]);
    expect(loads).toBe(1);
  });

  it('forgets a failed load, so the next call tries again', async () => {
    let loads = 0;
    const get = once(async () => {
      loads += 1;
      if (loads === 1) throw new Error('transient');
      return 'loaded';
    });
    await expect(get()).rejects.toThrow('transient');
    await expect(get()).resolves.toBe('loaded');
    await expect(get()).resolves.toBe('loaded');
    expect(loads).toBe(2);
  });
});

describe('lazy ports', () => {
  const input: EnqueueInput = { taskName: 't1', dispatchDeadlineSeconds: 60, body: { a: 1 } };

  it('makes the queue on the first enqueue, not before, and then reuses it', async () => {
    const made: string[] = [];
    const sent: EnqueueInput[] = [];
    const queue = lazyQueue(async (): Promise<TaskQueue> => {
      made.push('queue');
      return { enqueue: async (i) => (sent.push(i), 'created') };
    });
    expect(made).toEqual([]);
    expect(await queue.enqueue(input)).toBe('created');
    expect(await queue.enqueue({ ...input, taskName: 't2' })).toBe('created');
    expect(made).toEqual(['queue']);
    expect(sent.map((i) => i.taskName)).toEqual(['t1', 't2']);
  });

  it('passes every warehouse call, its arguments and its answer through', async () => {
    const calls: unknown[][] = [];
    const record =
      (name: string, answer: unknown) =>
      async (...args: unknown[]) => (calls.push([name, ...args]), answer);
    let made = 0;
    const warehouse = lazyWarehouse(async () => {
      made += 1;
      return {
        startQuery: record('startQuery', { jobId: 'j' }),
        getJob: record('getJob', { jobId: 'j', done: true }),
        getRows: record('getRows', { rows: [] }),
        estimate: record('estimate', { bytesProcessed: 10 }),
        getTable: record('getTable', undefined),
        listTables: record('listTables', ['t']),
      } as unknown as Warehouse;
    });
    expect(made).toBe(0);
    const table = { projectId: 'p', datasetId: 'd', tableId: 't' };
    expect(await warehouse.startQuery({ sql: 'SELECT 1', params: {} })).toEqual({ jobId: 'j' });
    expect(await warehouse.getJob('j', 'US')).toEqual({ jobId: 'j', done: true });
    expect(await warehouse.getRows('j', 'US', { maxResults: 5 })).toEqual({ rows: [] });
    expect(await warehouse.estimate({ sql: 'SELECT 2', params: {} })).toEqual({
      bytesProcessed: 10,
    });
    expect(await warehouse.getTable(table)).toBeUndefined();
    expect(await warehouse.listTables({ projectId: 'p', datasetId: 'd' }, 'ev')).toEqual(['t']);
    expect(made).toBe(1);
    expect(calls).toEqual([
      ['startQuery', { sql: 'SELECT 1', params: {} }],
      ['getJob', 'j', 'US'],
      ['getRows', 'j', 'US', { maxResults: 5 }],
      ['estimate', { sql: 'SELECT 2', params: {} }],
      ['getTable', table],
      ['listTables', { projectId: 'p', datasetId: 'd' }, 'ev'],
    ]);
  });

  it('loads an HTTP function on its first request and hands it each request', async () => {
    const seen: unknown[] = [];
    let loads = 0;
    const handler = lazyHandler(async () => {
      loads += 1;
      return (req, res) => void seen.push([req, res]);
    });
    expect(loads).toBe(0);
    const req = {} as Parameters<typeof handler>[0];
    const res = {} as Parameters<typeof handler>[1];
    await handler(req, res);
    await handler(req, res);
    expect(loads).toBe(1);
    expect(seen).toEqual([
      [req, res],
      [req, res],
    ]);
  });
});
