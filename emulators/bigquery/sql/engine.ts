import { bill, type Billing } from '../billing';
import { invalidQuery } from '../errors';
import { partitionKey, partitionFilterColumns } from '../partitions';
import { dottedName, fieldType, findField, type Field } from '../schema';
import { typeName, type SqlType, type Value } from '../types';
import { parseDate, parseTimestamp, canonicalNumeric, ValueError } from '../values';
import type { StoredRow, TableRecord, Warehouse } from '../warehouse';
import type { Expr, PathExpr, Statement } from './ast';
import { Compiler } from './compile';
import type { CompileContext, Compiled, CompiledSelect, Env, Source } from './model';
import { scannedTables } from './run-select';
import { at } from './tokens';

/**
 * Plans a statement against the catalog (names, types, partition and table pruning), bills it
 * by BigQuery's rules, and runs it over the stored rows.
 */

interface Assignment {
  /** Column index, then STRUCT field indexes below it. */
  path: number[];
  value: Compiled;
  required: boolean;
  name: string;
}

export type CompiledStatement =
  | { kind: 'select'; select: CompiledSelect; fields: Field[]; sources: Source[] }
  | {
      kind: 'delete' | 'update';
      target: TableRecord;
      source: Source;
      where: Compiled;
      assignments: Assignment[];
      sources: Source[];
    };

export function compileStatement(statement: Statement, context: CompileContext): CompiledStatement {
  const compiler = new Compiler(context);
  let compiled: CompiledStatement;
  if (statement.kind === 'select') {
    const select = compiler.select(statement);
    compiled = { kind: 'select', select, fields: select.fields, sources: compiler.sources };
  } else {
    const source = compiler.resolveTable(statement.table);
    if (source.wildcard) {
      throw invalidQuery(
        `Wildcard table ${source.name} cannot be the target of ${statement.kind.toUpperCase()}: DML statements cannot modify wildcard tables at ${at(statement.table.position)}`,
      );
    }
    const scope = compiler.newScope();
    compiler.addTable(scope, source, statement.alias ?? statement.table.table);
    const where = compiler.where(statement.where, scope, 'WHERE');
    const target = source.tables[0]?.table as TableRecord;
    const assignments =
      statement.kind === 'update'
        ? statement.assignments.map((assignment) =>
            assign(
              compiler,
              scope,
              target,
              statement.alias ?? statement.table.table,
              assignment.target,
              assignment.value,
            ),
          )
        : [];
    for (let i = 0; i < assignments.length; i++) {
      for (let j = 0; j < i; j++) {
        const [a, b] = [assignments[i] as Assignment, assignments[j] as Assignment];
        const shorter = Math.min(a.path.length, b.path.length);
        if (a.path.slice(0, shorter).join('.') === b.path.slice(0, shorter).join('.')) {
          throw invalidQuery(`Update item ${a.name} overlaps with ${b.name}`);
        }
      }
    }
    compiled = {
      kind: statement.kind,
      target,
      source,
      where,
      assignments,
      sources: compiler.sources,
    };
  }
  for (const source of compiled.sources) requirePartitionFilter(source);
  return compiled;
}

function requirePartitionFilter(source: Source): void {
  for (const { table } of source.tables) {
    const partitioning = table.partitioning;
    if (partitioning?.requirePartitionFilter !== true) continue;
    if (source.partitionFilters.length === 0) {
      throw invalidQuery(
        `Cannot query over table '${dottedName(table)}' without a filter over column(s) ${partitionFilterColumns(partitioning)} that can be used for partition elimination`,
      );
    }
  }
}

function assign(
  compiler: Compiler,
  scope: ReturnType<Compiler['newScope']>,
  table: TableRecord,
  alias: string,
  target: PathExpr,
  valueExpr: Expr,
): Assignment {
  let parts = target.parts;
  if (
    parts.length > 1 &&
    parts[0]?.toLowerCase() === alias.toLowerCase() &&
    findField(table.fields, parts[0]) === -1
  ) {
    parts = parts.slice(1);
  }
  const [column = '', ...fields] = parts;
  const index = findField(table.fields, column);
  if (index === -1) throw invalidQuery(`Unrecognized name: ${column} at ${at(target.position)}`);
  const path = [index];
  let field = table.fields[index] as Field;
  let type: SqlType = fieldType(field);
  for (const name of fields) {
    if (type.kind !== 'struct') {
      throw invalidQuery(
        `Cannot access field ${name} on a value with type ${typeName(type)} at ${at(target.position)}`,
      );
    }
    const sub = (field.fields ?? []).findIndex((f) => f.name.toLowerCase() === name.toLowerCase());
    if (sub === -1)
      throw invalidQuery(
        `Field name ${name} does not exist in ${typeName(type)} at ${at(target.position)}`,
      );
    path.push(sub);
    field = (field.fields ?? [])[sub] as Field;
    type = fieldType(field);
  }
  const value = coerceForAssignment(compiler.expr(valueExpr, scope), type, field.name, valueExpr);
  if (value.type === null && field.mode === 'REQUIRED') {
    throw invalidQuery(
      `Cannot assign NULL to REQUIRED field ${field.name} at ${at(valueExpr.position)}`,
    );
  }
  return { path, value, required: field.mode === 'REQUIRED', name: [column, ...fields].join('.') };
}

function coerceForAssignment(value: Compiled, type: SqlType, name: string, expr: Expr): Compiled {
  if (value.type === null || typeName(value.type) === typeName(type)) {
    if (value.type === null && type.kind === 'array') return { type, eval: () => [] };
    return value;
  }
  // `[]` takes the element type of the ARRAY it is assigned to.
  if (type.kind === 'array' && expr.kind === 'arrayLiteral' && expr.items.length === 0) {
    return { type, eval: () => [] };
  }
  const from = value.type.kind === 'scalar' ? value.type.name : '';
  const to = type.kind === 'scalar' ? type.name : '';
  const constant = expr.kind === 'literal' || expr.kind === 'param';
  let convert: ((v: Value) => Value) | undefined;
  if (from === 'INT64' && to === 'FLOAT64') convert = (v) => Number(v);
  else if (from === 'INT64' && to === 'NUMERIC') convert = (v) => canonicalNumeric(String(v));
  else if (from === 'STRING' && constant && to === 'DATE') convert = (v) => parseDate(v as string);
  else if (from === 'STRING' && constant && to === 'TIMESTAMP')
    convert = (v) => parseTimestamp(v as string);
  if (convert === undefined) {
    throw invalidQuery(
      `Value of type ${typeName(value.type)} cannot be assigned to ${name}, which has type ${typeName(type)} at ${at(expr.position)}`,
    );
  }
  const f = convert;
  return {
    type,
    eval: (env) => {
      const v = value.eval(env);
      if (v === null) return null;
      try {
        return f(v);
      } catch (error) {
        if (!(error instanceof ValueError)) throw error;
        throw invalidQuery(
          `Could not cast literal "${String(v)}" to type ${to} at ${at(expr.position)}`,
        );
      }
    },
  };
}

/**
 * Bytes processed: the column paths read in the tables and partitions scanned, plus, for DML,
 * the target's whole size in the partitions it scans (q + t, or q' + t' when partitioned).
 * Each table referenced is billed at least 10 MB (a wildcard counts once).
 */
export function billStatement(compiled: CompiledStatement, warehouse: Warehouse): Billing {
  let scannedBytes = 0n;
  for (const source of compiled.sources) {
    const paths = [...source.refs.values()];
    for (const { entry, partitions } of scannedTables(source)) {
      if (paths.length > 0) scannedBytes += warehouse.bytesOf(entry.table, paths, partitions);
    }
  }
  let targetTableBytes = 0n;
  if (compiled.kind !== 'select') {
    const [scanned] = scannedTables(compiled.source);
    const all = compiled.target.fields.map((field) => [field.name]);
    targetTableBytes =
      scanned === undefined ? 0n : warehouse.bytesOf(compiled.target, all, scanned.partitions);
  }
  return bill({ scannedBytes, targetTableBytes, tablesReferenced: compiled.sources.length });
}

/** Runs a SELECT: the result rows. */
export function runSelect(compiled: Extract<CompiledStatement, { kind: 'select' }>): Value[][] {
  return compiled.select.run([]);
}

/**
 * Runs a DELETE or UPDATE: finds the rows first, refuses (changing nothing) if any is still in
 * the streaming buffer, then changes them. Returns how many rows changed.
 */
export function runDml(
  compiled: Extract<CompiledStatement, { kind: 'delete' | 'update' }>,
  bufferSince: bigint | undefined,
  warehouse: Warehouse,
  now: number,
  /** Sees the partitions the statement would change before it changes them; may refuse. */
  beforeCommit?: (partitions: ReadonlySet<string>) => void,
): number {
  const { target, source, where } = compiled;
  const [scanned] = scannedTables(source);
  const partitions = scanned?.partitions;
  const env: Env = [];
  const matched = new Set<StoredRow>();
  for (const row of target.rows) {
    if (partitions !== undefined && !partitions.has(row.partition)) continue;
    env[source.slot] = row;
    if (where.eval(env) === true) matched.add(row);
  }
  if (bufferSince !== undefined) {
    for (const row of matched) {
      if (row.streamedAt !== null && row.streamedAt > bufferSince) {
        throw invalidQuery(
          `UPDATE or DELETE statement over table ${dottedName(target)} would affect rows in the streaming buffer, which is not supported`,
        );
      }
    }
  }
  if (matched.size === 0) return 0;
  beforeCommit?.(new Set([...matched].map((row) => row.partition)));
  const replaced = new Map<StoredRow, StoredRow | undefined>();
  if (compiled.kind === 'delete') {
    for (const row of matched) replaced.set(row, undefined);
  } else {
    // Every new value is computed from the row as it was, before any is written.
    for (const row of matched) {
      env[source.slot] = row;
      let values = row.values;
      for (const assignment of compiled.assignments) {
        const value = assignment.value.eval(env);
        if (value === null && assignment.required) {
          throw invalidQuery(`Cannot assign NULL to REQUIRED field ${assignment.name}`);
        }
        values = setPath(values, assignment.path, value);
      }
      const updated: StoredRow = { ...row, values };
      updated.partition = partitionKey(target, updated);
      replaced.set(row, updated);
    }
  }
  warehouse.replaceRows(target, replaced, now);
  return replaced.size;
}

/** A copy of `values` with the value at `path` (column, then STRUCT fields) replaced. */
function setPath(values: Value[], path: number[], value: Value): Value[] {
  const [index = 0, ...rest] = path;
  const copy = values.slice();
  if (rest.length === 0) {
    copy[index] = value;
    return copy;
  }
  const inner = copy[index];
  if (inner === null || inner === undefined) {
    if (value === null) return copy;
    throw invalidQuery('Cannot set a field of a NULL STRUCT');
  }
  copy[index] = setPath(inner as Value[], rest, value);
  return copy;
}
