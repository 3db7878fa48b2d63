import { invalidQuery } from '../errors';
import {
  BOOL,
  INT64,
  compareValues,
  scaledNumeric,
  typeName,
  valueKey,
  type SqlType,
  type Value,
} from '../types';
import { canonicalNumeric } from '../values';
import type { Position } from './ast';
import type { AggregateSpec, Env } from './model';
import { checkInt, isType, NUMERIC_TYPES } from './operators';
import { at } from './tokens';

/** Aggregate functions over a group: their state, how a row adds to it, and their result. */

export interface AggregateState {
  count: number;
  value: Value;
  seen?: Set<string>;
  items?: Value[];
}

export function newState(spec: AggregateSpec): AggregateState {
  return {
    count: 0,
    value: null,
    ...(spec.distinct ? { seen: new Set<string>() } : {}),
    ...(spec.name === 'ARRAY_AGG' ? { items: [] } : {}),
  };
}

export function accumulate(spec: AggregateSpec, state: AggregateState, env: Env): void {
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

export function finish(spec: AggregateSpec, state: AggregateState): Value {
  if (spec.name === 'COUNT' || spec.name === 'COUNTIF') return BigInt(state.count);
  if (spec.name === 'ARRAY_AGG') return state.items ?? [];
  return state.value;
}

export function add(a: Value, b: Value, type: SqlType): Value {
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

export function aggregateType(name: string, arg: SqlType | null, position: Position): SqlType {
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
