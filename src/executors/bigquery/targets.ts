import { PermanentError } from '../../domain/errors';
import type { Warehouse } from '../../ports/warehouse';
import type { ExecutorContext } from '../contract';
import type { MatchConfig } from './config';
import { describeMatch, matchParams, matchRuleOf, subjectValue, type MatchRule } from './match';
import { qualifyTable, type QualifiedTable } from './sql';

/** What every BigQuery task's config has, whichever executor it is. */
export interface TargetConfig {
  table: string;
  identifier: string;
  maxBytesBilled?: number | undefined;
  shards?: { from?: string | undefined; to?: string | undefined } | undefined;
  partitionLookbackDays?: number | undefined;
  match?: MatchConfig | undefined;
  column?: string | undefined;
  whereColumn?: string | undefined;
}

/** The match rule and its parameter values for this subject (the value itself only in params). */
export interface SubjectMatch {
  rule: MatchRule;
  params: Record<string, string>;
  /** The rule in words, for messages. */
  described: string;
}

export function subjectMatch(ctx: ExecutorContext<TargetConfig>): SubjectMatch {
  const rule = matchRuleOf(ctx.config);
  const value = subjectValue(rule, ctx, ctx.config.identifier);
  if (value === undefined) {
    throw new PermanentError(
      `the subject has no ${ctx.config.identifier}, which this task needs`,
      'bigquery.identifier_missing',
    );
  }
  return {
    rule,
    params: matchParams(rule, value),
    described: describeMatch(rule, ctx.config.identifier),
  };
}

/** The tables a task reads or changes: its table, or the shards its wildcard names. */
export interface Targets {
  /** The configured table, qualified; a wildcard (`p.d.events_*`) for sharded tables. */
  source: QualifiedTable;
  sharded: boolean;
  tables: QualifiedTable[];
  /** For sharded tables: each shard's `_TABLE_SUFFIX`. */
  suffixes: string[];
}

export async function resolveTargets(
  warehouse: Warehouse,
  config: Pick<TargetConfig, 'table' | 'shards'>,
  defaultProjectId: string,
): Promise<Targets> {
  const source = qualifyTable(config.table, defaultProjectId);
  if (!source.endsWith('*')) return { source, sharded: false, tables: [source], suffixes: [] };
  const [projectId = '', datasetId = '', pattern = ''] = source.split('.');
  const prefix = pattern.slice(0, -1);
  const ids = await warehouse.listTables({ projectId, datasetId }, prefix);
  const suffixes = ids
    .map((id) => id.slice(prefix.length))
    .filter((suffix) => withinShards(suffix, config.shards));
  return {
    source,
    sharded: true,
    tables: suffixes.map(
      (suffix) => `${projectId}.${datasetId}.${prefix}${suffix}` as QualifiedTable,
    ),
    suffixes,
  };
}

/**
 * Whether a shard's suffix falls within the task's days: the suffix's trailing YYYYMMDD
 * (`20240131`, `intraday_20240131`) between `from` and `to`. Without bounds, every shard counts.
 */
export function withinShards(
  suffix: string,
  shards: { from?: string | undefined; to?: string | undefined } | undefined,
): boolean {
  if (shards === undefined || (shards.from === undefined && shards.to === undefined)) return true;
  const day = /(\d{8})$/.exec(suffix)?.[1];
  if (day === undefined) return false;
  const compact = (d: string | undefined) => d?.replace(/-/g, '');
  const from = compact(shards.from);
  const to = compact(shards.to);
  return (from === undefined || day >= from) && (to === undefined || day <= to);
}

/** The match for a registration dry run: the rule's parameters with a stand-in value. */
export function dryRunMatch(config: TargetConfig): SubjectMatch {
  const rule = matchRuleOf(config);
  return {
    rule,
    params: matchParams(rule, 'dry-run'),
    described: describeMatch(rule, config.identifier),
  };
}
