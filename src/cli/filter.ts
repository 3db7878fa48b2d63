import { UsageError } from './exit-codes';
import { cellText, getPath } from './output';

/**
 * `--filter`: a small subset of gcloud's filter language, applied to a list's rows after they
 * are fetched. Terms are separated by spaces (or `AND`) and must all hold:
 * `field=value`, `field!=value`, `field~regex` (a match anywhere), `field>n`, `field<n`,
 * `field>=n`, `field<=n`. `=` compares text, case-insensitively.
 */
export type RowPredicate = (row: unknown) => boolean;

const TERM = /^([A-Za-z_][A-Za-z0-9_.]*)(!=|>=|<=|=|~|>|<)(.*)$/;

export function parseFilter(expression: string): RowPredicate {
  const terms = splitTerms(expression).map(parseTerm);
  return (row) => terms.every((t) => t(row));
}

function splitTerms(expression: string): string[] {
  const terms: string[] = [];
  const pattern = /(?:[^\s"]+|"[^"]*")+/g;
  for (const m of expression.matchAll(pattern)) {
    if (m[0].toUpperCase() !== 'AND') terms.push(m[0]);
  }
  if (terms.length === 0)
    throw new UsageError('--filter needs at least one term, e.g. status=completed');
  return terms;
}

function parseTerm(term: string): RowPredicate {
  const m = TERM.exec(term);
  if (m === null) {
    throw new UsageError(
      `--filter: cannot read ${JSON.stringify(term)}; write field=value, field!=value, field~regex, field>n or field<n`,
    );
  }
  const [, path = '', op = '', raw = ''] = m;
  const operand = raw.replace(/^"(.*)"$/, '$1');
  const text = (row: unknown) => cellText(getPath(row, path));
  switch (op) {
    case '=':
      return (row) => text(row).toLowerCase() === operand.toLowerCase();
    case '!=':
      return (row) => text(row).toLowerCase() !== operand.toLowerCase();
    case '~': {
      let re: RegExp;
      try {
        re = new RegExp(operand, 'i');
      } catch {
        throw new UsageError(`--filter: ${JSON.stringify(operand)} is not a regular expression`);
      }
      return (row) => re.test(text(row));
    }
    default: {
      const limit = Number(operand);
      if (operand === '' || !Number.isFinite(limit)) {
        throw new UsageError(
          `--filter: ${path}${op} needs a number; got ${JSON.stringify(operand)}`,
        );
      }
      const compare = {
        '>': (a: number) => a > limit,
        '<': (a: number) => a < limit,
        '>=': (a: number) => a >= limit,
        '<=': (a: number) => a <= limit,
      }[op as '>' | '<' | '>=' | '<='];
      return (row) => {
        const value = getPath(row, path);
        const n = typeof value === 'number' ? value : Number(cellText(value));
        return cellText(value) !== '' && Number.isFinite(n) && compare(n);
      };
    }
  }
}
