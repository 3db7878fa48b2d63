import { randomUUID } from 'node:crypto';
import { bytesBilledLimitMessage, type Billing } from './billing';
import {
  BigQueryError,
  duplicate,
  invalid,
  invalidQuery,
  notFound,
  toBigQueryError,
} from './errors';
import { decodeParameters, type RestQueryParameter } from './params';
import {
  billStatement,
  compileStatement,
  runDml,
  runSelect,
  type CompiledStatement,
} from './sql/engine';
import { parseSql } from './sql/parser';
import type { Field, TableRef } from './schema';
import type { Value } from './values';
import type { Warehouse } from './warehouse';

/** BigQuery's per-table limits on mutating DML: running at once, and queued behind them. */
export const DML_RUNNING_PER_TABLE = 2;
export const DML_PENDING_PER_TABLE = 20;
/**
 * Concurrent mutating statements that change the same partition conflict; BigQuery retries the
 * one that lost up to 3 times, then fails it with "Could not serialize access to table …".
 */
export const DML_CONFLICT_RETRIES = 3;

/** Milliseconds since the epoch; injectable so tests control job timing and buffer age. */
export interface Clock {
  now(): number;
}

/** The REST `configuration.query` fields the emulator reads. */
export interface QueryConfiguration {
  query?: string;
  useLegacySql?: boolean;
  parameterMode?: string;
  queryParameters?: RestQueryParameter[];
  maximumBytesBilled?: string | number;
  defaultDataset?: { projectId?: string; datasetId: string };
  destinationTable?: TableRef;
  createDisposition?: string;
  writeDisposition?: string;
  [other: string]: unknown;
}

export type StatementType = 'SELECT' | 'UPDATE' | 'DELETE';

export interface QueryResult {
  statementType: StatementType;
  billing: Billing;
  /** SELECT: the result schema and rows. */
  fields?: Field[];
  rows?: Value[][];
  /** UPDATE and DELETE: rows changed. */
  affectedRows?: bigint;
}

export interface JobRecord {
  projectId: string;
  jobId: string;
  location: string;
  configuration: {
    query: QueryConfiguration;
    dryRun?: boolean;
    labels?: unknown;
    jobType: 'QUERY';
  };
  createdAt: number;
  /** When the job may finish: creation time plus the minimum job duration. */
  doneAt: number;
  endedAt?: number;
  /** A mutating DML job: its target table (`p:d.t`), whose DML queue it is in. */
  mutates?: string;
  /** Waiting in its table's DML queue (PENDING) until one of the 2 running ones finishes. */
  queued?: boolean;
  /** When it (last) started running: a commit to its partitions after this is a conflict. */
  startedAt?: number;
  /** Times it lost a conflict and was started again. */
  conflictRetries?: number;
  outcome?: { result: QueryResult } | { error: BigQueryError };
}

export type JobState = 'PENDING' | 'RUNNING' | 'DONE';

export interface JobEngineOptions {
  warehouse: Warehouse;
  clock: Clock;
  minJobMs: number;
  streamingBufferSeconds: number;
  deterministicJobIds: boolean;
}

/**
 * Query jobs: validation at insert, execution once the minimum duration has passed (settled
 * lazily whenever the emulator is asked anything), billing, caps and the streaming buffer.
 */
export class JobEngine {
  private readonly jobs = new Map<string, JobRecord>();
  /** Per table (`p:d.t`): when mutating statements committed, and the partitions they changed. */
  private readonly commits = new Map<string, { at: number; partitions: ReadonlySet<string> }[]>();
  private sequence = 0;

  constructor(private readonly options: JobEngineOptions) {}

  reset(): void {
    this.jobs.clear();
    this.commits.clear();
    this.sequence = 0;
  }

  newJobId(): string {
    return this.options.deterministicJobIds
      ? `job_${String(++this.sequence).padStart(6, '0')}`
      : `job_${randomUUID().replace(/-/g, '')}`;
  }

  /**
   * Validates and registers a query job. Parse, name and type errors are thrown (the HTTP
   * call fails); a dry run is answered at once and not kept; runtime failures (the
   * bytes-billed cap, the streaming buffer) end the job with an errorResult.
   */
  insert(input: {
    projectId: string;
    jobId?: string;
    location?: string;
    configuration: JobRecord['configuration'];
  }): JobRecord {
    const { projectId, configuration } = input;
    const jobId = input.jobId ?? this.newJobId();
    if (!/^[A-Za-z0-9_-]{1,1024}$/.test(jobId)) throw invalid(`Invalid job ID "${jobId}".`);
    const now = this.options.clock.now();
    const job: JobRecord = {
      projectId,
      jobId,
      location: input.location ?? 'US',
      configuration,
      createdAt: now,
      doneAt: now + this.options.minJobMs,
    };
    const compiled = this.compile(job);
    if (configuration.dryRun === true) {
      job.outcome = { result: this.estimate(compiled) };
      job.endedAt = now;
      return job;
    }
    const key = jobKey(projectId, jobId);
    if (this.jobs.has(key)) throw duplicate(`Job ${projectId}:${job.location}.${jobId}`);
    if (compiled.kind !== 'select') this.enterDmlQueue(job, compiled.target);
    this.jobs.set(key, job);
    this.settle(job);
    return job;
  }

  /**
   * BigQuery runs at most 2 mutating DML statements (UPDATE, DELETE, MERGE) per table at a time
   * and queues up to 20 more as PENDING; the next one fails at once with the service's error.
   */
  private enterDmlQueue(job: JobRecord, target: TableRef): void {
    const table = `${target.projectId}:${target.datasetId}.${target.tableId}`;
    job.mutates = table;
    const outstanding = [...this.jobs.values()].filter(
      (other) => other.mutates === table && other.outcome === undefined,
    );
    const running = outstanding.filter((other) => other.queued !== true).length;
    if (running < DML_RUNNING_PER_TABLE) {
      job.startedAt = job.createdAt;
      return;
    }
    if (outstanding.length - running < DML_PENDING_PER_TABLE) {
      job.queued = true;
      job.doneAt = Infinity;
      return;
    }
    job.outcome = {
      error: new BigQueryError(
        400,
        'resourcesExceeded',
        `Resources exceeded during query execution: Too many DML statements outstanding against table ${table}, limit is ${DML_PENDING_PER_TABLE}.`,
      ),
    };
    job.endedAt = job.createdAt;
  }

  /** A mutating job ended: the oldest one queued on its table starts. */
  private leaveDmlQueue(job: JobRecord): void {
    if (job.mutates === undefined) return;
    const next = [...this.jobs.values()].find(
      (other) =>
        other.mutates === job.mutates && other.queued === true && other.outcome === undefined,
    );
    if (next === undefined) return;
    next.queued = false;
    next.startedAt = this.options.clock.now();
    next.doneAt = next.startedAt + this.options.minJobMs;
  }

  get(projectId: string, jobId: string): JobRecord {
    const job = this.jobs.get(jobKey(projectId, jobId));
    if (job === undefined) throw notFound(`Job ${projectId}:${jobId}`);
    this.settle(job);
    return job;
  }

  list(projectId: string): JobRecord[] {
    // Newest first; insertion order breaks ties between jobs created in the same millisecond.
    return [...this.jobs.values()]
      .reverse()
      .filter((job) => job.projectId === projectId)
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  delete(projectId: string, jobId: string): void {
    this.get(projectId, jobId);
    this.jobs.delete(jobKey(projectId, jobId));
  }

  /** Stops a job that has not finished; it ends DONE with reason `stopped` and changes nothing. */
  cancel(projectId: string, jobId: string): JobRecord {
    const job = this.get(projectId, jobId);
    if (job.outcome === undefined) {
      job.outcome = {
        error: new BigQueryError(
          400,
          'stopped',
          'Job execution was cancelled: User requested cancellation',
        ),
      };
      job.endedAt = this.options.clock.now();
      this.leaveDmlQueue(job);
    }
    return job;
  }

  state(job: JobRecord): JobState {
    if (job.outcome !== undefined) return 'DONE';
    if (job.queued === true) return 'PENDING';
    return this.options.clock.now() > job.createdAt ? 'RUNNING' : 'PENDING';
  }

  /** Finishes every job whose time has come, in the order they finish, so effects land in order. */
  settleAll(): void {
    const due = [...this.jobs.values()].filter((job) => job.outcome === undefined);
    // A stable sort: jobs due at the same moment finish in the order they were created.
    due.sort((a, b) => a.doneAt - b.doneAt);
    for (const job of due) this.settle(job);
  }

  /**
   * Waits (in real time) until the job is done or `timeoutMs` passes, as jobs.query and
   * getQueryResults do on the service.
   */
  async waitFor(job: JobRecord, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.settle(job);
      const remaining = deadline - Date.now();
      if (job.outcome !== undefined || remaining <= 0) return;
      const untilDone = Math.max(1, job.doneAt - this.options.clock.now());
      await new Promise((resolve) => setTimeout(resolve, Math.min(untilDone, remaining, 20)));
    }
  }

  private settle(job: JobRecord): void {
    if (job.outcome !== undefined || this.options.clock.now() < job.doneAt) return;
    try {
      job.outcome = { result: this.execute(this.compile(job), job) };
    } catch (error) {
      if (error instanceof LostConflict) {
        // The service runs the statement again; the emulator first waits half a job's time.
        job.conflictRetries = (job.conflictRetries ?? 0) + 1;
        job.startedAt = this.options.clock.now() + this.options.minJobMs / 2;
        job.doneAt = job.startedAt + this.options.minJobMs;
        return;
      }
      job.outcome = { error: toBigQueryError(error) };
    }
    job.endedAt = this.options.clock.now();
    this.leaveDmlQueue(job);
  }

  private compile(job: JobRecord): CompiledStatement & { config: QueryConfiguration } {
    const config = job.configuration.query;
    if (config.useLegacySql === true) {
      throw invalidQuery(
        'Unsupported construct: legacy SQL. The BigQuery emulator runs GoogleSQL only.',
      );
    }
    if (typeof config.query !== 'string' || config.query.trim() === '') {
      throw invalid('Required parameter is missing: query');
    }
    const params = decodeParameters(config.queryParameters, config.parameterMode);
    const statement = parseSql(config.query);
    const compiled = compileStatement(statement, {
      projectId: job.projectId,
      location: job.location,
      params,
      warehouse: this.options.warehouse,
      now: BigInt(job.createdAt) * 1000n,
      ...(config.defaultDataset === undefined ? {} : { defaultDataset: config.defaultDataset }),
    });
    if (compiled.kind !== 'select' && config.destinationTable !== undefined) {
      throw invalid('Cannot set destination table in jobs with UPDATE/DELETE statements');
    }
    return { ...compiled, config };
  }

  private estimate(compiled: CompiledStatement): QueryResult {
    return {
      statementType: compiled.kind.toUpperCase() as StatementType,
      billing: billStatement(compiled, this.options.warehouse),
      ...(compiled.kind === 'select' ? { fields: compiled.fields } : {}),
    };
  }

  private execute(
    compiled: CompiledStatement & { config: QueryConfiguration },
    job?: JobRecord,
  ): QueryResult {
    const { warehouse, clock } = this.options;
    const result = this.estimate(compiled);
    const limit = parseLimit(compiled.config.maximumBytesBilled);
    if (limit !== undefined && result.billing.bytesBilled > limit) {
      throw new BigQueryError(
        400,
        'bytesBilledLimitExceeded',
        bytesBilledLimitMessage(limit, result.billing.bytesBilled),
      );
    }
    const now = clock.now();
    if (compiled.kind === 'select') {
      const rows = runSelect(compiled);
      if (compiled.config.destinationTable !== undefined) {
        this.writeDestination(compiled.config, compiled.fields, rows, now);
      }
      return { ...result, rows };
    }
    const bufferMicros = BigInt(this.options.streamingBufferSeconds) * 1_000_000n;
    let changed: ReadonlySet<string> = new Set();
    const affected = runDml(
      compiled,
      bufferMicros > 0n ? BigInt(now) * 1000n - bufferMicros : undefined,
      warehouse,
      now,
      (partitions) => {
        changed = partitions;
        if (job?.mutates !== undefined) this.checkConflict(job, job.mutates, partitions);
      },
    );
    if (job?.mutates !== undefined && affected > 0) {
      // Only commits that a statement still running could conflict with are kept.
      const table = job.mutates;
      const oldest = Math.min(
        ...[...this.jobs.values()]
          .filter(
            (other) => other !== job && other.mutates === table && other.outcome === undefined,
          )
          .map((other) => other.startedAt ?? Infinity),
      );
      const log = (this.commits.get(table) ?? []).filter((commit) => commit.at > oldest);
      log.push({ at: now, partitions: changed });
      this.commits.set(table, log);
    }
    return { ...result, affectedRows: BigInt(affected) };
  }

  /**
   * A statement conflicts when another committed a change to one of the same partitions (the
   * whole table, if it is not partitioned) while it ran. It is run again, up to 3 times; then
   * it fails with the service's error.
   */
  private checkConflict(job: JobRecord, table: string, partitions: ReadonlySet<string>): void {
    const since = job.startedAt ?? job.createdAt;
    const conflict = (this.commits.get(table) ?? []).some(
      (commit) => commit.at > since && [...partitions].some((p) => commit.partitions.has(p)),
    );
    if (!conflict) return;
    if ((job.conflictRetries ?? 0) < DML_CONFLICT_RETRIES) throw new LostConflict();
    throw new BigQueryError(
      400,
      'invalidQuery',
      `Could not serialize access to table ${table} due to concurrent update`,
    );
  }

  private writeDestination(
    config: QueryConfiguration,
    fields: Field[],
    rows: Value[][],
    now: number,
  ): void {
    const { warehouse } = this.options;
    const ref = config.destinationTable as TableRef;
    const existing = warehouse.findTable(ref);
    const write = config.writeDisposition ?? 'WRITE_EMPTY';
    if (existing === undefined) {
      if (config.createDisposition === 'CREATE_NEVER') {
        throw notFound(`Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`);
      }
      warehouse.insertRows(warehouse.createTable(ref, fields, {}, now), rows, null, now);
      return;
    }
    if (write === 'WRITE_TRUNCATE') {
      warehouse.truncate(existing, fields, now);
    } else if (write === 'WRITE_APPEND') {
      const same =
        existing.fields.length === fields.length &&
        fields.every(
          (field, index) =>
            existing.fields[index]?.type === field.type &&
            existing.fields[index]?.name.toLowerCase() === field.name.toLowerCase(),
        );
      if (!same)
        throw invalid(
          `Provided Schema does not match Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}.`,
        );
    } else if (warehouse.countRows(existing) > 0n) {
      throw duplicate(`Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`);
    }
    warehouse.insertRows(existing, rows, null, now);
  }
}

function parseLimit(raw: string | number | undefined): bigint | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (!/^\d+$/.test(String(raw))) throw invalid(`Invalid maximumBytesBilled: ${String(raw)}`);
  return BigInt(raw);
}

const jobKey = (projectId: string, jobId: string): string => `${projectId}:${jobId}`;

/** A mutating statement lost a conflict and is to run again (not an error the caller sees). */
class LostConflict extends Error {}
