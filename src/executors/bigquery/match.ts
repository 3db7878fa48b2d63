import { createHash } from 'node:crypto';
import { identifierOf } from '../../domain/subject';
import type { Subject } from '../../domain/model';
import { COLUMN_NAME, type HashKind, type MatchConfig, type Normalisation } from './config';

/**
 * How a task finds the subject's rows, and the SQL and parameter values for it. The subject's
 * value is normalised (and hashed) here, in the app; SQL text only ever holds `@subject`.
 */
export interface MatchRule {
  /** The column, then STRUCT fields: `['user', 'email']`. */
  path: string[];
  kind: 'scalar' | 'array' | 'keyValue';
  /** keyValue: the key, its field, and the (dotted) value field. */
  key?: string;
  keyField: string;
  valueField: string[];
  normalise: Normalisation;
  hash?: HashKind;
  /** Read from the older `column`/`whereColumn`: compares the value as intake normalised it. */
  legacy: boolean;
  /** A batch's rule: compares with any of `@subjects` rather than `@subject`. */
  many?: boolean;
}

export const SUBJECT_PARAM = 'subject';
export const MATCH_KEY_PARAM = 'match_key';
/** A batch's subjects' values (normalised and hashed as `@subject` would be). */
export const SUBJECTS_PARAM = 'subjects';

/** The rule a config gives: its `match`, or its older flat column as a scalar match. */
export function matchRuleOf(config: {
  match?: MatchConfig | undefined;
  column?: string | undefined;
  whereColumn?: string | undefined;
}): MatchRule {
  const match = config.match;
  if (match === undefined) {
    const column = config.column ?? config.whereColumn ?? '';
    return {
      path: [column],
      kind: 'scalar',
      keyField: 'key',
      valueField: ['value', 'string_value'],
      normalise: 'none',
      legacy: true,
    };
  }
  return {
    path: match.path.split('.'),
    kind: match.kind,
    ...(match.key === undefined ? {} : { key: match.key }),
    keyField: match.keyField ?? 'key',
    valueField: (match.valueField ?? 'value.string_value').split('.'),
    normalise: match.normalise,
    ...(match.hash === undefined ? {} : { hash: match.hash }),
    legacy: false,
  };
}

/**
 * The value compared with the rows: the identifier as the request gave it (or, for a legacy
 * rule, as intake normalised it), normalised by the rule, then hashed if the rule says so.
 */
export function subjectValue(
  rule: MatchRule,
  subjects: { subject: Subject; subjectAsGiven: Subject },
  identifier: string,
): string | undefined {
  const given = rule.legacy
    ? identifierOf(subjects.subject, identifier)
    : (identifierOf(subjects.subjectAsGiven, identifier) ??
      identifierOf(subjects.subject, identifier));
  if (given === undefined) return undefined;
  const normalised = normaliseValue(given, rule.normalise);
  return rule.hash === undefined ? normalised : hashValue(normalised, rule.hash);
}

export function normaliseValue(value: string, normalise: Normalisation): string {
  switch (normalise) {
    case 'none':
      return value;
    case 'trim':
      return value.trim();
    case 'lower':
      return value.toLowerCase();
    case 'email':
      return value.trim().toLowerCase();
  }
}

/** As `TO_HEX(SHA256(x))` or `TO_BASE64(SHA256(x))` would give it in BigQuery (UTF-8 bytes). */
export function hashValue(value: string, hash: HashKind): string {
  const digest = createHash('sha256').update(value, 'utf8').digest();
  return hash === 'sha256_hex' ? digest.toString('hex') : digest.toString('base64');
}

/** The parameters a rule's condition needs, beside `@subject`. */
export function matchParams(rule: MatchRule, value: string): Record<string, string> {
  return {
    [SUBJECT_PARAM]: value,
    ...(rule.kind === 'keyValue' && rule.key !== undefined ? { [MATCH_KEY_PARAM]: rule.key } : {}),
  };
}

/** A batch's parameters: every subject's value, and the key where the rule has one. */
export function matchManyParams(
  rule: MatchRule,
  values: string[],
): Record<string, string | string[]> {
  return {
    [SUBJECTS_PARAM]: values,
    ...(rule.kind === 'keyValue' && rule.key !== undefined ? { [MATCH_KEY_PARAM]: rule.key } : {}),
  };
}

/**
 * The condition that finds the subject's rows. The column side is normalised as the subject's
 * value was (a hashed column is compared as stored: the hash was taken of the normalised value).
 */
export function matchSql(rule: MatchRule, qualifier?: string): string {
  const column = quotePath(qualifier === undefined ? rule.path : [qualifier, ...rule.path]);
  const side = sideOf(rule);
  const is = (sql: string) =>
    rule.many === true ? `${sql} IN UNNEST(@${SUBJECTS_PARAM})` : `${sql} = @${SUBJECT_PARAM}`;
  switch (rule.kind) {
    case 'scalar':
      return is(side(column));
    case 'array':
      return side('v') === 'v' && rule.many !== true
        ? `@${SUBJECT_PARAM} IN UNNEST(${column})`
        : `EXISTS (SELECT 1 FROM UNNEST(${column}) AS v WHERE ${is(side('v'))})`;
    case 'keyValue':
      return (
        `EXISTS (SELECT 1 FROM UNNEST(${column}) AS kv WHERE ${keyIs(rule)} ` +
        `AND ${is(side(`kv.${quotePath(rule.valueField)}`))})`
      );
  }
}

/**
 * For a batch's grouped counts: the join that reaches the compared value, the value each row
 * matched (as the subjects' values are given), and the condition on it.
 */
export function matchedValueSql(rule: MatchRule): { join: string; value: string; where: string } {
  const column = quotePath(rule.path);
  const side = sideOf(rule);
  const any = (sql: string) => `${sql} IN UNNEST(@${SUBJECTS_PARAM})`;
  switch (rule.kind) {
    case 'scalar':
      return { join: '', value: side(column), where: any(side(column)) };
    case 'array':
      return { join: `, UNNEST(${column}) AS v`, value: side('v'), where: any(side('v')) };
    case 'keyValue': {
      const value = side(`kv.${quotePath(rule.valueField)}`);
      return {
        join: `, UNNEST(${column}) AS kv`,
        value,
        where: `${keyIs(rule)} AND ${any(value)}`,
      };
    }
  }
}

/** For a batched export: an ARRAY of the subjects' values a row matched (usually one). */
export function matchedValuesSql(rule: MatchRule): string {
  const column = quotePath(rule.path);
  const side = sideOf(rule);
  const any = (sql: string) => `${sql} IN UNNEST(@${SUBJECTS_PARAM})`;
  switch (rule.kind) {
    case 'scalar':
      return `[${side(column)}]`;
    case 'array':
      return `ARRAY(SELECT ${side('v')} FROM UNNEST(${column}) AS v WHERE ${any(side('v'))})`;
    case 'keyValue': {
      const value = side(`kv.${quotePath(rule.valueField)}`);
      return `ARRAY(SELECT ${value} FROM UNNEST(${column}) AS kv WHERE ${keyIs(rule)} AND ${any(value)})`;
    }
  }
}

function keyIs(rule: MatchRule): string {
  return `kv.${quotePath([rule.keyField])} = @${MATCH_KEY_PARAM}`;
}

/** The column side, normalised as the subject's value was (a hashed column is compared as stored). */
function sideOf(rule: MatchRule): (sql: string) => string {
  return (sql) => (rule.hash === undefined ? normaliseSql(sql, rule.normalise) : sql);
}

function normaliseSql(sql: string, normalise: Normalisation): string {
  switch (normalise) {
    case 'none':
      return sql;
    case 'trim':
      return `TRIM(${sql})`;
    case 'lower':
      return `LOWER(${sql})`;
    case 'email':
      return `LOWER(TRIM(${sql}))`;
  }
}

/** `` `user`.`email` ``: each part checked as a column name, then quoted. */
export function quotePath(path: readonly string[]): string {
  return path
    .map((part) => {
      if (!COLUMN_NAME.test(part))
        throw new Error(`not a valid column name: ${JSON.stringify(part)}`);
      return `\`${part}\``;
    })
    .join('.');
}

/** A rule in words, for messages: `LOWER(TRIM(user.email)) = the subject's email`. */
export function describeMatch(rule: MatchRule, identifier: string): string {
  const where =
    rule.kind === 'keyValue'
      ? `${rule.path.join('.')}[${rule.keyField}=${rule.key ?? ''}].${rule.valueField.join('.')}`
      : rule.path.join('.');
  const how = [
    rule.kind === 'array' ? 'any element of' : '',
    rule.normalise === 'none' ? '' : `${rule.normalise}-normalised`,
    rule.hash ?? '',
  ]
    .filter((s) => s !== '')
    .join(' ');
  return `${how === '' ? '' : `${how} `}${where} = the subject's ${identifier}`;
}
