import { BigQueryError, duplicate, notFound } from './errors';
import { partitionKey } from './partitions';
import { fieldType, findField, type Field, type Partitioning, type TableRef } from './schema';
import { valueSize, type SqlType } from './types';
import type { Value } from './values';

/** Optional descriptive metadata datasets and tables carry through get and list. */
export interface Annotations {
  description?: string;
  friendlyName?: string;
  labels?: Record<string, string>;
}

export interface DatasetRecord extends Annotations {
  projectId: string;
  datasetId: string;
  location: string;
  creationTime: number;
  lastModifiedTime: number;
  tables: Map<string, TableRecord>;
}

/** One stored row: its values in schema order, and what the service tracks beside them. */
export interface StoredRow {
  values: Value[];
  /** Epoch µs of an insertAll that added it (the streaming buffer); null for other rows. */
  streamedAt: bigint | null;
  /** Epoch µs it arrived: the `_PARTITIONTIME` of ingestion-time partitioned tables. */
  ingestedAt: bigint;
  /** Its partition id (`20240131`, `__NULL__`), or '' for an unpartitioned table. */
  partition: string;
}

export interface TableRecord extends TableRef, Annotations {
  fields: Field[];
  partitioning?: Partitioning;
  rows: StoredRow[];
  creationTime: number;
  lastModifiedTime: number;
  /** Bumped on every change to rows or schema; keys the size cache. */
  version: number;
  /** Billed bytes per column path and partition, valid for `version`. */
  sizeCache: { version: number; sizes: Map<string, MeasuredPath> };
}

/** A column path's billed size per partition, and how one row's share is measured. */
interface MeasuredPath {
  rowSize: (row: StoredRow) => number;
  byPartition: Map<string, number>;
}

export interface StreamingBufferStats {
  rows: bigint;
  bytes: bigint;
  /** Epoch µs of the oldest row still in the buffer. */
  oldest: bigint;
}

/**
 * The emulator's data, in memory: datasets, tables and their rows as typed values (nested
 * ARRAY and STRUCT values included). Queries run over these rows (see sql/engine.ts); billing
 * reads sizes from here, by BigQuery's data-size rules, never from how the rows are held.
 */
export class Warehouse {
  private readonly datasets = new Map<string, DatasetRecord>();

  static create(): Promise<Warehouse> {
    return Promise.resolve(new Warehouse());
  }

  close(): void {
    this.datasets.clear();
  }

  reset(): void {
    this.datasets.clear();
  }

  createDataset(
    input: { projectId: string; datasetId: string; location: string } & Annotations,
    now: number,
  ): DatasetRecord {
    const key = datasetKey(input.projectId, input.datasetId);
    if (this.datasets.has(key)) throw duplicate(`Dataset ${input.projectId}:${input.datasetId}`);
    const record: DatasetRecord = {
      ...input,
      creationTime: now,
      lastModifiedTime: now,
      tables: new Map(),
    };
    this.datasets.set(key, record);
    return record;
  }

  getDataset(projectId: string, datasetId: string): DatasetRecord {
    const dataset = this.datasets.get(datasetKey(projectId, datasetId));
    if (dataset === undefined) throw notFound(`Dataset ${projectId}:${datasetId}`);
    return dataset;
  }

  findDataset(projectId: string, datasetId: string): DatasetRecord | undefined {
    return this.datasets.get(datasetKey(projectId, datasetId));
  }

  listDatasets(projectId: string): DatasetRecord[] {
    return [...this.datasets.values()]
      .filter((dataset) => dataset.projectId === projectId)
      .sort((a, b) => a.datasetId.localeCompare(b.datasetId));
  }

  deleteDataset(projectId: string, datasetId: string, deleteContents: boolean): void {
    const dataset = this.getDataset(projectId, datasetId);
    if (dataset.tables.size > 0 && !deleteContents) {
      throw new BigQueryError(
        400,
        'resourceInUse',
        `Dataset ${projectId}:${datasetId} is still in use`,
      );
    }
    this.datasets.delete(datasetKey(projectId, datasetId));
  }

  createTable(
    ref: TableRef,
    fields: Field[],
    annotations: Annotations,
    now: number,
    partitioning?: Partitioning,
  ): TableRecord {
    const dataset = this.getDataset(ref.projectId, ref.datasetId);
    if (dataset.tables.has(ref.tableId)) {
      throw duplicate(`Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`);
    }
    const table: TableRecord = {
      ...ref,
      ...annotations,
      fields,
      ...(partitioning === undefined ? {} : { partitioning }),
      rows: [],
      creationTime: now,
      lastModifiedTime: now,
      version: 0,
      sizeCache: { version: 0, sizes: new Map() },
    };
    dataset.tables.set(ref.tableId, table);
    return table;
  }

  /** Replaces a table's schema and drops its rows (WRITE_TRUNCATE). */
  truncate(table: TableRecord, fields: Field[], now: number): void {
    table.fields = fields;
    table.rows = [];
    this.changed(table, now);
  }

  findTable(ref: TableRef): TableRecord | undefined {
    return this.datasets.get(datasetKey(ref.projectId, ref.datasetId))?.tables.get(ref.tableId);
  }

  getTable(ref: TableRef): TableRecord {
    const table = this.findTable(ref);
    if (table === undefined)
      throw notFound(`Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`);
    return table;
  }

  listTables(projectId: string, datasetId: string): TableRecord[] {
    return [...this.getDataset(projectId, datasetId).tables.values()].sort((a, b) =>
      a.tableId < b.tableId ? -1 : a.tableId > b.tableId ? 1 : 0,
    );
  }

  deleteTable(ref: TableRef): void {
    this.getTable(ref);
    this.getDataset(ref.projectId, ref.datasetId).tables.delete(ref.tableId);
  }

  /**
   * Appends rows (typed values in schema order); `streamedAt` marks streaming-buffer rows.
   * `ingestedAt` (epoch µs) places rows of an ingestion-time partitioned table; default now.
   */
  insertRows(
    table: TableRecord,
    rows: readonly Value[][],
    streamedAt: bigint | null,
    now: number,
    ingestedAt: readonly (bigint | undefined)[] = [],
  ): void {
    if (rows.length === 0) return;
    const nowMicros = BigInt(now) * 1000n;
    rows.forEach((values, index) => {
      const row: StoredRow = {
        values,
        streamedAt,
        ingestedAt: ingestedAt[index] ?? nowMicros,
        partition: '',
      };
      row.partition = partitionKey(table, row);
      table.rows.push(row);
    });
    this.changed(table, now);
  }

  /** Marks a table changed: its sizes are recomputed on next use. */
  changed(table: TableRecord, now: number): void {
    table.version++;
    table.lastModifiedTime = now;
  }

  countRows(table: TableRecord): bigint {
    return BigInt(table.rows.length);
  }

  /** Rows in insertion order, limited to `fields` (indexes) when given. */
  readRows(
    table: TableRecord,
    offset: number,
    limit: number,
    fields?: readonly number[],
  ): Value[][] {
    const rows = table.rows.slice(offset, offset + limit);
    if (fields === undefined) return rows.map((row) => row.values);
    return rows.map((row) => fields.map((index) => row.values[index] ?? null));
  }

  tableBytes(table: TableRecord, partitions?: ReadonlySet<string>): bigint {
    return this.bytesOf(
      table,
      table.fields.map((field) => [field.name]),
      partitions,
    );
  }

  /**
   * The billed size of these column paths (`['user', 'email']`, a whole column as `['name']`)
   * over the table's rows, or over the given partitions only.
   */
  bytesOf(
    table: TableRecord,
    paths: readonly (readonly string[])[],
    partitions?: ReadonlySet<string>,
  ): bigint {
    if (table.sizeCache.version !== table.version) {
      table.sizeCache = { version: table.version, sizes: new Map() };
    }
    let total = 0;
    for (const path of paths) {
      const key = path.join('.').toLowerCase();
      let measured = table.sizeCache.sizes.get(key);
      if (measured === undefined) {
        measured = measure(table, path);
        table.sizeCache.sizes.set(key, measured);
      }
      for (const [partition, bytes] of measured.byPartition) {
        if (partitions === undefined || partitions.has(partition)) total += bytes;
      }
    }
    return BigInt(total);
  }

  /**
   * Takes rows out (a DELETE) or puts changed copies in their place (an UPDATE), keeping the
   * measured sizes current by the difference instead of measuring the table again.
   */
  replaceRows(
    table: TableRecord,
    replaced: ReadonlyMap<StoredRow, StoredRow | undefined>,
    now: number,
  ): void {
    if (replaced.size === 0) return;
    const cached = table.sizeCache.version === table.version ? table.sizeCache.sizes : undefined;
    table.rows = table.rows.flatMap((row) => {
      if (!replaced.has(row)) return [row];
      const next = replaced.get(row);
      return next === undefined ? [] : [next];
    });
    for (const measured of cached?.values() ?? []) {
      const { byPartition, rowSize } = measured;
      for (const [before, after] of replaced) {
        byPartition.set(
          before.partition,
          (byPartition.get(before.partition) ?? 0) - rowSize(before),
        );
        if (after !== undefined) {
          byPartition.set(
            after.partition,
            (byPartition.get(after.partition) ?? 0) + rowSize(after),
          );
        }
      }
    }
    this.changed(table, now);
    if (cached !== undefined) table.sizeCache = { version: table.version, sizes: cached };
  }

  /** The partitions that hold rows, with their row counts. */
  partitions(table: TableRecord): Map<string, number> {
    const counts = new Map<string, number>();
    for (const row of table.rows) counts.set(row.partition, (counts.get(row.partition) ?? 0) + 1);
    return counts;
  }

  /** Rows streamed after `since` (epoch µs); undefined when there are none. */
  streamingBuffer(table: TableRecord, since: bigint): StreamingBufferStats | undefined {
    const types = table.fields.map(fieldType);
    let rows = 0n;
    let bytes = 0;
    let oldest: bigint | undefined;
    for (const row of table.rows) {
      if (row.streamedAt === null || row.streamedAt <= since) continue;
      rows++;
      row.values.forEach((value, index) => {
        bytes += valueSize(types[index] as SqlType, value);
      });
      if (oldest === undefined || row.streamedAt < oldest) oldest = row.streamedAt;
    }
    return oldest === undefined ? undefined : { rows, bytes: BigInt(bytes), oldest };
  }
}

/** Sums the size of one column path per partition, walking into STRUCTs and ARRAYs. */
function measure(table: TableRecord, path: readonly string[]): MeasuredPath {
  const [column = '', ...rest] = path;
  const index = findField(table.fields, column);
  const byPartition = new Map<string, number>();
  if (index === -1) return { rowSize: () => 0, byPartition };
  const size = sizer(fieldType(table.fields[index] as Field), rest);
  const rowSize = (row: StoredRow): number => size(row.values[index] ?? null);
  for (const row of table.rows) {
    const bytes = rowSize(row);
    if (bytes !== 0 || !byPartition.has(row.partition)) {
      byPartition.set(row.partition, (byPartition.get(row.partition) ?? 0) + bytes);
    }
  }
  return { rowSize, byPartition };
}

function sizer(type: SqlType, rest: readonly string[]): (value: Value) => number {
  if (type.kind === 'array') {
    const inner = sizer(type.element, rest);
    return (value) => {
      let total = 0;
      if (value !== null) for (const element of value as Value[]) total += inner(element);
      return total;
    };
  }
  const [name, ...deeper] = rest;
  if (name === undefined || type.kind !== 'struct') return (value) => valueSize(type, value);
  const lower = name.toLowerCase();
  const index = type.fields.findIndex((field) => field.name.toLowerCase() === lower);
  const field = type.fields[index];
  if (field === undefined) return () => 0;
  const inner = sizer(field.type, deeper);
  return (value) => (value === null ? 0 : inner((value as Value[])[index] ?? null));
}

const datasetKey = (projectId: string, datasetId: string): string => `${projectId}:${datasetId}`;
