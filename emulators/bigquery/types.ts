import {
  fromJson,
  toCell,
  ValueError,
  type FieldType,
  type TimestampFormat,
  type Value,
} from './values';

export type { Value } from './values';

/**
 * GoogleSQL types as the engine sees them, nested: scalars, ARRAY and STRUCT. A value of an
 * ARRAY or STRUCT type is a JS array (the elements, or the fields in declaration order).
 */
export type SqlType =
  | { kind: 'scalar'; name: FieldType }
  | { kind: 'array'; element: SqlType }
  | { kind: 'struct'; fields: StructField[] };

export interface StructField {
  name: string;
  type: SqlType;
}

export const scalar = (name: FieldType): SqlType => ({ kind: 'scalar', name });
export const STRING = scalar('STRING');
export const INT64 = scalar('INT64');
export const BOOL = scalar('BOOL');
export const BYTES = scalar('BYTES');
export const FLOAT64 = scalar('FLOAT64');
export const DATE = scalar('DATE');
export const TIMESTAMP = scalar('TIMESTAMP');

export const isScalar = (type: SqlType | null, name?: FieldType): boolean =>
  type !== null && type.kind === 'scalar' && (name === undefined || type.name === name);

/** `STRING`, `ARRAY<STRING>`, `STRUCT<key STRING, value STRUCT<...>>`, as the service prints. */
export function typeName(type: SqlType | null): string {
  if (type === null) return 'INT64';
  switch (type.kind) {
    case 'scalar':
      return type.name;
    case 'array':
      return `ARRAY<${typeName(type.element)}>`;
    case 'struct':
      return `STRUCT<${type.fields.map((f) => `${f.name} ${typeName(f.type)}`).join(', ')}>`;
  }
}

export function sameType(a: SqlType, b: SqlType): boolean {
  return typeName(a) === typeName(b);
}

/** The index of a struct field, found case-insensitively as GoogleSQL resolves names. */
export function structFieldIndex(type: SqlType, name: string): number {
  if (type.kind !== 'struct') return -1;
  const lower = name.toLowerCase();
  return type.fields.findIndex((field) => field.name.toLowerCase() === lower);
}

/**
 * A value's billed size by BigQuery's data-size rules: 2 + UTF-8 length for STRING and BYTES,
 * 8 for INT64, FLOAT64, TIMESTAMP and DATE, 16 for NUMERIC, 1 for BOOL, the sum of the parts for
 * STRUCT and ARRAY, 0 for NULL.
 */
export function valueSize(type: SqlType, value: Value): number {
  if (value === null) return 0;
  switch (type.kind) {
    case 'array': {
      let total = 0;
      for (const element of value as Value[]) total += valueSize(type.element, element);
      return total;
    }
    case 'struct': {
      let total = 0;
      const values = value as Value[];
      type.fields.forEach((field, index) => {
        total += valueSize(field.type, values[index] ?? null);
      });
      return total;
    }
    case 'scalar':
      switch (type.name) {
        case 'STRING': {
          const text = value as string;
          // ASCII fast path: most identifiers are.
          return 2 + (isAscii(text) ? text.length : Buffer.byteLength(text, 'utf8'));
        }
        case 'BYTES':
          return 2 + (value as Uint8Array).length;
        case 'BOOL':
          return 1;
        case 'NUMERIC':
          return 16;
        default:
          return 8;
      }
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Converts a JSON value (insertAll row, seed row, parameter) of a nested type. */
export function fromJsonTyped(type: SqlType, raw: unknown, where: string): Value {
  if (raw === null || raw === undefined) return type.kind === 'array' ? [] : null;
  switch (type.kind) {
    case 'scalar':
      try {
        return fromJson(type.name, raw);
      } catch (error) {
        if (error instanceof ValueError && /[.[]/.test(where)) {
          throw new ValueError(`${where}: ${error.message}`);
        }
        throw error;
      }
    case 'array': {
      if (!Array.isArray(raw))
        throw new ValueError(
          `${where}: Array specified for non-repeated field or a non-array for a repeated field`,
        );
      return raw.map((item, index) => {
        if (item === null) throw new ValueError(`${where}[${index}]: NULL value in an ARRAY`);
        return fromJsonTyped(type.element, item, `${where}[${index}]`);
      });
    }
    case 'struct': {
      if (typeof raw !== 'object' || Array.isArray(raw)) {
        throw new ValueError(`${where}: a JSON object is needed for a RECORD field`);
      }
      const entries = raw as Record<string, unknown>;
      const values: Value[] = type.fields.map(() => null);
      for (const [key, item] of Object.entries(entries)) {
        const index = structFieldIndex(type, key);
        if (index === -1) throw new ValueError(`no such field: ${where}.${key}.`);
        const field = type.fields[index] as StructField;
        values[index] = fromJsonTyped(field.type, item, `${where}.${field.name}`);
      }
      type.fields.forEach((field, index) => {
        if (field.type.kind === 'array' && values[index] === null) values[index] = [];
      });
      return values;
    }
  }
}

/** A typed value as the `v` of an `f/v` cell: `{ f: [...] }` for STRUCT, `[{ v }]` for ARRAY. */
export function toCellTyped(type: SqlType, value: Value, timestamps: TimestampFormat): unknown {
  if (value === null) return type.kind === 'array' ? [] : null;
  switch (type.kind) {
    case 'scalar':
      return toCell(type.name, value, timestamps);
    case 'array':
      return (value as Value[]).map((item) => ({ v: toCellTyped(type.element, item, timestamps) }));
    case 'struct':
      return {
        f: type.fields.map((field, index) => ({
          v: toCellTyped(field.type, (value as Value[])[index] ?? null, timestamps),
        })),
      };
  }
}

/** A key that is equal for equal values, for GROUP BY, DISTINCT and IN lists. */
export function valueKey(value: Value): string {
  if (value === null) return 'n';
  if (typeof value === 'bigint') return `i${value}`;
  if (typeof value === 'number') return Number.isNaN(value) ? 'fNaN' : `f${value}`;
  if (typeof value === 'boolean') return value ? 'T' : 'F';
  if (typeof value === 'string') return `s${value.length}:${value}`;
  if (value instanceof Uint8Array) return `b${Buffer.from(value).toString('base64')}`;
  return `[${value.map(valueKey).join(',')}]`;
}

const NUMERIC_SCALE = 1_000_000_000n;

/** NUMERIC text → an integer scaled by 10^9, so decimals compare exactly. */
export function scaledNumeric(text: string): bigint {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = text.replace(/^-/, '').split('.');
  const scaled = BigInt(whole) * NUMERIC_SCALE + BigInt(fraction.padEnd(9, '0') || '0');
  return negative ? -scaled : scaled;
}

/** Orders two non-NULL values of comparable types: negative, zero or positive. */
export function compareValues(a: Value, b: Value): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const x = typeof a === 'bigint' ? Number(a) : (a as number);
  const y = typeof b === 'bigint' ? Number(b) : (b as number);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : -1) : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Equality of two non-NULL values (NaN equals nothing, as in GoogleSQL). */
export function valuesEqual(a: Value, b: Value): boolean {
  if (typeof a === 'number' && Number.isNaN(a)) return false;
  if (typeof b === 'number' && Number.isNaN(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => itemEqual(item, b[i] ?? null));
  }
  return compareValues(a, b) === 0;
}

function itemEqual(a: Value, b: Value): boolean {
  if (a === null || b === null) return a === b;
  return valuesEqual(a, b);
}
