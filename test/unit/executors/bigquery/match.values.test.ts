import { createHash } from 'node:crypto';
import { hashValue, matchRuleOf, subjectValue } from '../../../../src/executors/bigquery/match';
import { readStatement } from '../../../../src/executors/bigquery/statement-text';

const subjects = {
  subject: { email: 'jane.doe@example.com' },
  subjectAsGiven: { email: ' Jane.Doe@Example.com' },
};

describe('the value a match rule compares', () => {
  it.each([
    ['none', ' Jane.Doe@Example.com'],
    ['trim', 'Jane.Doe@Example.com'],
    ['lower', ' jane.doe@example.com'],
    ['email', 'jane.doe@example.com'],
  ] as const)('normalise %s gives %j, from the identifier as given', (normalise, expected) => {
    const rule = matchRuleOf({ match: { path: 'email', kind: 'scalar', normalise } });
    expect(subjectValue(rule, subjects, 'email')).toBe(expected);
  });

  it('keeps the older column rules on the value as intake normalised it', () => {
    expect(subjectValue(matchRuleOf({ column: 'email' }), subjects, 'email')).toBe(
      'jane.doe@example.com',
    );
  });

  it('hashes the normalised value as TO_HEX(SHA256(...)) and TO_BASE64(SHA256(...)) would', () => {
    const digest = createHash('sha256').update('jane.doe@example.com').digest();
    const hex = matchRuleOf({
      match: { path: 'h', kind: 'scalar', normalise: 'email', hash: 'sha256_hex' },
    });
    const b64 = matchRuleOf({
      match: { path: 'h', kind: 'scalar', normalise: 'email', hash: 'sha256_base64' },
    });
    expect(subjectValue(hex, subjects, 'email')).toBe(digest.toString('hex'));
    expect(subjectValue(b64, subjects, 'email')).toBe(digest.toString('base64'));
    expect(hashValue('é', 'sha256_hex')).toBe(
      createHash('sha256').update(Buffer.from('é', 'utf8')).digest('hex'),
    );
  });

  it('has no value for an identifier the subject lacks (nor for a prototype name)', () => {
    const rule = matchRuleOf({ match: { path: 'x', kind: 'scalar', normalise: 'none' } });
    expect(subjectValue(rule, subjects, 'userId')).toBeUndefined();
    expect(subjectValue(rule, subjects, 'constructor')).toBeUndefined();
  });
});

describe('reading a hand-written statement', () => {
  it('finds its kind, its parameters and its literals, skipping comments, names and strings', () => {
    expect(
      readStatement(
        "-- deletes @nothing\nDELETE FROM `p.d.t@x` /* @no */ WHERE email = @email AND note != 'a @b' AND uid = @userId AND x = @@project_id",
      ),
    ).toEqual({
      kind: 'DELETE',
      params: ['email', 'userId'],
      literals: ['a @b'],
      script: false,
      target: 'p.d.t@x',
    });
    expect(readStatement('WITH x AS (SELECT 1) SELECT * FROM x').kind).toBe('SELECT');
    // The table a DML statement changes, however it is written.
    expect(readStatement('DELETE d.t WHERE TRUE').target).toBe('d.t');
    expect(readStatement('UPDATE `acme-prod.crm.notes` n SET body = NULL WHERE TRUE').target).toBe(
      'acme-prod.crm.notes',
    );
    expect(readStatement('MERGE INTO d.t USING d.u ON TRUE WHEN MATCHED THEN DELETE').target).toBe(
      'd.t',
    );
    expect(readStatement('SELECT * FROM d.t').target).toBeUndefined();
    expect(readStatement('SELECT 1; DROP TABLE t').script).toBe(true);
    expect(readStatement('SELECT 1;').script).toBe(false);
    expect(readStatement("SELECT 'it\\'s' AS s").literals).toEqual(["it's"]);
  });
});
