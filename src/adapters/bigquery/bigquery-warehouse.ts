import { BigQuery, type JobMetadata, type TableMetadata } from '@google-cloud/bigquery';
import { PassThroughClient } from 'google-auth-library';
import { RetryableError } from '../../domain/errors';
import type {
  RowPage,
  RowPageRequest,
  TableField,
  TableInfo,
  TableName,
  Warehouse,
  WarehouseJob,
  WarehouseQuery,
} from '../../ports/warehouse';
import {
  DEFAULT_STREAMING_BUFFER_RETRY_SECONDS,
  toWarehouseError,
  type BigQueryErrorProto,
} from './bigquery-errors';
import { rowsToJson, type RawRow, type SchemaField } from './rows';

export interface BigQueryWarehouseOptions {
  /** Where jobs run (the datasets' location). Default `US`. */
  location?: string;
  /** The delay before a statement refused over the streaming buffer is retried. Default 5400 (90 min). */
  streamingBufferRetrySeconds?: number;
  /** Prefix of the job ids this adapter creates, so they stand out in the job history. */
  jobPrefix?: string;
}

/**
 * The official client: against the emulator when `emulatorHost` is given (`host:port` or a URL).
 * An emulator client sends no credentials at all (a PassThroughClient). Left to find
 * credentials itself, the client takes a process with `K_SERVICE` set, such as a function
 * under the local stack, for Cloud Run, and fails asking the metadata server for a token. The
 * client also reads `BIGQUERY_EMULATOR_HOST` itself and needs it to be a URL when set.
 */
export function createBigQueryClient(projectId: string, emulatorHost?: string): BigQuery {
  if (emulatorHost === undefined || emulatorHost === '') return new BigQuery({ projectId });
  const apiEndpoint = /^https?:\/\//.test(emulatorHost) ? emulatorHost : `http://${emulatorHost}`;
  return new BigQuery({ projectId, apiEndpoint, authClient: new PassThroughClient() });
}

/** The Warehouse port on BigQuery, over a client the caller made (a real or an emulator one). */
export function createBigQueryWarehouse(
  client: BigQuery,
  options: BigQueryWarehouseOptions = {},
): Warehouse {
  const location = options.location ?? 'US';
  const jobPrefix = options.jobPrefix ?? 'dsr_';
  const streamingBufferRetrySeconds =
    options.streamingBufferRetrySeconds ?? DEFAULT_STREAMING_BUFFER_RETRY_SECONDS;
  const classify = (thrown: unknown, jobId?: string) =>
    toWarehouseError(thrown, { streamingBufferRetrySeconds, jobId: jobId ?? jobIdOf(thrown) });

  /** Inserts a query job; a job that is DONE at insert with an error is rejected by the client. */
  const insert = async (query: WarehouseQuery, dryRun: boolean): Promise<JobMetadata> => {
    try {
      const [job] = await client.createQueryJob({
        query: query.sql,
        params: query.params,
        useLegacySql: false,
        location,
        ...(dryRun ? { dryRun } : { jobPrefix }),
        ...(query.maximumBytesBilled === undefined
          ? {}
          : { maximumBytesBilled: String(query.maximumBytesBilled) }),
        ...(query.labels === undefined ? {} : { labels: query.labels }),
      });
      return job.metadata as JobMetadata;
    } catch (thrown) {
      throw classify(thrown);
    }
  };

  return {
    async startQuery(query: WarehouseQuery): Promise<WarehouseJob> {
      return toJob(await insert(query, false), classify);
    },

    async getJob(jobId: string, jobLocation: string): Promise<WarehouseJob> {
      let metadata: JobMetadata;
      try {
        const response = await client.job(jobId, { location: jobLocation }).getMetadata();
        metadata = response[0] as JobMetadata;
      } catch (thrown) {
        throw classify(thrown, jobId);
      }
      return toJob(metadata, classify);
    },

    async getRows(jobId: string, jobLocation: string, page: RowPageRequest): Promise<RowPage> {
      let response: QueryResultsResponse;
      try {
        // The REST call, not Job#getQueryResults: that one parses rows into class instances
        // and passes its own options on as query parameters.
        response = await request<QueryResultsResponse>(client, {
          uri: `/queries/${encodeURIComponent(jobId)}`,
          qs: {
            location: jobLocation,
            maxResults: page.maxResults,
            'formatOptions.useInt64Timestamp': true,
            ...(page.pageToken === undefined ? {} : { pageToken: page.pageToken }),
          },
        });
      } catch (thrown) {
        throw classify(thrown, jobId);
      }
      if (response.jobComplete === false) {
        throw new RetryableError(`BigQuery job ${jobId} has no rows yet: it is still running`, {
          code: 'bigquery.not_done',
        });
      }
      const fields = response.schema?.fields ?? [];
      return {
        columns: fields.map((f) => f.name),
        rows: rowsToJson(fields, response.rows ?? []),
        totalRows: Number(response.totalRows ?? 0),
        ...(response.pageToken ? { pageToken: response.pageToken } : {}),
      };
    },

    async getTable(table: TableName): Promise<TableInfo | undefined> {
      let metadata: TableMetadata;
      try {
        const response = await client
          .dataset(table.datasetId, { projectId: table.projectId })
          .table(table.tableId)
          .getMetadata();
        metadata = response[0] as TableMetadata;
      } catch (thrown) {
        if ((thrown as { code?: unknown } | null)?.code === 404) return undefined;
        throw classify(thrown);
      }
      const partitioning = metadata.timePartitioning;
      return {
        fields: tableFields(metadata.schema?.fields),
        ...(partitioning === undefined || partitioning === null
          ? {}
          : {
              partitioning: {
                type: partitioning.type ?? 'DAY',
                ...(partitioning.field ? { field: partitioning.field } : {}),
                requirePartitionFilter:
                  metadata.requirePartitionFilter === true ||
                  partitioning.requirePartitionFilter === true,
              },
            }),
      };
    },

    async listTables(dataset, prefix): Promise<string[]> {
      try {
        // autoPaginate follows nextPageToken through every page of tables.list.
        const [tables] = await client
          .dataset(dataset.datasetId, { projectId: dataset.projectId })
          .getTables({ autoPaginate: true, maxResults: 1000 });
        return tables
          .map((table) => table.id ?? '')
          .filter((id) => id !== '' && id.startsWith(prefix))
          .sort();
      } catch (thrown) {
        if ((thrown as { code?: unknown } | null)?.code === 404) return [];
        throw classify(thrown);
      }
    },

    async estimate(query: Pick<WarehouseQuery, 'sql' | 'params'>) {
      const { statistics } = await insert({ sql: query.sql, params: query.params }, true);
      const processed = statistics?.query?.totalBytesProcessed ?? statistics?.totalBytesProcessed;
      return { bytesProcessed: Number(processed ?? 0) };
    },
  };
}

interface QueryResultsResponse {
  jobComplete?: boolean;
  schema?: { fields?: SchemaField[] };
  rows?: RawRow[];
  totalRows?: string;
  pageToken?: string;
}

function toJob(
  metadata: JobMetadata,
  classify: (thrown: unknown, jobId?: string) => Error,
): WarehouseJob {
  const jobId = metadata.jobReference?.jobId ?? '';
  const errorResult: BigQueryErrorProto | null | undefined = metadata.status?.errorResult;
  if (errorResult) throw classify(errorResult, jobId);
  const query = metadata.statistics?.query;
  const affected = query?.numDmlAffectedRows;
  return {
    jobId,
    location: metadata.jobReference?.location ?? '',
    done: metadata.status?.state === 'DONE',
    bytesProcessed: Number(query?.totalBytesProcessed ?? 0),
    bytesBilled: Number(query?.totalBytesBilled ?? 0),
    ...(affected === undefined || affected === null ? {} : { affectedRows: Number(affected) }),
  };
}

interface RestTableField {
  name?: string | null;
  type?: string | null;
  mode?: string | null;
  fields?: RestTableField[] | null;
}

/** tables.get reports legacy type names; the executors speak GoogleSQL's. */
const STANDARD_TYPES: Record<string, string> = {
  INTEGER: 'INT64',
  FLOAT: 'FLOAT64',
  BOOLEAN: 'BOOL',
  STRUCT: 'RECORD',
};

function tableFields(fields: RestTableField[] | null | undefined): TableField[] {
  return (fields ?? []).map((field) => {
    const mode = field.mode?.toUpperCase();
    return {
      name: field.name ?? '',
      type:
        STANDARD_TYPES[(field.type ?? 'STRING').toUpperCase()] ??
        (field.type ?? 'STRING').toUpperCase(),
      mode: mode === 'REPEATED' || mode === 'REQUIRED' ? mode : 'NULLABLE',
      ...(field.fields ? { fields: tableFields(field.fields) } : {}),
    };
  });
}

function jobIdOf(thrown: unknown): string | undefined {
  const response = (thrown as { response?: JobMetadata } | null)?.response;
  return response?.jobReference?.jobId ?? undefined;
}

function request<T>(client: BigQuery, reqOpts: { uri: string; qs: object }): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    client.request(reqOpts, (err, body) => (err ? reject(err) : resolve(body as T)));
  });
}
