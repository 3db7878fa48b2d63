import { invalidQuery } from '../errors';
import { dateToMicros } from '../partitions';
import { BOOL, INT64, TIMESTAMP, compareValues, typeName, valuesEqual, type Value } from '../types';
import { canonicalNumeric } from '../values';
import type { Expr, Position, SelectStatement } from './ast';
import { AGGREGATES, castTo, FUNCTIONS, INTERVAL_TYPE, unknownFunction } from './functions';
import type { Compiled, CompiledSelect, Env, GroupContext, Ref } from './model';
import { Scope } from './model';
import {
  and,
  arithmetic,
  coerceString,
  comparator,
  converterFor,
  exprKey,
  fieldAccess,
  floatView,
  hasAggregate,
  isConstantLike,
  isType,
  likeRegex,
  literal,
  NUMERIC_TYPES,
  numericView,
} from './operators';
import { aggregateType } from './aggregates';
import { at } from './tokens';
import { NameResolver } from './names';

/**
 * Compiles expressions into closures over a row's slots, type-checked as GoogleSQL would: names
 * resolved against the scope (innermost query first), each column path a table read recorded
 * for billing. Subqueries are compiled by the statement compiler (`select`).
 */
export abstract class ExpressionCompiler extends NameResolver {
  abstract select(statement: SelectStatement, parent?: Scope): CompiledSelect;

  /** Compiles `expr`, also returning every name it read (for deciding what it can prune). */
  tracked(expr: Expr, scope: Scope): { compiled: Compiled; refs: Ref[] } {
    const saved = this.tracking;
    this.tracking = [];
    try {
      const compiled = this.expr(expr, scope);
      return { compiled, refs: this.tracking };
    } finally {
      this.tracking = saved;
    }
  }

  /** Whether a one-part path names something in scope (a column or an alias). */

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
        // A parameter's array is the same object on every row: a batch's `IN UNNEST(@subjects)`
        // over a million rows looks each value up in a set of its strings, not a scan.
        let seen: Value[] | undefined;
        let lookup: { strings: Set<string>; sawNull: boolean; unusable?: true } | undefined;
        return {
          type: BOOL,
          eval: (env) => {
            const v = left.eval(env);
            const items = array.eval(env) as Value[] | null;
            if (v === null) return items === null || items.length === 0 ? negated : null;
            if (items === null) return negated;
            if (typeof v === 'string' && items.length > 8) {
              // Built the second time the same array comes by (a per-row array never is).
              if (items !== seen) {
                seen = items;
                lookup = undefined;
              } else
                lookup ??= stringLookup(items.map(convert)) ?? {
                  strings: new Set(),
                  sawNull: true,
                  unusable: true,
                };
              if (lookup !== undefined && lookup.unusable !== true) {
                if (lookup.strings.has(v)) return !negated;
                return lookup.sawNull ? null : negated;
              }
            }
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
        return { type: BOOL, eval: existsOver(query) };
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
          eval: (env) => {
            const a = left.eval(env);
            // FALSE decides it: the right side is not evaluated (BigQuery promises no order).
            if (a === false) return false;
            return and(a as boolean | null, right.eval(env) as boolean | null);
          },
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
        const values: Value[] = new Array<Value>(args.length);
        for (let i = 0; i < args.length; i++) {
          const value = (args[i] as Compiled).eval(env);
          if (nullIn && value === null) return null;
          values[i] = value;
        }
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
}

/**
 * EXISTS: the common `EXISTS (SELECT 1 FROM UNNEST(outer.array) AS x WHERE …)` as a loop over
 * the array that stops at the first element that passes; anything else runs the subquery.
 */
function existsOver(query: CompiledSelect): (env: Env) => Value {
  const { plan } = query;
  const [step, ...others] = plan.steps;
  const simple =
    step !== undefined &&
    step.kind === 'unnest' &&
    !step.outer &&
    others.length === 0 &&
    plan.group === undefined &&
    plan.limit === undefined &&
    plan.offset === undefined;
  if (!simple) return (env) => query.run(env, 1).length > 0;
  const { where } = plan;
  return (env) => {
    const items = step.array.eval(env) as Value[] | null;
    if (items === null || items.length === 0) return false;
    const inner = env.slice();
    for (let k = 0; k < items.length; k++) {
      inner[step.slot] = items[k];
      if (step.offsetSlot !== undefined) inner[step.offsetSlot] = BigInt(k);
      if (where === undefined || where.eval(inner) === true) return true;
    }
    return false;
  };
}

/** The array's strings as a set, or undefined when it holds anything else. */
function stringLookup(
  items: readonly Value[],
): { strings: Set<string>; sawNull: boolean } | undefined {
  const strings = new Set<string>();
  let sawNull = false;
  for (const item of items) {
    if (item === null) sawNull = true;
    else if (typeof item === 'string') strings.add(item);
    else return undefined;
  }
  return { strings, sawNull };
}
