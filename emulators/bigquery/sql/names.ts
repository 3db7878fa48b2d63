import { invalidQuery } from '../errors';
import { microsToDate, partitionRange } from '../partitions';
import { fieldType, findField, rowType, type Field, type Partitioning } from '../schema';
import { DATE, STRING, TIMESTAMP, type Value } from '../types';
import type { StoredRow, TableRecord } from '../warehouse';
import type { PathExpr, Position } from './ast';
import type { CompileContext, Compiled, Ref, Slot, Source } from './model';
import { Scope } from './model';
import { fieldAccess, isPseudo, staticPath } from './operators';
import { at } from './tokens';

/**
 * Name resolution, as GoogleSQL does it: an alias (of a table or an UNNEST), else a column of a
 * table in scope (innermost query first), else a pseudo-column; the rest of a dotted path are
 * STRUCT fields. Each column path of a table read is recorded for billing.
 */
export abstract class NameResolver {
  readonly sources: Source[] = [];
  protected tracking: Ref[] | undefined;

  constructor(protected readonly context: CompileContext) {}

  protected resolvable(expr: PathExpr, scope: Scope): boolean {
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

  protected track(ref: Ref): void {
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
