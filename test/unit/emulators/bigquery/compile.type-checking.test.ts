import { BigQueryError } from '../../../../emulators/bigquery/errors';
import { decodeParameters, type RestQueryParameter } from '../../../../emulators/bigquery/params';
import type { TableInfo } from '../../../../emulators/bigquery/schema';
import {
  compileStatement,
  type CompiledStatement,
} from '../../../../emulators/bigquery/sql/compile';
import { parseSql } from '../../../../emulators/bigquery/sql/parser';

const events: TableInfo = {
  projectId: 'p',
  datasetId: 'd',
  tableId: 'events',
  sqlName: 't1',
  fields: [
    { name: 'user_id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'ts', type: 'TIMESTAMP', mode: 'NULLABLE' },
    { name: 'n', type: 'INT64', mode: 'NULLABLE' },
    { name: 'score', type: 'FLOAT64', mode: 'NULLABLE' },
    { name: 'amount', type: 'NUMERIC', mode: 'NULLABLE' },
    { name: 'active', type: 'BOOL', mode: 'NULLABLE' },
    { name: 'day', type: 'DATE', mode: 'NULLABLE' },
  ],
};

const param = (name: string, type: string, value: unknown): RestQueryParameter => ({
  name,
  parameterType: { type },
  parameterValue: { value },
});

function compile(sql: string, parameters: RestQueryParameter[] = []): CompiledStatement {
  return compileStatement(parseSql(sql), {
    projectId: 'p',
    location: 'US',
    params: decodeParameters(parameters, 'NAMED'),
    lookup: (ref) =>
      ref.projectId === 'p' && ref.datasetId === 'd' && ref.tableId === 'events'
        ? events
        : undefined,
  });
}

function compileError(sql: string, parameters: RestQueryParameter[] = []): BigQueryError {
  try {
    compile(sql, parameters);
  } catch (error) {
    if (error instanceof BigQueryError) return error;
    throw error;
  }
  throw new Error(`expected ${sql} to be refused`);
}

describe('compileStatement', () => {
  it('binds parameters instead of splicing them, and lists the columns read', () => {
    const compiled = compile(
      'SELECT ts FROM d.events WHERE user_id = @id AND n IN UNNEST(@ns) LIMIT 5',
      [
        param('id', 'STRING', "x' OR 1=1 --"),
        {
          name: 'ns',
          parameterType: { type: 'ARRAY', arrayType: { type: 'INT64' } },
          parameterValue: { arrayValues: [{ value: '1' }, { value: '2' }] },
        },
      ],
    );
    expect(compiled.kind).toBe('select');
    if (compiled.kind !== 'select') return;
    expect(compiled.query.sql).toBe(
      'SELECT c1 FROM t1 WHERE ((c0 = ?) AND (c2 IN (CAST(? AS INTEGER), CAST(? AS INTEGER)))) ORDER BY rowid LIMIT CAST(? AS INTEGER)',
    );
    expect(compiled.query.binds).toEqual(["x' OR 1=1 --", '1', '2', '5']);
    expect(compiled.referenced).toEqual([0, 1, 2]);
    expect(compiled.fields).toEqual([{ name: 'ts', type: 'TIMESTAMP', mode: 'NULLABLE' }]);
  });

  it('resolves columns case-insensitively and names COUNT(*) f0_', () => {
    const compiled = compile('SELECT COUNT(*) FROM `p.d.events` WHERE USER_ID IS NOT NULL');
    expect(compiled.kind === 'select' && compiled.fields).toEqual([
      { name: 'f0_', type: 'INT64', mode: 'NULLABLE' },
    ]);
    expect(compiled.referenced).toEqual([0]);
  });

  it('reads no column for an unfiltered COUNT(*)', () => {
    expect(compile('SELECT COUNT(*) FROM d.events').referenced).toEqual([]);
  });

  it('coerces string literals and parameters to TIMESTAMP and DATE, and INT64 to NUMERIC', () => {
    const compiled = compile(
      "DELETE FROM d.events WHERE ts = '2024-01-02 03:04:05+00' AND day = @day AND amount = 5 AND score = @n",
      [param('day', 'STRING', '2024-01-02'), param('n', 'INT64', '3')],
    );
    expect(compiled.kind === 'delete' && compiled.where.binds).toEqual([
      '1704164645000000',
      '2024-01-02',
      '5',
      '3',
    ]);
  });

  it('renders UPDATE assignments with bound values', () => {
    const compiled = compile(
      'UPDATE d.events SET ts = NULL, n = @n, active = TRUE WHERE user_id = @id',
      [param('n', 'INT64', 7), param('id', 'STRING', 'u1')],
    );
    expect(compiled.kind === 'update' && compiled.set).toEqual({
      sql: 'c1 = CAST(? AS INTEGER), c2 = CAST(? AS INTEGER), c5 = ?',
      binds: [null, '7', 1],
    });
    expect(compiled.referenced).toEqual([0]);
  });

  it.each([
    ['SELECT nope FROM d.events', [], 'Unrecognized name: nope at [1:8]'],
    ['SELECT n FROM d.missing', [], 'Not found: Table p:d.missing was not found in location US'],
    ['SELECT n FROM events', [], 'must be qualified with a dataset'],
    ['SELECT n FROM d.events WHERE n = @x', [], "Query parameter 'x' not found at [1:34]"],
    [
      "SELECT n FROM d.events WHERE n = 'a'",
      [],
      'No matching signature for operator = for argument types: INT64, STRING',
    ],
    [
      'SELECT n FROM d.events WHERE user_id',
      [],
      'WHERE clause should return type BOOL, but returns STRING',
    ],
    [
      "SELECT n FROM d.events WHERE ts = 'not a time'",
      [],
      'Could not cast literal "not a time" to type TIMESTAMP',
    ],
    ['SELECT n FROM d.events WHERE amount > 1', [], 'Unsupported construct: operator > on NUMERIC'],
    [
      'SELECT n FROM d.events WHERE amount = score',
      [],
      'Unsupported construct: comparing NUMERIC with FLOAT64',
    ],
    [
      'SELECT n FROM d.events WHERE n = @ids',
      [
        {
          name: 'ids',
          parameterType: { type: 'ARRAY', arrayType: { type: 'INT64' } },
          parameterValue: { arrayValues: [] },
        },
      ],
      'can only be used as IN UNNEST(@ids)',
    ],
    [
      'SELECT n FROM d.events WHERE n IN UNNEST(@id)',
      [param('id', 'INT64', 1)],
      'Values referenced in UNNEST must be arrays',
    ],
    [
      'SELECT n FROM d.events WHERE n = @s',
      [{ name: 's', parameterType: { type: 'STRUCT' }, parameterValue: {} }],
      'Unsupported construct: query parameter type STRUCT',
    ],
    [
      'SELECT n FROM d.events WHERE n = @i',
      [param('i', 'INT64', 'abc')],
      'Invalid value for query parameter i',
    ],
    [
      'UPDATE d.events SET user_id = NULL WHERE TRUE',
      [],
      'Cannot assign NULL to REQUIRED field user_id',
    ],
    [
      'UPDATE d.events SET n = "x" WHERE TRUE',
      [],
      'Value of type STRING cannot be assigned to n, which has type INT64',
    ],
    ['UPDATE d.events SET n = 1, N = 2 WHERE TRUE', [], 'Update item n overlaps with n'],
    ['SELECT n, COUNT(*) FROM d.events', [], 'COUNT(*) together with columns'],
    ['SELECT n FROM d.events ORDER BY amount', [], 'ORDER BY a NUMERIC column'],
    [
      'SELECT n FROM d.events LIMIT @l',
      [param('l', 'STRING', '1')],
      'LIMIT expects a non-negative INT64 parameter',
    ],
  ] as Array<[string, RestQueryParameter[], string]>)('%s → %s', (sql, parameters, message) => {
    const error = compileError(sql, parameters);
    expect(error.message).toContain(message);
    expect(error.httpStatus).toBe(message.startsWith('Not found') ? 404 : 400);
  });

  it('refuses positional parameters', () => {
    expect(() =>
      decodeParameters(
        [{ parameterType: { type: 'STRING' }, parameterValue: { value: 'x' } }],
        'POSITIONAL',
      ),
    ).toThrow(/positional query parameters/);
  });
});
