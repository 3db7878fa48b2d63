import { createHash } from 'node:crypto';
import { invalidQuery } from '../errors';
import { dateToMicros, microsToDate } from '../partitions';
import {
  BOOL,
  BYTES,
  DATE,
  FLOAT64,
  INT64,
  STRING,
  TIMESTAMP,
  scalar,
  typeName,
  type SqlType,
  type Value,
} from '../types';
import {
  canonicalNumeric,
  formatTimestampIso,
  fromJson,
  normaliseType,
  parseDate,
  parseTimestamp,
  ValueError,
  type FieldType,
} from '../values';
import type { Position } from './ast';
import { at, unsupported } from './tokens';

/**
 * The scalar functions the emulator runs, with GoogleSQL's signatures and NULL rules. Each one
 * checks its argument types when the statement is compiled, as BigQuery does before it runs.
 */

export interface FunctionImpl {
  /** The result type for these argument types (null: a NULL literal), or an error message. */
  signature(types: Array<SqlType | null>): SqlType | string;
  /** Applied to argument values; most return NULL for any NULL argument (`nullIn`). */
  apply(args: Value[], now: bigint): Value;
  nullIn?: boolean;
}

const is = (type: SqlType | null, name: FieldType): boolean =>
  type === null || (type.kind === 'scalar' && type.name === name);
const names = (types: Array<SqlType | null>): string => types.map(typeName).join(', ');

function fixed(
  params: FieldType[][],
  result: (types: Array<SqlType | null>) => SqlType,
  apply: (args: Value[], now: bigint) => Value,
  display: string,
): FunctionImpl {
  return {
    nullIn: true,
    signature(types) {
      const ok = params.some(
        (shape) =>
          shape.length === types.length && shape.every((name, i) => is(types[i] ?? null, name)),
      );
      return ok
        ? result(types)
        : `No matching signature for function ${display} for argument types: ${names(types)}. Supported signatures: ${params.map((shape) => `${display}(${shape.join(', ')})`).join('; ')}`;
    },
    apply,
  };
}

/** LOWER/UPPER: Unicode for STRING, ASCII letters only for BYTES. */
function caseMap(value: Value | undefined, to: 'lower' | 'upper'): Value {
  if (typeof value === 'string') return to === 'lower' ? value.toLowerCase() : value.toUpperCase();
  const out = new Uint8Array(value as Uint8Array);
  for (let i = 0; i < out.length; i++) {
    const c = out[i] as number;
    if (to === 'lower' && c >= 65 && c <= 90) out[i] = c + 32;
    if (to === 'upper' && c >= 97 && c <= 122) out[i] = c - 32;
  }
  return out;
}

const sameAsFirst = (types: Array<SqlType | null>): SqlType => types[0] ?? STRING;
const text = (value: Value | undefined): string => value as string;
const bytes = (value: Value | undefined): Uint8Array => value as Uint8Array;

function hash(algorithm: string): (args: Value[]) => Value {
  return ([value]) =>
    new Uint8Array(
      createHash(algorithm)
        .update(
          typeof value === 'string' ? Buffer.from(value, 'utf8') : bytes(value ?? new Uint8Array()),
        )
        .digest(),
    );
}

function trimmer(mode: 'both' | 'start' | 'end'): (args: Value[]) => Value {
  return ([value, set]) => {
    const s = text(value);
    // Whitespace, as JavaScript's own trims strip it: the common case, without a loop.
    if (set === undefined)
      return mode === 'both' ? s.trim() : mode === 'start' ? s.trimStart() : s.trimEnd();
    const chars = new Set(text(set));
    const codepoints = [...s];
    let start = 0;
    let end = codepoints.length;
    if (mode !== 'end') while (start < end && chars.has(codepoints[start] as string)) start++;
    if (mode !== 'start') while (end > start && chars.has(codepoints[end - 1] as string)) end--;
    return codepoints.slice(start, end).join('');
  };
}

const DATE_PARTS_DAY = new Set(['DAY', 'WEEK', 'MONTH', 'QUARTER', 'YEAR']);
const MICROS: Record<string, bigint> = {
  MICROSECOND: 1n,
  MILLISECOND: 1000n,
  SECOND: 1_000_000n,
  MINUTE: 60_000_000n,
  HOUR: 3_600_000_000n,
  DAY: 86_400_000_000n,
};

/** An INTERVAL argument: `[count, unit]`, made by the compiler from `INTERVAL n UNIT`. */
export type IntervalValue = [bigint, string];

function addToDate(date: string, [count, unit]: IntervalValue, sign: 1n | -1n): string {
  const n = Number(count * sign);
  const [y = 1970, m = 1, d = 1] = date.split('-').map(Number);
  if (unit === 'DAY' || unit === 'WEEK') {
    return microsToDate(dateToMicros(date) + BigInt(unit === 'WEEK' ? n * 7 : n) * MICROS.DAY!);
  }
  const months = unit === 'YEAR' ? n * 12 : unit === 'QUARTER' ? n * 3 : n;
  const year = y + Math.floor((m - 1 + months) / 12);
  const month = (((m - 1 + months) % 12) + 12) % 12;
  const last = new Date(Date.UTC(2000, month + 1, 0)).getUTCDate();
  const leap = month === 1 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const day = Math.min(d, month === 1 ? (leap ? 29 : 28) : last);
  return `${String(year).padStart(4, '0')}-${String(month + 1).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function interval(type: SqlType | null): boolean {
  return type !== null && type.kind === 'struct' && type.fields[0]?.name === '__interval';
}

/** The type the compiler gives an INTERVAL expression (only ever a function argument). */
export const INTERVAL_TYPE: SqlType = {
  kind: 'struct',
  fields: [
    { name: '__interval', type: INT64 },
    { name: 'unit', type: STRING },
  ],
};

function dateArithmetic(name: string, sign: 1n | -1n): FunctionImpl {
  return {
    nullIn: true,
    signature(types) {
      if (types.length === 2 && is(types[0] ?? null, 'DATE') && interval(types[1] ?? null))
        return DATE;
      return `No matching signature for function ${name} for argument types: ${names(types).replace(/STRUCT<__interval[^>]*>/, 'INTERVAL')}. Supported signature: ${name}(DATE, INTERVAL INT64 date_part)`;
    },
    apply: ([date, step]) => {
      const [count, unit] = step as unknown as IntervalValue;
      if (!DATE_PARTS_DAY.has(unit))
        throw invalidQuery(`${name} does not support the ${unit} date part`);
      return addToDate(text(date), [count, unit], sign);
    },
  };
}

function timestampArithmetic(name: string, sign: 1n | -1n): FunctionImpl {
  return {
    nullIn: true,
    signature(types) {
      if (types.length === 2 && is(types[0] ?? null, 'TIMESTAMP') && interval(types[1] ?? null))
        return TIMESTAMP;
      return `No matching signature for function ${name} for argument types: ${names(types).replace(/STRUCT<__interval[^>]*>/, 'INTERVAL')}. Supported signature: ${name}(TIMESTAMP, INTERVAL INT64 date_part)`;
    },
    apply: ([ts, step]) => {
      const [count, unit] = step as unknown as IntervalValue;
      const micros = MICROS[unit];
      if (micros === undefined)
        throw invalidQuery(`${name} does not support the ${unit} date part`);
      return (ts as bigint) + sign * count * micros;
    },
  };
}

const anyArgs = (
  check: (types: Array<SqlType | null>) => SqlType | string,
  apply: (args: Value[], now: bigint) => Value,
  nullIn = false,
): FunctionImpl => ({ signature: check, apply, nullIn });

/** The common supertype of arguments that must agree (COALESCE, IF, ...). */
function common(types: Array<SqlType | null>, display: string): SqlType | string {
  const known = types.filter((type): type is SqlType => type !== null);
  const first = known[0];
  if (first === undefined) return INT64;
  if (known.every((type) => typeName(type) === typeName(first))) return first;
  const numeric = ['INT64', 'NUMERIC', 'FLOAT64'];
  if (known.every((type) => type.kind === 'scalar' && numeric.includes(type.name))) {
    return known.some((type) => typeName(type) === 'FLOAT64') ? FLOAT64 : scalar('NUMERIC');
  }
  return `No matching signature for function ${display} for argument types: ${names(types)}`;
}

function formatDate(format: string, date: string): string {
  return format.replace(/%([YmdF%])/g, (_, code: string) => {
    if (code === 'Y') return date.slice(0, 4);
    if (code === 'm') return date.slice(5, 7);
    if (code === 'd') return date.slice(8, 10);
    if (code === 'F') return date;
    return '%';
  });
}

function parseDateFormat(format: string, value: string): string {
  const pattern = format
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%([YmdF])/g, (_, code: string) =>
      code === 'Y'
        ? '(?<Y>\\d{4})'
        : code === 'm'
          ? '(?<m>\\d{1,2})'
          : code === 'd'
            ? '(?<d>\\d{1,2})'
            : '(?<Y>\\d{4})-(?<m>\\d{1,2})-(?<d>\\d{1,2})',
    );
  const match = new RegExp(`^${pattern}$`).exec(value);
  if (match?.groups === undefined) throw invalidQuery(`Failed to parse input string "${value}"`);
  try {
    return parseDate(`${match.groups.Y}-${match.groups.m}-${match.groups.d}`);
  } catch {
    throw invalidQuery(`Failed to parse input string "${value}"`);
  }
}

export const FUNCTIONS: Record<string, FunctionImpl> = {
  LOWER: fixed([['STRING'], ['BYTES']], sameAsFirst, ([v]) => caseMap(v, 'lower'), 'LOWER'),
  UPPER: fixed([['STRING'], ['BYTES']], sameAsFirst, ([v]) => caseMap(v, 'upper'), 'UPPER'),
  TRIM: fixed([['STRING'], ['STRING', 'STRING']], () => STRING, trimmer('both'), 'TRIM'),
  LTRIM: fixed([['STRING'], ['STRING', 'STRING']], () => STRING, trimmer('start'), 'LTRIM'),
  RTRIM: fixed([['STRING'], ['STRING', 'STRING']], () => STRING, trimmer('end'), 'RTRIM'),
  LENGTH: fixed(
    [['STRING'], ['BYTES']],
    () => INT64,
    ([v]) => BigInt(typeof v === 'string' ? [...v].length : bytes(v).length),
    'LENGTH',
  ),
  CHAR_LENGTH: fixed(
    [['STRING']],
    () => INT64,
    ([v]) => BigInt([...text(v)].length),
    'CHAR_LENGTH',
  ),
  STARTS_WITH: fixed(
    [['STRING', 'STRING']],
    () => BOOL,
    ([a, b]) => text(a).startsWith(text(b)),
    'STARTS_WITH',
  ),
  ENDS_WITH: fixed(
    [['STRING', 'STRING']],
    () => BOOL,
    ([a, b]) => text(a).endsWith(text(b)),
    'ENDS_WITH',
  ),
  REPLACE: fixed(
    [['STRING', 'STRING', 'STRING']],
    () => STRING,
    ([a, b, c]) => (text(b) === '' ? text(a) : text(a).split(text(b)).join(text(c))),
    'REPLACE',
  ),
  SUBSTR: fixed(
    [
      ['STRING', 'INT64'],
      ['STRING', 'INT64', 'INT64'],
    ],
    () => STRING,
    ([s, p, l]) => {
      const chars = [...text(s)];
      let start = Number(p);
      start = start > 0 ? start - 1 : start < 0 ? Math.max(chars.length + start, 0) : 0;
      const length = l === undefined ? chars.length : Number(l);
      if (length < 0) throw invalidQuery('Third argument in SUBSTR() cannot be negative');
      return chars.slice(start, start + length).join('');
    },
    'SUBSTR',
  ),
  SHA256: fixed([['STRING'], ['BYTES']], () => BYTES, hash('sha256'), 'SHA256'),
  SHA1: fixed([['STRING'], ['BYTES']], () => BYTES, hash('sha1'), 'SHA1'),
  SHA512: fixed([['STRING'], ['BYTES']], () => BYTES, hash('sha512'), 'SHA512'),
  MD5: fixed([['STRING'], ['BYTES']], () => BYTES, hash('md5'), 'MD5'),
  TO_HEX: fixed(
    [['BYTES']],
    () => STRING,
    ([v]) => Buffer.from(bytes(v)).toString('hex'),
    'TO_HEX',
  ),
  FROM_HEX: fixed(
    [['STRING']],
    () => BYTES,
    ([v]) => {
      if (!/^[0-9a-fA-F]*$/.test(text(v)))
        throw invalidQuery(`Failed to decode invalid hexadecimal string: "${text(v)}"`);
      return new Uint8Array(Buffer.from(text(v).length % 2 === 1 ? `0${text(v)}` : text(v), 'hex'));
    },
    'FROM_HEX',
  ),
  TO_BASE64: fixed(
    [['BYTES']],
    () => STRING,
    ([v]) => Buffer.from(bytes(v)).toString('base64'),
    'TO_BASE64',
  ),
  FROM_BASE64: fixed(
    [['STRING']],
    () => BYTES,
    ([v]) => new Uint8Array(Buffer.from(text(v), 'base64')),
    'FROM_BASE64',
  ),
  CONCAT: anyArgs(
    (types) => {
      if (types.length > 0 && types.every((t) => is(t, 'STRING'))) return STRING;
      if (types.length > 0 && types.every((t) => is(t, 'BYTES'))) return BYTES;
      return `No matching signature for function CONCAT for argument types: ${names(types)}. Supported signatures: CONCAT(STRING, [STRING, ...]); CONCAT(BYTES, [BYTES, ...])`;
    },
    (args) =>
      typeof args[0] === 'string'
        ? args.map(text).join('')
        : new Uint8Array(Buffer.concat(args.map((a) => Buffer.from(bytes(a))))),
    true,
  ),
  ARRAY_LENGTH: anyArgs(
    (types) =>
      types.length === 1 && types[0]?.kind === 'array'
        ? INT64
        : `No matching signature for function ARRAY_LENGTH for argument types: ${names(types)}. Supported signature: ARRAY_LENGTH(ARRAY)`,
    ([v]) => BigInt((v as Value[]).length),
    true,
  ),
  COALESCE: anyArgs(
    (types) =>
      types.length === 0 ? 'COALESCE needs at least one argument' : common(types, 'COALESCE'),
    (args) => args.find((a) => a !== null) ?? null,
  ),
  IFNULL: anyArgs(
    (types) => (types.length === 2 ? common(types, 'IFNULL') : 'IFNULL takes 2 arguments'),
    ([a, b]) => (a === null || a === undefined ? (b ?? null) : a),
  ),
  NULLIF: anyArgs(
    (types) => (types.length === 2 ? common(types, 'NULLIF') : 'NULLIF takes 2 arguments'),
    ([a, b]) => (a !== null && b !== null && String(a) === String(b) ? null : (a ?? null)),
  ),
  IF: anyArgs(
    (types) =>
      types.length === 3 && is(types[0] ?? null, 'BOOL')
        ? common(types.slice(1), 'IF')
        : `No matching signature for function IF for argument types: ${names(types)}. Supported signature: IF(BOOL, ANY, ANY)`,
    ([c, a, b]) => (c === true ? (a ?? null) : (b ?? null)),
  ),
  CURRENT_TIMESTAMP: fixed(
    [[]],
    () => TIMESTAMP,
    (_, now) => now,
    'CURRENT_TIMESTAMP',
  ),
  CURRENT_DATE: fixed(
    [[]],
    () => DATE,
    (_, now) => microsToDate(now),
    'CURRENT_DATE',
  ),
  DATE: fixed(
    [['TIMESTAMP'], ['STRING'], ['DATE']],
    () => DATE,
    ([v]) => {
      if (typeof v === 'bigint') return microsToDate(v);
      try {
        return parseDate(text(v));
      } catch {
        throw invalidQuery(`Invalid date: '${text(v)}'`);
      }
    },
    'DATE',
  ),
  TIMESTAMP: fixed(
    [['STRING'], ['DATE'], ['TIMESTAMP']],
    () => TIMESTAMP,
    ([v]) => {
      if (typeof v === 'bigint') return v;
      try {
        return parseTimestamp(text(v));
      } catch {
        throw invalidQuery(`Invalid timestamp: '${text(v)}'`);
      }
    },
    'TIMESTAMP',
  ),
  DATE_ADD: dateArithmetic('DATE_ADD', 1n),
  DATE_SUB: dateArithmetic('DATE_SUB', -1n),
  TIMESTAMP_ADD: timestampArithmetic('TIMESTAMP_ADD', 1n),
  TIMESTAMP_SUB: timestampArithmetic('TIMESTAMP_SUB', -1n),
  FORMAT_DATE: fixed(
    [['STRING', 'DATE']],
    () => STRING,
    ([f, d]) => formatDate(text(f), text(d)),
    'FORMAT_DATE',
  ),
  PARSE_DATE: fixed(
    [['STRING', 'STRING']],
    () => DATE,
    ([f, s]) => parseDateFormat(text(f), text(s)),
    'PARSE_DATE',
  ),
};

/** Aggregate functions, computed over a group by the engine. */
export const AGGREGATES = new Set([
  'COUNT',
  'COUNTIF',
  'SUM',
  'MIN',
  'MAX',
  'ANY_VALUE',
  'ARRAY_AGG',
  'LOGICAL_AND',
  'LOGICAL_OR',
]);

/** The 400 for a function the emulator does not run. */
export function unknownFunction(name: string, position: Position): Error {
  return unsupported(`function ${name}()`, position);
}

/** CAST(value AS type): the target type, checked, and the conversion (null on SAFE_CAST failure). */
export function castTo(
  target: string,
  from: SqlType | null,
  position: Position,
): { type: SqlType; convert(value: Value): Value } {
  const type = normaliseType(target);
  if (type === undefined) throw unsupported(`CAST to ${target}`, position);
  const source = from === null ? null : from.kind === 'scalar' ? from.name : undefined;
  if (source === undefined) {
    throw invalidQuery(`Invalid cast from ${typeName(from)} to ${type} at ${at(position)}`);
  }
  return {
    type: scalar(type),
    convert(value) {
      if (value === null || source === null || source === type) return value;
      try {
        if (type === 'STRING') return castToString(source, value);
        if (type === 'BYTES') {
          if (source !== 'STRING') throw new ValueError('');
          return new Uint8Array(Buffer.from(text(value), 'utf8'));
        }
        if (source === 'STRING') return fromJson(type, text(value).trim());
        if (type === 'INT64' && (source === 'FLOAT64' || source === 'NUMERIC')) {
          const n = Number(value);
          if (!Number.isFinite(n)) throw new ValueError('');
          return BigInt(Math.round(n));
        }
        if (type === 'INT64' && source === 'BOOL') return value === true ? 1n : 0n;
        if (type === 'FLOAT64' && (source === 'INT64' || source === 'NUMERIC'))
          return Number(value);
        if (type === 'NUMERIC' && (source === 'INT64' || source === 'FLOAT64'))
          return canonicalNumeric(String(value));
        if (type === 'BOOL' && source === 'INT64') return value !== 0n;
        if (type === 'DATE' && source === 'TIMESTAMP') return microsToDate(value as bigint);
        if (type === 'TIMESTAMP' && source === 'DATE') return dateToMicros(text(value));
      } catch (error) {
        if (!(error instanceof ValueError)) throw error;
        throw invalidQuery(`Bad ${type} value: ${castToString(source, value)}`);
      }
      throw invalidQuery(`Invalid cast from ${source} to ${type} at ${at(position)}`);
    },
  };
}

function castToString(source: FieldType, value: Value): string {
  switch (source) {
    case 'TIMESTAMP':
      return formatTimestampIso(value as bigint)
        .replace('T', ' ')
        .replace(/\.?0*Z$/, '+00');
    case 'BYTES':
      return Buffer.from(bytes(value)).toString('utf8');
    case 'BOOL':
      return value === true ? 'true' : 'false';
    default:
      return String(value);
  }
}
