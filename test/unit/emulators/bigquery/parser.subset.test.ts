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
        { kind: 'column', column: { name: 'user_id' } },
        { kind: 'column', column: { name: 'ts' }, alias: 'seen' },
      ],
      table: { project: 'my-project', dataset: 'warehouse', table: 'events' },
      where: {
        kind: 'and',
        left: {
          kind: 'compare',
          op: '=',
          left: { kind: 'column' },
          right: { kind: 'param', name: 'id' },
        },
        right: {
          kind: 'not',
          operand: {
            kind: 'or',
            left: {
              kind: 'compare',
              op: '!=',
              right: { kind: 'literal', type: 'STRING', text: 'x' },
            },
            right: { kind: 'isNull', negated: false },
          },
        },
      },
      orderBy: [
        { column: { name: 'ts' }, descending: true },
        { column: { name: 'user_id' }, descending: false },
      ],
      limit: { kind: 'literal', value: 10n },
    });
  });

  it('parses COUNT(*) with an alias, IN UNNEST and IS NOT NULL', () => {
    expect(
      parseSql(
        'select count(*) as n from warehouse.events where user_id in unnest(@ids) and ts is not null',
      ),
    ).toMatchObject({
      items: [{ kind: 'count', alias: 'n' }],
      table: { dataset: 'warehouse', table: 'events' },
      where: {
        kind: 'and',
        left: { kind: 'inUnnest', negated: false, param: { name: 'ids' } },
        right: { kind: 'isNull', negated: true },
      },
    });
  });

  it('parses SELECT *, NOT IN lists, typed literals, negative numbers and comments', () => {
    const statement = parseSql(
      '-- a comment\nSELECT * FROM `p.d`.`t` /* block */ WHERE n NOT IN (1, -2.5) AND d = DATE "2024-01-02" # end',
    );
    expect(statement).toMatchObject({
      items: '*',
      table: { project: 'p', dataset: 'd', table: 't' },
      where: {
        left: {
          kind: 'in',
          negated: true,
          items: [
            { type: 'INT64', text: '1' },
            { type: 'FLOAT64', text: '-2.5' },
          ],
        },
        right: { right: { kind: 'literal', type: 'DATE', text: '2024-01-02' } },
      },
    });
  });

  it('parses DELETE with and without FROM', () => {
    expect(parseSql('DELETE FROM d.t WHERE owner_id = @owner')).toMatchObject({
      kind: 'delete',
      table: { dataset: 'd', table: 't' },
      where: { kind: 'compare', right: { kind: 'param', name: 'owner' } },
    });
    expect(parseSql('DELETE d.t WHERE TRUE')).toMatchObject({
      kind: 'delete',
      where: { kind: 'literal', type: 'BOOL' },
    });
  });

  it('parses UPDATE with NULL, parameter and literal assignments', () => {
    expect(
      parseSql(
        "UPDATE `p.d.t` SET owner_id = NULL, note = @note, n = 3, s = 'x' WHERE owner_id = @id",
      ),
    ).toMatchObject({
      kind: 'update',
      assignments: [
        { column: { name: 'owner_id' }, value: { kind: 'literal', type: 'NULL' } },
        { column: { name: 'note' }, value: { kind: 'param', name: 'note' } },
        { column: { name: 'n' }, value: { kind: 'literal', type: 'INT64', text: '3' } },
        { column: { name: 's' }, value: { kind: 'literal', type: 'STRING', text: 'x' } },
      ],
    });
  });

  it('takes LIMIT from a parameter and decodes string escapes', () => {
    expect(parseSql("SELECT a FROM d.t WHERE a = 'it\\'s' LIMIT @max")).toMatchObject({
      where: { right: { text: "it's" } },
      limit: { kind: 'param', name: 'max' },
    });
  });

  it('reports positions as [line:column]', () => {
    expect(() => parseSql('SELECT a\nFROM d.t\nWHERE a LIKE "x%"')).toThrow(/LIKE at \[3:9\]/);
  });
});
