/**
 * The data warehouse (BigQuery) as the executors need it: start a query job, check on it, read
 * its rows, and estimate a statement without running it.
 *
 * Failures are thrown as typed errors, already classified by the adapter: `PermanentError` (bad
 * query, missing table, bytes-billed cap) or `RetryableError` (streaming buffer, rate limits,
 * outages). A job that ended in an error is thrown the same way by `startQuery` or `getJob`,
 * whichever sees it first.
 */
export interface Warehouse {
  /** Starts a query job; the answer may already be `done` (short jobs usually are). */
  startQuery(query: WarehouseQuery): Promise<WarehouseJob>;
  getJob(jobId: string, location: string): Promise<WarehouseJob>;
  /** One page of a finished SELECT job's rows, as plain JSON values. */
  getRows(jobId: string, location: string, page: RowPageRequest): Promise<RowPage>;
  /** A dry run: what the statement would process. Runs nothing and bills nothing. */
  estimate(query: Pick<WarehouseQuery, 'sql' | 'params'>): Promise<{ bytesProcessed: number }>;
  /** A table's schema and partitioning (tables.get); undefined when there is no such table. */
  getTable(table: TableName): Promise<TableInfo | undefined>;
  /** The ids of a dataset's tables that start with `prefix`, every page of tables.list. */
  listTables(dataset: { projectId: string; datasetId: string }, prefix: string): Promise<string[]>;
}

export interface TableName {
  projectId: string;
  datasetId: string;
  tableId: string;
}

/** A schema field as tables.get reports it (legacy type names: RECORD, INTEGER, ...). */
export interface TableField {
  name: string;
  type: string;
  mode: 'NULLABLE' | 'REQUIRED' | 'REPEATED';
  fields?: TableField[];
}

export interface TableInfo {
  fields: TableField[];
  /** Time-unit partitioning; `field` absent for ingestion-time (`_PARTITIONTIME`). */
  partitioning?: { type: string; field?: string; requirePartitionFilter: boolean };
}

export interface WarehouseQuery {
  /** GoogleSQL text; every value arrives through `params` (named `@name` parameters). */
  sql: string;
  params: Record<string, string | number | boolean | string[]>;
  /** The job fails, changing nothing, if it would bill more than this. */
  maximumBytesBilled?: number;
  /** Job labels, for billing reports (keys and values: lower-case, digits, `_`, `-`). */
  labels?: Record<string, string>;
}

export interface WarehouseJob {
  jobId: string;
  location: string;
  done: boolean;
  /** Known once `done`; 0 before. */
  bytesProcessed: number;
  bytesBilled: number;
  /** For UPDATE and DELETE, once `done`. */
  affectedRows?: number;
}

export interface RowPageRequest {
  maxResults: number;
  pageToken?: string;
}

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface RowPage {
  columns: string[];
  /** TIMESTAMPs as ISO-8601 strings; INT64s beyond 2^53 and NUMERICs as strings. */
  rows: Array<Record<string, JsonValue>>;
  totalRows: number;
  pageToken?: string;
}
