import initSqlJs, { type Database, type SqlJsStatic, type Statement } from 'sql.js';
import { BigQueryError, duplicate, notFound } from './errors';
import type { Fragment } from './sql/compile';
import { columnSql, STREAMED_AT_COLUMN, type Field, type TableInfo, type TableRef } from './schema';
import {
  columnSizeSql,
  fromSqlite,
  placeholder,
  sqliteColumnType,
  toSqlite,
  type FieldType,
  type SqliteValue,
  type Value,
} from './values';

let sqlJs: Promise<SqlJsStatic> | undefined;

/** Loads the SQLite WASM module once per process, on first use. */
function loadSqlJs(): Promise<SqlJsStatic> {
  sqlJs ??= initSqlJs();
  return sqlJs;
}

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

export interface TableRecord extends TableInfo, Annotations {
  creationTime: number;
  lastModifiedTime: number;
}

export interface StreamingBufferStats {
  rows: bigint;
  bytes: bigint;
  /** Epoch µs of the oldest row still in the buffer. */
  oldest: bigint;
}

/**
 * The emulator's data: dataset and table metadata in memory, rows in an in-memory SQLite
 * database (sql.js), one SQLite table per BigQuery table with positional column names.
 */
export class Warehouse {
  private readonly datasets = new Map<string, DatasetRecord>();
  private tableCounter = 0;

  private constructor(private readonly db: Database) {}

  static async create(): Promise<Warehouse> {
    const SQL = await loadSqlJs();
    return new Warehouse(new SQL.Database());
  }

  close(): void {
    this.db.close();
  }

  reset(): void {
    for (const dataset of this.datasets.values()) {
      for (const table of dataset.tables.values()) this.db.run(`DROP TABLE ${table.sqlName}`);
    }
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
    for (const table of dataset.tables.values()) this.db.run(`DROP TABLE ${table.sqlName}`);
    this.datasets.delete(datasetKey(projectId, datasetId));
  }

  createTable(ref: TableRef, fields: Field[], annotations: Annotations, now: number): TableRecord {
    const dataset = this.getDataset(ref.projectId, ref.datasetId);
    if (dataset.tables.has(ref.tableId)) {
      throw duplicate(`Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`);
    }
    const table: TableRecord = {
      ...ref,
      ...annotations,
      fields,
      sqlName: `t${++this.tableCounter}`,
      creationTime: now,
      lastModifiedTime: now,
    };
    this.createSqlTable(table);
    dataset.tables.set(ref.tableId, table);
    return table;
  }

  /** Replaces a table's schema and drops its rows (WRITE_TRUNCATE). */
  truncate(table: TableRecord, fields: Field[], now: number): void {
    this.db.run(`DROP TABLE ${table.sqlName}`);
    table.fields = fields;
    table.lastModifiedTime = now;
    this.createSqlTable(table);
  }

  private createSqlTable(table: TableInfo): void {
    const columns = table.fields.map(
      (field, index) => `${columnSql(index)} ${sqliteColumnType(field.type)}`,
    );
    this.db.run(
      `CREATE TABLE ${table.sqlName} (${[...columns, `${STREAMED_AT_COLUMN} INTEGER`].join(', ')})`,
    );
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
      a.tableId.localeCompare(b.tableId),
    );
  }

  deleteTable(ref: TableRef): void {
    const table = this.getTable(ref);
    this.db.run(`DROP TABLE ${table.sqlName}`);
    this.getDataset(ref.projectId, ref.datasetId).tables.delete(ref.tableId);
  }

  /** Appends rows (typed values in schema order); `streamedAt` marks streaming-buffer rows. */
  insertRows(
    table: TableRecord,
    rows: readonly Value[][],
    streamedAt: bigint | null,
    now: number,
  ): void {
    if (rows.length === 0) return;
    const columns = [...table.fields.map((_, index) => columnSql(index)), STREAMED_AT_COLUMN];
    const placeholders = [
      ...table.fields.map((field) => placeholder(field.type)),
      placeholder('INT64'),
    ];
    const statement = this.db.prepare(
      `INSERT INTO ${table.sqlName} (${columns.join(', ')}) VALUES (${placeholders.join(', ')})`,
    );
    this.db.run('BEGIN');
    try {
      for (const row of rows) statement.run([...row.map(toSqlite), toSqlite(streamedAt)]);
      this.db.run('COMMIT');
    } catch (error) {
      this.db.run('ROLLBACK');
      throw error;
    } finally {
      statement.free();
    }
    table.lastModifiedTime = now;
  }

  countRows(table: TableInfo): bigint {
    return this.scalar({ sql: `SELECT COUNT(*) FROM ${table.sqlName}`, binds: [] });
  }

  /** Rows in insertion order, limited to `fields` (indexes) when given. */
  readRows(table: TableInfo, offset: number, limit: number, fields?: readonly number[]): Value[][] {
    const indexes = fields ?? table.fields.map((_, index) => index);
    const columns = indexes.length === 0 ? 'NULL' : indexes.map(columnSql).join(', ');
    return this.query(
      {
        sql: `SELECT ${columns} FROM ${table.sqlName} ORDER BY rowid LIMIT ? OFFSET ?`,
        binds: [limit, offset],
      },
      indexes.map((index) => (table.fields[index] as Field).type),
    );
  }

  /** The billed size of these columns over every row of the table. */
  columnBytes(table: TableInfo, fields: readonly number[]): bigint {
    if (fields.length === 0) return 0n;
    const sums = fields.map((index) =>
      columnSizeSql((table.fields[index] as Field).type, columnSql(index)),
    );
    return this.scalar({ sql: `SELECT ${sums.join(' + ')} FROM ${table.sqlName}`, binds: [] });
  }

  tableBytes(table: TableInfo): bigint {
    return this.columnBytes(
      table,
      table.fields.map((_, index) => index),
    );
  }

  /** Rows streamed after `since` (epoch µs); undefined when there are none. */
  streamingBuffer(table: TableInfo, since: bigint): StreamingBufferStats | undefined {
    const where = `WHERE ${STREAMED_AT_COLUMN} > CAST(? AS INTEGER)`;
    const sums = table.fields.map((field, index) => columnSizeSql(field.type, columnSql(index)));
    const [row] = this.raw({
      sql: `SELECT COUNT(*), ${sums.length === 0 ? '0' : sums.join(' + ')}, MIN(${STREAMED_AT_COLUMN}) FROM ${table.sqlName} ${where}`,
      binds: [since.toString()],
    });
    const [rows, bytes, oldest] = row ?? [];
    if (typeof rows !== 'bigint' || rows === 0n) return undefined;
    return { rows, bytes: toBigInt(bytes), oldest: toBigInt(oldest) };
  }

  /** Counts the rows a WHERE fragment matches among those streamed after `since`. */
  countStreamed(table: TableInfo, where: Fragment, since: bigint): bigint {
    return this.scalar({
      sql: `SELECT COUNT(*) FROM ${table.sqlName} WHERE (${where.sql}) AND ${STREAMED_AT_COLUMN} > CAST(? AS INTEGER)`,
      binds: [...where.binds, since.toString()],
    });
  }

  /** Runs a DELETE or UPDATE and returns how many rows it changed. */
  run(fragment: Fragment): number {
    this.db.run(fragment.sql, fragment.binds);
    return this.db.getRowsModified();
  }

  /** Runs a SELECT and converts each cell to the given column types. */
  query(fragment: Fragment, types: readonly FieldType[]): Value[][] {
    return this.raw(fragment).map((row) =>
      types.map((type, index) => fromSqlite(type, row[index] ?? null)),
    );
  }

  private scalar(fragment: Fragment): bigint {
    return toBigInt(this.raw(fragment)[0]?.[0]);
  }

  private raw(fragment: Fragment): SqliteValue[][] {
    const statement = this.db.prepare(fragment.sql);
    try {
      statement.bind(fragment.binds);
      const get = bigIntGetter(statement);
      const rows: SqliteValue[][] = [];
      while (statement.step()) rows.push(get());
      return rows;
    } finally {
      statement.free();
    }
  }
}

/** sql.js reads INTEGER cells as bigint with `useBigInt`, which its type declarations omit. */
function bigIntGetter(statement: Statement): () => SqliteValue[] {
  const get = statement.get.bind(statement) as unknown as (
    params: null,
    config: { useBigInt: boolean },
  ) => SqliteValue[];
  return () => get(null, { useBigInt: true });
}

function toBigInt(value: SqliteValue | undefined): bigint {
  if (typeof value === 'bigint') return value;
  return typeof value === 'number' ? BigInt(Math.trunc(value)) : 0n;
}

const datasetKey = (projectId: string, datasetId: string): string => `${projectId}:${datasetId}`;
