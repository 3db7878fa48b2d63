import { z } from 'zod';
import { estimateBytesBilled } from '../../domain/cost';
import { PermanentError, RetryableError } from '../../domain/errors';
import { zeroCost } from '../../domain/model';
import { identifierOf } from '../../domain/subject';
import type { WarehouseJob } from '../../ports/warehouse';
import {
  defineExecutor,
  withSpend,
  type AuditEstimate,
  type ConfigIssue,
  type Executor,
  type ExecutorContext,
  type ExecutorResult,
} from '../contract';
import { statementConfigSchema, type StatementConfig } from './config';
import { collectRows } from './export';
import {
  costOf,
  describeCost,
  leaseWaitSeconds,
  outcomeFor,
  parseHandle,
  queryOf,
  rows,
  tableLease,
  waitForJob,
  type Settings,
} from './jobs';
import { readStatement } from './statement-text';

import { DML_KINDS as DML } from './config';

const handleSchema = z.union([
  z.object({ jobId: z.string().min(1), location: z.string().min(1) }),
  /** Not started yet: its table's lease was held. */
  z.object({ lease: z.literal(true) }),
]);

/**
 * bigquery.statement: a hand-written DELETE, UPDATE or MERGE (deletion tasks) or SELECT (records
 * tasks), its named parameters filled from the subject's identifiers (`@email`, `@userId`).
 * Registration dry-runs it; a run refuses a statement that holds the subject's value as a
 * literal instead of a parameter.
 */
export function statementExecutor(s: Settings): Executor {
  const { warehouse } = s;
  const lease = tableLease(s);

  const paramsOf = (ctx: ExecutorContext<StatementConfig>, sql: string): Record<string, string> => {
    const text = readStatement(sql);
    const values = [...Object.values(ctx.subject), ...Object.values(ctx.subjectAsGiven)]
      .map((v) => v.trim().toLowerCase())
      .filter((v) => v !== '');
    if (text.literals.some((literal) => values.includes(literal.trim().toLowerCase()))) {
      throw new PermanentError(
        "the statement holds one of the subject's identifiers as a string literal: use a parameter (@email) instead",
        'bigquery.interpolated_value',
      );
    }
    const params: Record<string, string> = {};
    for (const name of text.params) {
      const value =
        identifierOf(ctx.subject, name) ??
        identifierOf(
          ctx.subject,
          Object.keys(ctx.subject).find((k) => k.toLowerCase() === name.toLowerCase()) ?? '',
        );
      if (value === undefined) {
        throw new PermanentError(
          `the subject has no ${name}, which this statement reads (@${name})`,
          'bigquery.identifier_missing',
        );
      }
      params[name] = value;
    }
    return params;
  };

  /** The table a DML statement changes, qualified; undefined for a SELECT. */
  const targetOf = (config: StatementConfig): string | undefined => {
    const text = readStatement(config.sql);
    if (!DML.has(text.kind) || text.target === undefined) return undefined;
    return text.target.split('.').length === 2
      ? `${s.defaultProjectId}.${text.target}`
      : text.target;
  };

  /** Runs `work`; if it fails, the statement's table lease is given back at once. */
  const guarded = async (
    ctx: ExecutorContext<StatementConfig>,
    work: () => Promise<ExecutorResult>,
  ): Promise<ExecutorResult> => {
    const table = targetOf(ctx.config);
    try {
      const result = await work();
      if (table !== undefined && result.outcome !== 'waiting') await lease.give(table, ctx);
      return result;
    } catch (error) {
      if (table !== undefined) await lease.give(table, ctx);
      throw error;
    }
  };

  /** Starts the statement, once its table (for DML) is free of other statements. */
  const start = async (
    ctx: ExecutorContext<StatementConfig>,
    params: Record<string, string>,
  ): Promise<ExecutorResult> => {
    const table = targetOf(ctx.config);
    if (table !== undefined && !(await lease.take(table, ctx))) {
      return {
        outcome: 'waiting',
        message: `another statement is changing ${table} (its table lease is held); waiting for it`,
        cost: zeroCost(),
        handle: JSON.stringify({ lease: true }),
        pollAfterSeconds: leaseWaitSeconds(),
      };
    }
    return guarded(ctx, async () => {
      const started = await warehouse.startQuery(queryOf(ctx, ctx.config.sql, params));
      return settled(ctx, await waitForJob(warehouse, started, ctx.signal, s.quickWaitMs));
    });
  };

  const settled = async (
    ctx: ExecutorContext<StatementConfig>,
    job: WarehouseJob,
  ): Promise<ExecutorResult> => {
    if (!job.done) {
      return {
        outcome: 'waiting',
        message: `BigQuery job ${job.jobId} is still running; next check in ${s.pollAfterSeconds} s`,
        cost: zeroCost(),
        handle: JSON.stringify({ jobId: job.jobId, location: job.location }),
        pollAfterSeconds: s.pollAfterSeconds,
        evidence: { jobIds: [job.jobId] },
      };
    }
    const kind = readStatement(ctx.config.sql).kind;
    if (kind === 'SELECT') {
      const records = await collectRows(ctx, job, 'bigquery.statement', s);
      const cost = costOf(job.bytesBilled, s.price);
      return {
        outcome: outcomeFor(records.totalRows),
        message: `selected ${rows(records.totalRows)} (job ${job.jobId}, ${describeCost(cost)})`,
        cost,
        output: { records },
        evidence: { jobIds: [job.jobId] },
      };
    }
    const affected = job.affectedRows ?? 0;
    let billed = job.bytesBilled;
    const jobIds = [job.jobId];
    let verification: { jobIds: string[]; bytesBilled: number; usd: number } | undefined;
    if (ctx.config.verifySql !== undefined) {
      const started = await warehouse.startQuery(
        queryOf(ctx, ctx.config.verifySql, paramsOf(ctx, ctx.config.verifySql)),
      );
      const counted = await waitForJob(warehouse, started, ctx.signal, Infinity);
      billed += counted.bytesBilled;
      const page = await warehouse.getRows(counted.jobId, counted.location, { maxResults: 1 });
      const remaining = Number(Object.values(page.rows[0] ?? {})[0] ?? 0);
      verification = { jobIds: [counted.jobId], ...costOf(counted.bytesBilled, s.price) };
      if (remaining > 0) {
        throw withSpend(
          new RetryableError(
            `${rows(remaining)} of the subject remain after the statement (verification job ${counted.jobId})`,
            { code: 'bigquery.rows_remain' },
          ),
          {
            cost: costOf(billed, s.price),
            evidence: { jobIds, remainingRows: remaining, verification },
          },
        );
      }
    }
    const cost = costOf(billed, s.price);
    return {
      outcome: outcomeFor(affected),
      message: `${kind} changed ${rows(affected)}${verification === undefined ? '' : "; verified: none of the subject's rows remain"} (job ${job.jobId}, ${describeCost(cost)})`,
      cost,
      affectedRows: affected,
      evidence: {
        jobIds,
        ...(verification === undefined ? {} : { remainingRows: 0, verification }),
      },
    };
  };

  return defineExecutor<StatementConfig>({
    name: 'bigquery.statement',
    description:
      'Runs a hand-written, parameterised statement (DELETE, UPDATE or MERGE for deletion tasks; SELECT for records tasks), its @parameters filled from the subject.',
    configSchema: statementConfigSchema,
    jobTypes: (config) =>
      readStatement(config.sql).kind === 'SELECT'
        ? ['records']
        : DML.has(readStatement(config.sql).kind)
          ? ['deletion']
          : [],
    requiredIdentifiers: (config) => readStatement(config.sql).params,
    async checkConfig(config) {
      const issues: ConfigIssue[] = [];
      for (const key of ['sql', 'verifySql'] as const) {
        const sql = config[key];
        if (sql === undefined) continue;
        const params = Object.fromEntries(
          readStatement(sql).params.map((name) => [name, 'dry-run']),
        );
        try {
          await warehouse.estimate({ sql, params });
        } catch (error) {
          if (!(error instanceof PermanentError)) throw error;
          issues.push({ path: [key], message: `fails BigQuery's dry run: ${error.message}` });
        }
      }
      return issues;
    },
    async run(ctx) {
      const params = paramsOf(ctx, ctx.config.sql);
      if (ctx.dryRun) {
        const { bytesProcessed } = await warehouse.estimate({ sql: ctx.config.sql, params });
        const estimatedBytesBilled = estimateBytesBilled(bytesProcessed);
        const estimate = costOf(estimatedBytesBilled, s.price);
        const cap = ctx.config.maxBytesBilled;
        const audit: AuditEstimate = {
          estimatedBytesProcessed: bytesProcessed,
          estimatedBytesBilled,
          estimatedUsd: estimate.usd,
          ...(cap === undefined
            ? {}
            : { maxBytesBilled: cap, withinMaxBytesBilled: estimatedBytesBilled <= cap }),
          statement: ctx.config.sql,
        };
        return {
          outcome: 'succeeded',
          message: `audit: the statement's dry run estimates ${describeCost(estimate)} (rows affected are not known before it runs)`,
          cost: zeroCost(),
          output: { audit },
        };
      }
      return start(ctx, params);
    },
    async poll(ctx) {
      const handle = parseHandle(ctx.handle, handleSchema);
      if ('lease' in handle) return start(ctx, paramsOf(ctx, ctx.config.sql));
      return guarded(ctx, async () =>
        settled(ctx, await warehouse.getJob(handle.jobId, handle.location)),
      );
    },
  });
}
