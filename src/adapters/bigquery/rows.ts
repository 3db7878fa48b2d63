import type { JsonValue } from '../../ports/warehouse';

/** A schema field as the REST API returns it (legacy type names included). */
export interface SchemaField {
  name: string;
  type: string;
  mode?: string;
  fields?: SchemaField[];
}

/** A row in the REST API's `f/v` form. */
export interface RawRow {
  f: Array<{ v: unknown }>;
}

/**
 * Turns `f/v` rows into plain JSON objects. Done here rather than by the client, whose parsed
 * values are class instances (BigQueryTimestamp, Big, Buffer) that do not survive JSON.
 */
export function rowsToJson(
  fields: readonly SchemaField[],
  rows: readonly RawRow[],
): Array<Record<string, JsonValue>> {
  return rows.map((row) => recordToJson(fields, row));
}

function recordToJson(fields: readonly SchemaField[], row: RawRow): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  fields.forEach((field, i) => {
    out[field.name] = fieldToJson(field, row.f[i]?.v ?? null);
  });
  return out;
}

function fieldToJson(field: SchemaField, value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (field.mode === 'REPEATED') {
    const items = Array.isArray(value) ? (value as Array<{ v: unknown }>) : [];
    return items.map((item) => scalarOrRecord(field, item.v));
  }
  return scalarOrRecord(field, value);
}

function scalarOrRecord(field: SchemaField, value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (field.type === 'RECORD' || field.type === 'STRUCT') {
    return recordToJson(field.fields ?? [], value as RawRow);
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  switch (field.type) {
    case 'INTEGER':
    case 'INT64': {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case 'FLOAT':
    case 'FLOAT64': {
      const n = Number(text);
      // NaN and ±Infinity have no JSON form; keep BigQuery's spelling.
      return Number.isFinite(n) ? n : text;
    }
    case 'BOOLEAN':
    case 'BOOL':
      return text === 'true';
    case 'TIMESTAMP':
      return timestampToIso(text);
    default:
      // STRING, BYTES (base64), DATE, DATETIME, TIME, NUMERIC, BIGNUMERIC, JSON, GEOGRAPHY.
      return text;
  }
}

/**
 * TIMESTAMP cells are int64 microseconds (`useInt64Timestamp`, the client's default), or float
 * seconds in the older format. Microseconds are kept when the value has them.
 */
export function timestampToIso(text: string): string {
  const micros = /^-?\d+$/.test(text) ? BigInt(text) : BigInt(Math.round(Number(text) * 1e6));
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const subMillis = Number(micros - millis * 1000n);
  const iso = new Date(Number(millis)).toISOString();
  if (subMillis === 0) return iso;
  return `${iso.slice(0, -1)}${String(subMillis).padStart(3, '0')}Z`;
}
