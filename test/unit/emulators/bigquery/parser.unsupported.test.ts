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
    ['SELECT a FROM d.t JOIN d.u ON a = b', 'JOIN'],
    ['SELECT a FROM d.t, d.u', 'JOIN'],
    ['SELECT a FROM d.t LEFT JOIN d.u USING (a)', 'JOIN'],
    ['SELECT a, COUNT(*) FROM d.t GROUP BY a', 'GROUP BY'],
    ['SELECT DISTINCT a FROM d.t', 'SELECT DISTINCT'],
    ['WITH x AS (SELECT 1) SELECT * FROM x', 'WITH'],
    ['INSERT INTO d.t (a) VALUES (1)', 'INSERT statement'],
    ['MERGE d.t USING d.u ON TRUE WHEN MATCHED THEN DELETE', 'MERGE statement'],
    ['CREATE TABLE d.t (a INT64)', 'CREATE statement'],
    ['TRUNCATE TABLE d.t', 'TRUNCATE statement'],
    ['SELECT UPPER(a) FROM d.t', 'function UPPER()'],
    ['SELECT a FROM d.t WHERE LOWER(a) = "x"', 'function LOWER()'],
    ['SELECT COUNT(a) FROM d.t', 'COUNT(expression)'],
    ['SELECT a + 1 FROM d.t', 'expressions in the SELECT list'],
    ['SELECT 1 FROM d.t', 'expressions in the SELECT list'],
    ['SELECT 1', 'expressions in the SELECT list'],
    ['SELECT a FROM d.t WHERE a LIKE "x%"', 'LIKE'],
    ['SELECT a FROM d.t WHERE a BETWEEN 1 AND 2', 'BETWEEN'],
    ['SELECT a FROM d.t WHERE a + 1 = 2', 'operator +'],
    ['SELECT a FROM d.t WHERE a IN (SELECT b FROM d.u)', 'IN (subquery)'],
    ['SELECT a FROM d.t WHERE a IN UNNEST(["x"])', 'UNNEST of anything but an array parameter'],
    ['SELECT a FROM (SELECT a FROM d.t)', 'subqueries in FROM'],
    ['SELECT a FROM d.t AS x', 'table aliases'],
    ['SELECT x.a FROM d.t x', 'qualified column names'],
    ['SELECT a FROM d.t LIMIT 1 OFFSET 2', 'OFFSET'],
    ['SELECT a FROM d.t UNION ALL SELECT a FROM d.u', 'set operations (UNION)'],
    ['SELECT a FROM d.t HAVING a = 1', 'HAVING'],
    ['SELECT a FROM d.t ORDER BY a NULLS LAST', 'NULLS FIRST/LAST'],
    ['SELECT a FROM `d.events_*`', 'wildcard tables'],
    ['SELECT a FROM d.t FOR SYSTEM_TIME AS OF x', 'FOR SYSTEM_TIME AS OF'],
    ['SELECT * EXCEPT (a) FROM d.t', 'SELECT * EXCEPT'],
    ['SELECT a FROM d.t WHERE CASE WHEN a THEN TRUE END', 'CASE'],
    ['SELECT a FROM d.t WHERE CAST(a AS STRING) = "1"', 'CAST'],
    ['SELECT a FROM d.t WHERE a IS TRUE', 'IS TRUE'],
    ['SELECT a FROM d.t WHERE a = DATETIME "2024-01-01 00:00:00"', 'DATETIME literals'],
    ['SELECT a FROM d.t WHERE a = b"x"', 'raw or bytes'],
    ['SELECT a FROM d.t; SELECT b FROM d.t', 'multi-statement queries'],
    ['UPDATE d.t SET a = a + 1 WHERE TRUE', 'SET to an expression'],
    ['UPDATE d.t SET a = b WHERE TRUE', 'SET to an expression'],
    ['UPDATE d.t SET a = 1 FROM d.u WHERE TRUE', 'UPDATE ... FROM'],
    ['SELECT a FROM d.t WHERE a = @@project_id', 'system variables'],
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
    ['', 'Unexpected end of script'],
  ])('%s → syntax error "%s"', (sql, message) => {
    const error = parseError(sql);
    expect(error.reason).toBe('invalidQuery');
    expect(error.message).toContain(message);
  });

  it('renders as the BigQuery error body', () => {
    expect(parseError('SELECT a FROM d.t JOIN d.u ON TRUE').toResponseBody()).toEqual({
      error: {
        code: 400,
        message: expect.stringContaining('Unsupported construct: JOIN at [1:19]') as unknown,
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
