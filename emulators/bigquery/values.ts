/**
 * BigQuery's scalar types as the emulator stores them, and every conversion a value goes
 * through: JSON input (insertAll, seeds, query parameters) → typed value → the `f/v` cells the
 * client parses.
 */

export const FIELD_TYPES = [
  'STRING',
  'BYTES',
  'INT64',
  'FLOAT64',
  'NUMERIC',
  'BOOL',
  'TIMESTAMP',
  'DATE',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/**
 * A typed value: INT64 and TIMESTAMP (microseconds) are bigint, NUMERIC a canonical string, DATE
 * `YYYY-MM-DD`; an ARRAY or a STRUCT is a JS array (its elements, or its fields in order).
 */
export type Value = null | string | bigint | number | boolean | Uint8Array | Value[];

const TYPE_ALIASES: Record<string, FieldType> = {
  STRING: 'STRING',
  BYTES: 'BYTES',
  INT64: 'INT64',
  INTEGER: 'INT64',
  FLOAT64: 'FLOAT64',
  FLOAT: 'FLOAT64',
  NUMERIC: 'NUMERIC',
  DECIMAL: 'NUMERIC',
  BOOL: 'BOOL',
  BOOLEAN: 'BOOL',
  TIMESTAMP: 'TIMESTAMP',
  DATE: 'DATE',
};

/** Maps a schema or parameter type name (standard or legacy) to a FieldType, or undefined. */
export function normaliseType(name: string): FieldType | undefined {
  return TYPE_ALIASES[name.toUpperCase()];
}

/** The legacy names tables.get and query schemas report, as the service does. */
export function schemaTypeName(type: FieldType): string {
  switch (type) {
    case 'INT64':
      return 'INTEGER';
    case 'FLOAT64':
      return 'FLOAT';
    case 'BOOL':
      return 'BOOLEAN';
    default:
      return type;
  }
}

/** Thrown for a value that does not fit its type; callers add where it came from. */
export class ValueError extends Error {
  override readonly name = 'ValueError';
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function parseInt64(text: string): bigint {
  if (!/^[+-]?\d+$/.test(text.trim())) throw new ValueError(`Invalid INT64 value: ${text}`);
  const value = BigInt(text.trim());
  if (value < INT64_MIN || value > INT64_MAX) throw new ValueError(`INT64 overflow: ${text}`);
  return value;
}

/**
 * Canonical text of a NUMERIC (precision 38, scale 9): no exponent, no leading zeros, no
 * trailing fractional zeros, so equal values compare equal as strings.
 */
export function canonicalNumeric(text: string): string {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (match === null || (match[2] === '' && (match[3] ?? '') === '')) {
    throw new ValueError(`Invalid NUMERIC value: ${text}`);
  }
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText);
  let digits = whole + fraction;
  let point = whole.length + exponent;
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  const intPart = digits.slice(0, point).replace(/^0+/, '') || '0';
  const fracPart = digits.slice(point).replace(/0+$/, '');
  if (fracPart.length > 9) throw new ValueError(`NUMERIC has more than 9 decimal digits: ${text}`);
  if (intPart.length > 29) throw new ValueError(`NUMERIC out of range: ${text}`);
  const body = fracPart === '' ? intPart : `${intPart}.${fracPart}`;
  return sign === '-' && body !== '0' ? `-${body}` : body;
}

/** `YYYY-[M]M-[D]D` → canonical `YYYY-MM-DD`, checking the day exists. */
export function parseDate(text: string): string {
  const match = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text.trim());
  if (match === null) throw new ValueError(`Invalid DATE value: ${text}`);
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (!isRealDay(year, month, day)) throw new ValueError(`Invalid DATE value: ${text}`);
  return `${match[1]}-${pad(month, 2)}-${pad(day, 2)}`;
}

function isRealDay(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return (
    year >= 1 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day
  );
}

const TIMESTAMP_PATTERN =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ Tt](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{1,2}(?::?\d{2})?)?$/;

/**
 * Parses BigQuery's canonical timestamp text (`2024-01-02 03:04:05.123456+00`, ISO 8601 with
 * `T`/`Z`, a bare date, up to nine fractional digits, cut to microseconds) into epoch µs.
 * Named time zones are not supported.
 */
export function parseTimestamp(text: string): bigint {
  const match = TIMESTAMP_PATTERN.exec(text.trim());
  if (match === null) throw new ValueError(`Invalid TIMESTAMP value: ${text}`);
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone = 'Z'] = match;
  const [year, month, day] = [Number(y), Number(mo), Number(d)];
  const [hour, minute, second] = [Number(h), Number(mi), Number(s)];
  if (!isRealDay(year, month, day) || hour > 23 || minute > 59 || second > 59) {
    throw new ValueError(`Invalid TIMESTAMP value: ${text}`);
  }
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year);
  const micros = BigInt(date.getTime()) * 1000n + BigInt(fraction.padEnd(6, '0').slice(0, 6));
  return micros - BigInt(zoneOffsetMinutes(zone, text)) * 60_000_000n;
}

function zoneOffsetMinutes(zone: string, text: string): number {
  if (/^(Z|z|UTC)$/.test(zone)) return 0;
  const match = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(zone);
  if (match === null) throw new ValueError(`Invalid TIMESTAMP value: ${text}`);
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? '0');
  if (minutes > 14 * 60) throw new ValueError(`Invalid TIMESTAMP value: ${text}`);
  return match[1] === '-' ? -minutes : minutes;
}

/** Epoch µs → `2024-01-02T03:04:05.123456Z`, BigQuery's ISO8601_STRING output. */
export function formatTimestampIso(micros: bigint): string {
  const millis = floorDiv(micros, 1000n);
  const date = new Date(Number(millis));
  const sub = micros - floorDiv(micros, 1_000_000n) * 1_000_000n;
  return `${date.toISOString().slice(0, 19)}.${pad(Number(sub), 6)}Z`;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function decodeBase64(text: string): Uint8Array {
  const clean = text.replace(/\s/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) throw new ValueError(`Invalid BYTES value: ${text}`);
  return new Uint8Array(
    Buffer.from(clean, clean.includes('-') || clean.includes('_') ? 'base64url' : 'base64'),
  );
}

/**
 * Converts a JSON value (insertAll row, seed row, or a query parameter's `value`) to a typed
 * value. Strings are accepted for every type, as the service does; numbers and booleans only
 * where they make sense. A JSON number for a TIMESTAMP is seconds since the epoch.
 */
export function fromJson(type: FieldType, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'string') return fromString(type, raw);
  if (typeof raw === 'number') {
    if (type === 'FLOAT64') return raw;
    if (type === 'INT64' && Number.isInteger(raw)) return parseInt64(String(raw));
    if (type === 'NUMERIC') return canonicalNumeric(String(raw));
    if (type === 'TIMESTAMP') return BigInt(Math.round(raw * 1_000_000));
  }
  if (typeof raw === 'boolean' && type === 'BOOL') return raw;
  throw new ValueError(`Cannot convert ${JSON.stringify(raw)} to ${type}`);
}

function fromString(type: FieldType, text: string): Value {
  switch (type) {
    case 'STRING':
      return text;
    case 'BYTES':
      return decodeBase64(text);
    case 'INT64':
      return parseInt64(text);
    case 'FLOAT64':
      return parseFloat64(text);
    case 'NUMERIC':
      return canonicalNumeric(text);
    case 'BOOL':
      if (!/^(true|false)$/i.test(text)) throw new ValueError(`Invalid BOOL value: ${text}`);
      return text.toLowerCase() === 'true';
    case 'TIMESTAMP':
      return parseTimestamp(text);
    case 'DATE':
      return parseDate(text);
  }
}

function parseFloat64(text: string): number {
  const trimmed = text.trim();
  const special: Record<string, number> = {
    nan: NaN,
    inf: Infinity,
    '+inf': Infinity,
    '-inf': -Infinity,
    infinity: Infinity,
    '-infinity': -Infinity,
  };
  const named = special[trimmed.toLowerCase()];
  if (named !== undefined) return named;
  const value = Number(trimmed);
  if (trimmed === '' || Number.isNaN(value)) throw new ValueError(`Invalid FLOAT64 value: ${text}`);
  return value;
}

/** How TIMESTAMP cells are written, following the request's formatOptions. */
export type TimestampFormat = 'int64' | 'iso' | 'float';

/** A typed value as the `v` of an `f/v` cell (or a query parameter value). */
export function toCell(
  type: FieldType,
  value: Value,
  timestamps: TimestampFormat = 'int64',
): string | null {
  if (value === null) return null;
  switch (type) {
    case 'BYTES':
      return Buffer.from(value as Uint8Array).toString('base64');
    case 'BOOL':
      return value ? 'true' : 'false';
    case 'TIMESTAMP': {
      const micros = value as bigint;
      if (timestamps === 'iso') return formatTimestampIso(micros);
      if (timestamps === 'float') return formatSeconds(micros);
      return micros.toString();
    }
    case 'FLOAT64':
      return formatFloat(value as number);
    default:
      return String(value);
  }
}

function formatSeconds(micros: bigint): string {
  const sign = micros < 0n ? '-' : '';
  const abs = micros < 0n ? -micros : micros;
  return `${sign}${abs / 1_000_000n}.${pad(Number(abs % 1_000_000n), 6)}`;
}

function formatFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return String(value);
}
