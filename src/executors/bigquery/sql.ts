import type { TableField, TableInfo } from '../../ports/warehouse';
import { PROJECTLESS_TABLE, QUALIFIED_TABLE } from './config';
import { matchedValueSql, matchSql, quotePath, type MatchRule } from './match';

/**
 * SQL text for the BigQuery executors. Names come from validated config and are checked again
 * here before they are put in backticks; the subject's value is never part of the text, only
 * the `@subject` parameter is.
 */

export const REMAINING_ALIAS = 'remaining_rows';
export const PARTITION_PARAM = 'partition_from';
export const SUFFIXES_PARAM = 'shard_suffixes';
/** A batch's grouped counts: the value a row matched, and how many rows matched it. */
export const SUBJECT_VALUE_ALIAS = 'subject_value';
export const MATCHED_ALIAS = 'matched_rows';

/** A fully qualified table: `project.dataset.table`, or a wildcard `project.dataset.events_*`. */
export type QualifiedTable = string & { readonly __brand: 'QualifiedTable' };

/** Qualifies a config's table with the default project when it names none. */
export function qualifyTable(table: string, defaultProjectId: string): QualifiedTable {
  const bare = table.endsWith('*') ? table.slice(0, -1) : table;
  const star = table.endsWith('*') ? '*' : '';
  if (QUALIFIED_TABLE.test(bare)) return table as QualifiedTable;
  const qualified = `${defaultProjectId}.${bare}`;
  if (!PROJECTLESS_TABLE.test(bare) || !QUALIFIED_TABLE.test(qualified)) {
    throw new Error(`not a valid table reference: ${JSON.stringify(`${qualified}${star}`)}`);
  }
  return `${qualified}${star}` as QualifiedTable;
}

/** A condition that keeps a statement within recent partitions, and its parameter. */
export interface PartitionFilter {
  sql: string;
  params: Record<string, string>;
}

/**
 * `col >= DATE(@partition_from)` (or TIMESTAMP, or `_PARTITIONTIME` for ingestion-time
 * partitioning), for a table that is partitioned, when the task names a lookback.
 */
export function partitionFilter(
  info: TableInfo | undefined,
  lookbackDays: number | undefined,
  now: Date,
): PartitionFilter | undefined {
  const partitioning = info?.partitioning;
  if (partitioning === undefined || lookbackDays === undefined) return undefined;
  const from = new Date(now.getTime() - lookbackDays * 86_400_000).toISOString().slice(0, 10);
  const field = partitioning.field;
  const type =
    field === undefined
      ? 'TIMESTAMP'
      : (info?.fields.find((f) => f.name.toLowerCase() === field.toLowerCase())?.type ??
        'TIMESTAMP');
  const column = field === undefined ? '_PARTITIONTIME' : quotePath([field]);
  const cast = type === 'DATE' ? 'DATE' : 'TIMESTAMP';
  return { sql: `${column} >= ${cast}(@${PARTITION_PARAM})`, params: { [PARTITION_PARAM]: from } };
}

function where(rule: MatchRule, filter: PartitionFilter | undefined, extra?: string): string {
  return [matchSql(rule), filter?.sql, extra].filter((part) => part !== undefined).join(' AND ');
}

export function deleteStatement(
  table: QualifiedTable,
  rule: MatchRule,
  filter?: PartitionFilter,
): string {
  return `DELETE FROM ${quoteTable(table)} WHERE ${where(rule, filter)}`;
}

/** `UPDATE … SET col = NULL` (an empty array for REPEATED columns, which cannot be NULL). */
export function nullifyStatement(
  table: QualifiedTable,
  columns: readonly string[],
  rule: MatchRule,
  info: TableInfo | undefined,
  filter?: PartitionFilter,
): string {
  const sets = columns
    .map(
      (c) =>
        `${quotePath(c.split('.'))} = ${fieldAt(info, c)?.mode === 'REPEATED' ? '[]' : 'NULL'}`,
    )
    .join(', ');
  return `UPDATE ${quoteTable(table)} SET ${sets} WHERE ${where(rule, filter)}`;
}

export function selectStatement(
  table: QualifiedTable,
  rule: MatchRule,
  selectColumns: readonly string[] | undefined,
  filter?: PartitionFilter,
  shardSuffixes = false,
): string {
  const list =
    selectColumns === undefined
      ? '*'
      : selectColumns
          .map((c) =>
            c.includes('.')
              ? `${quotePath(c.split('.'))} AS ${quotePath([c.replace(/\./g, '_')])}`
              : quotePath([c]),
          )
          .join(', ');
  const suffix = shardSuffixes ? `, _TABLE_SUFFIX AS _table_suffix` : '';
  const shards = shardSuffixes ? `_TABLE_SUFFIX IN UNNEST(@${SUFFIXES_PARAM})` : undefined;
  return `SELECT ${list}${suffix} FROM ${quoteTable(table)} WHERE ${where(rule, filter, shards)}`;
}

/** Counts the subject's rows: what a statement over them would affect, or what is left. */
export function countStatement(
  table: QualifiedTable,
  rule: MatchRule,
  filter?: PartitionFilter,
  shardSuffixes = false,
): string {
  const shards = shardSuffixes ? `_TABLE_SUFFIX IN UNNEST(@${SUFFIXES_PARAM})` : undefined;
  return count(table, where(rule, filter, shards));
}

function count(table: QualifiedTable, condition: string): string {
  return `SELECT COUNT(*) AS ${REMAINING_ALIAS} FROM ${quoteTable(table)} WHERE ${condition}`;
}

/** Counts the subject's rows where a nullified column still holds a value. */
export function remainingValuesStatement(
  table: QualifiedTable,
  columns: readonly string[],
  rule: MatchRule,
  info: TableInfo | undefined,
  filter?: PartitionFilter,
): string {
  return count(table, where(rule, filter, heldCondition(columns, info)));
}

/** Rows where any of the columns still holds a value (a REPEATED one: any element). */
export function heldCondition(columns: readonly string[], info: TableInfo | undefined): string {
  const held = columns
    .map((c) => {
      const path = quotePath(c.split('.'));
      return fieldAt(info, c)?.mode === 'REPEATED'
        ? `ARRAY_LENGTH(${path}) > 0`
        : `${path} IS NOT NULL`;
    })
    .join(' OR ');
  return `(${held})`;
}

/**
 * A batch's per-subject count: the rows each of `@subjects` matches (before the change: what it
 * will affect; after: what is left), one row per value that matched anything.
 */
export function groupedCountStatement(
  table: QualifiedTable,
  rule: MatchRule,
  filter?: PartitionFilter,
  extra?: string,
): string {
  const m = matchedValueSql(rule);
  const condition = [m.where, filter?.sql, extra].filter((p) => p !== undefined).join(' AND ');
  return (
    `SELECT ${m.value} AS ${SUBJECT_VALUE_ALIAS}, COUNT(*) AS ${MATCHED_ALIAS} ` +
    `FROM ${quoteTable(table)}${m.join} WHERE ${condition} GROUP BY ${SUBJECT_VALUE_ALIAS}`
  );
}

/** The schema field at a dotted path, looked up case-insensitively. */
export function fieldAt(info: TableInfo | undefined, path: string): TableField | undefined {
  let fields = info?.fields;
  let found: TableField | undefined;
  for (const part of path.split('.')) {
    found = fields?.find((f) => f.name.toLowerCase() === part.toLowerCase());
    if (found === undefined) return undefined;
    fields = found.fields;
  }
  return found;
}

function quoteTable(table: QualifiedTable): string {
  const bare = table.endsWith('*') ? table.slice(0, -1) : table;
  if (!QUALIFIED_TABLE.test(bare))
    throw new Error(`not a valid table reference: ${JSON.stringify(table)}`);
  return `\`${table}\``;
}
