import { GoneError, NotFoundError, ValidationError } from '../domain/errors';
import type { Instance, Request, Run } from '../domain/model';
import { isOpenStatus } from '../domain/states';
import { auditEstimateOf, recordsOutputOf, type AuditEstimate } from '../executors/contract';
import type { RecordRow, RecordStore } from '../ports/record-store';
import type { Actor } from './actor';
import type { AppDeps } from './deps';
import { recordAction } from './evidence';
import { readRecordRows } from './record-sets';
import { summarise } from './rollup';

export interface RecordsQuery {
  /** Rows per task in this answer. */
  pageSize: number;
  /** From an earlier answer's `nextPageToken`: continues that one task. */
  pageToken?: string;
}

/** One records task's part of the package: its rows (one page of them) and what they are. */
export interface RecordsEntry {
  taskId: string;
  taskName: string;
  executor: string;
  state: Instance['state'];
  /** The run the rows come from. */
  runId?: string;
  message?: string;
  /** The table the rows were read from. */
  source?: string;
  columns: string[];
  /** Rows in the package for this task (all pages). */
  rowCount: number;
  /** Rows the subject has in the source; more than `rowCount` when `maxRows` cut it. */
  totalRows?: number;
  truncated?: boolean;
  /** The position of `rows[0]` among the task's rows. */
  offset: number;
  rows: RecordRow[];
  /** Present while rows remain: pass it as `pageToken` for the next page of this task. */
  nextPageToken?: string;
  /** A dry-run request: what the real export would return and cost. */
  estimate?: AuditEstimate;
  /** What an executor that keeps no rows set returned (e.g. http.request). */
  output?: unknown;
  skippedReason?: string;
  lastError?: Instance['lastError'];
}

export interface RecordsPackage {
  requestId: string;
  status: Request['status'];
  dryRun: boolean;
  /** False while some records task has not finished: the package may still grow. */
  complete: boolean;
  tasks: RecordsEntry[];
}

/**
 * `GET /requests/:id/records`: per records task, the rows its last run exported, a page at a
 * time. Without a token every task's first page is returned; a token continues one task.
 */
export async function getRecordsPackage(
  deps: Pick<AppDeps, 'store' | 'clock' | 'log'> & { records: RecordStore },
  requestId: string,
  query: RecordsQuery,
  actor: Actor,
): Promise<RecordsPackage> {
  const pkg = await readRecordsPackage(deps, requestId, query);
  // Personal data was read: the trail and the log say who read what.
  const read = pkg.tasks.map((t) => ({ taskId: t.taskId, offset: t.offset, rows: t.rows.length }));
  await recordAction(deps, requestId, 'records_read', actor, { tasks: read });
  deps.log.child({ labels: { requestId } }).info('request.records_read', 'records package read', {
    readBy: actor.identity,
    tasks: read.map((t) => t.taskId),
    rows: read.reduce((sum, t) => sum + t.rows, 0),
  });
  return pkg;
}

async function readRecordsPackage(
  deps: Pick<AppDeps, 'store'> & { records: RecordStore },
  requestId: string,
  query: RecordsQuery,
): Promise<RecordsPackage> {
  const request = await deps.store.getRequest(requestId);
  if (request === null) throw new NotFoundError(`no request with id ${requestId}`);
  if (request.type !== 'records') {
    throw new NotFoundError(
      `request ${requestId} is a ${request.type} request: only records requests have a records package`,
    );
  }
  if (request.minimised === true) {
    throw new GoneError(
      `the records package of request ${requestId} was deleted at ${request.minimisedAt ?? 'an earlier date'}, PII_RETENTION_DAYS after the request closed`,
      'records_deleted',
    );
  }
  const [instances, runs] = await Promise.all([
    deps.store.listInstances(requestId),
    deps.store.listRuns(requestId),
  ]);
  const runsById = new Map(runs.map((r) => [r.runId, r]));
  const status = summarise(instances, undefined, request.dryRun).status;
  const answer = (tasks: RecordsEntry[]): RecordsPackage => ({
    requestId,
    status,
    dryRun: request.dryRun,
    complete: !isOpenStatus(status),
    tasks,
  });

  if (query.pageToken !== undefined) {
    const token = decodePageToken(query.pageToken);
    const instance = instances.find((i) => i.taskId === token.taskId);
    const run = runsById.get(token.runId);
    if (instance === undefined || run === undefined || run.taskId !== token.taskId) {
      throw badToken('it names no run of this request');
    }
    return answer([await entryOf(deps.records, instance, run, token.offset, query.pageSize)]);
  }
  const records = instances
    .filter((i) => i.jobType === 'records')
    .sort((a, b) => a.taskId.localeCompare(b.taskId));
  return answer(
    await Promise.all(
      records.map((i) =>
        entryOf(
          deps.records,
          i,
          i.lastRun === undefined ? undefined : runsById.get(i.lastRun.runId),
          0,
          query.pageSize,
        ),
      ),
    ),
  );
}

async function entryOf(
  store: RecordStore,
  instance: Instance,
  run: Run | undefined,
  offset: number,
  pageSize: number,
): Promise<RecordsEntry> {
  const base = {
    taskId: instance.taskId,
    taskName: instance.taskName,
    executor: instance.executor,
    state: instance.state,
    ...(run === undefined ? {} : { runId: run.runId, message: run.message }),
    ...(instance.skippedReason === undefined ? {} : { skippedReason: instance.skippedReason }),
    ...(instance.lastError === undefined ? {} : { lastError: instance.lastError }),
  };
  const records = recordsOutputOf(run?.output);
  if (run === undefined || records === undefined) {
    const estimate = auditEstimateOf(run?.output);
    return {
      ...base,
      columns: [],
      rowCount: 0,
      offset: 0,
      rows: [],
      ...(estimate !== undefined
        ? { estimate }
        : run?.output === undefined
          ? {}
          : { output: run.output }),
    };
  }
  const slice = await readRecordRows(
    store,
    { requestId: instance.requestId, taskId: instance.taskId, setId: records.setId },
    records,
    offset,
    pageSize,
  );
  return {
    ...base,
    source: records.source,
    columns: records.columns,
    rowCount: records.rowCount,
    totalRows: records.totalRows,
    truncated: records.truncated,
    offset,
    rows: slice.rows,
    ...(slice.nextOffset === undefined
      ? {}
      : { nextPageToken: encodePageToken(instance.taskId, run.runId, slice.nextOffset) }),
  };
}

function encodePageToken(taskId: string, runId: string, offset: number): string {
  return Buffer.from(JSON.stringify([taskId, runId, offset]), 'utf8').toString('base64url');
}

function decodePageToken(token: string): { taskId: string; runId: string; offset: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badToken('it is not one this API issued');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'string' ||
    !Number.isSafeInteger(parsed[2]) ||
    (parsed[2] as number) < 0
  ) {
    throw badToken('it is not one this API issued');
  }
  return { taskId: parsed[0], runId: parsed[1], offset: parsed[2] as number };
}

function badToken(why: string): ValidationError {
  return new ValidationError(`Invalid input: query.pageToken: ${why}`, [
    { path: 'query.pageToken', message: `not a valid page token: ${why}` },
  ]);
}
