import { z, type ZodType, type ZodTypeDef } from 'zod';
import { RetryableError } from '../../domain/errors';
import type { TableInfo, WarehouseJob } from '../../ports/warehouse';
import {
  defineExecutor,
  withSpend,
  type ConfigIssue,
  type Executor,
  type ExecutorContext,
  type ExecutorResult,
} from '../contract';
import { mutationBatching, type BatchableConfig } from './batch-flush';
import { checkTargets } from './checks';
import { auditMutation } from './mutation-audit';
import {
  costOf,
  describeCost,
  outcomeFor,
  leaseWaitSeconds,
  parseHandle,
  queryOf,
  readCount,
  rows,
  tableLease,
  waitForJob,
  type Settings,
} from './jobs';
import { partitionFilter, REMAINING_ALIAS, type PartitionFilter, type QualifiedTable } from './sql';
import {
  resolveTargets,
  subjectMatch,
  type SubjectMatch,
  type TargetConfig,
  type Targets,
} from './targets';

/**
 * The flow of the executors that change data (bigquery.delete, bigquery.nullify): for each
 * target table (one, or each shard of a date-sharded set) run the statement, then count what is
 * left of the subject by the same match rule. A count above zero fails the attempt as retryable:
 * the proof of erasure is the count, not the statement. Progress is kept in the handle, so a
 * poll picks up the job it left and a retry skips the shards already done.
 */

export interface MutationSpec<C extends TargetConfig> {
  name: string;
  description: string;
  configSchema: ZodType<C, ZodTypeDef, unknown>;
  /** The statement that changes one table. */
  change(
    config: C,
    table: QualifiedTable,
    match: SubjectMatch,
    info: TableInfo | undefined,
    filter?: PartitionFilter,
  ): string;
  /** Counts the subject's rows the change should have left none of (as `remaining_rows`). */
  remaining(
    config: C,
    table: QualifiedTable,
    match: SubjectMatch,
    info: TableInfo | undefined,
    filter?: PartitionFilter,
  ): string;
  /** For a batch's grouped count of what is left: rows that still hold what was changed. */
  held?(config: C, info: TableInfo | undefined): string;
  /** What was done, in words: `deleted 3 rows from p.d.t`. */
  did(rowsText: string, where: string, config: C): string;
  /** Audit wording: `would delete 3 rows from p.d.t`. */
  wouldDo(rowsText: string, table: string): string;
  /** Schema checks of the config against a target table, at registration. */
  check(config: C, info: TableInfo): ConfigIssue[];
}

const doneSchema = z.object({
  table: z.string(),
  rows: z.number(),
  jobId: z.string(),
  verifyJobId: z.string(),
});
type Done = z.infer<typeof doneSchema>;

const currentSchema = z.object({
  table: z.string().optional(),
  phase: z.enum(['change', 'verify']),
  jobId: z.string().min(1),
  location: z.string().min(1),
  rows: z.number().optional(),
  changeJobId: z.string().optional(),
});

type Current = z.infer<typeof currentSchema>;

/** Progress through the targets; a handle from before shards (`{ jobId, location }`) still reads. */
const handleSchema = z.union([
  z.object({ v: z.literal(2), done: z.array(doneSchema), current: currentSchema.optional() }),
  z.object({ jobId: z.string().min(1), location: z.string().min(1) }).transform(fromOldHandle),
]);

function fromOldHandle(old: { jobId: string; location: string }): {
  v: 2;
  done: Done[];
  current: Current;
} {
  return { v: 2, done: [], current: { phase: 'change', ...old } };
}
type Progress = z.infer<typeof handleSchema>;

/** How long one call keeps starting statements before it hands over to a poll. */
const STEP_BUDGET_MS = 20_000;

export function defineMutationExecutor<C extends BatchableConfig>(
  spec: MutationSpec<C>,
  s: Settings,
): Executor {
  const { warehouse } = s;
  const lease = tableLease(s);

  const advance = async (
    ctx: ExecutorContext<C>,
    progress: Progress,
    polled: boolean,
  ): Promise<ExecutorResult> => {
    const match = subjectMatch(ctx);
    const targets = await resolveTargets(warehouse, ctx.config, s.defaultProjectId);
    const infos = new Map<string, TableInfo | undefined>();
    const tableInfo = async (table: string): Promise<TableInfo | undefined> => {
      if (!infos.has(table)) {
        const [projectId = '', datasetId = '', tableId = ''] = table.split('.');
        infos.set(table, await warehouse.getTable({ projectId, datasetId, tableId }));
      }
      return infos.get(table);
    };
    // One time for the whole call: the change and its count share one partition cutoff.
    const now = s.now();
    const filterFor = async (table: QualifiedTable) =>
      partitionFilter(await tableInfo(table), ctx.config.partitionLookbackDays, now);
    const params = async (table: QualifiedTable) => ({
      ...match.params,
      ...(await filterFor(table))?.params,
    });

    // Jobs seen finishing in this call: their cost is this run's.
    let billed = 0;
    let verifyBilled = 0;
    const verifyJobs: string[] = [];
    const started = Date.now();
    const spent = () => ({
      cost: costOf(billed, s.price),
      evidence: {
        jobIds: jobIdsOf(progress),
        touched: [
          ...progress.done.map((d) => d.table),
          ...(progress.current?.table === undefined ? [] : [progress.current.table]),
        ],
        verification: verification(),
      },
    });
    const verification = () => ({ jobIds: verifyJobs, ...costOf(verifyBilled, s.price) });

    let job: WarehouseJob | undefined;
    if (polled && progress.current !== undefined) {
      job = await warehouse.getJob(progress.current.jobId, progress.current.location);
    }
    for (;;) {
      let current = progress.current;
      if (current === undefined) {
        const next = targets.tables.find((table) => !progress.done.some((d) => d.table === table));
        if (next === undefined) return finished(ctx, progress, targets, billed, verification());
        if (Date.now() - started > STEP_BUDGET_MS)
          return waiting(progress, billed, 1, verification());
        // One mutating statement per table across the pipeline: wait while another holds it.
        if (!(await lease.take(next, ctx))) {
          return waiting(progress, billed, leaseWaitSeconds(), verification(), next);
        }
        try {
          const info = await tableInfo(next);
          const filter = await filterFor(next);
          const sql = spec.change(ctx.config, next, match, info, filter);
          job = await warehouse.startQuery(queryOf(ctx, sql, await params(next)));
        } catch (error) {
          await lease.give(next, ctx);
          throw error;
        }
        current = { table: next, phase: 'change', jobId: job.jobId, location: job.location };
        progress.current = current;
      }
      const table = (current.table ?? targets.tables[0] ?? targets.source) as QualifiedTable;
      if (current.phase === 'change') await lease.take(table, ctx); // extends it while it runs
      job ??= await warehouse.getJob(current.jobId, current.location);
      try {
        job = await waitForJob(warehouse, job, ctx.signal, s.quickWaitMs);
      } catch (error) {
        // The statement failed: the table is free for the next one at once.
        if (current.phase === 'change') await lease.give(table, ctx);
        throw error;
      }
      if (!job.done) return waiting(progress, billed, s.pollAfterSeconds, verification());
      billed += job.bytesBilled;
      if (current.phase === 'change') await lease.give(table, ctx);
      if (current.phase === 'change' && (job.affectedRows ?? 0) === 0) {
        // The change matched none of the subject's rows by this very rule: none remain, and a
        // count would only bill another 10 MiB to say so.
        progress.done.push({ table, rows: 0, jobId: job.jobId, verifyJobId: '' });
        progress.current = undefined;
        job = undefined;
        continue;
      }
      if (current.phase === 'change') {
        const changed = job.affectedRows ?? 0;
        const info = await tableInfo(table);
        const filter = await filterFor(table);
        const sql = spec.remaining(ctx.config, table, match, info, filter);
        const changeJobId = job.jobId;
        job = await warehouse.startQuery(queryOf(ctx, sql, await params(table)));
        progress.current = {
          table,
          phase: 'verify',
          jobId: job.jobId,
          location: job.location,
          rows: changed,
          changeJobId,
        };
        continue;
      }
      verifyBilled += job.bytesBilled;
      verifyJobs.push(job.jobId);
      const remaining = await readCount(warehouse, job, REMAINING_ALIAS);
      if (remaining > 0) {
        throw withSpend(
          new RetryableError(
            `${rows(remaining)} of the subject remain in ${table} after the change (verification job ${job.jobId}); the next attempt runs it again`,
            { code: 'bigquery.rows_remain' },
          ),
          { ...spent(), evidence: { ...spent().evidence, remainingRows: remaining } },
        );
      }
      progress.done.push({
        table,
        rows: current.rows ?? 0,
        jobId: current.changeJobId ?? '',
        verifyJobId: job.jobId,
      });
      progress.current = undefined;
      job = undefined;
    }
  };

  const waiting = (
    progress: Progress,
    billed: number,
    pollAfterSeconds: number,
    verification: Verification,
    blockedOn?: string,
  ): ExecutorResult => {
    const cost = costOf(billed, s.price);
    const doing = progress.current;
    return {
      outcome: 'waiting',
      message:
        (blockedOn !== undefined
          ? `another statement is changing ${blockedOn} (its table lease is held); waiting for it`
          : doing === undefined
            ? `${progress.done.length} tables done`
            : `BigQuery job ${doing.jobId} (${doing.phase === 'change' ? 'the change' : 'its verification'}) on ${doing.table ?? 'the table'} is still running`) +
        `; next check in ${pollAfterSeconds} s (${describeCost(cost)} so far in this step)`,
      cost,
      handle: JSON.stringify(progress),
      pollAfterSeconds,
      evidence: {
        touched: [
          ...progress.done.map((d) => d.table),
          ...(doing?.table === undefined ? [] : [doing.table]),
        ],
        jobIds: jobIdsOf(progress),
        verification,
      },
    };
  };

  const finished = (
    ctx: ExecutorContext<C>,
    progress: Progress,
    targets: Targets,
    billed: number,
    verification: Verification,
  ): ExecutorResult => {
    const total = progress.done.reduce((sum, d) => sum + d.rows, 0);
    const cost = costOf(billed, s.price);
    const where = targets.sharded
      ? `${progress.done.length} shards of ${targets.source}`
      : targets.source;
    const what =
      targets.tables.length === 0
        ? `no shards of ${targets.source}${ctx.config.shards === undefined ? '' : ' in the days given'}`
        : total === 0
          ? `no rows for the subject in ${where}`
          : `${spec.did(rows(total), where, ctx.config)}; verified: none of the subject's rows remain`;
    const jobs =
      progress.done.length === 1
        ? ` (job ${progress.done[0]?.jobId ?? ''}, ${describeCost(cost)})`
        : ` (${describeCost(cost)} in this step)`;
    return {
      outcome: outcomeFor(total),
      message: `${what}${progress.done.length === 0 ? '' : jobs}`,
      cost,
      affectedRows: total,
      evidence: {
        touched: progress.done.map((d) => d.table),
        jobIds: jobIdsOf(progress),
        remainingRows: 0,
        verification,
      },
      output: {
        tables: progress.done.map(({ table, rows: n }) => ({
          table,
          affectedRows: n,
          remainingRows: 0,
        })),
      },
    };
  };

  const batch = mutationBatching(spec, s);
  return defineExecutor<C>({
    name: spec.name,
    batch,
    description: spec.description,
    configSchema: spec.configSchema,
    jobTypes: () => ['deletion'],
    requiredIdentifiers: (config) => [config.identifier],
    checkConfig: (config) =>
      checkTargets(
        warehouse,
        config,
        s.defaultProjectId,
        s.now(),
        (info) => spec.check(config, info),
        (table, match, info, filter) => spec.change(config, table, match, info, filter),
      ),
    async run(ctx) {
      if (ctx.dryRun) return auditMutation(spec, s, batch, ctx);
      const resumed = ctx.resume === undefined ? undefined : tryHandle(ctx.resume);
      // A retry keeps the tables already done; the statement that failed runs again.
      return advance(ctx, { v: 2, done: resumed?.done ?? [] }, false);
    },
    async poll(ctx) {
      return advance(ctx, parseHandle(ctx.handle, handleSchema), true);
    },
  });
}

/** The verification queries' job ids and cost, as the run's evidence gives them. */
interface Verification {
  jobIds: string[];
  bytesBilled: number;
  usd: number;
}

function jobIdsOf(progress: Progress): string[] {
  return progress.done
    .flatMap((d) => [d.jobId, d.verifyJobId])
    .concat(progress.current === undefined ? [] : [progress.current.jobId])
    .filter((id) => id !== '');
}

function tryHandle(handle: string): Progress | undefined {
  try {
    return parseHandle(handle, handleSchema);
  } catch {
    return undefined;
  }
}
