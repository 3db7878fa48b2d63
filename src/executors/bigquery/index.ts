import type { Executor, RecordsOutput } from '../contract';
import {
  deleteConfigSchema,
  exportConfigSchema,
  nullifyConfigSchema,
  type DeleteConfig,
  type ExportConfig,
  type NullifyConfig,
} from './config';
import {
  defineBigQueryExecutor,
  outcomeFor,
  rows,
  type BigQueryExecutorOptions,
  type FinishedJob,
} from './job-flow';
import { deleteStatement, nullifyStatement, selectStatement } from './sql';

export type { BigQueryExecutorOptions } from './job-flow';
export * from './config';

/** Rows fetched per page when an export collects its result. */
const EXPORT_PAGE_SIZE = 5000;

/**
 * The BigQuery executors, over a warehouse: `bigquery.delete`, `bigquery.nullify` and
 * `bigquery.export`. Plug them in with `builtInExecutors({ ..., extra: createBigQueryExecutors(...) })`.
 */
export function createBigQueryExecutors(options: BigQueryExecutorOptions): Executor[] {
  return [
    defineBigQueryExecutor<DeleteConfig>(
      {
        name: 'bigquery.delete',
        jobType: 'deletion',
        description:
          "Deletes the subject's rows from a BigQuery table (DELETE … WHERE column = @subject).",
        configSchema: deleteConfigSchema,
        plan: (config, table) => ({
          statement: deleteStatement(table, config.column),
          whereColumn: config.column,
        }),
        wouldDo: (n, table) => `would delete ${n} from ${table}`,
        finish: async ({ job, table }) => {
          const n = job.affectedRows ?? 0;
          return {
            outcome: outcomeFor(n),
            message:
              n === 0 ? `no rows for the subject in ${table}` : `deleted ${rows(n)} from ${table}`,
            affectedRows: n,
          };
        },
      },
      options,
    ),
    defineBigQueryExecutor<NullifyConfig>(
      {
        name: 'bigquery.nullify',
        jobType: 'deletion',
        description:
          "Sets columns to NULL in the subject's rows of a BigQuery table (UPDATE … SET col = NULL WHERE whereColumn = @subject).",
        configSchema: nullifyConfigSchema,
        plan: (config, table) => ({
          statement: nullifyStatement(table, config.columns, config.whereColumn),
          whereColumn: config.whereColumn,
        }),
        wouldDo: (n, table) => `would set columns to NULL in ${n} of ${table}`,
        finish: async ({ job, table, config }) => {
          const n = job.affectedRows ?? 0;
          return {
            outcome: outcomeFor(n),
            message:
              n === 0
                ? `no rows for the subject in ${table}`
                : `set ${config.columns.join(', ')} to NULL in ${rows(n)} of ${table}`,
            affectedRows: n,
          };
        },
      },
      options,
    ),
    defineBigQueryExecutor<ExportConfig>(
      {
        name: 'bigquery.export',
        jobType: 'records',
        description:
          "Returns the subject's rows of a BigQuery table for a records request (at most maxRows, default 10000).",
        configSchema: exportConfigSchema,
        plan: (config, table) => ({
          statement: selectStatement(table, config.column, config.selectColumns),
          whereColumn: config.column,
        }),
        wouldDo: (n, table) => `would export ${n} from ${table}`,
        finish: async (finished) => {
          const records = await collectRows(finished);
          return {
            outcome: outcomeFor(records.totalRows),
            message:
              records.totalRows === 0
                ? `no rows for the subject in ${finished.table}`
                : `exported ${records.truncated ? `${records.rowCount} of ` : ''}${rows(records.totalRows)} from ${finished.table}`,
            output: { records },
          };
        },
      },
      options,
    ),
  ];
}

/**
 * Pages through the job's rows into the records package, at most `maxRows`. The rows go to the
 * RecordStore in chunks as they come, never into the run record; the output says where.
 */
async function collectRows({
  job,
  config,
  table,
  warehouse,
  records,
  signal,
  requestId,
  taskId,
}: FinishedJob<ExportConfig>): Promise<RecordsOutput> {
  const writer = records.open({ requestId, taskId, setId: job.jobId });
  let columns: string[] = [];
  let totalRows = 0;
  let kept = 0;
  let pageToken: string | undefined;
  do {
    signal.throwIfAborted();
    const page = await warehouse.getRows(job.jobId, job.location, {
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
    source: table,
    columns,
    rowCount: index.rowCount,
    totalRows,
    truncated: totalRows > index.rowCount,
    segments: index.segments,
  };
}
