/**
 * Just enough lexing of a hand-written GoogleSQL statement to know what it is: its kind, the
 * named parameters it reads, and the string literals it holds. Comments, quoted names and
 * strings are skipped so that an `@` or a keyword inside them is not mistaken for one.
 */

export interface StatementText {
  /** The first keyword: SELECT (or WITH), DELETE, UPDATE, MERGE, INSERT, ... */
  kind: string;
  /** `@name` parameters, in order of first use. */
  params: string[];
  /** The string literals' contents. */
  literals: string[];
  /** More than one statement (text after a `;`). */
  script: boolean;
  /** For DELETE, UPDATE and MERGE: the table it changes, as written (`d.t`, `p.d.t`). */
  target?: string;
}

const DML_WORDS = new Set(['DELETE', 'UPDATE', 'MERGE']);

export function readStatement(sql: string): StatementText {
  const params: string[] = [];
  const literals: string[] = [];
  let kind = '';
  let target: string | undefined;
  let expectTarget = false;
  let script = false;
  let ended = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const rest = sql.slice(i);
    if (/\s/.test(c)) {
      i++;
    } else if (rest.startsWith('--') || c === '#') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (ended) {
      script = true;
      break;
    } else if (c === ';') {
      ended = true;
      i++;
    } else if (c === '`') {
      const end = sql.indexOf('`', i + 1);
      if (expectTarget) {
        target = sql.slice(i + 1, end === -1 ? sql.length : end);
        expectTarget = false;
      }
      i = end === -1 ? sql.length : end + 1;
    } else if (c === "'" || c === '"') {
      const triple = rest.startsWith(c.repeat(3));
      const quote = triple ? c.repeat(3) : c;
      let j = i + quote.length;
      let text = '';
      while (j < sql.length && !sql.startsWith(quote, j)) {
        if (sql[j] === '\\') {
          text += sql[j + 1] ?? '';
          j += 2;
        } else {
          text += sql[j];
          j++;
        }
      }
      literals.push(text);
      i = j + quote.length;
    } else if (c === '@') {
      const name = /^@([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
      if (rest.startsWith('@@')) {
        i += 2;
      } else if (name !== null) {
        const found = name[1] as string;
        if (!params.some((p) => p.toLowerCase() === found.toLowerCase())) params.push(found);
        i += name[0].length;
      } else i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest)?.[0] ?? c;
      const upper = word.toUpperCase();
      if (expectTarget && upper !== 'FROM' && upper !== 'INTO') {
        const name = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(rest)?.[0] ?? word;
        target = name;
        expectTarget = false;
        i += name.length;
        continue;
      }
      if (kind === '') {
        kind = upper;
        expectTarget = DML_WORDS.has(kind);
      }
      i += word.length;
    } else {
      if (kind === '' && c === '(') kind = '(';
      i++;
    }
  }
  return {
    kind: kind === 'WITH' ? 'SELECT' : kind,
    params,
    literals,
    script,
    ...(target === undefined ? {} : { target }),
  };
}
