import { z } from 'zod';
import { DEFAULT_BATCH, type BatchJob } from '../../domain/batch';
import { RetryableError } from '../../domain/errors';
import type { TableInfo, WarehouseJob, WarehouseQuery } from '../../ports/warehouse';
import {
  abortReason,
  type BatchFlushContext,
  type BatchFlushResult,
  type BatchSupport,
} from '../contract';
import {
  describeCost,
  costOf,
  leaseWaitSeconds,
  tableLease,
  parseHandle,
  rows,
  waitForJob,
  type Settings,
} from './jobs';
import { matchManyParams, matchRuleOf, subjectValue, type MatchRule } from './match';
import type { MutationSpec } from './mutation';
import {
  groupedCountStatement,
  MATCHED_ALIAS,
  partitionFilter,
  SUBJECT_VALUE_ALIAS,
  type QualifiedTable,
} from './sql';
import { resolveTargets, type TargetConfig } from './targets';

/**
 * A batch's flush for the executors that change data: per target table (each shard of a
 * sharded set) and per part of the subjects (a parameter list is kept under BigQuery's request
 * size), a grouped count of each subject's rows, one statement for all of them
 * (`… IN UNNEST(@subjects)`), and a grouped count of what is left, which must be nothing.
 * Progress (the parts done, their counts and jobs) is saved after each part, so a retry of the
 * flush picks up where the last one stopped.
 */

/** A batch's config: the task's, with its `batch` setting. */
export interface BatchableConfig extends TargetConfig {
  batch?: false | { maxSubjects: number; maxWaitSeconds: number } | undefined;
}

/**
 * BigQuery refuses a request over 10 MB; the subjects' values go in one parameter, so a part
 * carries at most this many bytes of them (with room for the statement and the other fields).
 */
export const PARAMETER_BYTES_PER_STATEMENT = 8 * 1024 * 1024;

const doneSchema = z.object({
  table: z.string(),
  part: z.number(),
  /** Rows each value (by its index in the batch's sorted values) matched before the change. */
  counts: z.record(z.string(), z.number()),
  affectedRows: z.number(),
});
const progressSchema = z.object({
  v: z.literal(1),
  done: z.array(doneSchema),
  jobs: z.array(
    z.object({
      jobId: z.string(),
      bytesBilled: z.number(),
      role: z.enum(['count', 'change', 'verify']),
    }),
  ),
});
type Progress = z.infer<typeof progressSchema>;

export function mutationBatching<C extends BatchableConfig>(
  spec: Pick<MutationSpec<C>, 'change' | 'held' | 'did'>,
  s: Settings,
): BatchSupport<C> {
  const { warehouse } = s;
  const lease = tableLease(s);
  const budget = s.batchParameterBytes ?? PARAMETER_BYTES_PER_STATEMENT;

  return {
    settings: (config) => (config.batch === false ? undefined : (config.batch ?? DEFAULT_BATCH)),
    shape: (config) => shapeOf(config, ['batch', 'maxBytesBilled']),
    async flush(ctx: BatchFlushContext<C>): Promise<BatchFlushResult> {
      const { config } = ctx;
      const rule: MatchRule = { ...matchRuleOf(config), many: true };
      // Each member's value as its own run would compare it; members sharing one share its rows.
      const valueOf = new Map<string, string | undefined>();
      for (const member of ctx.members) {
        valueOf.set(member.key, subjectValue(rule, member, config.identifier));
      }
      const values = [...new Set([...valueOf.values()].filter((v) => v !== undefined))].sort();
      const indexOf = new Map(values.map((v, i) => [v, i]));
      const parts = splitValues(
        values,
        config.batch ? config.batch.maxSubjects : values.length,
        budget,
      );
      const targets = await resolveTargets(warehouse, config, s.defaultProjectId);
      const progress: Progress =
        ctx.resume === undefined
          ? { v: 1, done: [], jobs: [] }
          : parseHandle(ctx.resume, progressSchema);
      const holder = `batch/${ctx.batchId}`;
      const now = s.now();
      const labels = {
        'dsr-batch': ctx.batchId.toLowerCase().slice(0, 63),
        'dsr-task': ctx.taskId
          .toLowerCase()
          .replace(/[^a-z0-9_-]/g, '_')
          .slice(0, 63),
      };
      const query = (sql: string, params: WarehouseQuery['params']): WarehouseQuery => ({
        sql,
        params,
        ...(config.maxBytesBilled === undefined
          ? {}
          : { maximumBytesBilled: config.maxBytesBilled }),
        labels,
      });
      const record = async (job: WarehouseJob, role: BatchJob['role']) => {
        const entry = { jobId: job.jobId, bytesBilled: job.bytesBilled, role };
        progress.jobs.push(entry);
        await ctx.save(JSON.stringify(progress), [entry]);
      };
      const finish = async (
        sql: string,
        params: WarehouseQuery['params'],
        role: BatchJob['role'],
      ) => {
        let job = await warehouse.startQuery(query(sql, params));
        while (!job.done) {
          if (ctx.signal.aborted) throw abortReason(ctx.signal);
          job = await waitForJob(warehouse, job, ctx.signal, (s.leaseSeconds * 1000) / 3);
          if (role === 'change' && !job.done) await lease.take(currentTable, holder);
        }
        await record(job, role);
        return job;
      };
      const grouped = async (
        sql: string,
        params: WarehouseQuery['params'],
        role: BatchJob['role'],
      ) => {
        const job = await finish(sql, params, role);
        const counts: Record<string, number> = {};
        let pageToken: string | undefined;
        do {
          const page = await warehouse.getRows(job.jobId, job.location, {
            maxResults: 10_000,
            ...(pageToken === undefined ? {} : { pageToken }),
          });
          for (const row of page.rows) {
            const value = row[SUBJECT_VALUE_ALIAS];
            const index = typeof value === 'string' ? indexOf.get(value) : undefined;
            if (index !== undefined)
              counts[index] = (counts[index] ?? 0) + Number(row[MATCHED_ALIAS] ?? 0);
          }
          pageToken = page.pageToken;
        } while (pageToken !== undefined);
        return counts;
      };
      let currentTable = '';

      for (const table of targets.tables) {
        const info = await tableInfo(table);
        const filter = partitionFilter(info, config.partitionLookbackDays, now);
        for (const [part, partValues] of parts.entries()) {
          if (progress.done.some((d) => d.table === table && d.part === part)) continue;
          const params = {
            ...matchManyParams(rule, partValues),
            ...filter?.params,
          };
          // One value: the statement's own count of rows is that subject's, so no count first.
          const single = partValues.length === 1;
          const before = single
            ? undefined
            : await grouped(groupedCountStatement(table, rule, filter), params, 'count');
          if (before !== undefined && Object.keys(before).length === 0) {
            // None of these subjects has a row here: nothing to change, nothing to verify.
            progress.done.push({ table, part, counts: {}, affectedRows: 0 });
            await ctx.save(JSON.stringify(progress), []);
            continue;
          }
          currentTable = table;
          if (!(await lease.take(table, holder))) {
            return {
              outcome: 'blocked',
              message: `another statement is changing ${table} (its table lease is held)`,
              retryAfterSeconds: leaseWaitSeconds(),
            };
          }
          let changed: WarehouseJob;
          try {
            changed = await finish(
              spec.change(config, table, { rule, params: {}, described: '' }, info, filter),
              params,
              'change',
            );
          } finally {
            await lease.give(table, holder);
          }
          const counts = before ?? singleCount(indexOf.get(partValues[0] ?? ''), changed);
          if (Object.keys(counts).length === 0) {
            // It matched nothing: by this very rule none remain, and a count would bill 10 MiB more.
            progress.done.push({ table, part, counts, affectedRows: 0 });
            await ctx.save(JSON.stringify(progress), []);
            continue;
          }
          const after = await grouped(
            groupedCountStatement(table, rule, filter, spec.held?.(config, info)),
            params,
            'verify',
          );
          const left = Object.values(after).reduce((sum, n) => sum + n, 0);
          if (left > 0) {
            throw new RetryableError(
              `${rows(left)} of ${Object.keys(after).length} of the batch's subjects remain in ${table} after the change (verification job ${progress.jobs.at(-1)?.jobId ?? ''}); the flush runs again`,
              { code: 'bigquery.rows_remain' },
            );
          }
          progress.done.push({
            table,
            part,
            counts,
            affectedRows: changed.affectedRows ?? 0,
          });
          await ctx.save(JSON.stringify(progress), []);
        }
      }

      const members = new Map<string, { affectedRows: number; remainingRows: number }>();
      for (const member of ctx.members) {
        const value = valueOf.get(member.key);
        const index = value === undefined ? undefined : indexOf.get(value);
        const affectedRows =
          index === undefined
            ? 0
            : progress.done.reduce((sum, d) => sum + (d.counts[index] ?? 0), 0);
        members.set(member.key, { affectedRows, remainingRows: 0 });
      }
      const affectedRows = progress.done.reduce((sum, d) => sum + d.affectedRows, 0);
      const statements = progress.jobs.filter((j) => j.role === 'change').length;
      const billed = progress.jobs.reduce((sum, j) => sum + j.bytesBilled, 0);
      const where = targets.sharded
        ? `${targets.tables.length} shards of ${targets.source}`
        : targets.source;
      return {
        outcome: 'done',
        message:
          (affectedRows === 0
            ? `no rows of the batch's ${values.length} subjects in ${where}`
            : `${spec.did(rows(affectedRows), where, config)} for ${values.length} subjects in ${statements} ${statements === 1 ? 'statement' : 'statements'}; verified: none of their rows remain`) +
          ` (${describeCost(costOf(billed, s.price))} in all)`,
        members,
        jobs: progress.jobs,
        touched: targets.tables,
        affectedRows,
        statements,
      };
    },
  };

  async function tableInfo(table: QualifiedTable): Promise<TableInfo | undefined> {
    const [projectId = '', datasetId = '', tableId = ''] = table.split('.');
    return warehouse.getTable({ projectId, datasetId, tableId });
  }
}

/**
 * What a config's statement depends on, as stable text: the config without the fields that do
 * not change the statement (`omit`), keys sorted.
 */
export function shapeOf(config: object, omit: readonly string[]): string {
  const shape = Object.fromEntries(
    Object.entries(config)
      .filter(([key]) => !omit.includes(key))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  return JSON.stringify(shape);
}

/** A one-value part's count: the rows its statement changed. */
function singleCount(index: number | undefined, job: WarehouseJob): Record<string, number> {
  const n = job.affectedRows ?? 0;
  return index === undefined || n === 0 ? {} : { [index]: n };
}

/** Parts of at most `max` values and `budget` bytes each (every value fits in one part). */
export function splitValues(values: readonly string[], max: number, budget: number): string[][] {
  const parts: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const value of values) {
    const size = Buffer.byteLength(value, 'utf8') + 16;
    if (current.length > 0 && (current.length >= max || bytes + size > budget)) {
      parts.push(current);
      current = [];
      bytes = 0;
    }
    current.push(value);
    bytes += size;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}
