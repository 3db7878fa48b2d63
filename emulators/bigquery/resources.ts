import type { JobEngine, JobRecord, QueryResult } from './jobs';
import { fieldType, schemaResource, type Field } from './schema';
import { toCellTyped } from './types';
import type { TimestampFormat, Value } from './values';
import type { DatasetRecord, StreamingBufferStats, TableRecord, Warehouse } from './warehouse';

/** Renders emulator state as the BigQuery v2 REST resources the client expects. */

const etag = (...parts: unknown[]): string =>
  Buffer.from(parts.map(String).join('|')).toString('base64').slice(0, 24);

function annotations(record: {
  description?: string;
  friendlyName?: string;
  labels?: Record<string, string>;
}): object {
  return {
    ...(record.description === undefined ? {} : { description: record.description }),
    ...(record.friendlyName === undefined ? {} : { friendlyName: record.friendlyName }),
    ...(record.labels === undefined ? {} : { labels: record.labels }),
  };
}

export function datasetResource(dataset: DatasetRecord, baseUrl: string): object {
  const { projectId, datasetId } = dataset;
  return {
    kind: 'bigquery#dataset',
    etag: etag(projectId, datasetId, dataset.lastModifiedTime),
    id: `${projectId}:${datasetId}`,
    selfLink: `${baseUrl}/projects/${projectId}/datasets/${datasetId}`,
    datasetReference: { projectId, datasetId },
    location: dataset.location,
    creationTime: String(dataset.creationTime),
    lastModifiedTime: String(dataset.lastModifiedTime),
    type: 'DEFAULT',
    ...annotations(dataset),
  };
}

export function datasetListEntry(dataset: DatasetRecord): object {
  const { projectId, datasetId } = dataset;
  return {
    kind: 'bigquery#dataset',
    id: `${projectId}:${datasetId}`,
    datasetReference: { projectId, datasetId },
    location: dataset.location,
    ...annotations(dataset),
  };
}

export function tableResource(
  table: TableRecord,
  warehouse: Warehouse,
  buffer: StreamingBufferStats | undefined,
  location: string,
  baseUrl: string,
): object {
  const { projectId, datasetId, tableId } = table;
  return {
    kind: 'bigquery#table',
    etag: etag(projectId, datasetId, tableId, table.lastModifiedTime),
    id: `${projectId}:${datasetId}.${tableId}`,
    selfLink: `${baseUrl}/projects/${projectId}/datasets/${datasetId}/tables/${tableId}`,
    tableReference: { projectId, datasetId, tableId },
    schema: schemaResource(table.fields),
    numRows: warehouse.countRows(table).toString(),
    numBytes: warehouse.tableBytes(table).toString(),
    creationTime: String(table.creationTime),
    lastModifiedTime: String(table.lastModifiedTime),
    type: 'TABLE',
    location,
    ...partitioningResource(table),
    ...(buffer === undefined
      ? {}
      : {
          streamingBuffer: {
            estimatedRows: buffer.rows.toString(),
            estimatedBytes: buffer.bytes.toString(),
            oldestEntryTime: (buffer.oldest / 1000n).toString(),
          },
        }),
    ...annotations(table),
  };
}

function partitioningResource(table: TableRecord): object {
  const partitioning = table.partitioning;
  if (partitioning === undefined) return {};
  return {
    timePartitioning: {
      type: partitioning.type,
      ...(partitioning.field === undefined ? {} : { field: partitioning.field }),
      ...(partitioning.expirationMs === undefined
        ? {}
        : { expirationMs: partitioning.expirationMs }),
    },
    requirePartitionFilter: partitioning.requirePartitionFilter,
  };
}

export function tableListEntry(table: TableRecord): object {
  const { projectId, datasetId, tableId } = table;
  return {
    kind: 'bigquery#table',
    id: `${projectId}:${datasetId}.${tableId}`,
    tableReference: { projectId, datasetId, tableId },
    type: 'TABLE',
    ...partitioningResource(table),
    creationTime: String(table.creationTime),
    ...annotations(table),
  };
}

/**
 * Rows as `{ f: [{ v }] }`, TIMESTAMPs in the requested format; a STRUCT cell is `{ f: [...] }`
 * and an ARRAY cell `[{ v }, ...]`, as the service writes them.
 */
export function fvRows(
  fields: readonly Field[],
  rows: readonly Value[][],
  timestamps: TimestampFormat,
): object[] {
  const types = fields.map(fieldType);
  return rows.map((row) => ({
    f: types.map((type, index) => ({ v: toCellTyped(type, row[index] ?? null, timestamps) })),
  }));
}

/** The `statistics.query` block: bytes as strings, DML counts, the result schema. */
function queryStatistics(result: QueryResult, dryRun: boolean): Record<string, unknown> {
  const { billing } = result;
  return {
    totalBytesProcessed: billing.bytesProcessed.toString(),
    totalBytesBilled: dryRun ? '0' : billing.bytesBilled.toString(),
    totalBytesProcessedAccuracy: 'PRECISE',
    ...(dryRun
      ? { estimatedBytesProcessed: billing.bytesProcessed.toString() }
      : { billingTier: 1 }),
    cacheHit: false,
    statementType: result.statementType,
    ...(result.fields === undefined ? {} : { schema: schemaResource(result.fields) }),
    ...dmlStatistics(result),
  };
}

export function dmlStatistics(result: QueryResult): Record<string, unknown> {
  if (result.affectedRows === undefined) return {};
  const count = result.affectedRows.toString();
  return {
    numDmlAffectedRows: count,
    dmlStats:
      result.statementType === 'DELETE' ? { deletedRowCount: count } : { updatedRowCount: count },
  };
}

export function jobReference(job: JobRecord): object {
  return { projectId: job.projectId, jobId: job.jobId, location: job.location };
}

export function jobResource(
  job: JobRecord,
  engine: JobEngine,
  baseUrl: string,
): Record<string, unknown> {
  const state = engine.state(job);
  const dryRun = job.configuration.dryRun === true;
  const outcome = job.outcome;
  const result = outcome !== undefined && 'result' in outcome ? outcome.result : undefined;
  const error = outcome !== undefined && 'error' in outcome ? outcome.error : undefined;
  const statistics: Record<string, unknown> = { creationTime: String(job.createdAt) };
  if (state !== 'PENDING' && !dryRun) statistics.startTime = String(job.createdAt);
  if (job.endedAt !== undefined && !dryRun) statistics.endTime = String(job.endedAt);
  if (result !== undefined) {
    statistics.totalBytesProcessed = result.billing.bytesProcessed.toString();
    statistics.query = queryStatistics(result, dryRun);
  }
  return {
    kind: 'bigquery#job',
    etag: etag(job.projectId, job.jobId, state),
    id: `${job.projectId}:${job.location}.${job.jobId}`,
    selfLink: `${baseUrl}/projects/${job.projectId}/jobs/${job.jobId}?location=${job.location}`,
    user_email: 'emulator@bigquery.local',
    jobReference: jobReference(job),
    configuration: job.configuration,
    statistics,
    status: {
      state,
      ...(error === undefined
        ? {}
        : { errorResult: error.toErrorProto(), errors: [error.toErrorProto()] }),
    },
  };
}
