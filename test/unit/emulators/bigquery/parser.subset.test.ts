import { parseSql } from '../../../../emulators/bigquery/sql/parser';

describe('parseSql on the supported subset', () => {
  it('parses a SELECT with columns, aliases, WHERE, ORDER BY and LIMIT', () => {
    const statement = parseSql(
      'SELECT user_id, `ts` AS seen FROM `my-project.warehouse.events` ' +
        'WHERE user_id = @id AND NOT (kind != "x" OR kind IS NULL) ORDER BY ts DESC, user_id LIMIT 10;',
    );
    expect(statement).toMatchObject({
      kind: 'select',
      items: [
        { kind: 'expr', expr: { kind: 'path', parts: ['user_id'] } },
        { kind: 'expr', expr: { kind: 'path', parts: ['ts'] }, alias: 'seen' },
      ],
      from: [
        { kind: 'table', name: { project: 'my-project', dataset: 'warehouse', table: 'events' } },
      ],
      where: {
        kind: 'binary',
        op: 'AND',
        left: { kind: 'binary', op: '=', right: { kind: 'param', name: 'id' } },
        right: {
          kind: 'not',
          operand: {
            kind: 'binary',
            op: 'OR',
            left: {
              kind: 'binary',
              op: '!=',
              right: { kind: 'literal', type: 'STRING', text: 'x' },
            },
            right: { kind: 'isNull', negated: false },
          },
        },
      },
      orderBy: [
        { expr: { kind: 'path', parts: ['ts'] }, descending: true },
        { expr: { kind: 'path', parts: ['user_id'] }, descending: false },
      ],
      limit: { kind: 'literal', type: 'INT64', text: '10' },
    });
  });

  it('parses dotted STRUCT paths, UNNEST joins with aliases and offsets, and EXISTS', () => {
    const statement = parseSql(
      'SELECT e.user.email, up.key FROM `p.analytics.events_*` AS e, UNNEST(e.user_properties) AS up WITH OFFSET pos ' +
        "WHERE EXISTS (SELECT 1 FROM UNNEST(e.user_properties) AS kv WHERE kv.key = 'email' AND LOWER(TRIM(kv.value.string_value)) = @subject) " +
        "AND _TABLE_SUFFIX BETWEEN '20240101' AND '20240131'",
    );
    expect(statement).toMatchObject({
      kind: 'select',
      items: [
        { expr: { kind: 'path', parts: ['e', 'user', 'email'] } },
        { expr: { kind: 'path', parts: ['up', 'key'] } },
      ],
      from: [
        { kind: 'table', name: { table: 'events_*' }, alias: 'e' },
        {
          kind: 'unnest',
          alias: 'up',
          offsetAlias: 'pos',
          outer: false,
          array: { kind: 'path', parts: ['e', 'user_properties'] },
        },
      ],
      where: {
        op: 'AND',
        left: {
          kind: 'exists',
          query: {
            from: [{ kind: 'unnest', alias: 'kv' }],
            where: {
              op: 'AND',
              right: {
                op: '=',
                left: { kind: 'call', name: 'LOWER', args: [{ kind: 'call', name: 'TRIM' }] },
              },
            },
          },
        },
        right: { kind: 'between', operand: { kind: 'path', parts: ['_TABLE_SUFFIX'] } },
      },
    });
  });

  it('parses a correlated path join as an implicit UNNEST, and LEFT JOIN UNNEST', () => {
    expect(parseSql('SELECT e FROM d.t, t.emails AS e')).toMatchObject({
      from: [{ kind: 'table' }, { kind: 'unnest', alias: 'e', array: { parts: ['t', 'emails'] } }],
    });
    expect(parseSql('SELECT x FROM d.t LEFT JOIN UNNEST(t.a) AS x ON TRUE')).toMatchObject({
      from: [{ kind: 'table' }, { kind: 'unnest', outer: true }],
    });
  });

  it('parses aggregates, GROUP BY, HAVING, DISTINCT, SELECT without FROM and OFFSET', () => {
    expect(parseSql('SELECT 1 AS x')).toMatchObject({ from: [], items: [{ alias: 'x' }] });
    expect(
      parseSql(
        'SELECT DISTINCT event_date, COUNT(*) AS n, COUNT(DISTINCT user_id) FROM d.t GROUP BY 1 HAVING n > 1 LIMIT 5 OFFSET 2',
      ),
    ).toMatchObject({
      distinct: true,
      items: [
        {},
        { expr: { kind: 'call', name: 'COUNT', star: true } },
        { expr: { kind: 'call', distinct: true } },
      ],
      groupBy: [{ kind: 'literal', text: '1' }],
      having: { op: '>' },
      limit: { text: '5' },
      offset: { text: '2' },
    });
  });

  it('parses hashes, casts, CASE, intervals, bytes literals and arithmetic with precedence', () => {
    expect(
      parseSql("SELECT TO_HEX(SHA256(LOWER(TRIM(@e)))) = h FROM d.t WHERE b = b'ab'"),
    ).toMatchObject({
      items: [{ expr: { op: '=', left: { name: 'TO_HEX', args: [{ name: 'SHA256' }] } } }],
      where: { right: { kind: 'literal', type: 'BYTES', text: 'ab' } },
    });
    expect(parseSql('SELECT 1 + 2 * 3 - -4')).toMatchObject({
      items: [{ expr: { op: '-', left: { op: '+', right: { op: '*' } }, right: { text: '-4' } } }],
    });
    expect(
      parseSql(
        'SELECT CAST(a AS STRING), CASE WHEN a THEN 1 ELSE 2 END, DATE_SUB(CURRENT_DATE(), INTERVAL 30 DAY) FROM d.t',
      ),
    ).toMatchObject({
      items: [
        { expr: { kind: 'cast', type: 'STRING' } },
        { expr: { kind: 'case', whens: [{}] } },
        {
          expr: {
            kind: 'call',
            name: 'DATE_SUB',
            args: [
              { kind: 'call', name: 'CURRENT_DATE' },
              { kind: 'interval', unit: 'DAY' },
            ],
          },
        },
      ],
    });
  });

  it('parses DELETE with and without FROM, with an alias', () => {
    expect(parseSql('DELETE FROM d.t WHERE a = 1')).toMatchObject({
      kind: 'delete',
      table: { dataset: 'd', table: 't' },
    });
    expect(parseSql('DELETE d.t x WHERE x.a IN (1, 2)')).toMatchObject({
      kind: 'delete',
      alias: 'x',
      where: { kind: 'in' },
    });
  });

  it('parses UPDATE of columns and STRUCT fields to expressions', () => {
    expect(
      parseSql(
        "UPDATE d.t SET a = NULL, user.email = LOWER(@v), b = 'x' WHERE @v IN UNNEST(emails)",
      ),
    ).toMatchObject({
      kind: 'update',
      assignments: [
        { target: { parts: ['a'] }, value: { type: 'NULL' } },
        { target: { parts: ['user', 'email'] }, value: { kind: 'call', name: 'LOWER' } },
        { target: { parts: ['b'] }, value: { type: 'STRING' } },
      ],
      where: { kind: 'inUnnest', array: { kind: 'path', parts: ['emails'] } },
    });
  });

  it('reports positions as [line:column]', () => {
    expect(() => parseSql('SELECT a\nFROM d.t\nWHERE a = = 1')).toThrow(/at \[3:11\]/);
  });
});
