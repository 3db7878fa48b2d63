import { invalidQuery, BigQueryError } from '../errors';

export type TokenKind =
  'word' | 'quoted' | 'string' | 'bytes' | 'number' | 'param' | 'symbol' | 'eof';

/** A lexical token; `text` is the decoded value (identifier, string contents, number text). */
export interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  column: number;
}

/** `[line:column]`, the position suffix BigQuery puts on query errors. */
export const at = (token: Pick<Token, 'line' | 'column'>): string =>
  `[${token.line}:${token.column}]`;

/** The 400 for anything outside the emulator's subset, naming the construct. */
export const unsupported = (
  construct: string,
  token?: Pick<Token, 'line' | 'column'>,
): BigQueryError =>
  invalidQuery(
    `Unsupported construct: ${construct}${token === undefined ? '' : ` at ${at(token)}`}. ` +
      'The BigQuery emulator runs only the subset described in docs/bigquery-emulator.md.',
  );

const SYMBOLS = [
  '<>',
  '!=',
  '<=',
  '>=',
  '||',
  '=',
  '<',
  '>',
  '(',
  ')',
  ',',
  '.',
  '*',
  ';',
  '+',
  '-',
  '/',
  '[',
  ']',
  '{',
  '}',
  ':',
  '%',
  '&',
  '|',
  '^',
  '~',
  '?',
];

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  v: '\v',
  a: '\x07',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '`': '`',
  '?': '?',
};

/** Splits GoogleSQL text into tokens, skipping whitespace and comments. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  let line = 1;
  let lineStart = 0;
  const position = (): { line: number; column: number } => ({
    line,
    column: index - lineStart + 1,
  });
  const advance = (count: number): void => {
    for (let i = 0; i < count; i++) {
      if (sql[index] === '\n') {
        line++;
        lineStart = index + 1;
      }
      index++;
    }
  };

  while (index < sql.length) {
    const char = sql[index] ?? '';
    const rest = sql.slice(index);
    if (/\s/.test(char)) {
      advance(1);
      continue;
    }
    if (rest.startsWith('--') || char === '#') {
      const end = sql.indexOf('\n', index);
      advance((end === -1 ? sql.length : end) - index);
      continue;
    }
    if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', index + 2);
      if (end === -1) throw invalidQuery(`Syntax error: Unclosed comment at ${at(position())}`);
      advance(end + 2 - index);
      continue;
    }
    const start = position();
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (word !== null) {
      const quote = sql[index + word[0].length];
      if ((quote === "'" || quote === '"') && /^b$/i.test(word[0])) {
        if (sql.startsWith(quote.repeat(3), index + 1))
          throw unsupported('triple-quoted strings', start);
        const { text, length } = readString(sql, index + 1, start);
        tokens.push({ kind: 'bytes', text, ...start });
        advance(length + 1);
        continue;
      }
      if ((quote === "'" || quote === '"') && /^(r|rb|br)$/i.test(word[0])) {
        throw unsupported(`raw string literals (${word[0].toLowerCase()}'...')`, start);
      }
      tokens.push({ kind: 'word', text: word[0], ...start });
      advance(word[0].length);
      continue;
    }
    const number = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(rest);
    if (number !== null) {
      if (/^[A-Za-z_]/.test(sql.slice(index + number[0].length))) {
        throw invalidQuery(`Syntax error: Malformed number at ${at(start)}`);
      }
      tokens.push({ kind: 'number', text: number[0], ...start });
      advance(number[0].length);
      continue;
    }
    if (char === '@') {
      const name = /^@{1,2}([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
      if (name === null || rest.startsWith('@@')) {
        throw unsupported(rest.startsWith('@@') ? 'system variables (@@)' : "'@'", start);
      }
      tokens.push({ kind: 'param', text: name[1] ?? '', ...start });
      advance(name[0].length);
      continue;
    }
    if (char === '`') {
      const end = sql.indexOf('`', index + 1);
      if (end === -1)
        throw invalidQuery(`Syntax error: Unclosed identifier literal at ${at(start)}`);
      tokens.push({ kind: 'quoted', text: sql.slice(index + 1, end), ...start });
      advance(end + 1 - index);
      continue;
    }
    if (char === "'" || char === '"') {
      if (rest.startsWith(char.repeat(3))) throw unsupported('triple-quoted strings', start);
      const { text, length } = readString(sql, index, start);
      tokens.push({ kind: 'string', text, ...start });
      advance(length);
      continue;
    }
    const symbol = SYMBOLS.find((candidate) => rest.startsWith(candidate));
    if (symbol === undefined) {
      throw invalidQuery(`Syntax error: Illegal input character "${char}" at ${at(start)}`);
    }
    tokens.push({ kind: 'symbol', text: symbol === '<>' ? '!=' : symbol, ...start });
    advance(symbol.length);
  }
  tokens.push({ kind: 'eof', text: '', ...position() });
  return tokens;
}

function readString(
  sql: string,
  open: number,
  start: { line: number; column: number },
): { text: string; length: number } {
  const quote = sql[open];
  let text = '';
  for (let index = open + 1; index < sql.length; index++) {
    const char = sql[index];
    if (char === quote) return { text, length: index + 1 - open };
    if (char === '\n') break;
    if (char === '\\') {
      const next = sql[index + 1] ?? '';
      const escaped = ESCAPES[next];
      if (escaped === undefined) {
        throw unsupported(`the string escape \\${next}`, start);
      }
      text += escaped;
      index++;
      continue;
    }
    text += char;
  }
  throw invalidQuery(`Syntax error: Unclosed string literal at ${at(start)}`);
}
