import { invalidQuery, notFound } from '../errors';
import { fieldOfType, fieldType, findField, type Field, type TableRef } from '../schema';
import { INT64, typeName, type SqlType, type Value } from '../types';
import type { StoredRow } from '../warehouse';
import type { Expr, FromItem, Position, SelectStatement, TableName } from './ast';
import { ExpressionCompiler } from './expressions';
import {
  Scope,
  type Compiled,
  type CompiledSelect,
  type GroupContext,
  type SelectPlan,
  type Slot,
  type Source,
  type Step,
} from './model';
import { conjuncts, exprKey, hasAggregate, firstAggregate } from './operators';
import { analyseConjunct } from './pruning';
import { runSelect } from './run-select';
import { at, unsupported } from './tokens';

/**
 * Compiles parsed statements into closures over rows: names are resolved against the catalog
 * and type-checked as GoogleSQL would before anything runs, values come in through parameters
 * (never spliced into anything), and each table read records the column paths it touches, so
 * billing can sum exactly those.
 */

export class Compiler extends ExpressionCompiler {
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
    let fields = columns.map((column, index) => fieldOfType(column.name, types[index] as SqlType));
    const asStruct = statement.asStruct;
    if (asStruct) {
      const structType: SqlType = {
        kind: 'struct',
        fields: columns.map((c, i) => ({
          name: c.anonymous ? '' : c.name,
          type: types[i] as SqlType,
        })),
      };
      fields = [fieldOfType('f0_', structType)];
    }
    const distinct = statement.distinct;
    if (distinct && types.some((type) => type.kind !== 'scalar')) {
      throw invalidQuery('Column of type ARRAY or STRUCT cannot be used in SELECT DISTINCT');
    }

    const plan: SelectPlan = {
      steps,
      where,
      columns: columns.map((column) => column.compiled),
      orderBy,
      group,
      groupBy: groupCompiled,
      grouped: statement.groupBy.length > 0,
      having,
      distinct,
      limit,
      offset,
      asStruct,
    };
    return {
      fields,
      types: asStruct ? [fields.length === 1 ? fieldType(fields[0] as Field) : INT64] : types,
      sources: this.sources,
      run: (outer, cap) => runSelect(plan, outer, cap),
      plan,
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
    for (const conjunct of conjuncts(expr)) analyseConjunct(this, conjunct, scope);
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
}
