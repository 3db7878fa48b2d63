import {
  countStatement,
  deleteStatement,
  nullifyStatement,
  qualifyTable,
  selectStatement,
} from '../../../../src/executors/bigquery/sql';

const table = qualifyTable('warehouse.events', 'acme-prod');

describe('qualifyTable', () => {
  it('adds the default project to a project-less table and keeps a qualified one', () => {
    expect(qualifyTable('warehouse.events', 'acme-prod')).toBe('acme-prod.warehouse.events');
    expect(qualifyTable('other-proj.d.t', 'acme-prod')).toBe('other-proj.d.t');
  });

  it('refuses anything else, including a default project that is not a project id', () => {
    expect(() => qualifyTable('events', 'acme-prod')).toThrow('not a valid table reference');
    expect(() => qualifyTable('d.t', 'Bad Project')).toThrow('not a valid table reference');
  });
});

describe('statements', () => {
  it('build each statement from backticked names and the @subject parameter', () => {
    expect(deleteStatement(table, 'user_id').sql).toBe(
      'DELETE FROM `acme-prod.warehouse.events` WHERE `user_id` = @subject',
    );
    expect(nullifyStatement(table, ['owner_id', 'note'], 'owner_id').sql).toBe(
      'UPDATE `acme-prod.warehouse.events` SET `owner_id` = NULL, `note` = NULL WHERE `owner_id` = @subject',
    );
    expect(selectStatement(table, 'email').sql).toBe(
      'SELECT * FROM `acme-prod.warehouse.events` WHERE `email` = @subject',
    );
    expect(selectStatement(table, 'email', ['email', 'ts']).sql).toBe(
      'SELECT `email`, `ts` FROM `acme-prod.warehouse.events` WHERE `email` = @subject',
    );
    expect(countStatement(table, 'email')).toEqual({
      table,
      alias: 'matching_rows',
      sql: 'SELECT COUNT(*) AS matching_rows FROM `acme-prod.warehouse.events` WHERE `email` = @subject',
    });
  });

  it('never holds a value: the text is the same whoever the subject is', () => {
    const all = [
      deleteStatement(table, 'email'),
      nullifyStatement(table, ['email'], 'email'),
      selectStatement(table, 'email'),
      countStatement(table, 'email'),
    ].map((s) => s.sql);
    for (const sql of all) {
      expect(sql).not.toMatch(/'|"|;|--/);
      expect(sql.match(/@\w+/g)).toEqual(['@subject']);
    }
  });

  it('refuses names that were not validated', () => {
    expect(() => deleteStatement(table, 'x` OR TRUE --')).toThrow('not a valid column name');
    expect(() => nullifyStatement(table, ['ok', 'a b'], 'ok')).toThrow('not a valid column name');
    expect(() => selectStatement('acme-prod.d.t`; DROP' as typeof table, 'email')).toThrow(
      'not a valid table reference',
    );
  });
});
