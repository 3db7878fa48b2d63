import { PermanentError } from '../../domain/errors';
import type { TableField, TableInfo, Warehouse } from '../../ports/warehouse';
import type { ConfigIssue } from '../contract';
import { matchRuleOf, type MatchRule } from './match';
import { partitionFilter, type PartitionFilter, type QualifiedTable } from './sql';
import { dryRunMatch, resolveTargets, type SubjectMatch, type TargetConfig } from './targets';

/**
 * What registration checks of a BigQuery task against the warehouse: the table (or at least one
 * shard) exists, the match rule fits the table's schema, a required partition filter has its
 * lookback, and the statement passes a dry run. Each failure is an issue naming the config path.
 */
export async function checkTargets(
  warehouse: Warehouse,
  config: TargetConfig,
  defaultProjectId: string,
  now: Date,
  schemaIssues: (info: TableInfo) => ConfigIssue[],
  statement: (
    table: QualifiedTable,
    match: SubjectMatch,
    info: TableInfo,
    filter: PartitionFilter | undefined,
  ) => string,
): Promise<ConfigIssue[]> {
  const targets = await resolveTargets(warehouse, config, defaultProjectId);
  if (targets.tables.length === 0) {
    return [
      {
        path: ['table'],
        message: `no table matches ${targets.source}${config.shards === undefined ? '' : ' within the shards given'}`,
      },
    ];
  }
  // A sharded set: its oldest and newest shards (a schema may have changed between them).
  const checked = [
    ...new Set([targets.tables[0], targets.tables[targets.tables.length - 1]]),
  ].filter((table): table is QualifiedTable => table !== undefined);
  const issues: ConfigIssue[] = [];
  const infos: Array<[QualifiedTable, TableInfo]> = [];
  for (const table of checked) {
    const [projectId = '', datasetId = '', tableId = ''] = table.split('.');
    const info = await warehouse.getTable({ projectId, datasetId, tableId });
    if (info === undefined) {
      issues.push({ path: ['table'], message: `table ${table} was not found` });
      continue;
    }
    infos.push([table, info]);
    const ruleIssues = [...matchIssues(matchRuleOf(config), config, info), ...schemaIssues(info)];
    const partitioning = info.partitioning;
    if (
      partitioning?.requirePartitionFilter === true &&
      config.partitionLookbackDays === undefined
    ) {
      ruleIssues.push({
        path: ['partitionLookbackDays'],
        message: `${table} requires a partition filter on ${partitioning.field ?? '_PARTITIONTIME'}: set partitionLookbackDays (for example the table's retention period)`,
      });
    }
    issues.push(
      ...ruleIssues.map((issue) => ({ ...issue, message: `${issue.message} (in ${table})` })),
    );
  }
  const [first] = infos;
  if (issues.length > 0 || first === undefined) return dedupe(issues);
  try {
    // The statement as a run would build it, with a stand-in for the subject's value.
    const [table, info] = first;
    const match = dryRunMatch(config);
    const filter = partitionFilter(info, config.partitionLookbackDays, now);
    const sql = statement(table, match, info, filter);
    await warehouse.estimate({ sql, params: { ...match.params, ...filter?.params } });
  } catch (error) {
    if (!(error instanceof PermanentError)) throw error;
    return [
      { path: ['table'], message: `the statement fails BigQuery's dry run: ${error.message}` },
    ];
  }
  return [];
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path.join('.')}|${issue.message.replace(/ \(in [^)]*\)$/, '')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The field at a path, or why there is none: a missing name, or a step through a repeated field. */
export function resolveField(
  info: TableInfo,
  path: readonly string[],
): { field: TableField } | { error: string } {
  let fields: TableField[] | undefined = info.fields;
  let found: TableField | undefined;
  for (const [i, part] of path.entries()) {
    found = fields?.find((f) => f.name.toLowerCase() === part.toLowerCase());
    const so = path.slice(0, i + 1).join('.');
    if (found === undefined) return { error: `the table has no field ${so}` };
    if (i < path.length - 1) {
      if (found.type !== 'RECORD' && found.type !== 'STRUCT')
        return { error: `${so} is a ${found.type}, not a STRUCT` };
      if (found.mode === 'REPEATED') {
        return {
          error: `${so} is repeated: a path cannot step through an ARRAY (match it with kind: keyValue or array)`,
        };
      }
    }
    fields = found.fields;
  }
  return found === undefined ? { error: 'an empty path' } : { field: found };
}

/** Whether the rule fits the schema: the path, its kind, and a STRING to compare or hash. */
function matchIssues(rule: MatchRule, config: TargetConfig, info: TableInfo): ConfigIssue[] {
  const at = (...path: string[]) =>
    config.match === undefined
      ? [config.column === undefined ? 'whereColumn' : 'column']
      : ['match', ...path];
  const resolved = resolveField(info, rule.path);
  if ('error' in resolved) return [{ path: at('path'), message: resolved.error }];
  const { field } = resolved;
  const name = rule.path.join('.');
  const isString = (f: TableField) => f.type === 'STRING';
  const stringNeeded =
    rule.hash === undefined ? "compared with the subject's identifier" : `hashed (${rule.hash})`;
  switch (rule.kind) {
    case 'scalar':
      if (field.mode === 'REPEATED')
        return [{ path: at('kind'), message: `${name} is repeated (an ARRAY): use kind: array` }];
      if (!isString(field))
        return [
          {
            path: at(rule.hash === undefined ? 'path' : 'hash'),
            message: `${name} is ${field.type}; only a STRING can be ${stringNeeded}`,
          },
        ];
      return [];
    case 'array':
      if (field.mode !== 'REPEATED')
        return [
          {
            path: at('kind'),
            message: `kind: array needs a repeated field, and ${name} is not repeated`,
          },
        ];
      if (!isString(field))
        return [
          {
            path: at(rule.hash === undefined ? 'path' : 'hash'),
            message: `${name} is ARRAY<${field.type}>; only STRING elements can be ${stringNeeded}`,
          },
        ];
      return [];
    case 'keyValue': {
      if (field.mode !== 'REPEATED' || (field.type !== 'RECORD' && field.type !== 'STRUCT')) {
        return [
          {
            path: at('kind'),
            message: `kind: keyValue needs an ARRAY of STRUCTs, and ${name} is ${field.mode === 'REPEATED' ? `ARRAY<${field.type}>` : field.type}`,
          },
        ];
      }
      const element: TableInfo = { fields: field.fields ?? [] };
      const key = resolveField(element, [rule.keyField]);
      if ('error' in key || !isString(key.field)) {
        return [
          { path: at('keyField'), message: `${name} has no STRING key field ${rule.keyField}` },
        ];
      }
      const value = resolveField(element, rule.valueField);
      if ('error' in value) return [{ path: at('valueField'), message: `${name}: ${value.error}` }];
      if (!isString(value.field)) {
        return [
          {
            path: at(rule.hash === undefined ? 'valueField' : 'hash'),
            message: `${name}.${rule.valueField.join('.')} is ${value.field.type}; only a STRING can be ${stringNeeded}`,
          },
        ];
      }
      return [];
    }
  }
}
