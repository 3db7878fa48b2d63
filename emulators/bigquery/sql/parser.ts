import { invalidQuery } from '../errors';
import type {
  Assignment,
  ColumnRef,
  CompareOp,
  Expr,
  OrderItem,
  ParamRef,
  Position,
  SelectItem,
  SelectStatement,
  Statement,
  TableName,
} from './ast';
import { at, tokenize, unsupported, type Token } from './tokens';

/** GoogleSQL reserved keywords: none of them can be a bare column name or alias. */
const RESERVED = new Set(
  (
    'ALL AND ANY ARRAY AS ASC ASSERT_ROWS_MODIFIED AT BETWEEN BY CASE CAST COLLATE CONTAINS ' +
    'CREATE CROSS CUBE CURRENT DEFAULT DEFINE DESC DISTINCT ELSE END ENUM ESCAPE EXCEPT EXCLUDE ' +
    'EXISTS EXTRACT FALSE FETCH FOLLOWING FOR FROM FULL GROUP GROUPING GROUPS HASH HAVING IF ' +
    'IGNORE IN INNER INTERSECT INTERVAL INTO IS JOIN LATERAL LEFT LIKE LIMIT LOOKUP MERGE ' +
    'NATURAL NEW NO NOT NULL NULLS OF ON OR ORDER OUTER OVER PARTITION PRECEDING PROTO QUALIFY ' +
    'RANGE RECURSIVE RESPECT RIGHT ROLLUP ROWS SELECT SET SOME STRUCT TABLESAMPLE THEN TO TREAT ' +
    'TRUE UNBOUNDED UNION UNNEST USING WHEN WHERE WINDOW WITH WITHIN'
  ).split(' '),
);

/** Statement keywords outside the subset, reported by name. */
const OTHER_STATEMENTS = new Set(
  'INSERT MERGE CREATE DROP ALTER TRUNCATE DECLARE SET BEGIN CALL EXPORT LOAD GRANT REVOKE EXECUTE IF WHILE LOOP COMMIT ROLLBACK ASSERT RETURN RAISE'.split(
    ' ',
  ),
);

const JOIN_WORDS = new Set(['JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'NATURAL']);
const CLAUSES_AFTER_WHERE: Record<string, string> = {
  GROUP: 'GROUP BY',
  HAVING: 'HAVING',
  QUALIFY: 'QUALIFY',
  WINDOW: 'WINDOW',
  UNION: 'set operations (UNION)',
  INTERSECT: 'set operations (INTERSECT)',
  EXCEPT: 'set operations (EXCEPT)',
  OFFSET: 'OFFSET',
};
const COMPARE_OPS = new Set(['=', '!=', '<', '<=', '>', '>=']);
const ARITHMETIC = new Set(['+', '-', '*', '/', '||', '%', '&', '|', '^', '[', '.']);
const TYPED_LITERALS = new Set(['DATE', 'TIMESTAMP', 'NUMERIC']);
const UNSUPPORTED_TYPED_LITERALS = new Set([
  'DATETIME',
  'TIME',
  'JSON',
  'BIGNUMERIC',
  'RANGE',
  'INTERVAL',
]);

/**
 * Parses one statement of the supported subset into an AST. Anything outside the subset
 * throws a 400 `invalidQuery` naming the construct, so nothing runs with other semantics.
 */
export function parseSql(sql: string): Statement {
  return new Parser(tokenize(sql)).statement();
}

class Parser {
  private index = 0;

  constructor(private readonly tokens: Token[]) {}

  statement(): Statement {
    const first = this.peek();
    let statement: Statement;
    if (this.isWord('SELECT')) statement = this.select();
    else if (this.isWord('DELETE')) statement = this.delete();
    else if (this.isWord('UPDATE')) statement = this.update();
    else if (this.isWord('WITH')) throw unsupported('WITH (common table expressions)', first);
    else if (this.isSymbol('(')) throw unsupported('parenthesised query', first);
    else if (first.kind === 'word' && OTHER_STATEMENTS.has(first.text.toUpperCase())) {
      throw unsupported(`${first.text.toUpperCase()} statement`, first);
    } else if (first.kind === 'eof') throw invalidQuery('Syntax error: Unexpected end of script');
    else throw this.unexpected('SELECT, UPDATE or DELETE');
    if (this.isSymbol(';')) this.next();
    if (this.peek().kind !== 'eof') {
      const token = this.peek();
      if (this.tokens[this.index - 1]?.text === ';') {
        throw unsupported('multi-statement queries (scripts)', token);
      }
      const clause =
        token.kind === 'word' ? CLAUSES_AFTER_WHERE[token.text.toUpperCase()] : undefined;
      if (clause !== undefined) throw unsupported(clause, token);
      throw this.unexpected('end of input');
    }
    return statement;
  }

  private select(): SelectStatement {
    this.expectWord('SELECT');
    const modifier = this.peek();
    if (this.isWord('DISTINCT')) throw unsupported('SELECT DISTINCT', modifier);
    if (this.isWord('AS')) throw unsupported('SELECT AS STRUCT/VALUE', modifier);
    if (this.isWord('ALL')) this.next();
    let items: SelectItem[] | '*';
    if (this.isSymbol('*')) {
      this.next();
      if (this.isWord('EXCEPT') || this.isWord('REPLACE')) {
        throw unsupported(`SELECT * ${this.peek().text.toUpperCase()}`, this.peek());
      }
      items = '*';
    } else {
      items = [this.selectItem()];
      while (this.isSymbol(',')) {
        this.next();
        items.push(this.selectItem());
      }
    }
    if (!this.isWord('FROM')) {
      if (this.peek().kind === 'eof') throw unsupported('SELECT without FROM', modifier);
      throw this.unexpected('FROM');
    }
    this.next();
    const table = this.tableName();
    this.rejectAfterTable();
    const statement: SelectStatement = { kind: 'select', items, table, orderBy: [] };
    if (this.isWord('WHERE')) {
      this.next();
      statement.where = this.expression();
    }
    this.rejectClause();
    if (this.isWord('ORDER')) {
      this.next();
      this.expectWord('BY');
      statement.orderBy = this.orderItems();
    }
    this.rejectClause();
    if (this.isWord('LIMIT')) {
      this.next();
      const token = this.next();
      if (token.kind === 'number' && /^\d+$/.test(token.text)) {
        statement.limit = { kind: 'literal', value: BigInt(token.text) };
      } else if (token.kind === 'param') {
        statement.limit = { kind: 'param', name: token.text, position: pos(token) };
      } else {
        throw invalidQuery(`LIMIT expects an integer literal or parameter at ${at(token)}`);
      }
    }
    return statement;
  }

  private selectItem(): SelectItem {
    const token = this.peek();
    if (this.isWord('COUNT') && this.peekAt(1).text === '(') {
      this.next();
      this.next();
      if (!this.isSymbol('*'))
        throw unsupported('COUNT(expression); only COUNT(*) is supported', token);
      this.next();
      this.expectSymbol(')');
      if (this.isWord('OVER')) throw unsupported('window functions (OVER)', this.peek());
      return { kind: 'count', position: pos(token), ...this.alias() };
    }
    if (token.kind === 'word' && this.peekAt(1).kind === 'symbol' && this.peekAt(1).text === '(') {
      throw unsupported(`function ${token.text.toUpperCase()}()`, token);
    }
    if (!this.isIdentifier()) throw unsupported('expressions in the SELECT list', token);
    const column = this.column();
    const following = this.peek();
    if (following.kind === 'symbol' && ARITHMETIC.has(following.text)) {
      throw unsupported('expressions in the SELECT list', following);
    }
    return { kind: 'column', column, ...this.alias() };
  }

  private alias(): { alias?: string } {
    if (this.isWord('AS')) {
      this.next();
      return { alias: this.identifier() };
    }
    return this.isIdentifier() && !this.isWord('FROM') ? { alias: this.identifier() } : {};
  }

  private orderItems(): OrderItem[] {
    const items: OrderItem[] = [];
    for (;;) {
      if (!this.isIdentifier()) throw unsupported('ORDER BY an expression', this.peek());
      const column = this.column();
      let descending = false;
      if (this.isWord('ASC') || this.isWord('DESC'))
        descending = this.next().text.toUpperCase() === 'DESC';
      if (this.isWord('NULLS')) throw unsupported('NULLS FIRST/LAST', this.peek());
      items.push({ column, descending });
      if (!this.isSymbol(',')) return items;
      this.next();
    }
  }

  private delete(): Statement {
    this.expectWord('DELETE');
    if (this.isWord('FROM')) this.next();
    const table = this.tableName();
    this.rejectAfterTable();
    if (!this.isWord('WHERE')) {
      throw invalidQuery(`DELETE must have a WHERE clause at ${at(this.peek())}`);
    }
    this.next();
    return { kind: 'delete', table, where: this.expression() };
  }

  private update(): Statement {
    this.expectWord('UPDATE');
    const table = this.tableName();
    this.rejectAfterTable();
    this.expectWord('SET');
    const assignments = [this.assignment()];
    while (this.isSymbol(',')) {
      this.next();
      assignments.push(this.assignment());
    }
    if (this.isWord('FROM')) throw unsupported('UPDATE ... FROM', this.peek());
    if (!this.isWord('WHERE')) {
      throw invalidQuery(`UPDATE must have a WHERE clause at ${at(this.peek())}`);
    }
    this.next();
    return { kind: 'update', table, assignments, where: this.expression() };
  }

  private assignment(): Assignment {
    const column = this.column();
    this.expectSymbol('=');
    const start = this.peek();
    const value = this.operand();
    const after = this.peek();
    if (
      (value.kind !== 'literal' && value.kind !== 'param') ||
      (after.kind === 'symbol' && ARITHMETIC.has(after.text))
    ) {
      throw unsupported('SET to an expression (only NULL, a parameter or a literal)', start);
    }
    return { column, value };
  }

  private tableName(): TableName {
    const start = this.peek();
    if (this.isSymbol('(')) throw unsupported('subqueries in FROM', start);
    if (this.isWord('UNNEST')) throw unsupported('UNNEST in FROM', start);
    const parts: string[] = [];
    for (;;) {
      const token = this.next();
      if (token.kind === 'quoted') parts.push(...token.text.split('.'));
      else if (token.kind === 'word' && !RESERVED.has(token.text.toUpperCase()))
        parts.push(token.text);
      else throw this.unexpected('a table name', token);
      if (!this.isSymbol('.')) break;
      this.next();
    }
    if (this.isSymbol('-'))
      throw invalidQuery(
        `Syntax error: project names with dashes must be quoted with backticks at ${at(start)}`,
      );
    if (parts.some((part) => part.includes('*'))) throw unsupported('wildcard tables', start);
    if (parts.length > 3 || parts.some((part) => part === '')) {
      throw invalidQuery(`Invalid table name: ${parts.join('.')} at ${at(start)}`);
    }
    const [a, b, c] = parts;
    const position = pos(start);
    if (c !== undefined && b !== undefined && a !== undefined)
      return { project: a, dataset: b, table: c, position };
    if (b !== undefined && a !== undefined) return { dataset: a, table: b, position };
    return { table: a ?? '', position };
  }

  private rejectAfterTable(): void {
    const token = this.peek();
    const word = token.kind === 'word' ? token.text.toUpperCase() : '';
    if (this.isSymbol(',') || JOIN_WORDS.has(word)) throw unsupported('JOIN', token);
    if (word === 'FOR') throw unsupported('FOR SYSTEM_TIME AS OF', token);
    if (word === 'TABLESAMPLE') throw unsupported('TABLESAMPLE', token);
    if (word === 'AS' || (this.isIdentifier() && word !== 'SET' && !RESERVED.has(word))) {
      throw unsupported('table aliases', token);
    }
  }

  private rejectClause(): void {
    const token = this.peek();
    const clause =
      token.kind === 'word' ? CLAUSES_AFTER_WHERE[token.text.toUpperCase()] : undefined;
    if (clause !== undefined) throw unsupported(clause, token);
  }

  /** OR < AND < NOT < predicates, as in GoogleSQL. */
  private expression(): Expr {
    return this.chain('OR', () => this.conjunction());
  }

  private conjunction(): Expr {
    return this.chain('AND', () => this.negation());
  }

  /** A left-associative run of `operand (keyword operand)*`. */
  private chain(keyword: 'AND' | 'OR', operand: () => Expr): Expr {
    let left = operand();
    while (this.isWord(keyword)) {
      const token = this.next();
      const kind = keyword === 'AND' ? 'and' : 'or';
      left = { kind, left, right: operand(), position: pos(token) };
    }
    return left;
  }

  private negation(): Expr {
    if (this.isWord('NOT')) {
      const token = this.next();
      return { kind: 'not', operand: this.negation(), position: pos(token) };
    }
    return this.predicate();
  }

  private predicate(): Expr {
    const left = this.operand();
    const token = this.peek();
    const position = pos(token);
    if (token.kind === 'symbol' && COMPARE_OPS.has(token.text)) {
      this.next();
      const right = this.operand();
      this.rejectArithmetic();
      return { kind: 'compare', op: token.text as CompareOp, left, right, position };
    }
    if (this.isWord('IS')) {
      this.next();
      const negated = this.isWord('NOT');
      if (negated) this.next();
      if (!this.isWord('NULL'))
        throw unsupported(
          `IS ${negated ? 'NOT ' : ''}${this.peek().text.toUpperCase()}`,
          this.peek(),
        );
      this.next();
      return { kind: 'isNull', operand: left, negated, position };
    }
    const negated = this.isWord('NOT');
    const keyword = this.peekAt(negated ? 1 : 0);
    const word = keyword.kind === 'word' ? keyword.text.toUpperCase() : '';
    if (word === 'LIKE' || word === 'BETWEEN') throw unsupported(word, keyword);
    if (word === 'IN') {
      if (negated) this.next();
      this.next();
      return this.inPredicate(left, negated, position);
    }
    if (negated) throw this.unexpected('IN, LIKE or BETWEEN after NOT');
    this.rejectArithmetic();
    return left;
  }

  private inPredicate(operand: Expr, negated: boolean, position: Position): Expr {
    const token = this.peek();
    if (this.isWord('UNNEST')) {
      this.next();
      this.expectSymbol('(');
      const inner = this.peek();
      if (inner.kind !== 'param')
        throw unsupported('UNNEST of anything but an array parameter', inner);
      this.next();
      this.expectSymbol(')');
      const param: ParamRef = { kind: 'param', name: inner.text, position: pos(inner) };
      return { kind: 'inUnnest', operand, negated, param, position };
    }
    if (!this.isSymbol('(')) throw this.unexpected('( or UNNEST after IN', token);
    this.next();
    if (this.isWord('SELECT')) throw unsupported('IN (subquery)', this.peek());
    const items = [this.operand()];
    while (this.isSymbol(',')) {
      this.next();
      items.push(this.operand());
    }
    this.expectSymbol(')');
    return { kind: 'in', operand, negated, items, position };
  }

  private rejectArithmetic(): void {
    const token = this.peek();
    if (token.kind === 'symbol' && ARITHMETIC.has(token.text)) {
      throw unsupported(`operator ${token.text}`, token);
    }
  }

  private operand(): Expr {
    const token = this.peek();
    const position = pos(token);
    const upper = token.kind === 'word' ? token.text.toUpperCase() : '';
    if (this.isSymbol('(')) {
      this.next();
      if (this.isWord('SELECT')) throw unsupported('subqueries', this.peek());
      const inner = this.expression();
      this.expectSymbol(')');
      return inner;
    }
    if (token.kind === 'param') {
      this.next();
      return { kind: 'param', name: token.text, position };
    }
    if (token.kind === 'string') {
      this.next();
      return { kind: 'literal', type: 'STRING', text: token.text, position };
    }
    if (token.kind === 'number' || (this.isSymbol('-') && this.peekAt(1).kind === 'number')) {
      const sign = this.isSymbol('-') ? (this.next(), '-') : '';
      const text = sign + this.next().text;
      return { kind: 'literal', type: /^-?\d+$/.test(text) ? 'INT64' : 'FLOAT64', text, position };
    }
    if (upper === 'TRUE' || upper === 'FALSE' || upper === 'NULL') {
      this.next();
      return { kind: 'literal', type: upper === 'NULL' ? 'NULL' : 'BOOL', text: upper, position };
    }
    if (token.kind === 'word' && this.peekAt(1).kind === 'string') {
      if (TYPED_LITERALS.has(upper)) {
        this.next();
        const text = this.next().text;
        return { kind: 'literal', type: upper as 'DATE' | 'TIMESTAMP' | 'NUMERIC', text, position };
      }
      if (UNSUPPORTED_TYPED_LITERALS.has(upper)) throw unsupported(`${upper} literals`, token);
    }
    if (upper === 'CASE' || upper === 'EXISTS' || upper === 'CAST' || upper === 'INTERVAL') {
      throw unsupported(upper, token);
    }
    if (upper === 'ARRAY' || upper === 'STRUCT' || this.isSymbol('['))
      throw unsupported('array and struct literals', token);
    if (token.kind === 'word' && this.peekAt(1).text === '(' && this.peekAt(1).kind === 'symbol') {
      throw unsupported(`function ${upper}()`, token);
    }
    if (this.isIdentifier()) return this.column();
    throw this.unexpected('an expression');
  }

  private column(): ColumnRef {
    const token = this.peek();
    const name = this.identifier();
    if (this.isSymbol('.')) throw unsupported('qualified column names (table.column)', token);
    return { kind: 'column', name, position: pos(token) };
  }

  private identifier(): string {
    const token = this.next();
    if (token.kind === 'quoted' && token.text !== '' && !token.text.includes('.'))
      return token.text;
    if (token.kind === 'word' && !RESERVED.has(token.text.toUpperCase())) return token.text;
    throw this.unexpected('an identifier', token);
  }

  private isIdentifier(): boolean {
    const token = this.peek();
    return (
      token.kind === 'quoted' || (token.kind === 'word' && !RESERVED.has(token.text.toUpperCase()))
    );
  }

  private peek(): Token {
    return this.peekAt(0);
  }

  private peekAt(offset: number): Token {
    const last = this.tokens[this.tokens.length - 1] as Token;
    return this.tokens[this.index + offset] ?? last;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.index++;
    return token;
  }

  private isWord(word: string): boolean {
    const token = this.peek();
    return token.kind === 'word' && token.text.toUpperCase() === word;
  }

  private isSymbol(symbol: string): boolean {
    const token = this.peek();
    return token.kind === 'symbol' && token.text === symbol;
  }

  private expectWord(word: string): void {
    if (!this.isWord(word)) throw this.unexpected(word);
    this.next();
  }

  private expectSymbol(symbol: string): void {
    if (!this.isSymbol(symbol)) throw this.unexpected(`"${symbol}"`);
    this.next();
  }

  private unexpected(expected: string, token: Token = this.peek()): Error {
    const got =
      token.kind === 'eof'
        ? 'end of input'
        : token.kind === 'word' && RESERVED.has(token.text.toUpperCase())
          ? `keyword ${token.text.toUpperCase()}`
          : `"${token.text}"`;
    return invalidQuery(`Syntax error: Expected ${expected} but got ${got} at ${at(token)}`);
  }
}

function pos(token: Token): Position {
  return { line: token.line, column: token.column };
}
