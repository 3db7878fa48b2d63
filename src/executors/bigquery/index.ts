import type { TableInfo } from '../../ports/warehouse';
import type { ConfigIssue, Executor } from '../contract';
import { resolveField } from './checks';
import {
  deleteConfigSchema,
  nullifyConfigSchema,
  type DeleteConfig,
  type NullifyConfig,
} from './config';
import { exportExecutor } from './export';
import { settingsOf, type BigQueryExecutorOptions } from './jobs';
import { defineMutationExecutor } from './mutation';
import {
  countStatement,
  deleteStatement,
  heldCondition,
  nullifyStatement,
  remainingValuesStatement,
} from './sql';
import { statementExecutor } from './statement';

export type { BigQueryExecutorOptions } from './jobs';
export * from './config';

/**
 * The BigQuery executors, over a warehouse: `bigquery.delete`, `bigquery.nullify`,
 * `bigquery.export` and `bigquery.statement`. Plug them in with
 * `builtInExecutors({ ..., extra: createBigQueryExecutors(...) })`.
 */
export function createBigQueryExecutors(options: BigQueryExecutorOptions): Executor[] {
  const settings = settingsOf(options);
  return [
    defineMutationExecutor<DeleteConfig>(
      {
        name: 'bigquery.delete',
        description:
          "Deletes the subject's rows from a BigQuery table, or from each shard of a date-sharded set, then counts what is left by the same match rule.",
        configSchema: deleteConfigSchema,
        change: (_config, table, match, _info, filter) =>
          deleteStatement(table, match.rule, filter),
        remaining: (_config, table, match, _info, filter) =>
          countStatement(table, match.rule, filter),
        did: (n, where) => `deleted ${n} from ${where}`,
        wouldDo: (n, table) => `would delete ${n} from ${table}`,
        check: () => [],
      },
      settings,
    ),
    defineMutationExecutor<NullifyConfig>(
      {
        name: 'bigquery.nullify',
        description:
          "Sets columns to NULL (repeated ones to empty) in the subject's rows of a BigQuery table or of each shard, then counts the subject's rows that still hold a value there.",
        configSchema: nullifyConfigSchema,
        change: (config, table, match, info, filter) =>
          nullifyStatement(table, config.columns, match.rule, info, filter),
        remaining: (config, table, match, info, filter) =>
          remainingValuesStatement(table, config.columns, match.rule, info, filter),
        held: (config, info) => heldCondition(config.columns, info),
        did: (n, where, config) => `set ${config.columns.join(', ')} to NULL in ${n} of ${where}`,
        wouldDo: (n, table) => `would set columns to NULL in ${n} of ${table}`,
        check: nullifyIssues,
      },
      settings,
    ),
    exportExecutor(settings),
    statementExecutor(settings),
  ];
}

/** Columns to nullify must exist, and be NULLABLE (a REQUIRED column cannot be NULL). */
function nullifyIssues(config: NullifyConfig, info: TableInfo): ConfigIssue[] {
  return config.columns.flatMap((column, index) => {
    const resolved = resolveField(info, column.split('.'));
    if ('error' in resolved) return [{ path: ['columns', String(index)], message: resolved.error }];
    if (resolved.field.mode === 'REQUIRED') {
      return [
        {
          path: ['columns', String(index)],
          message: `${column} is REQUIRED: it cannot be set to NULL (delete the rows instead)`,
        },
      ];
    }
    return [];
  });
}
