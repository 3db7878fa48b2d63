import { z } from 'zod';
import { estimateBytesBilled } from '../../domain/cost';
import { zeroCost } from '../../domain/model';
import type { TableInfo, WarehouseJob } from '../../ports/warehouse';
import {
  defineExecutor,
  type AuditEstimate,
  type ConfigIssue,
  type Executor,
  type ExecutorContext,
  type ExecutorResult,
  type RecordsOutput,
} from '../contract';
import { checkTargets, resolveField } from './checks';
import { exportBatching } from './export-batch';
import { exportConfigSchema, type ExportConfig } from './config';
import {
  costOf,
  countRows,
  describeCost,
  outcomeFor,
  parseHandle,
  queryOf,
  rows,
  waitForJob,
  type Settings,
} from './jobs';
import {
  countStatement,
  partitionFilter,
  qualifyTable,
  REMAINING_ALIAS,
  selectStatement,
  SUFFIXES_PARAM,
  type PartitionFilter,
} from './sql';
import { resolveTargets, subjectMatch, type SubjectMatch, type Targets } from './targets';

/** Rows fetched per page when an export collects its result. */
const EXPORT_PAGE_SIZE = 5000;

const handleSchema = z.object({ jobId: z.string().min(1), location: z.string().min(1) });

/**
 * bigquery.export: the subject's rows of a table, or of every shard of a date-sharded set in
 * one query (`_TABLE_SUFFIX`), into the records package.
 */
export function exportExecutor(s: Settings): Executor {
  const { warehouse } = s;

  const plan = async (config: ExportConfig, match: SubjectMatch) => {
    const targets = await resolveTargets(warehouse, config, s.defaultProjectId);
    const newest = targets.tables[targets.tables.length - 1];
    const info = newest === undefined ? undefined : await tableInfo(newest);
    const filter = partitionFilter(info, config.partitionLookbackDays, s.now());
    return { targets, ...queryFor(config, targets, match, filter) };
  };

  const tableInfo = (table: string): Promise<TableInfo | undefined> => {
    const [projectId = '', datasetId = '', tableId = ''] = table.split('.');
    return warehouse.getTable({ projectId, datasetId, tableId });
  };

  const settled = async (
    ctx: ExecutorContext<ExportConfig>,
    job: WarehouseJob,
    source: string,
  ): Promise<ExecutorResult> => {
    if (!job.done) {
      return {
        outcome: 'waiting',
        message: `BigQuery job ${job.jobId} on ${source} is still running; next check in ${s.pollAfterSeconds} s`,
        cost: zeroCost(),
        handle: JSON.stringify({ jobId: job.jobId, location: job.location }),
        pollAfterSeconds: s.pollAfterSeconds,
        evidence: { touched: [source], jobIds: [job.jobId] },
      };
    }
    const cost = costOf(job.bytesBilled, s.price);
    const records = await collectRows(ctx, job, source, s);
    const counted = records.truncated ? `${records.rowCount} of ` : '';
    return {
      outcome: outcomeFor(records.totalRows),
      message: `${records.totalRows === 0 ? `no rows for the subject in ${source}` : `exported ${counted}${rows(records.totalRows)} from ${source}`} (job ${job.jobId}, ${describeCost(cost)})`,
      cost,
      output: { records },
      evidence: { touched: [source], jobIds: [job.jobId] },
    };
  };

  const audit = async (ctx: ExecutorContext<ExportConfig>): Promise<ExecutorResult> => {
    const match = subjectMatch(ctx);
    const { targets, sql, params, filter } = await plan(ctx.config, match);
    const { bytesProcessed } = await warehouse.estimate({ sql, params });
    const count = countStatement(targets.source, match.rule, filter, targets.sharded);
    const counted = await countRows(
      warehouse,
      queryOf(ctx, count, params),
      REMAINING_ALIAS,
      ctx.signal,
    );
    const estimatedBytesBilled = estimateBytesBilled(bytesProcessed);
    const estimate = costOf(estimatedBytesBilled, s.price);
    const cost = costOf(counted.job.bytesBilled, s.price);
    const cap = ctx.config.maxBytesBilled;
    const auditEstimate: AuditEstimate = {
      wouldAffectRows: counted.count,
      estimatedBytesProcessed: bytesProcessed,
      estimatedBytesBilled,
      estimatedUsd: estimate.usd,
      ...(cap === undefined
        ? {}
        : { maxBytesBilled: cap, withinMaxBytesBilled: estimatedBytesBilled <= cap }),
      statement: sql,
      touched: targets.sharded ? targets.tables : [targets.source],
    };
    return {
      outcome: 'succeeded',
      message: `audit: would export ${rows(counted.count)} from ${targets.source}, estimated ${describeCost(estimate)}; the COUNT query cost ${describeCost(cost)}`,
      cost,
      output: { audit: auditEstimate },
      evidence: { touched: [targets.source], jobIds: [counted.job.jobId] },
    };
  };

  return defineExecutor<ExportConfig>({
    name: 'bigquery.export',
    batch: exportBatching(s),
    description:
      "Returns the subject's rows of a BigQuery table (or of every shard of a date-sharded set) for a records request, at most maxRows (default 10000).",
    configSchema: exportConfigSchema,
    jobTypes: () => ['records'],
    requiredIdentifiers: (config) => [config.identifier],
    checkConfig: (config) =>
      checkTargets(
        warehouse,
        config,
        s.defaultProjectId,
        s.now(),
        (info) => selectIssues(config, info),
        (table, match, _info, filter) =>
          selectStatement(table, match.rule, config.selectColumns, filter),
      ),
    async run(ctx) {
      if (ctx.dryRun) return audit(ctx);
      const match = subjectMatch(ctx);
      const { targets, sql, params } = await plan(ctx.config, match);
      if (targets.tables.length === 0) {
        return {
          outcome: 'not_found',
          message: `no shards of ${targets.source} in the days given`,
          cost: zeroCost(),
        };
      }
      const started = await warehouse.startQuery(queryOf(ctx, sql, params));
      return settled(
        ctx,
        await waitForJob(warehouse, started, ctx.signal, s.quickWaitMs),
        targets.source,
      );
    },
    async poll(ctx) {
      const { jobId, location } = parseHandle(ctx.handle, handleSchema);
      const source = qualifyTable(ctx.config.table, s.defaultProjectId);
      return settled(ctx, await warehouse.getJob(jobId, location), source);
    },
  });
}

function queryFor(
  config: ExportConfig,
  targets: Targets,
  match: SubjectMatch,
  filter: PartitionFilter | undefined,
) {
  const sql = selectStatement(
    targets.source,
    match.rule,
    config.selectColumns,
    filter,
    targets.sharded,
  );
  const params = {
    ...match.params,
    ...filter?.params,
    ...(targets.sharded ? { [SUFFIXES_PARAM]: targets.suffixes } : {}),
  };
  return { sql, params, filter };
}

function selectIssues(config: ExportConfig, info: TableInfo): ConfigIssue[] {
  return (config.selectColumns ?? []).flatMap((column, index) => {
    const resolved = resolveField(info, column.split('.'));
    return 'error' in resolved
      ? [{ path: ['selectColumns', String(index)], message: resolved.error }]
      : [];
  });
}

/**
 * Pages through the job's rows into the records package, at most `maxRows`. The rows go to the
 * RecordStore in chunks as they come, never into the run record; the output says where.
 */
export async function collectRows(
  ctx: ExecutorContext<{ maxRows: number }>,
  job: WarehouseJob,
  source: string,
  s: Settings,
): Promise<RecordsOutput> {
  const { config, signal, requestId, taskId } = ctx;
  const writer = s.records.open({ requestId, taskId, setId: job.jobId });
  let columns: string[] = [];
  let totalRows = 0;
  let kept = 0;
  let pageToken: string | undefined;
  do {
    signal.throwIfAborted();
    const page = await s.warehouse.getRows(job.jobId, job.location, {
      maxResults: Math.min(EXPORT_PAGE_SIZE, config.maxRows - kept),
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    columns = page.columns;
    totalRows = page.totalRows;
    const take = page.rows.slice(0, config.maxRows - kept);
    await writer.write(take);
    kept += take.length;
    pageToken = page.pageToken;
  } while (pageToken !== undefined && kept < config.maxRows);
  const index = await writer.close();
  return {
    setId: index.setId,
    source,
    columns,
    rowCount: index.rowCount,
    totalRows,
    truncated: totalRows > index.rowCount,
    segments: index.segments,
  };
}
