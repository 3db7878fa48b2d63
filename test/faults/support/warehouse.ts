// The emulator fixture first: it makes the official BigQuery client's HTTP layer load under Jest.
import { BigQuery } from '../../integration/bigquery/emulator-fixture';
import type { JobMetadata } from '@google-cloud/bigquery';

type Params = Record<string, string | number | string[]>;

/** A job of the BigQuery emulator as `jobs.list` shows it, cut down to what the suite reads. */
export interface EmulatorJob {
  id: string;
  query: string;
  /** A mutating statement (DELETE or UPDATE): its target, `project.dataset.table`. */
  mutates?: string;
  /** Epoch ms: inserted, and ended (absent while it is outstanding). */
  createdAt: number;
  endedAt?: number;
  error?: { reason: string; message: string };
}

/** What `burst` saw: the jobs the emulator took, and the messages of those it refused. */
export interface Burst {
  accepted: Set<string>;
  refused: string[];
}

const MUTATION = /^\s*(?:DELETE\s+(?:FROM\s+)?|UPDATE\s+)`?([A-Za-z0-9_.-]+)`?/i;

/**
 * The local stack's BigQuery emulator through the official client, as a data engineer would
 * reach BigQuery: rows added, counted, and the jobs the pipeline ran looked at afterwards.
 */
export class FaultWarehouse {
  readonly client: BigQuery;

  constructor(
    url: string,
    readonly projectId: string,
  ) {
    // No credentials: the client goes on unauthenticated, without probing a metadata server.
    process.env['METADATA_SERVER_DETECTION'] = 'none';
    this.client = new BigQuery({ projectId, apiEndpoint: url });
  }

  /**
   * Appends the rows of a SELECT to `dataset.table`: a query job with that destination table
   * (WRITE_APPEND). The emulator has no INSERT DML, and rows from insertAll would sit in the
   * streaming buffer, which DELETE refuses; rows written by a query job never do. Returns the
   * job's id.
   */
  async append(dataset: string, table: string, sql: string, params: Params): Promise<string> {
    const [job] = await this.client.createQueryJob({
      query: sql,
      params,
      destination: this.client.dataset(dataset).table(table),
      writeDisposition: 'WRITE_APPEND',
    });
    await job.getQueryResults();
    return job.id ?? '';
  }

  /** The `n` of a `SELECT COUNT(*) AS n …`. */
  async count(sql: string, params: Params): Promise<number> {
    const [rows] = await this.client.query({ query: sql, params });
    return Number((rows[0] as { n?: unknown } | undefined)?.n);
  }

  /**
   * `copies` jobs of one statement sent at once, as a pipeline without a table lease would;
   * waits until every accepted one has finished, so the table's DML queue is empty again.
   */
  async burst(sql: string, copies: number): Promise<Burst> {
    const outcomes = await Promise.all(
      Array.from({ length: copies }, () =>
        this.client.createQueryJob({ query: sql }).then(
          ([job]) => ({ job }),
          (error: unknown) => ({ error: error as Error }),
        ),
      ),
    );
    const accepted = outcomes.flatMap((o) => ('job' in o ? [o.job] : []));
    await Promise.all(accepted.map((job) => job.getQueryResults()));
    return {
      accepted: new Set(accepted.map((job) => job.id ?? '')),
      refused: outcomes.flatMap((o) => ('error' in o ? [o.error.message] : [])),
    };
  }

  /** Every job of the project (every page), oldest first. */
  async jobs(): Promise<EmulatorJob[]> {
    const [jobs] = await this.client.getJobs({ autoPaginate: true });
    return jobs
      .map((job) => {
        const m = job.metadata as JobMetadata;
        const query = m.configuration?.query?.query ?? '';
        const target = MUTATION.exec(query)?.[1];
        const error = m.status?.errorResult;
        return {
          id: m.jobReference?.jobId ?? job.id ?? '',
          query,
          ...(target === undefined ? {} : { mutates: this.qualified(target) }),
          createdAt: Number(m.statistics?.creationTime),
          ...(m.statistics?.endTime === undefined ? {} : { endedAt: Number(m.statistics.endTime) }),
          ...(error === undefined || error === null
            ? {}
            : { error: { reason: error.reason ?? '', message: error.message ?? '' } }),
        };
      })
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  private qualified(table: string): string {
    return table.split('.').length === 2 ? `${this.projectId}.${table}` : table;
  }
}

/**
 * The most mutating jobs outstanding (inserted, not yet ended) against `table` at any one time:
 * what BigQuery's limit of 2 running and 20 queued counts. A job that ends in the same
 * millisecond another is inserted is counted as gone first.
 */
export function maxOutstanding(jobs: readonly EmulatorJob[], table: string): number {
  const edges = jobs
    .filter((j) => j.mutates === table)
    .flatMap((j) => [
      { at: j.createdAt, delta: 1 },
      { at: j.endedAt ?? Infinity, delta: -1 },
    ])
    .sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0;
  let most = 0;
  for (const edge of edges) {
    now += edge.delta;
    most = Math.max(most, now);
  }
  return most;
}
