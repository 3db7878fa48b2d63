import { matchRuleOf } from '../../../../src/executors/bigquery/match';
import {
  countStatement,
  deleteStatement,
  nullifyStatement,
  partitionFilter,
  qualifyTable,
  remainingValuesStatement,
  selectStatement,
} from '../../../../src/executors/bigquery/sql';
import type { TableInfo } from '../../../../src/ports/warehouse';

const table = qualifyTable('warehouse.events', 'acme-prod');
const email = matchRuleOf({ column: 'email' });

describe('qualifyTable', () => {
  it('adds the default project to a project-less table (or wildcard) and keeps a qualified one', () => {
    expect(qualifyTable('warehouse.events', 'acme-prod')).toBe('acme-prod.warehouse.events');
    expect(qualifyTable('other-proj.d.t', 'acme-prod')).toBe('other-proj.d.t');
    expect(qualifyTable('analytics.events_*', 'acme-prod')).toBe('acme-prod.analytics.events_*');
  });

  it('refuses anything else, including a default project that is not a project id', () => {
    expect(() => qualifyTable('events', 'acme-prod')).toThrow('not a valid table reference');
    expect(() => qualifyTable('d.t', 'Bad Project')).toThrow('not a valid table reference');
  });
});

describe('statements', () => {
  it('build each statement from backticked names and the @subject parameter', () => {
    expect(deleteStatement(table, matchRuleOf({ column: 'user_id' }))).toBe(
      'DELETE FROM `acme-prod.warehouse.events` WHERE `user_id` = @subject',
    );
    expect(
      nullifyStatement(
        table,
        ['owner_id', 'note'],
        matchRuleOf({ whereColumn: 'owner_id' }),
        undefined,
      ),
    ).toBe(
      'UPDATE `acme-prod.warehouse.events` SET `owner_id` = NULL, `note` = NULL WHERE `owner_id` = @subject',
    );
    expect(selectStatement(table, email, undefined)).toBe(
      'SELECT * FROM `acme-prod.warehouse.events` WHERE `email` = @subject',
    );
    expect(selectStatement(table, email, ['email', 'ts', 'user.name'])).toBe(
      'SELECT `email`, `ts`, `user`.`name` AS `user_name` FROM `acme-prod.warehouse.events` WHERE `email` = @subject',
    );
    expect(countStatement(table, email)).toBe(
      'SELECT COUNT(*) AS remaining_rows FROM `acme-prod.warehouse.events` WHERE `email` = @subject',
    );
  });

  it.each([
    [{ path: 'user.email' }, '`user`.`email` = @subject'],
    [{ path: 'user.email', normalise: 'email' }, 'LOWER(TRIM(`user`.`email`)) = @subject'],
    [{ path: 'email', normalise: 'trim' }, 'TRIM(`email`) = @subject'],
    [{ path: 'email', normalise: 'lower' }, 'LOWER(`email`) = @subject'],
    [{ path: 'email_sha', normalise: 'email', hash: 'sha256_hex' }, '`email_sha` = @subject'],
    [{ path: 'emails', kind: 'array' }, '@subject IN UNNEST(`emails`)'],
    [
      { path: 'emails', kind: 'array', normalise: 'email' },
      'EXISTS (SELECT 1 FROM UNNEST(`emails`) AS v WHERE LOWER(TRIM(v)) = @subject)',
    ],
    [
      { path: 'user_properties', kind: 'keyValue', key: 'email', normalise: 'email' },
      'EXISTS (SELECT 1 FROM UNNEST(`user_properties`) AS kv WHERE kv.`key` = @match_key AND LOWER(TRIM(kv.`value`.`string_value`)) = @subject)',
    ],
    [
      {
        path: 'props',
        kind: 'keyValue',
        key: 'uid',
        keyField: 'name',
        valueField: 'v',
        hash: 'sha256_base64',
      },
      'EXISTS (SELECT 1 FROM UNNEST(`props`) AS kv WHERE kv.`name` = @match_key AND kv.`v` = @subject)',
    ],
  ] as const)('matches %j as %s', (match, sql) => {
    const rule = matchRuleOf({ match: { kind: 'scalar', normalise: 'none', ...match } });
    expect(deleteStatement(table, rule)).toBe(
      `DELETE FROM \`acme-prod.warehouse.events\` WHERE ${sql}`,
    );
  });

  it('keeps within recent partitions, by the partitioning column or _PARTITIONTIME', () => {
    const now = new Date('2024-03-31T12:00:00Z');
    const byDay: TableInfo = {
      fields: [{ name: 'day', type: 'DATE', mode: 'NULLABLE' }],
      partitioning: { type: 'DAY', field: 'day', requirePartitionFilter: true },
    };
    const filter = partitionFilter(byDay, 30, now);
    expect(filter).toEqual({
      sql: '`day` >= DATE(@partition_from)',
      params: { partition_from: '2024-03-01' },
    });
    expect(deleteStatement(table, email, filter)).toBe(
      'DELETE FROM `acme-prod.warehouse.events` WHERE `email` = @subject AND `day` >= DATE(@partition_from)',
    );
    const ingestion: TableInfo = {
      fields: [],
      partitioning: { type: 'DAY', requirePartitionFilter: false },
    };
    expect(partitionFilter(ingestion, 1, now)?.sql).toBe(
      '_PARTITIONTIME >= TIMESTAMP(@partition_from)',
    );
    expect(partitionFilter(byDay, undefined, now)).toBeUndefined();
    expect(partitionFilter({ fields: [] }, 30, now)).toBeUndefined();
  });

  it('nullifies a repeated column to an empty array and counts what still holds a value', () => {
    const info: TableInfo = {
      fields: [
        { name: 'emails', type: 'STRING', mode: 'REPEATED' },
        {
          name: 'user',
          type: 'RECORD',
          mode: 'NULLABLE',
          fields: [{ name: 'email', type: 'STRING', mode: 'NULLABLE' }],
        },
      ],
    };
    const rule = matchRuleOf({ match: { path: 'emails', kind: 'array', normalise: 'none' } });
    expect(nullifyStatement(table, ['emails', 'user.email'], rule, info)).toBe(
      'UPDATE `acme-prod.warehouse.events` SET `emails` = [], `user`.`email` = NULL WHERE @subject IN UNNEST(`emails`)',
    );
    expect(remainingValuesStatement(table, ['emails', 'user.email'], rule, info)).toBe(
      'SELECT COUNT(*) AS remaining_rows FROM `acme-prod.warehouse.events` WHERE @subject IN UNNEST(`emails`) AND (ARRAY_LENGTH(`emails`) > 0 OR `user`.`email` IS NOT NULL)',
    );
  });

  it('reads every shard of a wildcard in one query, bounded by their suffixes', () => {
    const sharded = qualifyTable('analytics.events_*', 'acme-prod');
    expect(selectStatement(sharded, email, undefined, undefined, true)).toBe(
      'SELECT *, _TABLE_SUFFIX AS _table_suffix FROM `acme-prod.analytics.events_*` WHERE `email` = @subject AND _TABLE_SUFFIX IN UNNEST(@shard_suffixes)',
    );
  });

  it('never holds a value: the text is the same whoever the subject is', () => {
    const all = [
      deleteStatement(table, email),
      nullifyStatement(table, ['email'], email, undefined),
      selectStatement(table, email, undefined),
      countStatement(table, email),
    ];
    for (const sql of all) {
      expect(sql).not.toMatch(/'|"|;|--/);
      expect(sql.match(/@\w+/g)).toEqual(['@subject']);
    }
  });

  it('refuses names that were not validated', () => {
    expect(() => deleteStatement(table, matchRuleOf({ column: 'x` OR TRUE --' }))).toThrow(
      'not a valid column name',
    );
    expect(() => nullifyStatement(table, ['ok', 'a b'], email, undefined)).toThrow(
      'not a valid column name',
    );
    expect(() => selectStatement('acme-prod.d.t`; DROP' as typeof table, email, undefined)).toThrow(
      'not a valid table reference',
    );
  });
});
