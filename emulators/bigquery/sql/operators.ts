import { invalidQuery } from '../errors';
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
  valuesEqual,
  type SqlType,
  type Value,
} from '../types';
import { canonicalNumeric, parseDate, parseTimestamp, ValueError } from '../values';
import type { Expr, Position } from './ast';
import { AGGREGATES } from './functions';
import type { Compiled, Source } from './model';
import { at, unsupported } from './tokens';

/** The pieces expressions are compiled from: operators, coercions, literals, AST walks. */

export const NUMERIC_TYPES = new Set(['INT64', 'NUMERIC', 'FLOAT64']);

export function isType(type: SqlType | null, name: string): boolean {
  return type !== null && type.kind === 'scalar' && type.name === name;
}

export function isPseudo(source: Source, lower: string): boolean {
  return (
    (lower === '_table_suffix' && source.wildcard) ||
    lower === '_partitiontime' ||
    lower === '_partitiondate'
  );
}

export function and(a: boolean | null, b: boolean | null): boolean | null {
  if (a === false || b === false) return false;
  if (a === null || b === null) return null;
  return true;
}

export function comparator(op: string): (a: Value, b: Value) => boolean {
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

export function numericView(c: Compiled): Compiled {
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

export function floatView(c: Compiled): Compiled {
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
export function converterFor(element: SqlType, operand: SqlType | null): (value: Value) => Value {
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

export function isConstantLike(expr: Expr, side: 'left' | 'right'): boolean {
  const operand = expr.kind === 'binary' ? expr[side] : undefined;
  if (operand === undefined) return true;
  return operand.kind === 'literal' || operand.kind === 'param';
}

export function coerceString(c: Compiled, to: 'DATE' | 'TIMESTAMP', expr: Expr): Compiled {
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

export function coerceConstant(c: Compiled, expr: Expr): Compiled | undefined {
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

export function checkInt(value: bigint): bigint {
  if (value > 9_223_372_036_854_775_807n || value < -9_223_372_036_854_775_808n)
    throw invalidQuery('int64 overflow');
  return value;
}

export function arithmetic(
  op: string,
  left: Compiled,
  right: Compiled,
  position: Position,
): Compiled {
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

export function floatArithmetic(
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

export function fieldAccess(operand: Compiled, name: string, position: Position): Compiled {
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
export function staticPath(type: SqlType, names: string[]): string[] {
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

export function literal(type: string, text: string, position: Position): Compiled {
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

export function likeRegex(pattern: string): RegExp {
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
export function hasAggregate(expr: Expr): boolean {
  return firstAggregate(expr) !== undefined;
}

export function firstAggregate(expr: Expr): string | undefined {
  if (expr.kind === 'call' && AGGREGATES.has(expr.name)) return expr.name;
  for (const child of children(expr)) {
    const found = firstAggregate(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function children(expr: Expr): Expr[] {
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

export function mentionsColumns(expr: Expr): boolean {
  if (
    expr.kind === 'path' ||
    expr.kind === 'exists' ||
    expr.kind === 'subquery' ||
    expr.kind === 'arraySubquery'
  )
    return true;
  return children(expr).some(mentionsColumns);
}

export function mentionsSubquery(expr: Expr): boolean {
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
