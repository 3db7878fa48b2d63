import { invalidQuery, notFound } from '../errors';
import type { QueryParam } from '../params';
import { columnSql, findField, type Field, type TableInfo, type TableRef } from '../schema';
import {
  canonicalNumeric,
  fromJson,
  parseDate,
  parseTimestamp,
  placeholder,
  toSqlite,
  ValueError,
  type FieldType,
  type BindValue,
  type Value,
} from '../values';
import type { Expr, Position, SelectStatement, Statement, TableName } from './ast';
import { at, unsupported } from './tokens';

/** SQL text and the values bound to its placeholders, in order. */
export interface Fragment {
  sql: string;
  binds: BindValue[];
}

export interface CompileContext {
  /** The job's project: tables written `dataset.table` live there. */
  projectId: string;
  /** `configuration.query.defaultDataset`, for tables written without a dataset. */
  defaultDataset?: { projectId?: string; datasetId: string };
  location: string;
  lookup(ref: TableRef): TableInfo | undefined;
  params: ReadonlyMap<string, QueryParam>;
}

interface CompiledBase {
  table: TableInfo;
  /** Indexes of the table's fields the statement reads; billing sums their sizes. */
  referenced: number[];
}

export type CompiledStatement =
  | (CompiledBase & { kind: 'select'; query: Fragment; fields: Field[] })
  | (CompiledBase & { kind: 'delete'; where: Fragment })
  | (CompiledBase & { kind: 'update'; where: Fragment; set: Fragment });

/** An operand once resolved: SQL over the row, or a constant (literal or scalar parameter). */
type Operand =
  | { kind: 'expr'; sql: string; binds: BindValue[]; type: FieldType; position: Position }
  | { kind: 'const'; type: FieldType | 'NULL'; value: Value; position: Position };

/**
 * Resolves a parsed statement against the catalog and parameters, type-checks it as GoogleSQL
 * would, and renders SQLite with every value bound, never spliced.
 */
export function compileStatement(statement: Statement, context: CompileContext): CompiledStatement {
  return new Compiler(context, resolveTable(statement.table, context)).compile(statement);
}

function resolveTable(name: TableName, context: CompileContext): TableInfo {
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
  const table = context.lookup(ref);
  if (table === undefined) {
    throw notFound(
      `Table ${ref.projectId}:${ref.datasetId}.${ref.tableId} was not found in location ${context.location}`,
    );
  }
  return table;
}

class Compiler {
  private readonly referenced = new Set<number>();

  constructor(
    private readonly context: CompileContext,
    private readonly table: TableInfo,
  ) {}

  compile(statement: Statement): CompiledStatement {
    const base = (): CompiledBase => ({
      table: this.table,
      referenced: [...this.referenced].sort((a, b) => a - b),
    });
    switch (statement.kind) {
      case 'select': {
        const { query, fields } = this.select(statement);
        return { kind: 'select', query, fields, ...base() };
      }
      case 'delete': {
        const where = this.where(statement.where);
        return { kind: 'delete', where, ...base() };
      }
      case 'update': {
        const where = this.where(statement.where);
        const set = this.assignments(statement);
        return { kind: 'update', where, set, ...base() };
      }
    }
  }

  private select(statement: SelectStatement): { query: Fragment; fields: Field[] } {
    const columns: string[] = [];
    const fields: Field[] = [];
    let anonymous = 0;
    const items =
      statement.items === '*'
        ? this.table.fields.map((field, index) => {
            this.referenced.add(index);
            return { sql: columnSql(index), field: { ...field, mode: 'NULLABLE' as const } };
          })
        : statement.items.map((item) => {
            if (item.kind === 'count') {
              const name = item.alias ?? `f${anonymous++}_`;
              return {
                sql: 'COUNT(*)',
                field: { name, type: 'INT64' as const, mode: 'NULLABLE' as const },
              };
            }
            const index = this.column(item.column.name, item.column.position);
            const source = this.table.fields[index] as Field;
            const name = item.alias ?? item.column.name;
            return {
              sql: columnSql(index),
              field: { name, type: source.type, mode: 'NULLABLE' as const },
            };
          });
    for (const item of items) {
      columns.push(item.sql);
      fields.push(item.field);
    }
    const counting =
      statement.items !== '*' && statement.items.some((item) => item.kind === 'count');
    if (
      counting &&
      statement.items !== '*' &&
      statement.items.some((item) => item.kind === 'column')
    ) {
      throw unsupported('COUNT(*) together with columns (no GROUP BY)');
    }
    const where = statement.where === undefined ? undefined : this.where(statement.where);
    const binds = [...(where?.binds ?? [])];
    let sql = `SELECT ${columns.join(', ')} FROM ${this.table.sqlName}`;
    if (where !== undefined) sql += ` WHERE ${where.sql}`;
    if (statement.orderBy.length > 0) {
      if (counting) throw unsupported('ORDER BY with COUNT(*)');
      const order = statement.orderBy.map(({ column, descending }) => {
        const index = this.column(column.name, column.position);
        if (this.table.fields[index]?.type === 'NUMERIC') {
          throw unsupported('ORDER BY a NUMERIC column', column.position);
        }
        return `${columnSql(index)}${descending ? ' DESC' : ''}`;
      });
      sql += ` ORDER BY ${order.join(', ')}`;
    } else {
      sql += ' ORDER BY rowid';
    }
    if (statement.limit !== undefined) {
      sql += ' LIMIT CAST(? AS INTEGER)';
      binds.push(this.limit(statement.limit).toString());
    }
    return { query: { sql, binds }, fields };
  }

  private limit(limit: NonNullable<SelectStatement['limit']>): bigint {
    if (limit.kind === 'literal') return limit.value;
    const param = this.param(limit.name, limit.position);
    if (
      param.kind !== 'const' ||
      param.type !== 'INT64' ||
      param.value === null ||
      (param.value as bigint) < 0n
    ) {
      throw invalidQuery(`LIMIT expects a non-negative INT64 parameter at ${at(limit.position)}`);
    }
    return param.value as bigint;
  }

  private assignments(statement: Extract<Statement, { kind: 'update' }>): Fragment {
    const seen = new Set<number>();
    const parts: string[] = [];
    const binds: BindValue[] = [];
    for (const { column, value } of statement.assignments) {
      const index = this.findColumn(column.name, column.position);
      const field = this.table.fields[index] as Field;
      if (seen.has(index))
        throw invalidQuery(
          `Update item ${field.name} overlaps with ${field.name} at ${at(column.position)}`,
        );
      seen.add(index);
      const operand = this.operand(value);
      if (operand.kind !== 'const') throw unsupported('SET to an expression', column.position);
      const coerced = coerceConst(operand, field.type);
      if (coerced === undefined) {
        throw invalidQuery(
          `Value of type ${operand.type} cannot be assigned to ${field.name}, which has type ${field.type} at ${at(value.position)}`,
        );
      }
      if (coerced === null && field.mode === 'REQUIRED') {
        throw invalidQuery(
          `Cannot assign NULL to REQUIRED field ${field.name} at ${at(value.position)}`,
        );
      }
      parts.push(`${columnSql(index)} = ${placeholder(field.type)}`);
      binds.push(toSqlite(coerced));
    }
    return { sql: parts.join(', '), binds };
  }

  private where(expr: Expr): Fragment {
    const operand = this.condition(expr);
    if (operand.type !== 'BOOL' && operand.type !== 'NULL') {
      throw invalidQuery(
        `WHERE clause should return type BOOL, but returns ${operand.type} at ${at(expr.position)}`,
      );
    }
    return render(operand, 'BOOL');
  }

  /** Compiles any expression; predicates come back as BOOL expressions. */
  private condition(expr: Expr): Operand {
    switch (expr.kind) {
      case 'column':
      case 'param':
      case 'literal':
        return this.operand(expr);
      case 'and':
      case 'or': {
        const keyword = expr.kind.toUpperCase();
        const left = this.boolean(this.condition(expr.left), keyword, expr.position);
        const right = this.boolean(this.condition(expr.right), keyword, expr.position);
        return boolExpr(
          `(${left.sql} ${keyword} ${right.sql})`,
          [...left.binds, ...right.binds],
          expr.position,
        );
      }
      case 'not': {
        const inner = this.boolean(this.condition(expr.operand), 'NOT', expr.position);
        return boolExpr(`(NOT ${inner.sql})`, inner.binds, expr.position);
      }
      case 'isNull': {
        const operand = this.condition(expr.operand);
        const inner = render(operand, operand.type);
        return boolExpr(
          `(${inner.sql} IS ${expr.negated ? 'NOT ' : ''}NULL)`,
          inner.binds,
          expr.position,
        );
      }
      case 'compare': {
        const left = this.condition(expr.left);
        const right = this.condition(expr.right);
        const type = commonType([left, right], expr.op, expr.position);
        if (expr.op !== '=' && expr.op !== '!=' && type === 'NUMERIC') {
          throw unsupported(`operator ${expr.op} on NUMERIC values`, expr.position);
        }
        const [l, r] = [render(left, type), render(right, type)];
        return boolExpr(`(${l.sql} ${expr.op} ${r.sql})`, [...l.binds, ...r.binds], expr.position);
      }
      case 'in': {
        const operand = this.condition(expr.operand);
        const items = expr.items.map((item) => this.condition(item));
        return this.membership(operand, items, expr.negated, expr.position);
      }
      case 'inUnnest': {
        const operand = this.condition(expr.operand);
        const param = this.lookupParam(expr.param.name, expr.param.position);
        if (param.kind !== 'array') {
          throw invalidQuery(
            `Values referenced in UNNEST must be arrays. UNNEST contains expression of type ${param.type} at ${at(expr.param.position)}`,
          );
        }
        const position = expr.param.position;
        const items: Operand[] = param.values.map((value) => ({
          kind: 'const',
          type: param.elementType,
          value,
          position,
        }));
        const typeWitness: Operand = {
          kind: 'const',
          type: param.elementType,
          value: null,
          position,
        };
        return this.membership(operand, items, expr.negated, expr.position, typeWitness);
      }
    }
  }

  private membership(
    operand: Operand,
    items: Operand[],
    negated: boolean,
    position: Position,
    typeWitness?: Operand,
  ): Operand {
    const type = commonType(
      [operand, ...items, ...(typeWitness ? [typeWitness] : [])],
      'IN',
      position,
    );
    const left = render(operand, type);
    const rendered = items.map((item) => render(item, type));
    return boolExpr(
      `(${left.sql} ${negated ? 'NOT IN' : 'IN'} (${rendered.map((item) => item.sql).join(', ')}))`,
      [...left.binds, ...rendered.flatMap((item) => item.binds)],
      position,
    );
  }

  private boolean(operand: Operand, keyword: string, position: Position): Fragment {
    if (operand.type !== 'BOOL' && operand.type !== 'NULL') {
      throw invalidQuery(
        `No matching signature for operator ${keyword} for argument types: ${operand.type} at ${at(position)}`,
      );
    }
    return render(operand, 'BOOL');
  }

  private operand(expr: Extract<Expr, { kind: 'column' | 'param' | 'literal' }>): Operand {
    switch (expr.kind) {
      case 'column': {
        const index = this.column(expr.name, expr.position);
        const type = (this.table.fields[index] as Field).type;
        return { kind: 'expr', sql: columnSql(index), binds: [], type, position: expr.position };
      }
      case 'param':
        return this.param(expr.name, expr.position);
      case 'literal':
        return literal(expr.type, expr.text, expr.position);
    }
  }

  private param(name: string, position: Position): Operand {
    const param = this.lookupParam(name, position);
    if (param.kind === 'array') {
      throw invalidQuery(
        `Array parameter @${name} can only be used as IN UNNEST(@${name}) at ${at(position)}`,
      );
    }
    return { kind: 'const', type: param.type, value: param.value, position };
  }

  private lookupParam(name: string, position: Position): QueryParam {
    const param = this.context.params.get(name.toLowerCase());
    if (param === undefined)
      throw invalidQuery(`Query parameter '${name}' not found at ${at(position)}`);
    return param;
  }

  /** Resolves a column the statement reads. */
  private column(name: string, position: Position): number {
    const index = this.findColumn(name, position);
    this.referenced.add(index);
    return index;
  }

  private findColumn(name: string, position: Position): number {
    const index = findField(this.table.fields, name);
    if (index === -1) throw invalidQuery(`Unrecognized name: ${name} at ${at(position)}`);
    return index;
  }
}

function boolExpr(sql: string, binds: BindValue[], position: Position): Operand {
  return { kind: 'expr', sql, binds, type: 'BOOL', position };
}

function literal(
  type: Extract<Expr, { kind: 'literal' }>['type'],
  text: string,
  position: Position,
): Operand {
  try {
    switch (type) {
      case 'NULL':
        return { kind: 'const', type: 'NULL', value: null, position };
      case 'BOOL':
        return { kind: 'const', type, value: text === 'TRUE', position };
      case 'DATE':
        return { kind: 'const', type, value: parseDate(text), position };
      case 'TIMESTAMP':
        return { kind: 'const', type, value: parseTimestamp(text), position };
      case 'NUMERIC':
        return { kind: 'const', type, value: canonicalNumeric(text), position };
      default:
        return { kind: 'const', type, value: fromJson(type, text), position };
    }
  } catch (error) {
    if (error instanceof ValueError)
      throw invalidQuery(`Invalid ${type} literal "${text}" at ${at(position)}`);
    throw error;
  }
}

const isIntOrFloat = (type: FieldType | 'NULL'): boolean => type === 'INT64' || type === 'FLOAT64';

/**
 * GoogleSQL literal and parameter coercion: INT64 widens to FLOAT64 and NUMERIC, STRING
 * becomes DATE or TIMESTAMP. Undefined when the value cannot take the type.
 */
function coerceConst(
  operand: Extract<Operand, { kind: 'const' }>,
  target: FieldType | 'NULL',
): Value | undefined {
  const { type, value } = operand;
  if (value === null || type === target) return value;
  try {
    if (type === 'INT64' && target === 'FLOAT64') return Number(value);
    if (type === 'INT64' && target === 'NUMERIC') return String(value);
    if (type === 'STRING' && target === 'DATE') return parseDate(value as string);
    if (type === 'STRING' && target === 'TIMESTAMP') return parseTimestamp(value as string);
  } catch (error) {
    if (error instanceof ValueError) {
      throw invalidQuery(
        `Could not cast literal "${String(value)}" to type ${target} at ${at(operand.position)}`,
      );
    }
    throw error;
  }
  return undefined;
}

function fitsType(operand: Operand, target: FieldType | 'NULL'): boolean {
  if (operand.kind === 'expr')
    return operand.type === target || (isIntOrFloat(operand.type) && isIntOrFloat(target));
  if (operand.value === null || operand.type === target) return true;
  return isIntOrFloat(operand.type) && isIntOrFloat(target)
    ? true
    : coerceConst(operand, target) !== undefined;
}

/** The type every operand of a comparison or IN can be compared as, trying columns' types first. */
function commonType(operands: Operand[], operator: string, position: Position): FieldType | 'NULL' {
  const candidates = [
    ...operands.filter((operand) => operand.kind === 'expr'),
    ...operands.filter((operand) => operand.kind === 'const' && operand.type !== 'NULL'),
  ].map((operand) => operand.type);
  if (candidates.length === 0) return 'NULL';
  const found = candidates.find((candidate) =>
    operands.every((operand) => fitsType(operand, candidate)),
  );
  if (found !== undefined) return found;
  const types = [...new Set(operands.map((operand) => operand.type))];
  if (types.includes('NUMERIC')) {
    throw unsupported(
      `comparing NUMERIC with ${types.filter((type) => type !== 'NUMERIC').join(', ')}`,
      position,
    );
  }
  throw invalidQuery(
    `No matching signature for operator ${operator} for argument types: ${types.join(', ')} at ${at(position)}`,
  );
}

function render(operand: Operand, type: FieldType | 'NULL'): Fragment {
  if (operand.kind === 'expr') return { sql: operand.sql, binds: operand.binds };
  if (type === 'NULL' || operand.value === null) return { sql: 'NULL', binds: [] };
  const value =
    operand.type === type || !(isIntOrFloat(operand.type) && isIntOrFloat(type))
      ? coerceConst(operand, type)
      : operand.value;
  const valueType = value === operand.value ? (operand.type as FieldType) : type;
  return { sql: placeholder(valueType), binds: [toSqlite(value ?? null)] };
}
