import {
  deleteConfigSchema,
  exportConfigSchema,
  nullifyConfigSchema,
  statementConfigSchema,
} from '../../../../src/executors/bigquery';

const MiB = 2 ** 20;

function issues(result: {
  success: boolean;
  error?: { issues: Array<{ path: unknown[]; message: string }> };
}) {
  return result.success
    ? []
    : (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('bigquery.delete config', () => {
  const valid = { table: 'acme-prod.warehouse.events', column: 'user_id', identifier: 'userId' };

  it.each([
    ['a qualified table', valid],
    ['a project-less table', { ...valid, table: 'warehouse.events' }],
    ['a cap of 10 MiB', { ...valid, maxBytesBilled: 10 * MiB }],
    ['a column starting with _', { ...valid, column: '_owner' }],
    [
      'a dotted match path',
      { ...valid, column: undefined, match: { path: 'user.email', normalise: 'email' } },
    ],
    [
      'a hashed array match',
      { ...valid, column: undefined, match: { path: 'emails', kind: 'array', hash: 'sha256_hex' } },
    ],
    [
      'a keyValue match',
      {
        ...valid,
        column: undefined,
        match: { path: 'user_properties', kind: 'keyValue', key: 'email' },
      },
    ],
    [
      'a sharded table with days',
      { ...valid, table: 'analytics.events_*', shards: { from: '2024-01-01', to: '2024-01-31' } },
    ],
    ['a partition lookback', { ...valid, partitionLookbackDays: 400 }],
  ])('accepts %s', (_what, config) => {
    expect(deleteConfigSchema.safeParse(config).success).toBe(true);
  });

  it.each([
    ['a table with backticks', { ...valid, table: 'acme-prod.warehouse.`events`' }, 'table'],
    ['SQL in the table', { ...valid, table: 'warehouse.events; DROP TABLE x' }, 'table'],
    ['a bare table', { ...valid, table: 'events' }, 'table'],
    ['a project id too short', { ...valid, table: 'acme.warehouse.events' }, 'table'],
    ['an upper-case project id', { ...valid, table: 'Acme-prod.warehouse.events' }, 'table'],
    ['a project id ending in -', { ...valid, table: 'acme-prod-.warehouse.events' }, 'table'],
    ['four parts', { ...valid, table: 'acme-prod.a.b.c' }, 'table'],
    ['a column with a space', { ...valid, column: 'user id' }, 'column'],
    ['a column with a quote', { ...valid, column: "x' OR '1'='1" }, 'column'],
    ['a column starting with a digit', { ...valid, column: '1col' }, 'column'],
    ['an identifier with a dot', { ...valid, identifier: 'subject.email' }, 'identifier'],
    ['a cap under 10 MiB', { ...valid, maxBytesBilled: 10 * MiB - 1 }, 'maxBytesBilled'],
    ['a fractional cap', { ...valid, maxBytesBilled: 10 * MiB + 0.5 }, 'maxBytesBilled'],
    ['a cap as a string', { ...valid, maxBytesBilled: '20000000' }, 'maxBytesBilled'],
    ['an unknown field', { ...valid, where: '1=1' }, ''],
    ['a missing column', { table: valid.table, identifier: 'email' }, 'match'],
    ['both match and column', { ...valid, match: { path: 'user_id' } }, 'match'],
    [
      'a keyValue match without its key',
      { ...valid, column: undefined, match: { path: 'p', kind: 'keyValue' } },
      'match.key',
    ],
    [
      'a key on a scalar match',
      { ...valid, column: undefined, match: { path: 'p', key: 'email' } },
      'match.key',
    ],
    [
      'an unknown normalisation',
      { ...valid, column: undefined, match: { path: 'p', normalise: 'upper' } },
      'match.normalise',
    ],
    [
      'an unknown hash',
      { ...valid, column: undefined, match: { path: 'p', hash: 'md5' } },
      'match.hash',
    ],
    [
      'a path with a space',
      { ...valid, column: undefined, match: { path: 'user.e mail' } },
      'match.path',
    ],
    ['shards on an unsharded table', { ...valid, shards: { from: '2024-01-01' } }, 'shards'],
    [
      'shards out of order',
      { ...valid, table: 'a.events_*', shards: { from: '2024-02-01', to: '2024-01-01' } },
      'shards',
    ],
    [
      'a day that does not exist',
      { ...valid, table: 'a.events_*', shards: { from: '2024-02-30' } },
      'shards.from',
    ],
    ['a wildcard in the middle', { ...valid, table: 'a.ev*ents' }, 'table'],
  ])('rejects %s', (_what, config, path) => {
    const found = issues(deleteConfigSchema.safeParse(config));
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((i) => i.startsWith(`${path}:`))).toBe(true);
  });

  it('explains why a small cap is refused', () => {
    expect(issues(deleteConfigSchema.safeParse({ ...valid, maxBytesBilled: MiB }))).toEqual([
      'maxBytesBilled: at least 10485760 (10 MiB): BigQuery bills at least 10 MiB per table, so a lower cap fails every run',
    ]);
  });
});

describe('bigquery.nullify config', () => {
  const valid = {
    table: 'warehouse.entries',
    columns: ['owner_id', 'owner_email'],
    whereColumn: 'owner_id',
    identifier: 'userId',
  };

  it('accepts columns that include the where column (the "owner_id = NULL" tasks)', () => {
    expect(nullifyConfigSchema.parse(valid)).toEqual(valid);
  });

  it.each([
    ['no columns', { ...valid, columns: [] }, 'columns'],
    ['the same column twice, in any case', { ...valid, columns: ['a', 'A'] }, 'columns'],
    ['an invalid column', { ...valid, columns: ['ok', 'not ok'] }, 'columns.1'],
    ['an invalid where column', { ...valid, whereColumn: 'a-b' }, 'whereColumn'],
  ])('rejects %s', (_what, config, path) => {
    expect(
      issues(nullifyConfigSchema.safeParse(config)).some((i) => i.startsWith(`${path}:`)),
    ).toBe(true);
  });
});

describe('bigquery.export config', () => {
  const valid = { table: 'warehouse.contacts', column: 'email', identifier: 'email' };

  it('defaults maxRows to 10000', () => {
    expect(exportConfigSchema.parse(valid)).toEqual({ ...valid, maxRows: 10_000 });
  });

  it.each([
    ['maxRows 0', { ...valid, maxRows: 0 }, 'maxRows'],
    ['maxRows over 100000', { ...valid, maxRows: 100_001 }, 'maxRows'],
    ['an empty selectColumns', { ...valid, selectColumns: [] }, 'selectColumns'],
    ['a * in selectColumns', { ...valid, selectColumns: ['*'] }, 'selectColumns.0'],
  ])('rejects %s', (_what, config, path) => {
    expect(issues(exportConfigSchema.safeParse(config)).some((i) => i.startsWith(`${path}:`))).toBe(
      true,
    );
  });
});

describe('bigquery.statement config', () => {
  it.each([
    [
      'an INSERT',
      { sql: 'INSERT INTO d.t (a) VALUES (@email)' },
      'sql: must be SELECT, DELETE, UPDATE or MERGE; got INSERT',
    ],
    [
      'a script',
      { sql: 'DELETE FROM d.t WHERE a = @email; DROP TABLE d.t' },
      'sql: one statement only (no scripts)',
    ],
    [
      'a verification that is not a SELECT',
      { sql: 'DELETE FROM d.t WHERE a = @email', verifySql: 'DELETE FROM d.t WHERE TRUE' },
      'verifySql: must be SELECT; got DELETE',
    ],
    [
      'a verification of a SELECT',
      { sql: 'SELECT * FROM d.t WHERE a = @email', verifySql: 'SELECT 1' },
      'verifySql: only a statement that changes data (DELETE, UPDATE, MERGE) is verified',
    ],
  ])('refuses %s', (_what, config, message) => {
    expect(issues(statementConfigSchema.safeParse(config))).toContain(message);
  });

  it('accepts a parameterised DELETE with its verification', () => {
    expect(
      statementConfigSchema.safeParse({
        sql: 'DELETE FROM d.t WHERE LOWER(email) = @email',
        verifySql: 'SELECT COUNT(*) FROM d.t WHERE LOWER(email) = @email',
      }).success,
    ).toBe(true);
  });
});
