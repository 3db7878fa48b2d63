import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import {
  asPatch,
  DISCOVERY_PATH,
  DiscoveryDocument,
  listProjects,
  PROJECTS_PATH,
  withoutNullMembers,
} from './bq-compat';
import { BigQueryError, invalid, toBigQueryError } from './errors';
import type { Clock, JobEngine, JobRecord, QueryConfiguration } from './jobs';
import {
  datasetListEntry,
  datasetResource,
  dmlStatistics,
  fvRows,
  jobReference,
  jobResource,
  tableListEntry,
  tableResource,
} from './resources';
import {
  findField,
  parsePartitioning,
  parseSchemaFields,
  rowFromJson,
  schemaResource,
  type RestField,
} from './schema';
import type { TimestampFormat } from './values';
import type { Annotations, TableRecord, Warehouse } from './warehouse';

export interface ApiOptions {
  warehouse: Warehouse;
  engine: JobEngine;
  clock: Clock;
  streamingBufferSeconds: number;
  /** The project projects.list reports (for `bq ls -p`). */
  projectId?: string;
}

interface Request {
  params: string[];
  query: URLSearchParams;
  body: Record<string, unknown>;
  baseUrl: string;
}

type Reply = { status: number; body?: unknown };
type Handler = (request: Request) => Reply | Promise<Reply>;

const NAME = '([^/]+)';
const DEFAULT_PAGE = 50;
const DEFAULT_ROWS_PAGE = 100_000;
const DEFAULT_WAIT_MS = 10_000;

/** Serves the BigQuery v2 REST API over node:http. */
export function createBigQueryServer(options: ApiOptions): Server {
  const api = new BigQueryApi(options);
  const discovery = new DiscoveryDocument();
  const routes: Array<[string, RegExp, Handler]> = [
    ['GET', path('datasets'), (r) => api.listDatasets(r)],
    ['POST', path('datasets'), (r) => api.insertDataset(r)],
    ['GET', path('datasets', NAME), (r) => api.getDataset(r)],
    ['PATCH', path('datasets', NAME), (r) => api.patchDataset(asPatch(r, options.warehouse))],
    ['DELETE', path('datasets', NAME), (r) => api.deleteDataset(r)],
    ['GET', path('datasets', NAME, 'tables'), (r) => api.listTables(r)],
    ['POST', path('datasets', NAME, 'tables'), (r) => api.insertTable(r)],
    ['GET', path('datasets', NAME, 'tables', NAME), (r) => api.getTable(r)],
    [
      'PATCH',
      path('datasets', NAME, 'tables', NAME),
      (r) => api.patchTable(asPatch(r, options.warehouse)),
    ],
    ['DELETE', path('datasets', NAME, 'tables', NAME), (r) => api.deleteTable(r)],
    [
      'POST',
      path('datasets', NAME, 'tables', NAME, 'insertAll'),
      (r) => api.insertAll(withoutNullMembers(r)),
    ],
    ['GET', path('datasets', NAME, 'tables', NAME, 'data'), (r) => api.listTableData(r)],
    ['GET', path('jobs'), (r) => api.listJobs(r)],
    ['POST', path('jobs'), (r) => api.insertJob(r)],
    ['GET', path('jobs', NAME), (r) => api.getJob(r)],
    ['POST', path('jobs', NAME, 'cancel'), (r) => api.cancelJob(r)],
    ['DELETE', path('jobs', NAME, 'delete'), (r) => api.deleteJob(r)],
    ['POST', path('queries'), (r) => api.query(r)],
    ['GET', path('queries', NAME), (r) => api.getQueryResults(r)],
    // For Google's bq CLI (bq-compat.ts).
    ['GET', DISCOVERY_PATH, (r) => discovery.get(r)],
    ['GET', PROJECTS_PATH, (r) => listProjects([options.projectId ?? 'local-project'], r)],
  ];

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => send(res, errorReply(toBigQueryError(error))));
  });
  // Clients reuse connections; keep idle sockets longer than their pools do.
  server.keepAliveTimeout = 65_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const host = req.headers.host ?? '127.0.0.1';
    const url = new URL(req.url ?? '/', `http://${host}`);
    const pathname = url.pathname.replace(/^\/bigquery\/v2(?=\/)/, '').replace(/\/+$/, '');
    const method = (req.method ?? 'GET').toUpperCase();
    for (const [routeMethod, pattern, handler] of routes) {
      const match = pattern.exec(pathname);
      if (match === null || routeMethod !== method) continue;
      try {
        options.engine.settleAll();
        const params = match.slice(1).map(decodeURIComponent);
        send(
          res,
          await handler({
            params,
            query: url.searchParams,
            body: parseJson(body),
            baseUrl: `http://${host}/bigquery/v2`,
          }),
        );
      } catch (error) {
        send(res, errorReply(toBigQueryError(error)));
      }
      return;
    }
    send(
      res,
      errorReply(
        new BigQueryError(
          501,
          'notImplemented',
          `The BigQuery emulator does not implement ${method} ${url.pathname}`,
        ),
      ),
    );
  }
  return server;
}

/** `/projects/{project}/…`; the project is always the first captured parameter. */
function path(...segments: string[]): RegExp {
  return new RegExp(`^/projects/${NAME}/${segments.join('/')}$`);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' && raw.length > 0 ? gunzipSync(raw) : raw;
}

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BigQueryError(400, 'parseError', 'Parse Error: the request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid('The request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function errorReply(error: BigQueryError): Reply {
  return { status: error.httpStatus, body: error.toResponseBody() };
}

function send(res: ServerResponse, reply: Reply): void {
  if (reply.body === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res
    .writeHead(reply.status, {
      'content-type': 'application/json; charset=UTF-8',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}

const ok = (body: unknown): Reply => ({ status: 200, body });
const noContent: Reply = { status: 204 };

function object(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function readAnnotations(body: Record<string, unknown>): Annotations {
  const labels = object(body.labels);
  return {
    ...(typeof body.description === 'string' ? { description: body.description } : {}),
    ...(typeof body.friendlyName === 'string' ? { friendlyName: body.friendlyName } : {}),
    ...(body.labels === undefined
      ? {}
      : { labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])) }),
  };
}

/** Offset-based page tokens: opaque to clients, stable for a given listing. */
function encodePageToken(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function decodePageToken(token: string | null): number {
  if (token === null || token === '') return 0;
  const match = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (match === null) throw invalid(`Invalid page token: ${token}`);
  return Number(match[1]);
}

function readCount(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw invalid(`Invalid value for ${name}: ${raw}`);
  return Number(raw);
}

/** One page of `items`, from `pageToken` (or `startIndex`) for `maxResults`. */
function page<T>(
  items: readonly T[],
  query: URLSearchParams,
  defaultSize: number,
): { items: T[]; nextPageToken?: string } {
  const start = query.has('pageToken')
    ? decodePageToken(query.get('pageToken'))
    : readCount(query, 'startIndex', 0);
  const size = readCount(query, 'maxResults', defaultSize);
  const end = start + size;
  return {
    items: items.slice(start, end),
    ...(end < items.length ? { nextPageToken: encodePageToken(end) } : {}),
  };
}

/**
 * How TIMESTAMP cells are written. Given no format at all, the service writes float seconds
 * (what `bq` reads); the client libraries always ask for one.
 */
function timestampFormat(useInt64: unknown, outputFormat: unknown): TimestampFormat {
  if (outputFormat === 'ISO8601_STRING') return 'iso';
  if (outputFormat === 'FLOAT64') return 'float';
  if (outputFormat === 'INT64') return 'int64';
  if (useInt64 === null || useInt64 === undefined) return 'float';
  return useInt64 === false || useInt64 === 'false' ? 'float' : 'int64';
}

class BigQueryApi {
  constructor(private readonly options: ApiOptions) {}

  private get warehouse(): Warehouse {
    return this.options.warehouse;
  }

  private get engine(): JobEngine {
    return this.options.engine;
  }

  private now(): number {
    return this.options.clock.now();
  }

  listDatasets({ params: [project = ''], query, baseUrl }: Request): Reply {
    const { items, nextPageToken } = page(
      this.warehouse.listDatasets(project),
      query,
      DEFAULT_PAGE,
    );
    return ok({
      kind: 'bigquery#datasetList',
      etag: String(items.length),
      datasets: items.map(datasetListEntry),
      ...(nextPageToken === undefined ? {} : { nextPageToken }),
      selfLink: `${baseUrl}/projects/${project}/datasets`,
    });
  }

  insertDataset({ params: [project = ''], body, baseUrl }: Request): Reply {
    const reference = object(body.datasetReference);
    const datasetId = optionalString(reference.datasetId) ?? '';
    if (!/^[A-Za-z0-9_]{1,1024}$/.test(datasetId)) {
      throw invalid(
        `Invalid dataset ID "${datasetId}". Dataset IDs must be alphanumeric (plus underscores) and must be at most 1024 characters long.`,
      );
    }
    const dataset = this.warehouse.createDataset(
      {
        projectId: optionalString(reference.projectId) ?? project,
        datasetId,
        location: optionalString(body.location) ?? 'US',
        ...readAnnotations(body),
      },
      this.now(),
    );
    return ok(datasetResource(dataset, baseUrl));
  }

  getDataset({ params: [project = '', dataset = ''], baseUrl }: Request): Reply {
    return ok(datasetResource(this.warehouse.getDataset(project, dataset), baseUrl));
  }

  patchDataset({ params: [project = '', datasetId = ''], body, baseUrl }: Request): Reply {
    const dataset = this.warehouse.getDataset(project, datasetId);
    Object.assign(dataset, readAnnotations(body), { lastModifiedTime: this.now() });
    return ok(datasetResource(dataset, baseUrl));
  }

  deleteDataset({ params: [project = '', dataset = ''], query }: Request): Reply {
    this.warehouse.deleteDataset(project, dataset, query.get('deleteContents') === 'true');
    return noContent;
  }

  listTables({ params: [project = '', dataset = ''], query }: Request): Reply {
    const tables = this.warehouse.listTables(project, dataset);
    const { items, nextPageToken } = page(tables, query, DEFAULT_PAGE);
    return ok({
      kind: 'bigquery#tableList',
      etag: String(tables.length),
      tables: items.map(tableListEntry),
      totalItems: tables.length,
      ...(nextPageToken === undefined ? {} : { nextPageToken }),
    });
  }

  insertTable({ params: [project = '', datasetId = ''], body, baseUrl }: Request): Reply {
    const reference = object(body.tableReference);
    const tableId = optionalString(reference.tableId) ?? '';
    if (!/^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd} ]{1,1024}$/u.test(tableId))
      throw invalid(`Invalid table ID "${tableId}".`);
    for (const feature of [
      'view',
      'materializedView',
      'externalDataConfiguration',
      'rangePartitioning',
      'clustering',
    ]) {
      if (body[feature] !== undefined)
        throw invalid(`The BigQuery emulator does not support ${feature} on tables`);
    }
    const rawFields = object(body.schema).fields;
    const fields = parseSchemaFields(Array.isArray(rawFields) ? (rawFields as RestField[]) : []);
    const partitioning = parsePartitioning(
      body.timePartitioning,
      body.requirePartitionFilter,
      fields,
    );
    const ref = { projectId: project, datasetId, tableId };
    const table = this.warehouse.createTable(
      ref,
      fields,
      readAnnotations(body),
      this.now(),
      partitioning,
    );
    return ok(this.tableResource(table, baseUrl));
  }

  getTable({ params: [projectId = '', datasetId = '', tableId = ''], baseUrl }: Request): Reply {
    return ok(
      this.tableResource(this.warehouse.getTable({ projectId, datasetId, tableId }), baseUrl),
    );
  }

  patchTable({
    params: [projectId = '', datasetId = '', tableId = ''],
    body,
    baseUrl,
  }: Request): Reply {
    const table = this.warehouse.getTable({ projectId, datasetId, tableId });
    if (
      body.schema !== undefined &&
      JSON.stringify(body.schema) !== JSON.stringify(schemaResource(table.fields))
    ) {
      throw invalid('The BigQuery emulator does not support schema changes');
    }
    Object.assign(table, readAnnotations(body), { lastModifiedTime: this.now() });
    return ok(this.tableResource(table, baseUrl));
  }

  deleteTable({ params: [projectId = '', datasetId = '', tableId = ''] }: Request): Reply {
    this.warehouse.deleteTable({ projectId, datasetId, tableId });
    return noContent;
  }

  private tableResource(table: TableRecord, baseUrl: string): object {
    const dataset = this.warehouse.getDataset(table.projectId, table.datasetId);
    const buffer =
      this.options.streamingBufferSeconds > 0
        ? this.warehouse.streamingBuffer(table, this.bufferStart())
        : undefined;
    return tableResource(table, this.warehouse, buffer, dataset.location, baseUrl);
  }

  /** Epoch µs from which inserted rows are still in the streaming buffer. */
  private bufferStart(): bigint {
    return BigInt(this.now()) * 1000n - BigInt(this.options.streamingBufferSeconds) * 1_000_000n;
  }

  insertAll({ params: [projectId = '', datasetId = '', tableId = ''], body }: Request): Reply {
    const table = this.warehouse.getTable({ projectId, datasetId, tableId });
    if (body.templateSuffix !== undefined)
      throw invalid('The BigQuery emulator does not support templateSuffix');
    const rows = Array.isArray(body.rows) ? (body.rows as unknown[]) : [];
    if (rows.length === 0) throw invalid('No rows present in the request.');
    const ignoreUnknownValues = body.ignoreUnknownValues === true;
    const converted = rows.map((entry) =>
      rowFromJson(table.fields, object(object(entry).json), ignoreUnknownValues),
    );
    const failed = converted.some(({ errors }) => errors.length > 0);
    const insertErrors = converted.flatMap(({ errors }, index) => {
      if (errors.length > 0) {
        return [
          {
            index,
            errors: errors.map((message) => ({
              reason: 'invalid',
              location: '',
              debugInfo: '',
              message,
            })),
          },
        ];
      }
      return failed && body.skipInvalidRows !== true
        ? [{ index, errors: [{ reason: 'stopped', location: '', debugInfo: '', message: '' }] }]
        : [];
    });
    if (!failed || body.skipInvalidRows === true) {
      const now = this.now();
      const valid = converted.filter(({ errors }) => errors.length === 0).map(({ row }) => row);
      this.warehouse.insertRows(table, valid, BigInt(now) * 1000n, now);
    }
    return ok({
      kind: 'bigquery#tableDataInsertAllResponse',
      ...(insertErrors.length > 0 ? { insertErrors } : {}),
    });
  }

  listTableData({ params: [projectId = '', datasetId = '', tableId = ''], query }: Request): Reply {
    const table = this.warehouse.getTable({ projectId, datasetId, tableId });
    const selected = (query.get('selectedFields') ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '')
      .map((name) => {
        const index = findField(table.fields, name);
        if (index === -1) throw invalid(`Field ${name} in selected fields not found in the schema`);
        return index;
      });
    // The service returns selected fields in schema order, whatever order they were asked in.
    const indexes = table.fields
      .map((_, index) => index)
      .filter((index) => selected.length === 0 || selected.includes(index));
    const totalRows = Number(this.warehouse.countRows(table));
    const start = query.has('pageToken')
      ? decodePageToken(query.get('pageToken'))
      : readCount(query, 'startIndex', 0);
    const size = readCount(query, 'maxResults', DEFAULT_ROWS_PAGE);
    const rows = this.warehouse.readRows(table, start, size, indexes);
    const fields = indexes
      .map((index) => table.fields[index])
      .filter((field) => field !== undefined);
    const format = timestampFormat(
      query.get('formatOptions.useInt64Timestamp'),
      query.get('formatOptions.timestampOutputFormat'),
    );
    return ok({
      kind: 'bigquery#tableDataList',
      etag: String(table.lastModifiedTime),
      totalRows: String(totalRows),
      ...(start + size < totalRows ? { pageToken: encodePageToken(start + size) } : {}),
      rows: fvRows(fields, rows, format),
    });
  }

  listJobs({ params: [project = ''], query, baseUrl }: Request): Reply {
    const { items, nextPageToken } = page(this.engine.list(project), query, DEFAULT_PAGE);
    return ok({
      kind: 'bigquery#jobList',
      etag: String(items.length),
      jobs: items.map((job) => {
        const resource = jobResource(job, this.engine, baseUrl);
        return { ...resource, state: (resource.status as { state: string }).state };
      }),
      ...(nextPageToken === undefined ? {} : { nextPageToken }),
    });
  }

  insertJob({ params: [project = ''], body, baseUrl }: Request): Reply {
    const configuration = object(body.configuration);
    const kind = ['load', 'extract', 'copy'].find((name) => configuration[name] !== undefined);
    if (kind !== undefined || configuration.query === undefined) {
      throw invalid(
        `The BigQuery emulator runs query jobs only${kind === undefined ? '' : ` (got a ${kind} job)`}`,
      );
    }
    const reference = object(body.jobReference);
    const job = this.engine.insert({
      projectId: project,
      ...(typeof reference.jobId === 'string' ? { jobId: reference.jobId } : {}),
      ...(typeof reference.location === 'string' ? { location: reference.location } : {}),
      configuration: {
        ...configuration,
        jobType: 'QUERY',
        query: { ...(object(configuration.query) as QueryConfiguration) },
      },
    });
    return ok(jobResource(job, this.engine, baseUrl));
  }

  getJob({ params: [project = '', jobId = ''], baseUrl }: Request): Reply {
    return ok(jobResource(this.engine.get(project, jobId), this.engine, baseUrl));
  }

  cancelJob({ params: [project = '', jobId = ''], baseUrl }: Request): Reply {
    const job = this.engine.cancel(project, jobId);
    return ok({ kind: 'bigquery#jobCancelResponse', job: jobResource(job, this.engine, baseUrl) });
  }

  deleteJob({ params: [project = '', jobId = ''] }: Request): Reply {
    this.engine.delete(project, jobId);
    return noContent;
  }

  /** jobs.query: runs the statement as a job and waits up to `timeoutMs` for it. */
  async query({ params: [project = ''], body }: Request): Promise<Reply> {
    const {
      timeoutMs,
      maxResults,
      formatOptions,
      location,
      dryRun,
      labels,
      requestId,
      jobCreationMode,
      kind,
      ...rest
    } = body;
    void requestId;
    void jobCreationMode;
    void kind;
    const job = this.engine.insert({
      projectId: project,
      ...(typeof location === 'string' ? { location } : {}),
      configuration: {
        jobType: 'QUERY',
        query: rest,
        ...(dryRun === true ? { dryRun: true } : {}),
        ...(labels === undefined ? {} : { labels }),
      },
    });
    const format = object(formatOptions);
    const query = new URLSearchParams();
    if (typeof maxResults === 'number') query.set('maxResults', String(maxResults));
    return this.results(job, query, {
      timeoutMs: typeof timeoutMs === 'number' ? timeoutMs : DEFAULT_WAIT_MS,
      timestamps: timestampFormat(format.useInt64Timestamp, format.timestampOutputFormat),
      kind: 'bigquery#queryResponse',
    });
  }

  async getQueryResults({ params: [project = '', jobId = ''], query }: Request): Promise<Reply> {
    return this.results(this.engine.get(project, jobId), query, {
      timeoutMs: readCount(query, 'timeoutMs', DEFAULT_WAIT_MS),
      timestamps: timestampFormat(
        query.get('formatOptions.useInt64Timestamp'),
        query.get('formatOptions.timestampOutputFormat'),
      ),
      kind: 'bigquery#getQueryResultsResponse',
    });
  }

  /** The shared shape of jobs.query and getQueryResults: one page of a finished job's rows. */
  private async results(
    job: JobRecord,
    query: URLSearchParams,
    options: { timeoutMs: number; timestamps: TimestampFormat; kind: string },
  ): Promise<Reply> {
    const dryRun = job.configuration.dryRun === true;
    const reference = dryRun
      ? { projectId: job.projectId, location: job.location }
      : jobReference(job);
    if (!dryRun) await this.engine.waitFor(job, options.timeoutMs);
    const outcome = job.outcome;
    if (outcome === undefined) {
      return ok({
        kind: options.kind,
        etag: job.jobId,
        jobReference: reference,
        jobComplete: false,
      });
    }
    if ('error' in outcome) throw outcome.error;
    const { result } = outcome;
    const rows = result.rows ?? [];
    const { items, nextPageToken } = page(rows, query, DEFAULT_ROWS_PAGE);
    return ok({
      kind: options.kind,
      etag: job.jobId,
      jobReference: reference,
      jobComplete: true,
      totalBytesProcessed: result.billing.bytesProcessed.toString(),
      cacheHit: false,
      ...(result.fields === undefined
        ? {}
        : {
            schema: schemaResource(result.fields),
            totalRows: String(rows.length),
            rows: dryRun ? [] : fvRows(result.fields, items, options.timestamps),
          }),
      ...(nextPageToken === undefined || dryRun ? {} : { pageToken: nextPageToken }),
      ...dmlStatistics(result),
    });
  }
}
