import { z } from 'zod';
import { bigQueryCost, DEFAULT_PRICE_PER_TIB_USD } from '../../domain/cost';
import { PermanentError } from '../../domain/errors';
import type { Cost } from '../../domain/model';
import type { RecordSink } from '../../ports/record-store';
import type { TableLeases } from '../../ports/table-lease';
import type { Warehouse, WarehouseJob, WarehouseQuery } from '../../ports/warehouse';
import { abortReason, type ExecutorContext, type ExecutorOutcome } from '../contract';

/** What the BigQuery executors share: the warehouse, prices, and how long they wait. */
export interface BigQueryExecutorOptions {
  warehouse: Warehouse;
  /** The project of tables named as `dataset.table`. */
  defaultProjectId: string;
  /** On-demand price; default 6.25 USD per TiB. */
  pricePerTiB?: number;
  /** When a `waiting` job is polled next. Default 30 s. */
  pollIntervalSeconds?: number;
  /** How long `run` waits for a job before answering `waiting`. Default 2000 ms. */
  quickWaitMs?: number;
  /** Where `bigquery.export` keeps the rows it collects (the records package). */
  records: RecordSink;
  /** The time partition lookbacks count back from. Default: the system clock. */
  now?: () => Date;
  /** One mutating statement per table at a time (src/ports/table-lease.ts); none: no limit. */
  leases?: TableLeases;
  /**
   * How long a table lease lasts unless extended (default 120 s; a running statement extends it
   * at each poll); a killed run frees its table after it.
   */
  leaseSeconds?: number;
  /** A batch's statement carries at most this many bytes of subjects' values (default 8 MiB). */
  batchParameterBytes?: number;
}

export interface Settings {
  warehouse: Warehouse;
  defaultProjectId: string;
  price: number;
  pollAfterSeconds: number;
  quickWaitMs: number;
  records: RecordSink;
  now: () => Date;
  leases: TableLeases | undefined;
  leaseSeconds: number;
  batchParameterBytes: number | undefined;
}

export function settingsOf(options: BigQueryExecutorOptions): Settings {
  return {
    warehouse: options.warehouse,
    defaultProjectId: options.defaultProjectId,
    price: options.pricePerTiB ?? DEFAULT_PRICE_PER_TIB_USD,
    pollAfterSeconds: options.pollIntervalSeconds ?? 30,
    quickWaitMs: options.quickWaitMs ?? 2000,
    records: options.records,
    now: options.now ?? (() => new Date()),
    leases: options.leases,
    leaseSeconds: options.leaseSeconds ?? 120,
    batchParameterBytes: options.batchParameterBytes,
  };
}

/**
 * When a statement that found its table's lease held looks again: 3 to 8 s, spread at random so
 * that many waiting on one table do not all ask at once.
 */
export function leaseWaitSeconds(): number {
  return 3 + Math.floor(Math.random() * 6);
}

/**
 * The table lease as the flows use it: held by `request/task` (or `batch/<id>`) while its change
 * runs (and a while longer: it expires, so a killed run frees the table). Taking it never throws:
 * a store that does not answer counts as the lease being held (the caller waits and asks again),
 * and what the unanswered call may still write is given back. Without leases configured (unit
 * tests), every statement may run.
 */
export function tableLease(s: Settings) {
  const holderOf = (who: string | ExecutorContext<unknown>) =>
    typeof who === 'string' ? who : `${who.requestId}/${who.taskId}`;
  const give = async (table: string, who: string | ExecutorContext<unknown>): Promise<void> => {
    if (s.leases === undefined) return;
    await s.leases.release(table, holderOf(who));
  };
  return {
    take: async (table: string, who: string | ExecutorContext<unknown>): Promise<boolean> => {
      if (s.leases === undefined) return true;
      try {
        return await s.leases.acquire(table, holderOf(who), s.leaseSeconds);
      } catch {
        // The transaction may still commit after the deadline: give back what it might take.
        setTimeout(() => void give(table, who).catch(() => undefined), 1000).unref();
        return false;
      }
    },
    give,
  };
}

const FIRST_CHECK_MS = 100;
const MAX_CHECK_INTERVAL_MS = 2000;

/** A query job of `sql` under the task's cap, labelled for the billing export. */
export function queryOf(
  ctx: ExecutorContext<{ maxBytesBilled?: number | undefined }>,
  sql: string,
  params: WarehouseQuery['params'],
): WarehouseQuery {
  const cap = ctx.config.maxBytesBilled;
  return {
    sql,
    params,
    ...(cap === undefined ? {} : { maximumBytesBilled: cap }),
    labels: jobLabels(ctx),
  };
}

/**
 * Checks on a job until it is done, `limitMs` has passed, or the signal fires; returns the last
 * state seen. Checks start fast (short jobs finish in well under a second) and slow down.
 */
export async function waitForJob(
  warehouse: Warehouse,
  job: WarehouseJob,
  signal: AbortSignal,
  limitMs: number,
): Promise<WarehouseJob> {
  const deadline = Date.now() + limitMs;
  let interval = FIRST_CHECK_MS;
  let current = job;
  while (!current.done && !signal.aborted) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    await pause(Math.min(interval, left), signal);
    if (signal.aborted) break;
    current = await warehouse.getJob(current.jobId, current.location);
    interval = Math.min(interval * 2, MAX_CHECK_INTERVAL_MS);
  }
  return current;
}

/** Runs a one-row COUNT query to the end and reads its number. */
export async function countRows(
  warehouse: Warehouse,
  query: WarehouseQuery,
  alias: string,
  signal: AbortSignal,
): Promise<{ count: number; job: WarehouseJob }> {
  const started = await warehouse.startQuery(query);
  const job = await waitForJob(warehouse, started, signal, Infinity);
  if (!job.done) throw abortReason(signal);
  return { count: await readCount(warehouse, job, alias), job };
}

export async function readCount(
  warehouse: Warehouse,
  job: WarehouseJob,
  alias: string,
): Promise<number> {
  const page = await warehouse.getRows(job.jobId, job.location, { maxResults: 1 });
  return Number(page.rows[0]?.[alias] ?? 0);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Parses a handle this executor wrote, or refuses it as permanent. */
export function parseHandle<T>(handle: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(handle);
  } catch {
    parsed = undefined;
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    throw new PermanentError(
      `not a BigQuery job handle: ${handle.slice(0, 200)}`,
      'bigquery.bad_handle',
    );
  }
  return result.data;
}

/** Labels show up in the billing export, so costs can be traced to a request and a task. */
function jobLabels(ctx: ExecutorContext<unknown>): Record<string, string> {
  const label = (value: string) =>
    value
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, '_')
      .slice(0, 63);
  return { 'dsr-request': label(ctx.requestId), 'dsr-task': label(ctx.taskId) };
}

/** `not_found` when nothing matched: the subject has no rows there, which counts as success. */
export function outcomeFor(matched: number): ExecutorOutcome {
  return matched === 0 ? 'not_found' : 'succeeded';
}

export function rows(n: number): string {
  return `${n} ${n === 1 ? 'row' : 'rows'}`;
}

export function costOf(bytesBilled: number, price: number): Cost {
  return bigQueryCost(bytesBilled, price);
}

export function describeCost(cost: Cost): string {
  const mib = cost.bytesBilled / 2 ** 20;
  const usd = cost.usd.toFixed(9).replace(/\.?0+$/, '');
  return `${Number.isInteger(mib) ? mib : mib.toFixed(2)} MiB billed, $${usd}`;
}
