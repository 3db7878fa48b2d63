import { BigQueryError } from '../../../../emulators/bigquery/errors';
import { parseSql } from '../../../../emulators/bigquery/sql/parser';

function parseError(sql: string): BigQueryError {
  try {
    parseSql(sql);
  } catch (error) {
    if (error instanceof BigQueryError) return error;
    throw error;
  }
  throw new Error(`expected ${sql} to be refused`);
}

describe('parseSql outside the subset', () => {
  it.each([
    ['SELECT a FROM d.t RIGHT JOIN d.u ON a = b', 'RIGHT JOIN'],
    ['SELECT a FROM d.t JOIN d.u ON a = b', 'JOIN ... ON a condition'],
    ['SELECT a FROM d.t LEFT JOIN d.u USING (a)', 'JOIN ... USING'],
    ['WITH x AS (SELECT 1) SELECT * FROM x', 'WITH'],
    ['INSERT INTO d.t (a) VALUES (1)', 'INSERT statement'],
    ['MERGE d.t USING d.u ON TRUE WHEN MATCHED THEN DELETE', 'MERGE statement'],
    ['CREATE TABLE d.t (a INT64)', 'CREATE statement'],
    ['TRUNCATE TABLE d.t', 'TRUNCATE statement'],
    ['SELECT a FROM d.t WHERE a IN (SELECT b FROM d.u)', 'IN (subquery)'],
    ['SELECT a FROM (SELECT a FROM d.t)', 'subqueries in FROM'],
    ['SELECT a FROM d.t UNION ALL SELECT a FROM d.u', 'set operations (UNION)'],
    ['SELECT a FROM d.t QUALIFY a = 1', 'QUALIFY'],
    ['SELECT a FROM d.t ORDER BY a NULLS LAST', 'NULLS FIRST/LAST'],
    ['SELECT a FROM d.t FOR SYSTEM_TIME AS OF x', 'FOR SYSTEM_TIME AS OF'],
    ['SELECT * REPLACE (1 AS a) FROM d.t', 'SELECT * REPLACE'],
    ['SELECT AS VALUE a FROM d.t', 'SELECT AS VALUE'],
    ['SELECT a FROM d.t WHERE a = DATETIME "2024-01-01 00:00:00"', 'DATETIME literals'],
    ['SELECT a FROM d.t WHERE a = r"x"', 'raw string literals'],
    ['SELECT a FROM d.t; SELECT b FROM d.t', 'multi-statement queries'],
    ['UPDATE d.t SET a = 1 FROM d.u WHERE TRUE', 'UPDATE ... FROM'],
    ['SELECT a FROM d.t WHERE a = @@project_id', 'system variables'],
    ['SELECT SUM(a) OVER () FROM d.t', 'window functions (OVER)'],
    ['SELECT a[OFFSET(0)] FROM d.t', 'array subscripts'],
    ['SELECT STRUCT(1 AS a)', 'STRUCT constructors'],
    ['SELECT a % 2 FROM d.t', 'operator %'],
    ['SELECT EXTRACT(DAY FROM d) FROM d.t', 'EXTRACT'],
    ['SELECT a FROM d.t GROUP BY ROLLUP (a)', 'GROUP BY ROLLUP'],
  ])('%s → names %s', (sql, construct) => {
    const error = parseError(sql);
    expect(error.httpStatus).toBe(400);
    expect(error.reason).toBe('invalidQuery');
    expect(error.message).toContain(`Unsupported construct: ${construct}`);
  });

  it.each([
    ['DELETE FROM d.t', 'DELETE must have a WHERE clause'],
    ['UPDATE d.t SET a = 1', 'UPDATE must have a WHERE clause'],
    ['SELECT a FROM', 'Expected a table name but got end of input'],
    ["SELECT a FROM d.t WHERE a = 'open", 'Unclosed string literal'],
    ['SELECT a FROM `d.ev*ents`', 'Invalid table name'],
    ['', 'Unexpected end of script'],
  ])('%s → syntax error "%s"', (sql, message) => {
    const error = parseError(sql);
    expect(error.reason).toBe('invalidQuery');
    expect(error.message).toContain(message);
  });

  it('renders as the BigQuery error body', () => {
    expect(parseError('SELECT a FROM d.t RIGHT JOIN d.u ON TRUE').toResponseBody()).toEqual({
      error: {
        code: 400,
        message: expect.stringContaining('Unsupported construct: RIGHT JOIN at [1:19]') as unknown,
        errors: [
          {
            reason: 'invalidQuery',
            location: 'query',
            domain: 'global',
            message: expect.stringContaining('JOIN') as unknown,
          },
        ],
        status: 'INVALID_ARGUMENT',
      },
    });
  });
});
