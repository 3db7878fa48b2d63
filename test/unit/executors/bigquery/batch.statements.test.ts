import { splitValues } from '../../../../src/executors/bigquery/batch-flush';
import {
  deleteConfigSchema,
  exportConfigSchema,
  nullifyConfigSchema,
  statementConfigSchema,
} from '../../../../src/executors/bigquery/config';
import { matchRuleOf, matchSql } from '../../../../src/executors/bigquery/match';
import {
  deleteStatement,
  groupedCountStatement,
  heldCondition,
  type QualifiedTable,
} from '../../../../src/executors/bigquery/sql';

const T = 'proj-1.crm.events' as QualifiedTable;
const base = { table: 'crm.events', identifier: 'email', match: { path: 'email' } };

describe('batched statements', () => {
  it('compares with any of @subjects, normalised as one subject is', () => {
    const rule = {
      ...matchRuleOf({ match: { path: 'email', kind: 'scalar', normalise: 'email' } }),
      many: true,
    };
    expect(deleteStatement(T, rule)).toBe(
      'DELETE FROM `proj-1.crm.events` WHERE LOWER(TRIM(`email`)) IN UNNEST(@subjects)',
    );
    expect(groupedCountStatement(T, rule)).toBe(
      'SELECT LOWER(TRIM(`email`)) AS subject_value, COUNT(*) AS matched_rows FROM `proj-1.crm.events` WHERE LOWER(TRIM(`email`)) IN UNNEST(@subjects) GROUP BY subject_value',
    );
  });

  it('reaches into arrays and key/value pairs for the value each row matched', () => {
    const kv = {
      ...matchRuleOf({
        match: { path: 'props', kind: 'keyValue', key: 'email', normalise: 'none' },
      }),
      many: true,
    };
    expect(matchSql(kv)).toBe(
      'EXISTS (SELECT 1 FROM UNNEST(`props`) AS kv WHERE kv.`key` = @match_key AND kv.`value`.`string_value` IN UNNEST(@subjects))',
    );
    expect(groupedCountStatement(T, kv, undefined, heldCondition(['phone'], undefined))).toBe(
      'SELECT kv.`value`.`string_value` AS subject_value, COUNT(*) AS matched_rows FROM `proj-1.crm.events`, UNNEST(`props`) AS kv WHERE kv.`key` = @match_key AND kv.`value`.`string_value` IN UNNEST(@subjects) AND (`phone` IS NOT NULL) GROUP BY subject_value',
    );
    const array = {
      ...matchRuleOf({ match: { path: 'emails', kind: 'array', normalise: 'none' } }),
      many: true,
    };
    expect(matchSql(array)).toBe(
      'EXISTS (SELECT 1 FROM UNNEST(`emails`) AS v WHERE v IN UNNEST(@subjects))',
    );
  });

  it('splits the subjects into parts under the count and byte limits, never splitting a value', () => {
    const values = ['aaaa', 'bbbb', 'cccc', 'dddd', 'eeee'];
    expect(splitValues(values, 2, 1_000)).toEqual([['aaaa', 'bbbb'], ['cccc', 'dddd'], ['eeee']]);
    // Each value costs its bytes plus 16: 40 bytes hold two.
    expect(splitValues(values, 100, 40)).toEqual([['aaaa', 'bbbb'], ['cccc', 'dddd'], ['eeee']]);
    expect(splitValues(['x'.repeat(100)], 100, 10)).toEqual([['x'.repeat(100)]]);
    expect(splitValues([], 10, 10)).toEqual([]);
  });
});

describe('batch settings in task configs', () => {
  it('takes maxSubjects 1..10,000 and maxWaitSeconds 0..86,400, and false to turn batching off', () => {
    expect(
      deleteConfigSchema.parse({ ...base, batch: { maxSubjects: 10_000, maxWaitSeconds: 0 } })
        .batch,
    ).toEqual({
      maxSubjects: 10_000,
      maxWaitSeconds: 0,
    });
    expect(deleteConfigSchema.parse({ ...base, batch: {} }).batch).toEqual({
      maxSubjects: 1000,
      maxWaitSeconds: 900,
    });
    expect(deleteConfigSchema.parse({ ...base, batch: false }).batch).toBe(false);
    for (const batch of [
      { maxSubjects: 0 },
      { maxSubjects: 10_001 },
      { maxSubjects: 1.5 },
      { maxWaitSeconds: -1 },
      { maxWaitSeconds: 86_401 },
      { maxSubjects: 5, extra: 1 },
      true,
    ]) {
      expect(deleteConfigSchema.safeParse({ ...base, batch }).success).toBe(false);
    }
    const tooMany = nullifyConfigSchema.safeParse({
      ...base,
      columns: ['a'],
      batch: { maxSubjects: 20_000 },
    });
    expect(
      tooMany.success ? [] : tooMany.error.issues.map((i) => [i.path.join('.'), i.message]),
    ).toEqual([['batch.maxSubjects', 'at most 10000 subjects in one batch']]);
  });

  it('takes batch on an export only when given, and refuses it by name on a hand-written statement', () => {
    // An export batches only when told to.
    expect(exportConfigSchema.parse(base).batch).toBeUndefined();
    expect(exportConfigSchema.parse({ ...base, batch: {} }).batch).toEqual({
      maxSubjects: 1000,
      maxWaitSeconds: 900,
    });
    const statement = statementConfigSchema.safeParse({
      sql: 'DELETE FROM d.t WHERE email = @email',
      batch: false,
    });
    expect(statement.success ? '' : statement.error.issues[0]?.message).toMatch(
      /^bigquery\.statement cannot batch/,
    );
  });
});
