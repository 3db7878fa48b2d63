import { COLUMN_NAME, PROJECTLESS_TABLE, QUALIFIED_TABLE } from './config';

/**
 * SQL text for the BigQuery executors. Names come from validated config and are checked again
 * here before they are put in backticks; the subject's value is never part of the text, only the
 * `@subject` parameter is.
 */

export const SUBJECT_PARAM = 'subject';
const COUNT_ALIAS = 'matching_rows';

/** A fully qualified table: `project.dataset.table`. */
export type QualifiedTable = string & { readonly __brand: 'QualifiedTable' };

/** Qualifies a config's table with the default project when it names none. */
export function qualifyTable(table: string, defaultProjectId: string): QualifiedTable {
  if (QUALIFIED_TABLE.test(table)) return table as QualifiedTable;
  const qualified = `${defaultProjectId}.${table}`;
  if (!PROJECTLESS_TABLE.test(table) || !QUALIFIED_TABLE.test(qualified)) {
    throw new Error(`not a valid table reference: ${JSON.stringify(qualified)}`);
  }
  return qualified as QualifiedTable;
}

/** A statement's text (its one parameter is `@subject`) and the table it reads or changes. */
export interface Statement {
  sql: string;
  table: QualifiedTable;
}

export function deleteStatement(table: QualifiedTable, column: string): Statement {
  return { table, sql: `DELETE FROM ${quoteTable(table)} WHERE ${matches(column)}` };
}

export function nullifyStatement(
  table: QualifiedTable,
  columns: readonly string[],
  whereColumn: string,
): Statement {
  const sets = columns.map((c) => `${quoteColumn(c)} = NULL`).join(', ');
  return { table, sql: `UPDATE ${quoteTable(table)} SET ${sets} WHERE ${matches(whereColumn)}` };
}

export function selectStatement(
  table: QualifiedTable,
  column: string,
  selectColumns?: readonly string[],
): Statement {
  const list = selectColumns === undefined ? '*' : selectColumns.map(quoteColumn).join(', ');
  return { table, sql: `SELECT ${list} FROM ${quoteTable(table)} WHERE ${matches(column)}` };
}

/** Counts the subject's rows: what a statement over them would affect. */
export function countStatement(
  table: QualifiedTable,
  column: string,
): Statement & { alias: string } {
  return {
    table,
    alias: COUNT_ALIAS,
    sql: `SELECT COUNT(*) AS ${COUNT_ALIAS} FROM ${quoteTable(table)} WHERE ${matches(column)}`,
  };
}

function matches(column: string): string {
  return `${quoteColumn(column)} = @${SUBJECT_PARAM}`;
}

function quoteTable(table: QualifiedTable): string {
  if (!QUALIFIED_TABLE.test(table))
    throw new Error(`not a valid table reference: ${JSON.stringify(table)}`);
  return `\`${table}\``;
}

function quoteColumn(column: string): string {
  if (!COLUMN_NAME.test(column))
    throw new Error(`not a valid column name: ${JSON.stringify(column)}`);
  return `\`${column}\``;
}
