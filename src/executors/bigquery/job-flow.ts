import { z, type ZodType, type ZodTypeDef } from 'zod';
import { bigQueryCost, DEFAULT_PRICE_PER_TIB_USD, estimateBytesBilled } from '../../domain/cost';
import { PermanentError } from '../../domain/errors';
import { zeroCost, type Cost, type RequestType } from '../../domain/model';
import { identifierOf } from '../../domain/subject';
import type { RecordSink } from '../../ports/record-store';
import type { Warehouse, WarehouseJob, WarehouseQuery } from '../../ports/warehouse';
import {
  abortReason,
  defineExecutor,
  type AuditEstimate,
  type Executor,
  type ExecutorContext,
  type ExecutorOutcome,
  type ExecutorResult,
} from '../contract';
import {
  countStatement,
  qualifyTable,
  SUBJECT_PARAM,
  type QualifiedTable,
  type Statement,
} from './sql';

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
}

/** What every BigQuery task's config has. */
export interface BaseConfig {
  table: string;
  identifier: string;
  maxBytesBilled?: number | undefined;
}

/** What one BigQuery executor adds to the shared flow. */
export interface BigQueryExecutorSpec<C extends BaseConfig> {
  name: string;
  description: string;
  /** `records` for the export (a SELECT), `deletion` for DELETE and UPDATE. */
  jobType: RequestType;
  configSchema: ZodType<C, ZodTypeDef, unknown>;
  /** The statement to run, and the column that finds the subject's rows. */
  plan(config: C, table: QualifiedTable): { statement: Statement; whereColumn: string };
  /** Audit wording, e.g. `would delete 3 rows from p.d.t`. */
  wouldDo(rows: string, table: QualifiedTable): string;
  /** The result of a job that finished without error. */
  finish(
    job: FinishedJob<C>,
  ): Promise<Pick<ExecutorResult, 'outcome' | 'message' | 'affectedRows' | 'output'>>;
}

export interface FinishedJob<C> {
  job: WarehouseJob;
  config: C;
  table: QualifiedTable;
  warehouse: Warehouse;
  records: RecordSink;
  signal: AbortSignal;
  requestId: string;
  taskId: string;
}

const DEFAULT_POLL_INTERVAL_SECONDS = 30;
const DEFAULT_QUICK_WAIT_MS = 2000;
const FIRST_CHECK_MS = 100;
const MAX_CHECK_INTERVAL_MS = 2000;

const handleSchema = z.object({ jobId: z.string().min(1), location: z.string().min(1) });

/**
 * The flow every BigQuery executor shares: audit (a COUNT plus a dry run), or start the job, wait
 * briefly, and answer `waiting` with a handle when it is still running; `poll` picks it up again.
 */
export function defineBigQueryExecutor<C extends BaseConfig>(
  spec: BigQueryExecutorSpec<C>,
  options: BigQueryExecutorOptions,
): Executor {
  const { warehouse } = options;
  const price = options.pricePerTiB ?? DEFAULT_PRICE_PER_TIB_USD;
  const pollAfterSeconds = options.pollIntervalSeconds ?? DEFAULT_POLL_INTERVAL_SECONDS;
  const quickWaitMs = options.quickWaitMs ?? DEFAULT_QUICK_WAIT_MS;

  const prepare = (ctx: ExecutorContext<C>) => {
    const table = qualifyTable(ctx.config.table, options.defaultProjectId);
    const value = identifierOf(ctx.subject, ctx.config.identifier);
    if (value === undefined) {
      throw new PermanentError(
        `the subject has no ${ctx.config.identifier}, which this task needs`,
        'bigquery.identifier_missing',
      );
    }
    const { statement, whereColumn } = spec.plan(ctx.config, table);
    const { maxBytesBilled } = ctx.config;
    return {
      table,
      statement,
      whereColumn,
      maxBytesBilled,
      /** A job of `sql` over the subject's rows, under the task's cap. */
      query: (sql: string): WarehouseQuery => ({
        sql,
        params: { [SUBJECT_PARAM]: value },
        ...(maxBytesBilled === undefined ? {} : { maximumBytesBilled: maxBytesBilled }),
        labels: jobLabels(ctx),
      }),
      evidence: (jobId: string) => ({ touched: [table], jobIds: [jobId] }),
    };
  };
  type Prepared = ReturnType<typeof prepare>;

  const settled = async (
    ctx: ExecutorContext<C>,
    p: Prepared,
    job: WarehouseJob,
  ): Promise<ExecutorResult> => {
    if (!job.done) {
      return {
        outcome: 'waiting',
        message: `BigQuery job ${job.jobId} on ${p.table} is still running; next check in ${pollAfterSeconds} s`,
        cost: zeroCost(),
        handle: JSON.stringify({ jobId: job.jobId, location: job.location }),
        pollAfterSeconds,
        evidence: p.evidence(job.jobId),
      };
    }
    const cost = bigQueryCost(job.bytesBilled, price);
    const result = await spec.finish({
      job,
      config: ctx.config,
      table: p.table,
      warehouse,
      records: options.records,
      signal: ctx.signal,
      requestId: ctx.requestId,
      taskId: ctx.taskId,
    });
    return {
      ...result,
      message: `${result.message} (job ${job.jobId}, ${describeCost(cost)})`,
      cost,
      evidence: p.evidence(job.jobId),
    };
  };

  const audit = async (ctx: ExecutorContext<C>, p: Prepared): Promise<ExecutorResult> => {
    // The dry run first: it is free, and it refuses a bad statement before anything is billed.
    const { bytesProcessed } = await warehouse.estimate(p.query(p.statement.sql));
    const count = countStatement(p.table, p.whereColumn);
    const started = await warehouse.startQuery(p.query(count.sql));
    const counted = await waitForJob(warehouse, started, ctx.signal, Infinity);
    if (!counted.done) throw abortReason(ctx.signal);
    const page = await warehouse.getRows(counted.jobId, counted.location, { maxResults: 1 });
    const wouldAffectRows = Number(page.rows[0]?.[count.alias] ?? 0);
    const estimatedBytesBilled = estimateBytesBilled(bytesProcessed);
    const estimate = bigQueryCost(estimatedBytesBilled, price);
    const cost = bigQueryCost(counted.bytesBilled, price);
    const auditEstimate: AuditEstimate = {
      wouldAffectRows,
      estimatedBytesProcessed: bytesProcessed,
      estimatedBytesBilled,
      estimatedUsd: estimate.usd,
      ...(p.maxBytesBilled === undefined
        ? {}
        : {
            maxBytesBilled: p.maxBytesBilled,
            withinMaxBytesBilled: estimatedBytesBilled <= p.maxBytesBilled,
          }),
      statement: p.statement.sql,
      touched: [p.table],
    };
    return {
      outcome: 'succeeded',
      message:
        `audit: ${spec.wouldDo(rows(wouldAffectRows), p.table)}, ` +
        `estimated ${describeCost(estimate)}; the COUNT query cost ${describeCost(cost)}`,
      cost,
      output: { audit: auditEstimate },
      evidence: p.evidence(counted.jobId),
    };
  };

  return defineExecutor<C>({
    name: spec.name,
    description: spec.description,
    configSchema: spec.configSchema,
    jobTypes: () => [spec.jobType],
    requiredIdentifiers: (config) => [config.identifier],
    async run(ctx) {
      const p = prepare(ctx);
      if (ctx.dryRun) return audit(ctx, p);
      const started = await warehouse.startQuery(p.query(p.statement.sql));
      return settled(ctx, p, await waitForJob(warehouse, started, ctx.signal, quickWaitMs));
    },
    async poll(ctx) {
      const p = prepare(ctx);
      const { jobId, location } = parseHandle(ctx.handle);
      return settled(ctx, p, await warehouse.getJob(jobId, location));
    },
  });
}

/** `not_found` when nothing matched: the subject has no rows there, which counts as success. */
export function outcomeFor(matched: number): ExecutorOutcome {
  return matched === 0 ? 'not_found' : 'succeeded';
}

export function rows(n: number): string {
  return `${n} ${n === 1 ? 'row' : 'rows'}`;
}

/**
 * Checks on a job until it is done, `limitMs` has passed, or the signal fires; returns the last
 * state seen. Checks start fast (short jobs finish in well under a second) and slow down.
 */
async function waitForJob(
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

function parseHandle(handle: string): { jobId: string; location: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(handle);
  } catch {
    parsed = undefined;
  }
  const result = handleSchema.safeParse(parsed);
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

function describeCost(cost: Cost): string {
  const mib = cost.bytesBilled / 2 ** 20;
  const usd = cost.usd.toFixed(9).replace(/\.?0+$/, '');
  return `${Number.isInteger(mib) ? mib : mib.toFixed(2)} MiB billed, $${usd}`;
}
