import { dateToMicros, microsToDate, partitionRange } from '../partitions';
import { findField, type Partitioning } from '../schema';
import type { Value } from '../types';
import type { StoredRow } from '../warehouse';
import type { Expr } from './ast';
import type { ExpressionCompiler } from './expressions';
import { Scope, type Compiled, type Env, type PartitionFilter, type Source } from './model';
import { coerceConstant, mentionsColumns, mentionsSubquery } from './operators';

/**
 * Partition and shard pruning, as BigQuery does it before reading: a conjunct over the
 * partitioning column (or `_PARTITIONTIME`, `_TABLE_SUFFIX`) and constants leaves out the
 * partitions (tables) no row of which could pass. What is left out is neither read nor billed.
 */

/**
 * Records a WHERE conjunct that reads only `_TABLE_SUFFIX` or a partitioning column of one
 * table: it decides which tables and partitions the statement scans (and is billed for).
 */
export function analyseConjunct(compiler: ExpressionCompiler, expr: Expr, scope: Scope): void {
  // A subquery reads other rows: such a conjunct never prunes (and is compiled only once).
  if (mentionsSubquery(expr)) return;
  const { compiled, refs } = compiler.tracked(expr, scope);
  const slots = new Set(refs.map((ref) => ref.slot));
  if (slots.size !== 1 || slots.has(-1)) return;
  const slot = scope.slots.find((s) => s.index === refs[0]?.slot);
  if (slot === undefined || slot.kind !== 'table') return;
  const columns = new Set(refs.map((ref) => ref.column));
  const source = slot.source;
  if (columns.size === 1 && columns.has('_table_suffix') && source.wildcard) {
    source.suffixFilters.push(compiled);
    return;
  }
  const filter = partitionFilter(compiler, expr, compiled, source, columns);
  if (filter !== undefined) source.partitionFilters.push(filter);
}

function partitionFilter(
  compiler: ExpressionCompiler,
  expr: Expr,
  compiled: Compiled,
  source: Source,
  columns: Set<string>,
): PartitionFilter | undefined {
  if (columns.size !== 1) return undefined;
  const column = [...columns][0] as string;
  const slotIndex = source.slot;
  const pseudo = column === '_partitiontime' || column === '_partitiondate';
  const usable = (p: Partitioning | undefined): boolean =>
    p !== undefined && (pseudo ? p.field === undefined : p.field?.toLowerCase() === column);
  if (!source.tables.some((t) => usable(t.table.partitioning))) return undefined;
  const bounds = boundsOf(compiler, expr, column);
  return {
    mayMatch(table, partition) {
      const partitioning = table.partitioning;
      if (!usable(partitioning) || partitioning === undefined) return true;
      const range = partitionRange(partitioning, partition);
      const fieldIndex =
        partitioning.field === undefined ? -1 : findField(table.fields, partitioning.field);
      const probe = (micros: bigint | null): Value => {
        const values: Value[] = table.fields.map(() => null);
        if (fieldIndex !== -1 && micros !== null) {
          values[fieldIndex] =
            table.fields[fieldIndex]?.type === 'DATE' ? microsToDate(micros) : micros;
        }
        const row: StoredRow = { values, streamedAt: null, ingestedAt: micros ?? 0n, partition };
        const env: Env = [];
        env[slotIndex] = row;
        return compiled.eval(env);
      };
      if (range === undefined) return probe(null) === true;
      const exact =
        pseudo || (table.fields[fieldIndex]?.type === 'DATE' && partitioning.type === 'DAY');
      if (exact) return probe(range.lo) === true;
      if (bounds === undefined) return true;
      // A TIMESTAMP column, or a DATE column by MONTH or YEAR: does [lo, hi) meet the bounds?
      const isDate = table.fields[fieldIndex]?.type === 'DATE';
      const last = isDate ? range.hi - 86_400_000_000n : range.hi - 1n;
      return bounds.every(({ op, value }) => {
        const v = value.eval([]);
        if (v === null) return false;
        const micros = typeof v === 'string' ? dateToMicros(v) : (v as bigint);
        switch (op) {
          case '=':
            return range.lo <= micros && micros <= last;
          case '<':
            return range.lo < micros;
          case '<=':
            return range.lo <= micros;
          case '>':
            return last > micros;
          case '>=':
            return last >= micros;
          default:
            return true;
        }
      });
    },
  };
}

/** `col op constant` bounds in a conjunct (a comparison or BETWEEN), for range partitions. */
function boundsOf(
  compiler: ExpressionCompiler,
  expr: Expr,
  column: string,
): Array<{ op: string; value: Compiled }> | undefined {
  const isColumn = (e: Expr): boolean =>
    e.kind === 'path' && (e.parts[e.parts.length - 1] ?? '').toLowerCase() === column;
  const constant = (e: Expr): Compiled | undefined => {
    if (mentionsColumns(e)) return undefined;
    const compiled = compiler.expr(e, new Scope(undefined));
    return compiled.type !== null &&
      compiled.type.kind === 'scalar' &&
      (compiled.type.name === 'DATE' || compiled.type.name === 'TIMESTAMP')
      ? compiled
      : coerceConstant(compiled, e);
  };
  const flip: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=' };
  if (expr.kind === 'binary' && flip[expr.op] !== undefined) {
    if (isColumn(expr.left)) {
      const value = constant(expr.right);
      return value === undefined ? undefined : [{ op: expr.op, value }];
    }
    if (isColumn(expr.right)) {
      const value = constant(expr.left);
      return value === undefined ? undefined : [{ op: flip[expr.op] as string, value }];
    }
  }
  if (expr.kind === 'between' && !expr.negated && isColumn(expr.operand)) {
    const low = constant(expr.low);
    const high = constant(expr.high);
    return low === undefined || high === undefined
      ? undefined
      : [
          { op: '>=', value: low },
          { op: '<=', value: high },
        ];
  }
  return undefined;
}
