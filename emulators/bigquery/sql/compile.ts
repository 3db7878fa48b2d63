import { invalidQuery, notFound } from '../errors';
import type { QueryParam } from '../params';
import { dateToMicros, microsToDate, partitionRange } from '../partitions';
import {
  fieldType,
  findField,
  rowType,
  type Field,
  type Partitioning,
  type TableRef,
} from '../schema';
import {
  BOOL,
  DATE,
  FLOAT64,
  INT64,
  STRING,
  TIMESTAMP,
  compareValues,
  scaledNumeric,
  structFieldIndex,
  typeName,
  valueKey,
  valuesEqual,
  type SqlType,
  type Value,
} from '../types';
import { canonicalNumeric, parseDate, parseTimestamp, ValueError } from '../values';
import type { StoredRow, TableRecord, Warehouse } from '../warehouse';
import type { Expr, FromItem, PathExpr, Position, SelectStatement, TableName } from './ast';
import { AGGREGATES, castTo, FUNCTIONS, INTERVAL_TYPE, unknownFunction } from './functions';
import { at, unsupported } from './tokens';

/**
 * Compiles parsed statements into closures over rows: names are resolved against the catalog
 * and type-checked as GoogleSQL would before anything runs, values come in through parameters
 * (never spliced into anything), and each table read records the column paths it touches, so
 * billing can sum exactly those.
 */

export interface CompileContext {
  /** The job's project: tables written `dataset.table` live there. */
  projectId: string;
  /** `configuration.query.defaultDataset`, for tables written without a dataset. */
  defaultDataset?: { projectId?: string; datasetId: string };
  location: string;
  warehouse: Warehouse;
  params: ReadonlyMap<string, QueryParam>;
  /** The job's time (epoch µs): CURRENT_TIMESTAMP and CURRENT_DATE. */
  now: bigint;
}

/** The values in scope while a row is evaluated: one slot per FROM item, outer queries first. */
export type Env = unknown[];

export interface Compiled {
  /** null: the NULL literal, which takes any type. */
  type: SqlType | null;
  eval(env: Env): Value;
}

/** One table (or wildcard set of tables) a statement reads, and what it reads of it. */
export interface Source {
  slot: number;
  /** As written, for messages: `p.d.t` or `p.d.events_*`. */
  name: string;
  wildcard: boolean;
  tables: SourceTable[];
  /** The schema names resolve against (for a wildcard, the newest table's). */
  fields: Field[];
  /** Column paths read, keyed lower-case: billing sums exactly these. */
  refs: Map<string, string[]>;
  /** `_TABLE_SUFFIX` of the table being scanned. */
  suffix: { value: string };
  /** WHERE conjuncts that only read `_TABLE_SUFFIX`: they choose the tables scanned. */
  suffixFilters: Compiled[];
  /** WHERE conjuncts over the partitioning column: they choose the partitions scanned. */
  partitionFilters: PartitionFilter[];
}

export interface SourceTable {
  table: TableRecord;
  suffix: string;
  /** For a wildcard: the index in this table of each field of the source's schema. */
  map?: number[];
}

/** A conjunct that can eliminate partitions, and how to test it against one. */
export interface PartitionFilter {
  /** False when no row of the partition `[lo, hi)` (or NULL partition) can pass. */
  mayMatch(table: TableRecord, partition: string): boolean;
}

type Slot =
  | { kind: 'table'; index: number; alias: string; source: Source }
  | {
      kind: 'value';
      index: number;
      alias: string | undefined;
      type: SqlType;
      origin?: { source: Source; path: string[] };
      used: boolean;
    };

class Scope {
  readonly slots: Slot[] = [];
  constructor(readonly parent: Scope | undefined) {}
  get size(): number {
    return (this.parent?.size ?? 0) + this.slots.length;
  }
}

/** What a compiled expression read: for deciding what can prune partitions or tables. */
type Ref = { slot: number; column: string } | { slot: -1; column: '' };

interface GroupContext {
  keys: Set<string>;
  aggregates: AggregateSpec[];
  slot: number;
}

export interface AggregateSpec {
  name: string;
  distinct: boolean;
  arg?: Compiled;
  type: SqlType;
}

export interface CompiledSelect {
  fields: Field[];
  types: SqlType[];
  sources: Source[];
  run(outer: Env, limit?: number): Value[][];
}

const NUMERIC_TYPES = new Set(['INT64', 'NUMERIC', 'FLOAT64']);

export class Compiler {
  readonly sources: Source[] = [];
  private tracking: Ref[] | undefined;

  constructor(private readonly context: CompileContext) {}

  // ---------------------------------------------------------------- tables and scopes

  resolveTable(name: TableName): Source {
    const { context } = this;
    let ref: TableRef;
    if (name.dataset === undefined) {
      if (context.defaultDataset === undefined) {
        throw invalidQuery(
          `Table "${name.table}" must be qualified with a dataset (e.g. dataset.table) at ${at(name.position)}.`,
        );
      }
      ref = {
        projectId: context.defaultDataset.projectId ?? context.projectId,
        datasetId: context.defaultDataset.datasetId,
        tableId: name.table,
      };
    } else {
      ref = {
        projectId: name.project ?? context.projectId,
        datasetId: name.dataset,
        tableId: name.table,
      };
    }
    const dotted = `${ref.projectId}.${ref.datasetId}.${ref.tableId}`;
    const source: Source = {
      slot: -1,
      name: dotted,
      wildcard: ref.tableId.endsWith('*'),
      tables: [],
      fields: [],
      refs: new Map(),
      suffix: { value: '' },
      suffixFilters: [],
      partitionFilters: [],
    };
    if (source.wildcard) {
      const prefix = ref.tableId.slice(0, -1);
      const dataset = context.warehouse.findDataset(ref.projectId, ref.datasetId);
      const matched =
        dataset === undefined
          ? []
          : [...dataset.tables.values()].filter((t) => t.tableId.startsWith(prefix));
      if (matched.length === 0) {
        throw notFound(
          `Table ${ref.projectId}:${ref.datasetId}.${ref.tableId} was not found in location ${context.location}`,
        );
      }
      // The schema is the most recently created matching table's, as on the service.
      const newest = matched.reduce((a, b) => (b.creationTime >= a.creationTime ? b : a));
      source.fields = newest.fields;
      source.tables = matched
        .sort((a, b) => (a.tableId < b.tableId ? -1 : 1))
        .map((table) => ({
          table,
          suffix: table.tableId.slice(prefix.length),
          map: newest.fields.map((field) => findField(table.fields, field.name)),
        }));
    } else {
      const table = context.warehouse.findTable(ref);
      if (table === undefined) {
        throw notFound(
          `Table ${ref.projectId}:${ref.datasetId}.${ref.tableId} was not found in location ${context.location}`,
        );
      }
      source.fields = table.fields;
      source.tables = [{ table, suffix: '' }];
    }
    this.sources.push(source);
    return source;
  }

  /** Adds a table to a scope as its next slot. */
  addTable(scope: Scope, source: Source, alias: string): void {
    source.slot = scope.size;
    scope.slots.push({ kind: 'table', index: source.slot, alias: alias.toLowerCase(), source });
  }

  newScope(parent?: Scope): Scope {
    return new Scope(parent);
  }

  // ---------------------------------------------------------------- SELECT

  select(statement: SelectStatement, parent?: Scope): CompiledSelect {
    const scope = new Scope(parent);
    const steps = statement.from.map((item) => this.fromItem(item, scope));
    const where =
      statement.where === undefined ? undefined : this.where(statement.where, scope, 'WHERE');
    const aggregate =
      statement.groupBy.length > 0 ||
      statement.items.some((item) => item.kind === 'expr' && hasAggregate(item.expr)) ||
      (statement.having !== undefined && hasAggregate(statement.having)) ||
      statement.orderBy.some((item) => hasAggregate(item.expr));

    // Output columns.
    const columns: Array<{ name: string; compiled: Compiled; anonymous: boolean }> = [];
    const aliases = new Map<string, number>();
    const selectExprs = statement.items.flatMap((item) =>
      item.kind === 'expr' ? [{ expr: item.expr, alias: item.alias }] : [],
    );
    const groupKeys = new Set<string>();
    const groupCompiled: Compiled[] = [];
    for (const expr of statement.groupBy) {
      let target = expr;
      if (expr.kind === 'literal' && expr.type === 'INT64') {
        const item = selectExprs[Number(expr.text) - 1];
        if (item === undefined)
          throw invalidQuery(`GROUP BY ordinal out of range at ${at(expr.position)}`);
        target = item.expr;
      } else if (expr.kind === 'path' && expr.parts.length === 1) {
        const named = selectExprs.find(
          (item) => item.alias?.toLowerCase() === expr.parts[0]?.toLowerCase(),
        );
        if (named !== undefined && !this.resolvable(expr, scope)) target = named.expr;
      }
      if (hasAggregate(target))
        throw invalidQuery(
          `Aggregate functions are not allowed in GROUP BY at ${at(expr.position)}`,
        );
      groupKeys.add(exprKey(target));
      groupCompiled.push(this.expr(target, scope));
    }
    const group: GroupContext | undefined = aggregate
      ? { keys: groupKeys, aggregates: [], slot: scope.size }
      : undefined;

    let anonymous = 0;
    for (const item of statement.items) {
      if (item.kind === 'star') {
        if (group !== undefined)
          throw invalidQuery(
            `SELECT * expression references columns which are neither grouped nor aggregated at ${at(item.position)}`,
          );
        for (const column of this.star(item.qualifier, item.except, scope, item.position)) {
          columns.push({ ...column, anonymous: false });
        }
        continue;
      }
      const compiled = this.expr(item.expr, scope, group);
      const implicit =
        item.expr.kind === 'path'
          ? item.expr.parts[item.expr.parts.length - 1]
          : item.expr.kind === 'field'
            ? item.expr.name
            : undefined;
      const name = item.alias ?? implicit ?? `f${anonymous++}_`;
      columns.push({
        name,
        compiled,
        anonymous: item.alias === undefined && implicit === undefined,
      });
      if (item.alias !== undefined) aliases.set(item.alias.toLowerCase(), columns.length - 1);
    }
    const having =
      statement.having === undefined
        ? undefined
        : this.condition(statement.having, scope, 'HAVING', group);
    const orderBy = statement.orderBy.map((item) => {
      const expr = item.expr;
      let column: number | undefined;
      if (expr.kind === 'literal' && expr.type === 'INT64') {
        column = Number(expr.text) - 1;
        if (columns[column] === undefined)
          throw invalidQuery(`ORDER BY column number out of range at ${at(expr.position)}`);
      } else if (expr.kind === 'path' && expr.parts.length === 1) {
        column = aliases.get((expr.parts[0] ?? '').toLowerCase());
        if (column === undefined && group !== undefined) {
          column = columns.findIndex((c) => c.name.toLowerCase() === expr.parts[0]?.toLowerCase());
          if (column === -1) column = undefined;
        }
      }
      const compiled = column === undefined ? this.expr(expr, scope, group) : undefined;
      const type = compiled?.type ?? columns[column ?? 0]?.compiled.type ?? null;
      if (type !== null && type.kind !== 'scalar') {
        throw invalidQuery(
          `ORDER BY does not support expressions of type ${typeName(type)} at ${at(expr.position)}`,
        );
      }
      return { column, compiled, descending: item.descending };
    });
    const limit = this.constantInt(statement.limit, 'LIMIT');
    const offset = this.constantInt(statement.offset, 'OFFSET');

    // Billing: an UNNEST alias never read means its whole array was read.
    for (const slot of scope.slots) {
      if (slot.kind === 'value' && !slot.used && slot.origin !== undefined) {
        this.reference(slot.origin.source, slot.origin.path);
      }
    }

    const types = columns.map((column) => column.compiled.type ?? INT64);
    let fields = columns.map((column, index) => fieldFor(column.name, types[index] as SqlType));
    const asStruct = statement.asStruct;
    if (asStruct) {
      const structType: SqlType = {
        kind: 'struct',
        fields: columns.map((c, i) => ({
          name: c.anonymous ? '' : c.name,
          type: types[i] as SqlType,
        })),
      };
      fields = [fieldFor('f0_', structType)];
    }
    const distinct = statement.distinct;
    if (distinct && types.some((type) => type.kind !== 'scalar')) {
      throw invalidQuery('Column of type ARRAY or STRUCT cannot be used in SELECT DISTINCT');
    }

    const run = (outer: Env, cap?: number): Value[][] => {
      const out: Array<{ row: Value[]; keys: Value[] }> = [];
      const wanted = Math.min(
        cap ?? Infinity,
        orderBy.length === 0 && !distinct && group === undefined
          ? (offset ?? 0) + (limit ?? Infinity)
          : Infinity,
      );
      const emitRow = (env: Env): boolean => {
        const row = columns.map((column) => column.compiled.eval(env));
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
          const key = groupCompiled.map((g) => valueKey(g.eval(env))).join('|');
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
        if (groups.size === 0 && statement.groupBy.length === 0) {
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
      let result = rows
        .slice(start, limit === undefined ? undefined : start + limit)
        .map((r) => r.row);
      if (asStruct) result = result.map((row) => [row]);
      return result;
    };
    return {
      fields,
      types: asStruct ? [fields.length === 1 ? fieldType(fields[0] as Field) : INT64] : types,
      sources: this.sources,
      run,
    };
  }

  private constantInt(expr: Expr | undefined, clause: string): number | undefined {
    if (expr === undefined) return undefined;
    const compiled = this.expr(expr, new Scope(undefined));
    if (
      compiled.type === null ||
      compiled.type.kind !== 'scalar' ||
      compiled.type.name !== 'INT64'
    ) {
      throw invalidQuery(
        `${clause} expects a non-negative INT64 literal or parameter at ${at(expr.position)}`,
      );
    }
    const value = compiled.eval([]);
    if (typeof value !== 'bigint' || value < 0n) {
      throw invalidQuery(
        `${clause} expects a non-negative INT64 literal or parameter at ${at(expr.position)}`,
      );
    }
    return Number(value);
  }

  private fromItem(item: FromItem, scope: Scope): Step {
    if (item.kind === 'table') {
      if (scope.slots.some((slot) => slot.kind === 'table')) {
        throw unsupported('JOIN of two tables (only UNNEST joins)', item.position);
      }
      const source = this.resolveTable(item.name);
      const alias = item.alias ?? item.name.table;
      this.addTable(scope, source, alias);
      return { kind: 'table', source };
    }
    const origin = this.originOf(item.array, scope);
    const array = this.expr(item.array, scope, undefined, origin !== undefined);
    if (array.type === null || array.type.kind !== 'array') {
      throw invalidQuery(
        `Values referenced in UNNEST must be arrays. UNNEST contains expression of type ${typeName(array.type)} at ${at(item.array.position)}`,
      );
    }
    const alias =
      item.alias ??
      (item.array.kind === 'path' ? item.array.parts[item.array.parts.length - 1] : undefined);
    const slot: Slot = {
      kind: 'value',
      index: scope.size,
      alias: alias?.toLowerCase(),
      type: array.type.element,
      used: false,
      ...(origin === undefined ? {} : { origin }),
    };
    scope.slots.push(slot);
    let offsetSlot: number | undefined;
    if (item.offsetAlias !== undefined) {
      offsetSlot = scope.size;
      scope.slots.push({
        kind: 'value',
        index: offsetSlot,
        alias: item.offsetAlias.toLowerCase(),
        type: INT64,
        used: true,
      });
    }
    return { kind: 'unnest', array, slot: slot.index, offsetSlot, outer: item.outer };
  }

  /** Where an UNNEST's array comes from, when it is a column path of a table being read. */
  private originOf(expr: Expr, scope: Scope): { source: Source; path: string[] } | undefined {
    if (expr.kind !== 'path') return undefined;
    const saved = this.tracking;
    this.tracking = [];
    try {
      const resolved = this.resolvePath(expr, scope, undefined, true);
      return resolved.origin;
    } catch {
      return undefined;
    } finally {
      this.tracking = saved;
    }
  }

  private star(
    qualifier: string | undefined,
    except: string[],
    scope: Scope,
    position: Position,
  ): Array<{ name: string; compiled: Compiled }> {
    const excluded = new Set(except.map((name) => name.toLowerCase()));
    const out: Array<{ name: string; compiled: Compiled }> = [];
    const slots = scope.slots.filter(
      (slot) => qualifier === undefined || slot.alias === qualifier.toLowerCase(),
    );
    if (qualifier !== undefined && slots.length === 0)
      throw invalidQuery(`Unrecognized name: ${qualifier} at ${at(position)}`);
    if (slots.length === 0)
      throw invalidQuery(`SELECT * must have a FROM clause at ${at(position)}`);
    for (const slot of slots) {
      if (slot.kind === 'table') {
        slot.source.fields.forEach((field, index) => {
          if (excluded.has(field.name.toLowerCase())) return;
          this.reference(slot.source, [field.name]);
          const type = fieldType(field);
          const at = slot.index;
          out.push({
            name: field.name,
            compiled: { type, eval: (env) => (env[at] as StoredRow).values[index] ?? null },
          });
        });
      } else if (slot.alias !== undefined && !excluded.has(slot.alias)) {
        slot.used = true;
        if (slot.origin !== undefined) this.reference(slot.origin.source, slot.origin.path);
        const at = slot.index;
        if (slot.type.kind === 'struct' && qualifier !== undefined) {
          slot.type.fields.forEach((field, index) => {
            out.push({
              name: field.name,
              compiled: {
                type: field.type,
                eval: (env) => (env[at] as Value[] | null)?.[index] ?? null,
              },
            });
          });
        } else {
          out.push({
            name: slot.alias,
            compiled: { type: slot.type, eval: (env) => (env[at] as Value) ?? null },
          });
        }
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- conditions

  /** A WHERE clause: BOOL, and split into conjuncts that may prune tables and partitions. */
  where(expr: Expr, scope: Scope, clause: string): Compiled {
    if (hasAggregate(expr))
      throw invalidQuery(
        `Aggregate function ${firstAggregate(expr)} not allowed in ${clause} at ${at(expr.position)}`,
      );
    for (const conjunct of conjuncts(expr)) this.analyseConjunct(conjunct, scope);
    return this.condition(expr, scope, clause);
  }

  condition(expr: Expr, scope: Scope, clause: string, group?: GroupContext): Compiled {
    const compiled = this.expr(expr, scope, group);
    if (
      compiled.type !== null &&
      !(compiled.type.kind === 'scalar' && compiled.type.name === 'BOOL')
    ) {
      throw invalidQuery(
        `${clause} clause should return type BOOL, but returns ${typeName(compiled.type)} at ${at(expr.position)}`,
      );
    }
    return compiled;
  }

  /** Records a conjunct that reads only `_TABLE_SUFFIX` or a partitioning column of one table. */
  private analyseConjunct(expr: Expr, scope: Scope): void {
    // A subquery reads other rows: such a conjunct never prunes (and is compiled only once).
    if (mentionsSubquery(expr)) return;
    const saved = this.tracking;
    this.tracking = [];
    let compiled: Compiled;
    let refs: Ref[];
    try {
      compiled = this.expr(expr, scope);
      refs = this.tracking;
    } finally {
      this.tracking = saved;
    }
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
    const filter = this.partitionFilter(expr, compiled, source, columns);
    if (filter !== undefined) source.partitionFilters.push(filter);
  }

  private partitionFilter(
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
    const bounds = this.boundsOf(expr, column);
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
  private boundsOf(expr: Expr, column: string): Array<{ op: string; value: Compiled }> | undefined {
    const isColumn = (e: Expr): boolean =>
      e.kind === 'path' && (e.parts[e.parts.length - 1] ?? '').toLowerCase() === column;
    const constant = (e: Expr): Compiled | undefined => {
      if (mentionsColumns(e)) return undefined;
      const compiled = this.expr(e, new Scope(undefined));
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

  // ---------------------------------------------------------------- expressions

  /** Whether a one-part path names something in scope (a column or an alias). */
  private resolvable(expr: PathExpr, scope: Scope): boolean {
    const saved = this.tracking;
    this.tracking = [];
    try {
      this.resolvePath(expr, scope, undefined, true);
      return true;
    } catch {
      return false;
    } finally {
      this.tracking = saved;
    }
  }

  expr(expr: Expr, scope: Scope, group?: GroupContext, deferRefs = false): Compiled {
    if (group !== undefined && !hasAggregate(expr) && group.keys.has(exprKey(expr))) {
      return this.expr(expr, scope);
    }
    switch (expr.kind) {
      case 'literal':
        return literal(expr.type, expr.text, expr.position);
      case 'param':
        return this.param(expr.name, expr.position);
      case 'path': {
        if (group !== undefined) {
          const first = expr.parts[0] ?? '';
          throw invalidQuery(
            `SELECT list expression references column ${first} which is neither grouped nor aggregated at ${at(expr.position)}`,
          );
        }
        return this.resolvePath(expr, scope, undefined, deferRefs).compiled;
      }
      case 'field': {
        const operand = this.expr(expr.operand, scope, group);
        return fieldAccess(operand, expr.name, expr.position);
      }
      case 'call':
        return this.call(expr, scope, group);
      case 'cast': {
        const operand = this.expr(expr.operand, scope, group);
        const cast = castTo(expr.type, operand.type, expr.position);
        return {
          type: cast.type,
          eval: expr.safe
            ? (env) => {
                try {
                  return cast.convert(operand.eval(env));
                } catch {
                  return null;
                }
              }
            : (env) => cast.convert(operand.eval(env)),
        };
      }
      case 'interval': {
        const value = this.expr(expr.value, scope, group);
        if (value.type === null || value.type.kind !== 'scalar' || value.type.name !== 'INT64') {
          throw invalidQuery(
            `Interval value must be coercible to INT64 type at ${at(expr.position)}`,
          );
        }
        const unit = expr.unit;
        return { type: INTERVAL_TYPE, eval: (env) => [value.eval(env), unit] };
      }
      case 'binary':
        return this.binary(expr, scope, group);
      case 'not': {
        const operand = this.bool(expr.operand, scope, group, 'NOT');
        return {
          type: BOOL,
          eval: (env) => {
            const v = operand.eval(env);
            return v === null ? null : !v;
          },
        };
      }
      case 'negate': {
        const operand = this.expr(expr.operand, scope, group);
        if (
          operand.type === null ||
          operand.type.kind !== 'scalar' ||
          !NUMERIC_TYPES.has(operand.type.name)
        ) {
          throw invalidQuery(
            `No matching signature for operator - for argument types: ${typeName(operand.type)} at ${at(expr.position)}`,
          );
        }
        const name = operand.type.name;
        return {
          type: operand.type,
          eval: (env) => {
            const v = operand.eval(env);
            if (v === null) return null;
            if (name === 'NUMERIC')
              return canonicalNumeric(
                (v as string).startsWith('-') ? (v as string).slice(1) : `-${v as string}`,
              );
            return typeof v === 'bigint' ? -v : -(v as number);
          },
        };
      }
      case 'isNull': {
        const operand = this.expr(expr.operand, scope, group);
        const negated = expr.negated;
        return { type: BOOL, eval: (env) => (operand.eval(env) === null) !== negated };
      }
      case 'isBool': {
        const operand = this.bool(expr.operand, scope, group, 'IS');
        const { value, negated } = expr;
        return { type: BOOL, eval: (env) => (operand.eval(env) === value) !== negated };
      }
      case 'in': {
        const operand = this.expr(expr.operand, scope, group);
        const items = expr.items.map((item) =>
          this.comparable(operand, this.expr(item, scope, group), item, 'IN'),
        );
        const left = items[0]?.[0] ?? operand;
        const rights = items.map((pair) => pair[1]);
        const negated = expr.negated;
        return {
          type: BOOL,
          eval: (env) => {
            const v = left.eval(env);
            if (v === null) return null;
            let sawNull = false;
            for (const item of rights) {
              const w = item.eval(env);
              if (w === null) sawNull = true;
              else if (valuesEqual(v, w)) return !negated;
            }
            return sawNull ? null : negated;
          },
        };
      }
      case 'inUnnest': {
        const operand = this.expr(expr.operand, scope, group);
        const array = this.expr(expr.array, scope, group);
        if (array.type === null || array.type.kind !== 'array') {
          throw invalidQuery(
            `Values referenced in UNNEST must be arrays. UNNEST contains expression of type ${typeName(array.type)} at ${at(expr.array.position)}`,
          );
        }
        const element: Compiled = { type: array.type.element, eval: () => null };
        const [left] = this.comparable(operand, element, expr, 'IN');
        const convert = converterFor(array.type.element, operand.type);
        const negated = expr.negated;
        return {
          type: BOOL,
          eval: (env) => {
            const v = left.eval(env);
            const items = array.eval(env) as Value[] | null;
            if (v === null) return items === null || items.length === 0 ? negated : null;
            if (items === null) return negated;
            let sawNull = false;
            for (const item of items) {
              const w = convert(item);
              if (w === null) sawNull = true;
              else if (valuesEqual(v, w)) return !negated;
            }
            return sawNull ? null : negated;
          },
        };
      }
      case 'between': {
        const operand = this.expr(expr.operand, scope, group);
        const [a, low] = this.comparable(
          operand,
          this.expr(expr.low, scope, group),
          expr,
          'BETWEEN',
        );
        const [, high] = this.comparable(
          operand,
          this.expr(expr.high, scope, group),
          expr,
          'BETWEEN',
        );
        const negated = expr.negated;
        return {
          type: BOOL,
          eval: (env) => {
            const v = a.eval(env);
            const lo = low.eval(env);
            const hi = high.eval(env);
            const geLow = v === null || lo === null ? null : compareValues(v, lo) >= 0;
            const leHigh = v === null || hi === null ? null : compareValues(v, hi) <= 0;
            const result = and(geLow, leHigh);
            return result === null ? null : result !== negated;
          },
        };
      }
      case 'like': {
        const operand = this.expr(expr.operand, scope, group);
        const pattern = this.expr(expr.pattern, scope, group);
        if (!(isType(operand.type, 'STRING') && isType(pattern.type, 'STRING'))) {
          throw invalidQuery(
            `No matching signature for operator LIKE for argument types: ${typeName(operand.type)}, ${typeName(pattern.type)}. Supported signatures: STRING LIKE STRING; BYTES LIKE BYTES at ${at(expr.position)}`,
          );
        }
        const cache = new Map<string, RegExp>();
        const negated = expr.negated;
        return {
          type: BOOL,
          eval: (env) => {
            const v = operand.eval(env);
            const p = pattern.eval(env);
            if (v === null || p === null) return null;
            let regex = cache.get(p as string);
            if (regex === undefined) {
              regex = likeRegex(p as string);
              cache.set(p as string, regex);
            }
            return regex.test(v as string) !== negated;
          },
        };
      }
      case 'exists': {
        this.track({ slot: -1, column: '' });
        const query = this.select(expr.query, scope);
        return { type: BOOL, eval: (env) => query.run(env, 1).length > 0 };
      }
      case 'subquery': {
        this.track({ slot: -1, column: '' });
        const query = this.select(expr.query, scope);
        if (query.types.length !== 1 && !expr.query.asStruct) {
          throw invalidQuery(
            `Scalar subquery cannot have more than one column unless using SELECT AS STRUCT to build STRUCT values at ${at(expr.position)}`,
          );
        }
        return {
          type: query.types[0] ?? INT64,
          eval: (env) => {
            const rows = query.run(env, 2);
            if (rows.length > 1)
              throw invalidQuery('Scalar subquery produced more than one element');
            return rows[0]?.[0] ?? null;
          },
        };
      }
      case 'arraySubquery': {
        this.track({ slot: -1, column: '' });
        const query = this.select(expr.query, scope);
        if (query.types.length !== 1 && !expr.query.asStruct) {
          throw invalidQuery(
            `ARRAY subquery cannot have more than one column unless using SELECT AS STRUCT to build STRUCT values at ${at(expr.position)}`,
          );
        }
        const element = query.types[0] ?? INT64;
        if (element.kind === 'array')
          throw invalidQuery(
            `Cannot use array subquery with column of type ${typeName(element)} because nested arrays are not supported at ${at(expr.position)}`,
          );
        return {
          type: { kind: 'array', element },
          eval: (env) => {
            const values = query.run(env).map((row) => row[0] ?? null);
            if (values.includes(null)) throw invalidQuery('Array cannot have a null element');
            return values;
          },
        };
      }
      case 'arrayLiteral': {
        const items = expr.items.map((item) => this.expr(item, scope, group));
        const known = items.find((item) => item.type !== null)?.type ?? INT64;
        for (const item of items) {
          if (item.type !== null && typeName(item.type) !== typeName(known)) {
            throw invalidQuery(
              `Array elements of types {${typeName(known)}, ${typeName(item.type)}} do not have a common supertype at ${at(expr.position)}`,
            );
          }
        }
        return {
          type: { kind: 'array', element: known },
          eval: (env) => {
            const values = items.map((item) => item.eval(env));
            if (values.includes(null)) throw invalidQuery('Array cannot have a null element');
            return values;
          },
        };
      }
      case 'case': {
        const operand =
          expr.operand === undefined ? undefined : this.expr(expr.operand, scope, group);
        const whens = expr.whens.map(({ when, then }) => ({
          when:
            operand === undefined
              ? this.bool(when, scope, group, 'CASE WHEN')
              : this.comparable(operand, this.expr(when, scope, group), when, 'CASE')[1],
          then: this.expr(then, scope, group),
        }));
        const otherwise = expr.else === undefined ? undefined : this.expr(expr.else, scope, group);
        const results = [
          ...whens.map((w) => w.then),
          ...(otherwise === undefined ? [] : [otherwise]),
        ];
        const type = results.find((r) => r.type !== null)?.type ?? null;
        for (const r of results) {
          if (r.type !== null && type !== null && typeName(r.type) !== typeName(type)) {
            throw invalidQuery(
              `No matching signature for operator CASE; all THEN/ELSE arguments must be coercible to a common type but found: ${typeName(type)}, ${typeName(r.type)} at ${at(expr.position)}`,
            );
          }
        }
        return {
          type,
          eval: (env) => {
            const v = operand?.eval(env);
            for (const w of whens) {
              const c = w.when.eval(env);
              if (
                operand === undefined
                  ? c === true
                  : v !== null && v !== undefined && c !== null && valuesEqual(v, c)
              )
                return w.then.eval(env);
            }
            return otherwise === undefined ? null : otherwise.eval(env);
          },
        };
      }
    }
  }

  private bool(
    expr: Expr,
    scope: Scope,
    group: GroupContext | undefined,
    operator: string,
  ): Compiled {
    const compiled = this.expr(expr, scope, group);
    if (compiled.type !== null && !isType(compiled.type, 'BOOL')) {
      throw invalidQuery(
        `No matching signature for operator ${operator} for argument types: ${typeName(compiled.type)}. Supported signature: ${operator} BOOL at ${at(expr.position)}`,
      );
    }
    return compiled;
  }

  private binary(
    expr: Extract<Expr, { kind: 'binary' }>,
    scope: Scope,
    group?: GroupContext,
  ): Compiled {
    const { op } = expr;
    if (op === 'AND' || op === 'OR') {
      const left = this.bool(expr.left, scope, group, op);
      const right = this.bool(expr.right, scope, group, op);
      if (op === 'AND')
        return {
          type: BOOL,
          eval: (env) => and(left.eval(env) as boolean | null, right.eval(env) as boolean | null),
        };
      return {
        type: BOOL,
        eval: (env) => {
          const a = left.eval(env);
          if (a === true) return true;
          const b = right.eval(env);
          if (b === true) return true;
          return a === null || b === null ? null : false;
        },
      };
    }
    const left = this.expr(expr.left, scope, group);
    const right = this.expr(expr.right, scope, group);
    if (op === '=' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=') {
      const [l, r] = this.comparable(left, right, expr, op);
      const type = l.type ?? r.type;
      if (op !== '=' && op !== '!=' && type !== null && type.kind !== 'scalar') {
        throw invalidQuery(
          `No matching signature for operator ${op} for argument types: ${typeName(left.type)}, ${typeName(right.type)} at ${at(expr.position)}`,
        );
      }
      const test = comparator(op);
      return {
        type: BOOL,
        eval: (env) => {
          const a = l.eval(env);
          if (a === null) return null;
          const b = r.eval(env);
          if (b === null) return null;
          return test(a, b);
        },
      };
    }
    if (op === '||') {
      const concat = FUNCTIONS.CONCAT;
      const signature = concat?.signature([left.type, right.type]);
      if (typeof signature === 'string' || signature === undefined) {
        throw invalidQuery(
          `No matching signature for operator || for argument types: ${typeName(left.type)}, ${typeName(right.type)} at ${at(expr.position)}`,
        );
      }
      return {
        type: signature,
        eval: (env) => {
          const a = left.eval(env);
          const b = right.eval(env);
          return a === null || b === null
            ? null
            : (concat?.apply([a, b], this.context.now) ?? null);
        },
      };
    }
    return arithmetic(op, left, right, expr.position);
  }

  /**
   * Makes two operands comparable, as GoogleSQL coerces them: a STRING literal or parameter to
   * the DATE or TIMESTAMP it is compared with, INT64 with NUMERIC and FLOAT64; otherwise the
   * types must match.
   */
  comparable(left: Compiled, right: Compiled, expr: Expr, operator: string): [Compiled, Compiled] {
    const l = left.type;
    const r = right.type;
    if (l === null || r === null) return [left, right];
    if (typeName(l) === typeName(r)) {
      if (l.kind === 'array') {
        throw invalidQuery(
          `Equality is not defined for arguments of type ${typeName(l)} at ${at(expr.position)}`,
        );
      }
      if (isType(l, 'NUMERIC')) return [numericView(left), numericView(right)];
      return [left, right];
    }
    if (l.kind === 'scalar' && r.kind === 'scalar') {
      if (NUMERIC_TYPES.has(l.name) && NUMERIC_TYPES.has(r.name)) {
        if (l.name === 'FLOAT64' || r.name === 'FLOAT64')
          return [floatView(left), floatView(right)];
        return [numericView(left), numericView(right)];
      }
      const temporal = (t: string): boolean => t === 'DATE' || t === 'TIMESTAMP';
      if (temporal(l.name) && r.name === 'STRING' && isConstantLike(expr, 'right'))
        return [left, coerceString(right, l.name as 'DATE' | 'TIMESTAMP', expr)];
      if (temporal(r.name) && l.name === 'STRING' && isConstantLike(expr, 'left'))
        return [coerceString(left, r.name as 'DATE' | 'TIMESTAMP', expr), right];
      if (temporal(l.name) && temporal(r.name)) {
        const toMicros = (c: Compiled): Compiled =>
          isType(c.type, 'DATE')
            ? {
                type: TIMESTAMP,
                eval: (env) => {
                  const v = c.eval(env);
                  return v === null ? null : dateToMicros(v as string);
                },
              }
            : c;
        return [toMicros(left), toMicros(right)];
      }
    }
    throw invalidQuery(
      `No matching signature for operator ${operator} for argument types: ${typeName(l)}, ${typeName(r)}. Supported signature: ANY ${operator} ANY at ${at(expr.position)}`,
    );
  }

  private call(
    expr: Extract<Expr, { kind: 'call' }>,
    scope: Scope,
    group?: GroupContext,
  ): Compiled {
    const { name } = expr;
    if (AGGREGATES.has(name)) {
      if (group === undefined) {
        throw invalidQuery(
          `Aggregate function ${name} not allowed in this context at ${at(expr.position)}`,
        );
      }
      const arg = expr.star
        ? undefined
        : expr.args[0] === undefined
          ? undefined
          : this.expr(expr.args[0], scope);
      if (!expr.star && (expr.args.length !== 1 || arg === undefined)) {
        throw invalidQuery(
          `Number of arguments does not match for aggregate function ${name} at ${at(expr.position)}`,
        );
      }
      if (expr.star && name !== 'COUNT')
        throw invalidQuery(`Syntax error: ${name}(*) is not allowed at ${at(expr.position)}`);
      const type = aggregateType(name, arg?.type ?? null, expr.position);
      const index = group.aggregates.length;
      group.aggregates.push({
        name,
        distinct: expr.distinct,
        type,
        ...(arg === undefined ? {} : { arg }),
      });
      const slot = group.slot;
      return { type, eval: (env) => (env[slot] as Value[])[index] ?? null };
    }
    const impl = FUNCTIONS[name];
    if (impl === undefined) throw unknownFunction(name, expr.position);
    if (expr.distinct || expr.star)
      throw invalidQuery(
        `Syntax error: unexpected ${expr.star ? '*' : 'DISTINCT'} in ${name}() at ${at(expr.position)}`,
      );
    const args = expr.args.map((arg) => this.expr(arg, scope, group));
    const type = impl.signature(args.map((arg) => arg.type));
    if (typeof type === 'string') throw invalidQuery(`${type} at ${at(expr.position)}`);
    const now = this.context.now;
    const nullIn = impl.nullIn === true;
    return {
      type,
      eval: (env) => {
        const values = args.map((arg) => arg.eval(env));
        if (nullIn && values.includes(null)) return null;
        return impl.apply(values, now);
      },
    };
  }

  private param(name: string, position: Position): Compiled {
    const param = this.context.params.get(name.toLowerCase());
    if (param === undefined)
      throw invalidQuery(`Query parameter '${name}' not found at ${at(position)}`);
    if (param.kind === 'array') {
      const values = param.values;
      return {
        type: { kind: 'array', element: { kind: 'scalar', name: param.elementType } },
        eval: () => values,
      };
    }
    const value = param.value;
    return { type: { kind: 'scalar', name: param.type }, eval: () => value };
  }

  private track(ref: Ref): void {
    this.tracking?.push(ref);
  }

  reference(source: Source, path: string[]): void {
    source.refs.set(path.join('.').toLowerCase(), path);
  }

  /**
   * Resolves `a.b.c`: an alias (of a table or an UNNEST), else a column of a table in scope
   * (innermost query first), else a pseudo-column; the rest are STRUCT field accesses.
   */
  resolvePath(
    expr: PathExpr,
    scope: Scope,
    _unused?: undefined,
    deferRefs = false,
  ): { compiled: Compiled; origin?: { source: Source; path: string[] } } {
    const [first = '', ...rest] = expr.parts;
    const lower = first.toLowerCase();
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      // Columns win over aliases of the same name only when no alias matches.
      const aliased = s.slots.find((slot) => slot.alias === lower);
      if (aliased !== undefined) {
        if (aliased.kind === 'table') {
          if (rest.length === 0) {
            // The whole row, as a STRUCT.
            const source = aliased.source;
            source.fields.forEach((field) => this.reference(source, [field.name]));
            this.track({ slot: aliased.index, column: '*' });
            const index = aliased.index;
            return {
              compiled: {
                type: rowType(source.fields),
                eval: (env) => (env[index] as StoredRow).values,
              },
            };
          }
          const [column = '', ...fields] = rest;
          return this.column(aliased.source, aliased.index, column, fields, expr, deferRefs);
        }
        aliased.used = true;
        const index = aliased.index;
        let compiled: Compiled = {
          type: aliased.type,
          eval: (env) => (env[index] as Value) ?? null,
        };
        this.track({ slot: index, column: aliased.alias ?? '' });
        for (const name of rest) compiled = fieldAccess(compiled, name, expr.position);
        if (aliased.origin !== undefined) {
          const path = [...aliased.origin.path, ...staticPath(aliased.type, rest)];
          this.reference(aliased.origin.source, path);
        }
        return { compiled };
      }
      const tables = s.slots.filter(
        (slot): slot is Extract<Slot, { kind: 'table' }> =>
          slot.kind === 'table' &&
          (findField(slot.source.fields, first) !== -1 || isPseudo(slot.source, lower)),
      );
      if (tables.length > 1)
        throw invalidQuery(`Column name ${first} is ambiguous at ${at(expr.position)}`);
      const table = tables[0];
      if (table !== undefined)
        return this.column(table.source, table.index, first, rest, expr, deferRefs);
    }
    throw invalidQuery(`Unrecognized name: ${first} at ${at(expr.position)}`);
  }

  private column(
    source: Source,
    slot: number,
    name: string,
    fields: string[],
    expr: PathExpr,
    deferRefs: boolean,
  ): { compiled: Compiled; origin?: { source: Source; path: string[] } } {
    const lower = name.toLowerCase();
    const index = findField(source.fields, name);
    if (index === -1) {
      const pseudo = this.pseudoColumn(source, slot, lower, expr.position);
      if (pseudo === undefined)
        throw invalidQuery(
          `Name ${name} not found inside ${source.name.split('.').pop() ?? ''} at ${at(expr.position)}`,
        );
      this.track({ slot, column: lower });
      let compiled = pseudo;
      for (const field of fields) compiled = fieldAccess(compiled, field, expr.position);
      return { compiled };
    }
    const field = source.fields[index] as Field;
    const type = fieldType(field);
    this.track({ slot, column: field.name.toLowerCase() });
    let compiled: Compiled = {
      type,
      eval: (env) => (env[slot] as StoredRow).values[index] ?? null,
    };
    for (const part of fields) compiled = fieldAccess(compiled, part, expr.position);
    const path = [field.name, ...staticPath(type, fields)];
    if (deferRefs && compiled.type?.kind === 'array') return { compiled, origin: { source, path } };
    this.reference(source, path);
    return { compiled };
  }

  private pseudoColumn(
    source: Source,
    slot: number,
    lower: string,
    position: Position,
  ): Compiled | undefined {
    if (lower === '_table_suffix') {
      if (!source.wildcard) return undefined;
      const cell = source.suffix;
      return { type: STRING, eval: () => cell.value };
    }
    if (lower === '_partitiontime' || lower === '_partitiondate') {
      const tables = source.tables.map((t) => t.table);
      if (!tables.every((t) => t.partitioning !== undefined && t.partitioning.field === undefined))
        return undefined;
      const cache = new Map<string, bigint | null>();
      const start = (row: StoredRow): bigint | null => {
        let lo = cache.get(row.partition);
        if (lo === undefined) {
          const table = tables[0] as TableRecord;
          lo = partitionRange(table.partitioning as Partitioning, row.partition)?.lo ?? null;
          cache.set(row.partition, lo);
        }
        return lo;
      };
      if (lower === '_partitiontime')
        return { type: TIMESTAMP, eval: (env) => start(env[slot] as StoredRow) };
      return {
        type: DATE,
        eval: (env) => {
          const lo = start(env[slot] as StoredRow);
          return lo === null ? null : microsToDate(lo);
        },
      };
    }
    void position;
    return undefined;
  }
}

type Step =
  | { kind: 'table'; source: Source }
  | {
      kind: 'unnest';
      array: Compiled;
      slot: number;
      offsetSlot: number | undefined;
      outer: boolean;
    };

/** The tables and partitions of a source that its filters leave to scan. */
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
function forEachRow(steps: Step[], outer: Env, visit: (env: Env) => boolean): void {
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

// ---------------------------------------------------------------- aggregates

interface AggregateState {
  count: number;
  value: Value;
  seen?: Set<string>;
  items?: Value[];
}

function newState(spec: AggregateSpec): AggregateState {
  return {
    count: 0,
    value: null,
    ...(spec.distinct ? { seen: new Set<string>() } : {}),
    ...(spec.name === 'ARRAY_AGG' ? { items: [] } : {}),
  };
}

function accumulate(spec: AggregateSpec, state: AggregateState, env: Env): void {
  if (spec.arg === undefined) {
    state.count++;
    return;
  }
  const v = spec.arg.eval(env);
  if (v === null && spec.name !== 'ARRAY_AGG') return;
  if (state.seen !== undefined) {
    const key = valueKey(v);
    if (state.seen.has(key)) return;
    state.seen.add(key);
  }
  switch (spec.name) {
    case 'COUNT':
      state.count++;
      return;
    case 'COUNTIF':
      if (v === true) state.count++;
      return;
    case 'SUM':
      state.count++;
      state.value = state.value === null ? v : add(state.value, v, spec.type);
      return;
    case 'MIN':
    case 'MAX': {
      const better =
        state.value === null ||
        (spec.name === 'MIN'
          ? compareValues(v, state.value) < 0
          : compareValues(v, state.value) > 0);
      if (better) state.value = v;
      return;
    }
    case 'ANY_VALUE':
      if (state.value === null) state.value = v;
      return;
    case 'LOGICAL_AND':
      state.value = state.value === null ? v : (state.value as boolean) && v;
      return;
    case 'LOGICAL_OR':
      state.value = state.value === null ? v : state.value || v;
      return;
    case 'ARRAY_AGG':
      if (v === null)
        throw invalidQuery('Array cannot have a null element; error in writing field');
      state.items?.push(v);
      return;
  }
}

function finish(spec: AggregateSpec, state: AggregateState): Value {
  if (spec.name === 'COUNT' || spec.name === 'COUNTIF') return BigInt(state.count);
  if (spec.name === 'ARRAY_AGG') return state.items ?? [];
  return state.value;
}

function add(a: Value, b: Value, type: SqlType): Value {
  if (isType(type, 'NUMERIC')) {
    const sum = scaledNumeric(a as string) + scaledNumeric(b as string);
    return canonicalNumeric(
      `${sum < 0n ? '-' : ''}${(sum < 0n ? -sum : sum)
        .toString()
        .padStart(10, '0')
        .replace(/(\d{9})$/, '.$1')}`,
    );
  }
  if (typeof a === 'bigint' && typeof b === 'bigint') return checkInt(a + b);
  return Number(a) + Number(b);
}

function aggregateType(name: string, arg: SqlType | null, position: Position): SqlType {
  switch (name) {
    case 'COUNT':
    case 'COUNTIF':
      if (name === 'COUNTIF' && arg !== null && !isType(arg, 'BOOL')) {
        throw invalidQuery(
          `No matching signature for aggregate function COUNTIF for argument types: ${typeName(arg)}. Supported signature: COUNTIF(BOOL) at ${at(position)}`,
        );
      }
      return INT64;
    case 'SUM':
      if (arg !== null && !(arg.kind === 'scalar' && NUMERIC_TYPES.has(arg.name))) {
        throw invalidQuery(
          `No matching signature for aggregate function SUM for argument types: ${typeName(arg)}. Supported signatures: SUM(INT64); SUM(NUMERIC); SUM(FLOAT64) at ${at(position)}`,
        );
      }
      return arg ?? INT64;
    case 'LOGICAL_AND':
    case 'LOGICAL_OR':
      return BOOL;
    case 'ARRAY_AGG':
      if (arg?.kind === 'array')
        throw invalidQuery(`ARRAY_AGG does not support arguments of type ARRAY at ${at(position)}`);
      return { kind: 'array', element: arg ?? INT64 };
    default:
      if ((name === 'MIN' || name === 'MAX') && arg !== null && arg.kind !== 'scalar') {
        throw invalidQuery(
          `No matching signature for aggregate function ${name} for argument types: ${typeName(arg)} at ${at(position)}`,
        );
      }
      return arg ?? INT64;
  }
}

// ---------------------------------------------------------------- helpers

function isType(type: SqlType | null, name: string): boolean {
  return type !== null && type.kind === 'scalar' && type.name === name;
}

function isPseudo(source: Source, lower: string): boolean {
  return (
    (lower === '_table_suffix' && source.wildcard) ||
    lower === '_partitiontime' ||
    lower === '_partitiondate'
  );
}

function and(a: boolean | null, b: boolean | null): boolean | null {
  if (a === false || b === false) return false;
  if (a === null || b === null) return null;
  return true;
}

function comparator(op: string): (a: Value, b: Value) => boolean {
  switch (op) {
    case '=':
      return (a, b) => valuesEqual(a, b);
    case '!=':
      return (a, b) =>
        !valuesEqual(a, b) &&
        !(typeof a === 'number' && Number.isNaN(a)) &&
        !(typeof b === 'number' && Number.isNaN(b));
    case '<':
      return (a, b) => compareValues(a, b) < 0;
    case '<=':
      return (a, b) => compareValues(a, b) <= 0;
    case '>':
      return (a, b) => compareValues(a, b) > 0;
    default:
      return (a, b) => compareValues(a, b) >= 0;
  }
}

function numericView(c: Compiled): Compiled {
  if (isType(c.type, 'NUMERIC'))
    return {
      type: c.type,
      eval: (env) => {
        const v = c.eval(env);
        return v === null ? null : scaledNumeric(v as string);
      },
    };
  if (isType(c.type, 'INT64'))
    return {
      type: c.type,
      eval: (env) => {
        const v = c.eval(env);
        return v === null ? null : (v as bigint) * 1_000_000_000n;
      },
    };
  return c;
}

function floatView(c: Compiled): Compiled {
  if (isType(c.type, 'FLOAT64')) return c;
  return {
    type: FLOAT64,
    eval: (env) => {
      const v = c.eval(env);
      return v === null ? null : Number(v);
    },
  };
}

/** How array elements of `element` type compare with an operand of `operand` type. */
function converterFor(element: SqlType, operand: SqlType | null): (value: Value) => Value {
  if (operand === null || typeName(element) === typeName(operand)) {
    return isType(element, 'NUMERIC')
      ? (v) => (v === null ? null : scaledNumeric(v as string))
      : (v) => v;
  }
  if (isType(operand, 'FLOAT64')) return (v) => (v === null ? null : Number(v));
  if (isType(element, 'INT64')) return (v) => (v === null ? null : (v as bigint) * 1_000_000_000n);
  if (isType(element, 'NUMERIC')) return (v) => (v === null ? null : scaledNumeric(v as string));
  return (v) => v;
}

function isConstantLike(expr: Expr, side: 'left' | 'right'): boolean {
  const operand = expr.kind === 'binary' ? expr[side] : undefined;
  if (operand === undefined) return true;
  return operand.kind === 'literal' || operand.kind === 'param';
}

function coerceString(c: Compiled, to: 'DATE' | 'TIMESTAMP', expr: Expr): Compiled {
  const parse = to === 'DATE' ? parseDate : parseTimestamp;
  return {
    type: to === 'DATE' ? DATE : TIMESTAMP,
    eval: (env) => {
      const v = c.eval(env);
      if (v === null) return null;
      try {
        return parse(v as string);
      } catch (error) {
        if (!(error instanceof ValueError)) throw error;
        throw invalidQuery(
          `Could not cast literal "${v as string}" to type ${to} at ${at(expr.position)}`,
        );
      }
    },
  };
}

function coerceConstant(c: Compiled, expr: Expr): Compiled | undefined {
  if (!isType(c.type, 'STRING')) return undefined;
  const v = c.eval([]);
  if (typeof v !== 'string') return undefined;
  try {
    const micros = parseTimestamp(v);
    return { type: TIMESTAMP, eval: () => micros };
  } catch {
    void expr;
    return undefined;
  }
}

function checkInt(value: bigint): bigint {
  if (value > 9_223_372_036_854_775_807n || value < -9_223_372_036_854_775_808n)
    throw invalidQuery('int64 overflow');
  return value;
}

function arithmetic(op: string, left: Compiled, right: Compiled, position: Position): Compiled {
  const l = left.type;
  const r = right.type;
  const numeric = (t: SqlType | null): boolean =>
    t === null || (t.kind === 'scalar' && NUMERIC_TYPES.has(t.name));
  if (!numeric(l) || !numeric(r)) {
    throw invalidQuery(
      `No matching signature for operator ${op} for argument types: ${typeName(l)}, ${typeName(r)} at ${at(position)}`,
    );
  }
  const both = (name: string): boolean =>
    (l === null || isType(l, name)) && (r === null || isType(r, name));
  if (both('INT64') && op !== '/') {
    const f =
      op === '+'
        ? (a: bigint, b: bigint) => a + b
        : op === '-'
          ? (a: bigint, b: bigint) => a - b
          : (a: bigint, b: bigint) => a * b;
    return {
      type: INT64,
      eval: (env) => {
        const a = left.eval(env);
        const b = right.eval(env);
        return a === null || b === null ? null : checkInt(f(a as bigint, b as bigint));
      },
    };
  }
  if (isType(l, 'NUMERIC') || isType(r, 'NUMERIC')) {
    if (isType(l, 'FLOAT64') || isType(r, 'FLOAT64'))
      return floatArithmetic(op, left, right, position);
    throw unsupported(`operator ${op} on NUMERIC values`, position);
  }
  return floatArithmetic(op, left, right, position);
}

function floatArithmetic(
  op: string,
  left: Compiled,
  right: Compiled,
  position: Position,
): Compiled {
  const f =
    op === '+'
      ? (a: number, b: number) => a + b
      : op === '-'
        ? (a: number, b: number) => a - b
        : op === '*'
          ? (a: number, b: number) => a * b
          : (a: number, b: number) => {
              if (b === 0) throw invalidQuery(`division by zero: ${a} / ${b}`);
              return a / b;
            };
  void position;
  return {
    type: FLOAT64,
    eval: (env) => {
      const a = left.eval(env);
      const b = right.eval(env);
      return a === null || b === null ? null : f(Number(a), Number(b));
    },
  };
}

function fieldAccess(operand: Compiled, name: string, position: Position): Compiled {
  const type = operand.type;
  if (type === null || type.kind !== 'struct') {
    throw invalidQuery(
      `Cannot access field ${name} on a value with type ${typeName(type)} at ${at(position)}`,
    );
  }
  const index = structFieldIndex(type, name);
  if (index === -1)
    throw invalidQuery(`Field name ${name} does not exist in ${typeName(type)} at ${at(position)}`);
  const field = type.fields[index];
  return {
    type: field?.type ?? null,
    eval: (env) => {
      const v = operand.eval(env) as Value[] | null;
      return v === null ? null : (v[index] ?? null);
    },
  };
}

/** The field names of a STRUCT path, as declared (for billing paths). */
function staticPath(type: SqlType, names: string[]): string[] {
  const out: string[] = [];
  let current: SqlType | undefined = type;
  for (const name of names) {
    if (current === undefined || current.kind !== 'struct') break;
    const index = structFieldIndex(current, name);
    const field: { name: string; type: SqlType } | undefined = current.fields[index];
    if (field === undefined) break;
    out.push(field.name);
    current = field.type;
  }
  return out;
}

function literal(type: string, text: string, position: Position): Compiled {
  try {
    switch (type) {
      case 'NULL':
        return { type: null, eval: () => null };
      case 'STRING':
        return { type: STRING, eval: () => text };
      case 'BYTES': {
        const bytes = new Uint8Array(Buffer.from(text, 'latin1'));
        return { type: { kind: 'scalar', name: 'BYTES' }, eval: () => bytes };
      }
      case 'BOOL': {
        const value = text === 'TRUE';
        return { type: BOOL, eval: () => value };
      }
      case 'INT64': {
        const value = BigInt(text);
        checkInt(value);
        return { type: INT64, eval: () => value };
      }
      case 'FLOAT64': {
        const value = Number(text);
        return { type: FLOAT64, eval: () => value };
      }
      case 'NUMERIC': {
        const value = canonicalNumeric(text);
        return { type: { kind: 'scalar', name: 'NUMERIC' }, eval: () => value };
      }
      case 'DATE': {
        const value = parseDate(text);
        return { type: DATE, eval: () => value };
      }
      default: {
        const value = parseTimestamp(text);
        return { type: TIMESTAMP, eval: () => value };
      }
    }
  } catch (error) {
    if (!(error instanceof ValueError)) throw error;
    throw invalidQuery(`Invalid ${type} literal "${text}" at ${at(position)}`);
  }
}

function likeRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const next = pattern[++i] ?? '';
      source += next.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else if (c === '%') source += '[\\s\\S]*';
    else if (c === '_') source += '[\\s\\S]';
    else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'u');
}

function fieldFor(name: string, type: SqlType): Field {
  const repeated = type.kind === 'array';
  const element = type.kind === 'array' ? type.element : type;
  if (element.kind === 'array')
    throw invalidQuery(`Cannot write nested ARRAY<ARRAY> in the result column ${name}`);
  return {
    name,
    mode: repeated ? 'REPEATED' : 'NULLABLE',
    ...(element.kind === 'struct'
      ? {
          type: 'STRUCT' as const,
          fields: element.fields.map((field, i) =>
            fieldFor(field.name === '' ? `_field_${i + 1}` : field.name, field.type),
          ),
        }
      : { type: element.name }),
  };
}

/** A key that equal expressions share (positions ignored, names case-folded). */
export function exprKey(expr: Expr): string {
  return JSON.stringify(expr, (key, value: unknown) => {
    if (key === 'position') return undefined;
    if (key === 'parts' && Array.isArray(value))
      return value.map((part) => String(part).toLowerCase());
    return value;
  });
}

/** Whether an expression calls an aggregate outside any subquery. */
function hasAggregate(expr: Expr): boolean {
  return firstAggregate(expr) !== undefined;
}

function firstAggregate(expr: Expr): string | undefined {
  if (expr.kind === 'call' && AGGREGATES.has(expr.name)) return expr.name;
  for (const child of children(expr)) {
    const found = firstAggregate(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

function children(expr: Expr): Expr[] {
  switch (expr.kind) {
    case 'field':
    case 'not':
    case 'negate':
    case 'isNull':
    case 'isBool':
    case 'cast':
      return [expr.operand];
    case 'interval':
      return [expr.value];
    case 'call':
      return expr.args;
    case 'binary':
      return [expr.left, expr.right];
    case 'in':
      return [expr.operand, ...expr.items];
    case 'inUnnest':
      return [expr.operand, expr.array];
    case 'between':
      return [expr.operand, expr.low, expr.high];
    case 'like':
      return [expr.operand, expr.pattern];
    case 'arrayLiteral':
      return expr.items;
    case 'case':
      return [
        ...(expr.operand === undefined ? [] : [expr.operand]),
        ...expr.whens.flatMap((w) => [w.when, w.then]),
        ...(expr.else === undefined ? [] : [expr.else]),
      ];
    default:
      return [];
  }
}

function mentionsColumns(expr: Expr): boolean {
  if (
    expr.kind === 'path' ||
    expr.kind === 'exists' ||
    expr.kind === 'subquery' ||
    expr.kind === 'arraySubquery'
  )
    return true;
  return children(expr).some(mentionsColumns);
}

function mentionsSubquery(expr: Expr): boolean {
  if (expr.kind === 'exists' || expr.kind === 'subquery' || expr.kind === 'arraySubquery')
    return true;
  return children(expr).some(mentionsSubquery);
}

/** The AND-ed parts of a condition. */
export function conjuncts(expr: Expr): Expr[] {
  return expr.kind === 'binary' && expr.op === 'AND'
    ? [...conjuncts(expr.left), ...conjuncts(expr.right)]
    : [expr];
}

export { Scope };
