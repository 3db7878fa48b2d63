/**
 * Loading on first use, for cold starts: a function instance pays for a client package (its
 * module graph, its protos, its connection) only when a call needs it, and once.
 */
import type { HttpFunction } from '@google-cloud/functions-framework';
import type { TaskQueue } from '../src/ports/task-queue';
import type { Warehouse } from '../src/ports/warehouse';

/**
 * `load()` on the first call, then its promise for every call after. A load that fails is
 * forgotten, so the next call tries again (a transient failure is not kept for the instance's
 * life); calls already waiting on it see the failure.
 */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    return loading;
  };
}

/**
 * An HTTP function whose module is loaded on its first request: registering all three entry
 * points in functions/index.ts then costs each instance only the one it serves.
 */
export function lazyHandler(load: () => Promise<HttpFunction>): HttpFunction {
  const handler = once(load);
  return async (req, res) => {
    const serve = await handler();
    await serve(req, res);
  };
}

/** The TaskQueue port over a queue made on the first enqueue (the Cloud Tasks client). */
export function lazyQueue(load: () => Promise<TaskQueue>): TaskQueue {
  const queue = once(load);
  return { enqueue: async (input) => (await queue()).enqueue(input) };
}

/** The Warehouse port over a warehouse made on its first call (the BigQuery client). */
export function lazyWarehouse(load: () => Promise<Warehouse>): Warehouse {
  const warehouse = once(load);
  return {
    startQuery: async (query) => (await warehouse()).startQuery(query),
    getJob: async (jobId, location) => (await warehouse()).getJob(jobId, location),
    getRows: async (jobId, location, page) => (await warehouse()).getRows(jobId, location, page),
    estimate: async (query) => (await warehouse()).estimate(query),
    getTable: async (table) => (await warehouse()).getTable(table),
    listTables: async (dataset, prefix) => (await warehouse()).listTables(dataset, prefix),
  };
}
