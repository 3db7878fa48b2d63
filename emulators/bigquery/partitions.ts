import { findField, type Partitioning } from './schema';
import type { StoredRow, TableRecord } from './warehouse';

/**
 * Time-unit partitions as the service names them: `2024013112` (HOUR), `20240131` (DAY),
 * `202401` (MONTH), `2024` (YEAR), and `__NULL__` for rows whose partitioning column is NULL.
 */

export const NULL_PARTITION = '__NULL__';
const MICROS_PER_DAY = 86_400_000_000n;
const MICROS_PER_HOUR = 3_600_000_000n;

/** The partition id of a row, or '' when the table is not partitioned. */
export function partitionKey(
  table: Pick<TableRecord, 'partitioning' | 'fields'>,
  row: StoredRow,
): string {
  const partitioning = table.partitioning;
  if (partitioning === undefined) return '';
  let micros: bigint;
  if (partitioning.field === undefined) {
    micros = row.ingestedAt;
  } else {
    const value = row.values[findField(table.fields, partitioning.field)] ?? null;
    if (value === null) return NULL_PARTITION;
    micros = typeof value === 'string' ? dateToMicros(value) : (value as bigint);
  }
  return keyOf(partitioning, micros);
}

function keyOf(partitioning: Partitioning, micros: bigint): string {
  const iso = new Date(Number(floorDiv(micros, 1000n))).toISOString();
  const digits = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13);
  const length = { YEAR: 4, MONTH: 6, DAY: 8, HOUR: 10 }[partitioning.type];
  return digits.slice(0, length);
}

/** The half-open time range `[lo, hi)` (epoch µs) a partition id covers; undefined for NULL. */
export function partitionRange(
  partitioning: Partitioning,
  key: string,
): { lo: bigint; hi: bigint } | undefined {
  if (key === NULL_PARTITION || key === '') return undefined;
  const year = Number(key.slice(0, 4));
  const month = key.length >= 6 ? Number(key.slice(4, 6)) - 1 : 0;
  const day = key.length >= 8 ? Number(key.slice(6, 8)) : 1;
  const hour = key.length >= 10 ? Number(key.slice(8, 10)) : 0;
  const lo = BigInt(Date.UTC(year, month, day, hour)) * 1000n;
  switch (partitioning.type) {
    case 'HOUR':
      return { lo, hi: lo + MICROS_PER_HOUR };
    case 'DAY':
      return { lo, hi: lo + MICROS_PER_DAY };
    case 'MONTH':
      return { lo, hi: BigInt(Date.UTC(year, month + 1, 1)) * 1000n };
    case 'YEAR':
      return { lo, hi: BigInt(Date.UTC(year + 1, 0, 1)) * 1000n };
  }
}

/** `YYYY-MM-DD` → epoch µs of its midnight (UTC). */
export function dateToMicros(date: string): bigint {
  const [y, m, d] = date.split('-').map(Number);
  const at = new Date(Date.UTC(2000, (m ?? 1) - 1, d ?? 1));
  at.setUTCFullYear(y ?? 1970);
  return BigInt(at.getTime()) * 1000n;
}

/** Epoch µs → the `YYYY-MM-DD` (UTC) it falls on. */
export function microsToDate(micros: bigint): string {
  return new Date(Number(floorDiv(micros, MICROS_PER_DAY) * 86_400_000n))
    .toISOString()
    .slice(0, 10);
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** The columns a required partition filter must use, as the service lists them. */
export function partitionFilterColumns(partitioning: Partitioning): string {
  return partitioning.field === undefined
    ? "'_PARTITION_LOAD_TIME', '_PARTITIONDATE', '_PARTITIONTIME'"
    : `'${partitioning.field}'`;
}
