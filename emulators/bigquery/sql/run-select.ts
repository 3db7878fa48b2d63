import { compareValues, valueKey, type Value } from '../types';
import { accumulate, finish, newState, type AggregateState } from './aggregates';
import type { Compiled, Env, SelectPlan, Source, SourceTable, Step } from './model';

/** Runs compiled queries over the stored rows: scans (with pruning), groups, orders and limits. */

/** Runs a SELECT against an outer row (empty for a top-level query); `cap` stops early. */
export function runSelect(plan: SelectPlan, outer: Env, cap?: number): Value[][] {
  const {
    steps,
    where,
    columns,
    orderBy,
    group,
    groupBy,
    having,
    distinct,
    limit,
    offset,
    asStruct,
  } = plan;
  const out: Array<{ row: Value[]; keys: Value[] }> = [];
  const wanted = Math.min(
    cap ?? Infinity,
    orderBy.length === 0 && !distinct && group === undefined
      ? (offset ?? 0) + (limit ?? Infinity)
      : Infinity,
  );
  const emitRow = (env: Env): boolean => {
    const row = columns.map((column) => column.eval(env));
    const keys = orderBy.map((item) =>
      item.column !== undefined
        ? (row[item.column] ?? null)
        : (item.compiled as Compiled).eval(env),
    );
    out.push({ row, keys });
    return out.length < wanted;
  };
  if (group === undefined) {
    forEachRow(steps, outer, (env) => {
      if (where !== undefined && where.eval(env) !== true) return true;
      return emitRow(env);
    });
  } else {
    const groups = new Map<string, { env: Env; states: AggregateState[] }>();
    forEachRow(steps, outer, (env) => {
      if (where !== undefined && where.eval(env) !== true) return true;
      const key = groupBy.map((g) => valueKey(g.eval(env))).join('|');
      let entry = groups.get(key);
      if (entry === undefined) {
        entry = { env: env.slice(0, group.slot), states: group.aggregates.map(newState) };
        groups.set(key, entry);
      }
      group.aggregates.forEach((spec, i) =>
        accumulate(spec, entry.states[i] as AggregateState, env),
      );
      return true;
    });
    if (groups.size === 0 && !plan.grouped) {
      groups.set('', { env: outer.slice(), states: group.aggregates.map(newState) });
    }
    for (const entry of groups.values()) {
      const env = entry.env;
      env[group.slot] = group.aggregates.map((spec, i) =>
        finish(spec, entry.states[i] as AggregateState),
      );
      if (having !== undefined && having.eval(env) !== true) continue;
      emitRow(env);
    }
  }
  let rows = out;
  if (distinct) {
    const seen = new Set<string>();
    rows = rows.filter((r) => {
      const key = r.row.map(valueKey).join('|');
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
  if (orderBy.length > 0) {
    rows.sort((a, b) => {
      for (let i = 0; i < orderBy.length; i++) {
        const x = a.keys[i] ?? null;
        const y = b.keys[i] ?? null;
        const order = x === null ? (y === null ? 0 : -1) : y === null ? 1 : compareValues(x, y);
        if (order !== 0) return orderBy[i]?.descending === true ? -order : order;
      }
      return 0;
    });
  }
  const start = offset ?? 0;
  let result = rows.slice(start, limit === undefined ? undefined : start + limit).map((r) => r.row);
  if (asStruct) result = result.map((row) => [row]);
  return result;
}

export function scannedTables(
  source: Source,
): Array<{ entry: SourceTable; partitions: Set<string> | undefined }> {
  const out: Array<{ entry: SourceTable; partitions: Set<string> | undefined }> = [];
  for (const entry of source.tables) {
    source.suffix.value = entry.suffix;
    if (source.suffixFilters.some((filter) => filter.eval([]) !== true)) continue;
    const table = entry.table;
    let partitions: Set<string> | undefined;
    if (table.partitioning !== undefined && source.partitionFilters.length > 0) {
      partitions = new Set();
      for (const row of table.rows) {
        if (partitions.has(row.partition)) continue;
        partitions.add(row.partition);
      }
      for (const partition of [...partitions]) {
        if (!source.partitionFilters.every((filter) => filter.mayMatch(table, partition)))
          partitions.delete(partition);
      }
    }
    out.push({ entry, partitions });
  }
  return out;
}

/** Calls `visit` with each combination of FROM rows; `visit` returns false to stop. */
export function forEachRow(steps: Step[], outer: Env, visit: (env: Env) => boolean): void {
  const env = outer.slice();
  const walk = (i: number): boolean => {
    const step = steps[i];
    if (step === undefined) return visit(env);
    if (step.kind === 'table') {
      const source = step.source;
      for (const { entry, partitions } of scannedTables(source)) {
        source.suffix.value = entry.suffix;
        const map = entry.map;
        const identity =
          map === undefined ||
          (map.every((v, k) => v === k) && map.length === entry.table.fields.length);
        for (const row of entry.table.rows) {
          if (partitions !== undefined && !partitions.has(row.partition)) continue;
          env[source.slot] = identity
            ? row
            : {
                ...row,
                values: map.map((k) => (k === -1 ? null : (row.values[k] ?? null))),
              };
          if (!walk(i + 1)) return false;
        }
      }
      return true;
    }
    const items = step.array.eval(env) as Value[] | null;
    if (items === null || items.length === 0) {
      if (!step.outer) return true;
      env[step.slot] = null;
      if (step.offsetSlot !== undefined) env[step.offsetSlot] = null;
      return walk(i + 1);
    }
    for (let k = 0; k < items.length; k++) {
      env[step.slot] = items[k];
      if (step.offsetSlot !== undefined) env[step.offsetSlot] = BigInt(k);
      if (!walk(i + 1)) return false;
    }
    return true;
  };
  walk(0);
}
