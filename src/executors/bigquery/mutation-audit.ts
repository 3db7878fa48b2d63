import type { BatchSettings } from '../../domain/batch';
import { estimateBytesBilled } from '../../domain/cost';
import type { WarehouseJob } from '../../ports/warehouse';
import type { AuditEstimate, BatchSupport, ExecutorContext, ExecutorResult } from '../contract';
import type { BatchableConfig } from './batch-flush';
import { costOf, countRows, describeCost, queryOf, rows, type Settings } from './jobs';
import { SUBJECT_PARAM, SUBJECTS_PARAM } from './match';
import type { MutationSpec } from './mutation';
import {
  countStatement,
  groupedCountStatement,
  partitionFilter,
  REMAINING_ALIAS,
  SUFFIXES_PARAM,
  type PartitionFilter,
} from './sql';
import { resolveTargets, subjectMatch } from './targets';

/**
 * What a deletion task would do for one subject, changing nothing: the dry runs of its
 * statements (free), and a COUNT of the subject's rows (billed). A batching task also gives
 * what its batch's flush would bill, and this subject's share of it when the batch is full.
 */
export async function auditMutation<C extends BatchableConfig>(
  spec: MutationSpec<C>,
  s: Settings,
  batching: BatchSupport<C>,
  ctx: ExecutorContext<C>,
): Promise<ExecutorResult> {
  const { warehouse } = s;
  const match = subjectMatch(ctx);
  const targets = await resolveTargets(warehouse, ctx.config, s.defaultProjectId);
  let processed = 0;
  let estimatedBytesBilled = 0;
  let verifyBytesBilled = 0;
  // The cap is per job: the largest statement decides whether a run fits under it.
  let largest = 0;
  const statements: string[] = [];
  const now = s.now();
  // The first table's partition filter, for the COUNT below.
  let firstFilter: PartitionFilter | undefined;
  const settings = batching.settings(ctx.config);
  let batchStatement: string | undefined;
  let batchBytesBilled = 0;
  for (const table of targets.tables) {
    const [projectId = '', datasetId = '', tableId = ''] = table.split('.');
    const info = await warehouse.getTable({ projectId, datasetId, tableId });
    const filter = partitionFilter(info, ctx.config.partitionLookbackDays, now);
    if (table === targets.tables[0]) firstFilter = filter;
    const sql = spec.change(ctx.config, table, match, info, filter);
    statements.push(sql);
    // The dry runs are free, and refuse a bad statement before anything is billed.
    const params = { ...match.params, ...filter?.params };
    const { bytesProcessed } = await warehouse.estimate({ sql, params });
    // And the count that verifies it, run when the change finds rows.
    const remaining = spec.remaining(ctx.config, table, match, info, filter);
    const verify = await warehouse.estimate({ sql: remaining, params });
    processed += bytesProcessed;
    // Each statement is billed on its own, at least 10 MiB.
    estimatedBytesBilled += estimateBytesBilled(bytesProcessed);
    verifyBytesBilled += estimateBytesBilled(verify.bytesProcessed);
    largest = Math.max(largest, estimateBytesBilled(bytesProcessed));
    if (settings !== undefined) {
      // The flush's three statements over this table, for a whole batch of subjects.
      const many = { ...match, rule: { ...match.rule, many: true } };
      const manyParams = { ...params, [SUBJECTS_PARAM]: [match.params[SUBJECT_PARAM] ?? ''] };
      const change = spec.change(ctx.config, table, many, info, filter);
      if (table === targets.tables[0]) batchStatement = change;
      for (const sql of [
        groupedCountStatement(table, many.rule, filter),
        change,
        groupedCountStatement(table, many.rule, filter, spec.held?.(ctx.config, info)),
      ]) {
        const estimated = await warehouse.estimate({ sql, params: manyParams });
        batchBytesBilled += estimateBytesBilled(estimated.bytesProcessed);
      }
    }
  }
  let wouldAffectRows = 0;
  let counted: WarehouseJob | undefined;
  const first = targets.tables[0];
  if (first !== undefined) {
    const filter = firstFilter;
    const count = countStatement(
      targets.sharded ? targets.source : first,
      match.rule,
      filter,
      targets.sharded,
    );
    const result = await countRows(
      warehouse,
      queryOf(ctx, count, {
        ...match.params,
        ...filter?.params,
        ...(targets.sharded ? { [SUFFIXES_PARAM]: targets.suffixes } : {}),
      }),
      REMAINING_ALIAS,
      ctx.signal,
    );
    wouldAffectRows = result.count;
    counted = result.job;
  }
  if (wouldAffectRows > 0) estimatedBytesBilled += verifyBytesBilled;
  const estimate = costOf(estimatedBytesBilled, s.price);
  const cost = costOf(counted?.bytesBilled ?? 0, s.price);
  const cap = ctx.config.maxBytesBilled;
  const auditEstimate: AuditEstimate = {
    wouldAffectRows,
    estimatedBytesProcessed: processed,
    estimatedBytesBilled,
    estimatedUsd: estimate.usd,
    ...(cap === undefined ? {} : { maxBytesBilled: cap, withinMaxBytesBilled: largest <= cap }),
    ...(statements[0] === undefined ? {} : { statement: statements[0] }),
    touched: targets.tables,
    ...(settings === undefined
      ? {}
      : {
          batch: batchEstimate(settings, batchStatement, batchBytesBilled, s.price),
        }),
  };
  const where = targets.sharded
    ? `${targets.tables.length} shards of ${targets.source}`
    : targets.source;
  return {
    outcome: 'succeeded',
    message:
      `audit: ${spec.wouldDo(rows(wouldAffectRows), where)}, ` +
      `estimated ${describeCost(estimate)}` +
      (settings === undefined
        ? ''
        : `; batched (up to ${settings.maxSubjects} subjects a statement) its share would be ${describeCost(costOf(Math.ceil(batchBytesBilled / settings.maxSubjects), s.price))} when the batch is full`) +
      `; the COUNT query cost ${describeCost(cost)}`,
    cost,
    output: { audit: auditEstimate },
    evidence: { touched: targets.tables, jobIds: counted === undefined ? [] : [counted.jobId] },
  };
}

/** A full batch's flush: its statement, its estimated bill, and one member's share of it. */
function batchEstimate(
  settings: BatchSettings,
  statement: string | undefined,
  bytesBilled: number,
  price: number,
): NonNullable<AuditEstimate['batch']> {
  const share = costOf(Math.ceil(bytesBilled / settings.maxSubjects), price);
  return {
    maxSubjects: settings.maxSubjects,
    maxWaitSeconds: settings.maxWaitSeconds,
    ...(statement === undefined ? {} : { statement }),
    estimatedBytesBilled: bytesBilled,
    estimatedUsd: costOf(bytesBilled, price).usd,
    estimatedShareBytesBilled: share.bytesBilled,
    estimatedShareUsd: share.usd,
  };
}
