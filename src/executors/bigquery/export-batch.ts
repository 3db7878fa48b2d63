import type { BatchJob } from '../../domain/batch';
import type { RecordRow } from '../../ports/record-store';
import type { JsonValue, TableInfo } from '../../ports/warehouse';
import {
  abortReason,
  type BatchFlushContext,
  type BatchFlushResult,
  type BatchSupport,
  type RecordsOutput,
} from '../contract';
import { shapeOf } from './batch-flush';
import type { ExportConfig } from './config';
import { costOf, describeCost, rows, waitForJob, type Settings } from './jobs';
import {
  matchedValuesSql,
  matchManyParams,
  matchRuleOf,
  subjectValue,
  type MatchRule,
} from './match';
import { partitionFilter, selectStatement, SUFFIXES_PARAM } from './sql';
import { resolveTargets } from './targets';

/** The column a batched export adds: the subjects' values each row matched. */
export const MATCHED_VALUES_ALIAS = '_dsr_matched';
const PAGE_SIZE = 5000;

/**
 * A batched export: one SELECT for all of a batch's subjects (`… IN UNNEST(@subjects)`, one
 * query over every shard of a sharded set), whose rows carry the values they matched; each row
 * goes to the records package of every member it belongs to, at most `maxRows` each.
 */
export function exportBatching(s: Settings): BatchSupport<ExportConfig> {
  const { warehouse } = s;
  return {
    settings: (config) =>
      config.batch === undefined || config.batch === false ? undefined : config.batch,
    shape: (config) => shapeOf(config, ['batch', 'maxBytesBilled', 'maxRows']),
    async flush(ctx: BatchFlushContext<ExportConfig>): Promise<BatchFlushResult> {
      const { config } = ctx;
      const rule: MatchRule = { ...matchRuleOf(config), many: true };
      const membersOf = new Map<string, string[]>();
      for (const member of ctx.members) {
        const value = subjectValue(rule, member, config.identifier);
        if (value !== undefined)
          membersOf.set(value, [...(membersOf.get(value) ?? []), member.key]);
      }
      const values = [...membersOf.keys()].sort();
      const targets = await resolveTargets(warehouse, config, s.defaultProjectId);
      const newest = targets.tables[targets.tables.length - 1];
      const info = newest === undefined ? undefined : await tableInfo(newest);
      const filter = partitionFilter(info, config.partitionLookbackDays, s.now());
      const select = selectStatement(
        targets.source,
        rule,
        config.selectColumns,
        filter,
        targets.sharded,
      );
      const sql = select.replace(
        /^SELECT /,
        `SELECT ${matchedValuesSql(rule)} AS ${MATCHED_VALUES_ALIAS}, `,
      );
      const params = {
        ...matchManyParams(rule, values),
        ...filter?.params,
        ...(targets.sharded ? { [SUFFIXES_PARAM]: targets.suffixes } : {}),
      };
      const jobs: BatchJob[] = [];
      const writers = new Map(
        ctx.members.map((m) => [
          m.key,
          {
            writer: s.records.open({
              requestId: m.requestId,
              taskId: ctx.taskId,
              setId: `${ctx.batchId}`,
            }),
            kept: 0,
            total: 0,
          },
        ]),
      );
      let columns: string[] = [];
      if (values.length > 0 && targets.tables.length > 0) {
        let job = await warehouse.startQuery({
          sql,
          params,
          ...(config.maxBytesBilled === undefined
            ? {}
            : { maximumBytesBilled: config.maxBytesBilled }),
          labels: { 'dsr-batch': ctx.batchId.toLowerCase().slice(0, 63) },
        });
        job = await waitForJob(warehouse, job, ctx.signal, Infinity);
        if (!job.done) throw abortReason(ctx.signal);
        jobs.push({ jobId: job.jobId, bytesBilled: job.bytesBilled, role: 'count' });
        await ctx.save(JSON.stringify({ v: 1, export: job.jobId }), jobs);
        let pageToken: string | undefined;
        do {
          ctx.signal.throwIfAborted();
          const page = await warehouse.getRows(job.jobId, job.location, {
            maxResults: PAGE_SIZE,
            ...(pageToken === undefined ? {} : { pageToken }),
          });
          columns = page.columns.filter((c) => c !== MATCHED_VALUES_ALIAS);
          const byMember = new Map<string, RecordRow[]>();
          for (const row of page.rows) {
            const { [MATCHED_VALUES_ALIAS]: matched, ...rest } = row;
            for (const key of new Set(matchedKeys(matched, membersOf))) {
              byMember.set(key, [...(byMember.get(key) ?? []), rest]);
            }
          }
          for (const [key, found] of byMember) {
            const w = writers.get(key);
            if (w === undefined) continue;
            w.total += found.length;
            const take = found.slice(0, Math.max(0, config.maxRows - w.kept));
            if (take.length > 0) await w.writer.write(take);
            w.kept += take.length;
          }
          pageToken = page.pageToken;
        } while (pageToken !== undefined);
      }
      const members = new Map<
        string,
        { affectedRows: number; output: { records: RecordsOutput }; message: string }
      >();
      for (const [key, w] of writers) {
        const index = await w.writer.close();
        const records: RecordsOutput = {
          setId: index.setId,
          source: targets.source,
          columns,
          rowCount: index.rowCount,
          totalRows: w.total,
          truncated: w.total > index.rowCount,
          segments: index.segments,
        };
        members.set(key, {
          affectedRows: w.total,
          output: { records },
          message:
            w.total === 0
              ? `no rows for the subject in ${targets.source}`
              : `exported ${records.truncated ? `${records.rowCount} of ` : ''}${rows(w.total)} from ${targets.source}`,
        });
      }
      const billed = jobs.reduce((sum, j) => sum + j.bytesBilled, 0);
      const found = [...writers.values()].reduce((sum, w) => sum + w.total, 0);
      return {
        outcome: 'done',
        message: `read ${rows(found)} of ${values.length} subjects from ${targets.source} in one query (${describeCost(costOf(billed, s.price))})`,
        members,
        jobs,
        touched: targets.sharded ? targets.tables : [targets.source],
        affectedRows: found,
        statements: jobs.length,
      };
    },
  };

  function tableInfo(table: string): Promise<TableInfo | undefined> {
    const [projectId = '', datasetId = '', tableId = ''] = table.split('.');
    return warehouse.getTable({ projectId, datasetId, tableId });
  }
}

/** The members a row belongs to, by the values it matched. */
function matchedKeys(
  matched: JsonValue | undefined,
  membersOf: ReadonlyMap<string, string[]>,
): string[] {
  const values = Array.isArray(matched) ? matched : [matched];
  return values.flatMap((v) => (typeof v === 'string' ? (membersOf.get(v) ?? []) : []));
}
