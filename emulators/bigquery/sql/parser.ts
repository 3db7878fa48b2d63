import { invalidQuery } from '../errors';
import type {
  Assignment,
  BinaryOp,
  Expr,
  FromItem,
  LiteralType,
  OrderItem,
  PathExpr,
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

const CLAUSES: Record<string, string> = {
  QUALIFY: 'QUALIFY',
  WINDOW: 'WINDOW',
  UNION: 'set operations (UNION)',
  INTERSECT: 'set operations (INTERSECT)',
  EXCEPT: 'set operations (EXCEPT)',
};
const COMPARE_OPS = new Set(['=', '!=', '<', '<=', '>', '>=']);
const TYPED_LITERALS = new Set(['DATE', 'TIMESTAMP', 'NUMERIC']);
const UNSUPPORTED_TYPED_LITERALS = new Set(['DATETIME', 'TIME', 'JSON', 'BIGNUMERIC', 'RANGE']);
/** Functions callable without parentheses. */
const NILADIC = new Set(['CURRENT_DATE', 'CURRENT_TIMESTAMP']);

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
      this.rejectClause();
      throw this.unexpected('end of input');
    }
    return statement;
  }

  private select(): SelectStatement {
    const start = this.peek();
    this.expectWord('SELECT');
    const statement: SelectStatement = {
      kind: 'select',
      distinct: false,
      asStruct: false,
      items: [],
      from: [],
      groupBy: [],
      orderBy: [],
      position: pos(start),
    };
    if (this.isWord('DISTINCT')) {
      this.next();
      statement.distinct = true;
    } else if (this.isWord('ALL')) this.next();
    if (this.isWord('AS')) {
      const token = this.next();
      if (!this.isWord('STRUCT')) throw unsupported('SELECT AS VALUE', token);
      this.next();
      statement.asStruct = true;
    }
    statement.items = [this.selectItem()];
    while (this.isSymbol(',')) {
      this.next();
      statement.items.push(this.selectItem());
    }
    if (this.isWord('FROM')) {
      this.next();
      statement.from = this.fromClause();
    }
    if (this.isWord('WHERE')) {
      this.next();
      statement.where = this.expression();
    }
    if (this.isWord('GROUP')) {
      this.next();
      this.expectWord('BY');
      if (this.isWord('ROLLUP') || this.isWord('CUBE') || this.isWord('GROUPING')) {
        throw unsupported(`GROUP BY ${this.peek().text.toUpperCase()}`, this.peek());
      }
      statement.groupBy = this.list(() => this.expression());
    }
    if (this.isWord('HAVING')) {
      this.next();
      statement.having = this.expression();
    }
    this.rejectClause();
    if (this.isWord('ORDER')) {
      this.next();
      this.expectWord('BY');
      statement.orderBy = this.list(() => this.orderItem());
    }
    if (this.isWord('LIMIT')) {
      this.next();
      statement.limit = this.expression();
      if (this.isWord('OFFSET')) {
        this.next();
        statement.offset = this.expression();
      }
    }
    return statement;
  }

  private list<T>(item: () => T): T[] {
    const items = [item()];
    while (this.isSymbol(',')) {
      this.next();
      items.push(item());
    }
    return items;
  }

  private selectItem(): SelectItem {
    const token = this.peek();
    const position = pos(token);
    if (this.isSymbol('*')) {
      this.next();
      return { kind: 'star', except: this.starModifiers(), position };
    }
    if (
      this.isIdentifier() &&
      this.peekAt(1).text === '.' &&
      this.peekAt(2).kind === 'symbol' &&
      this.peekAt(2).text === '*'
    ) {
      const qualifier = this.identifier();
      this.next();
      this.next();
      return { kind: 'star', qualifier, except: this.starModifiers(), position };
    }
    const expr = this.expression();
    return { kind: 'expr', expr, position, ...this.alias() };
  }

  private starModifiers(): string[] {
    if (this.isWord('REPLACE')) throw unsupported('SELECT * REPLACE', this.peek());
    if (!this.isWord('EXCEPT')) return [];
    this.next();
    this.expectSymbol('(');
    const names = this.list(() => this.identifier());
    this.expectSymbol(')');
    return names;
  }

  private alias(): { alias?: string } {
    if (this.isWord('AS')) {
      this.next();
      return { alias: this.identifier() };
    }
    return this.isIdentifier() ? { alias: this.identifier() } : {};
  }

  private orderItem(): OrderItem {
    const expr = this.expression();
    let descending = false;
    if (this.isWord('ASC') || this.isWord('DESC'))
      descending = this.next().text.toUpperCase() === 'DESC';
    if (this.isWord('NULLS')) throw unsupported('NULLS FIRST/LAST', this.peek());
    return { expr, descending };
  }

  private fromClause(): FromItem[] {
    const aliases: string[] = [];
    const items = [this.fromItem(aliases, false)];
    for (;;) {
      const token = this.peek();
      const word = token.kind === 'word' ? token.text.toUpperCase() : '';
      let outer = false;
      if (this.isSymbol(',')) this.next();
      else if (word === 'CROSS' || word === 'INNER' || word === 'JOIN') {
        if (word !== 'JOIN') this.next();
        this.expectWord('JOIN');
      } else if (word === 'LEFT') {
        this.next();
        if (this.isWord('OUTER')) this.next();
        this.expectWord('JOIN');
        outer = true;
      } else if (word === 'RIGHT' || word === 'FULL' || word === 'NATURAL') {
        throw unsupported(`${word} JOIN`, token);
      } else break;
      const item = this.fromItem(aliases, outer);
      if (this.isWord('ON')) {
        const on = this.next();
        if (!this.isWord('TRUE')) throw unsupported('JOIN ... ON a condition', on);
        this.next();
      } else if (this.isWord('USING')) throw unsupported('JOIN ... USING', this.peek());
      items.push(item);
    }
    if (this.isWord('FOR')) throw unsupported('FOR SYSTEM_TIME AS OF', this.peek());
    if (this.isWord('TABLESAMPLE')) throw unsupported('TABLESAMPLE', this.peek());
    return items;
  }

  private fromItem(aliases: string[], outer: boolean): FromItem {
    const start = this.peek();
    const position = pos(start);
    if (this.isSymbol('(')) throw unsupported('subqueries in FROM', start);
    if (this.isWord('UNNEST')) {
      this.next();
      this.expectSymbol('(');
      const array = this.expression();
      this.expectSymbol(')');
      const alias = this.alias();
      const offsetAlias = this.withOffset();
      if (alias.alias !== undefined) aliases.push(alias.alias.toLowerCase());
      return { kind: 'unnest', array, outer, position, ...alias, ...offsetAlias };
    }
    const first = start.kind === 'word' || start.kind === 'quoted' ? start.text.split('.')[0] : '';
    if (first !== undefined && aliases.includes(first.toLowerCase())) {
      // A correlated path (`FROM t, t.emails AS e`) is an implicit UNNEST.
      const array = this.path();
      const alias = this.alias();
      const offsetAlias = this.withOffset();
      if (alias.alias !== undefined) aliases.push(alias.alias.toLowerCase());
      return { kind: 'unnest', array, outer, position, ...alias, ...offsetAlias };
    }
    const name = this.tableName();
    const alias = this.isWord('FOR') || this.isWord('TABLESAMPLE') ? {} : this.alias();
    aliases.push((alias.alias ?? name.table).toLowerCase());
    return { kind: 'table', name, position, ...alias };
  }

  private withOffset(): { offsetAlias?: string } {
    if (!this.isWord('WITH')) return {};
    this.next();
    this.expectWord('OFFSET');
    const alias = this.alias();
    return { offsetAlias: alias.alias ?? 'offset' };
  }

  private delete(): Statement {
    this.expectWord('DELETE');
    if (this.isWord('FROM')) this.next();
    const table = this.tableName();
    const alias = this.alias();
    if (!this.isWord('WHERE')) {
      throw invalidQuery(`DELETE must have a WHERE clause at ${at(this.peek())}`);
    }
    this.next();
    return { kind: 'delete', table, where: this.expression(), ...alias };
  }

  private update(): Statement {
    this.expectWord('UPDATE');
    const table = this.tableName();
    const alias = this.isWord('SET') ? {} : this.alias();
    this.expectWord('SET');
    const assignments = this.list(() => this.assignment());
    if (this.isWord('FROM')) throw unsupported('UPDATE ... FROM', this.peek());
    if (!this.isWord('WHERE')) {
      throw invalidQuery(`UPDATE must have a WHERE clause at ${at(this.peek())}`);
    }
    this.next();
    return { kind: 'update', table, assignments, where: this.expression(), ...alias };
  }

  private assignment(): Assignment {
    const target = this.path();
    this.expectSymbol('=');
    return { target, value: this.expression() };
  }

  private tableName(): TableName {
    const start = this.peek();
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
    const last = parts[parts.length - 1] ?? '';
    if (parts.slice(0, -1).some((part) => part.includes('*')) || /\*./.test(last)) {
      throw invalidQuery(`Invalid table name: ${parts.join('.')} at ${at(start)}`);
    }
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

  private rejectClause(): void {
    const token = this.peek();
    const clause = token.kind === 'word' ? CLAUSES[token.text.toUpperCase()] : undefined;
    if (clause !== undefined) throw unsupported(clause, token);
  }

  /** OR < AND < NOT < comparisons < + - < * / || < unary < postfix. */
  expression(): Expr {
    let left = this.conjunction();
    while (this.isWord('OR')) {
      const token = this.next();
      left = { kind: 'binary', op: 'OR', left, right: this.conjunction(), position: pos(token) };
    }
    return left;
  }

  private conjunction(): Expr {
    let left = this.negation();
    while (this.isWord('AND')) {
      const token = this.next();
      left = { kind: 'binary', op: 'AND', left, right: this.negation(), position: pos(token) };
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
    const left = this.additive();
    const token = this.peek();
    const position = pos(token);
    if (token.kind === 'symbol' && COMPARE_OPS.has(token.text)) {
      this.next();
      const right = this.additive();
      return { kind: 'binary', op: token.text as BinaryOp, left, right, position };
    }
    if (this.isWord('IS')) {
      this.next();
      const negated = this.isWord('NOT');
      if (negated) this.next();
      if (this.isWord('NULL')) {
        this.next();
        return { kind: 'isNull', operand: left, negated, position };
      }
      if (this.isWord('TRUE') || this.isWord('FALSE')) {
        const value = this.next().text.toUpperCase() === 'TRUE';
        return { kind: 'isBool', operand: left, value, negated, position };
      }
      throw unsupported(
        `IS ${negated ? 'NOT ' : ''}${this.peek().text.toUpperCase()}`,
        this.peek(),
      );
    }
    const negated = this.isWord('NOT');
    const keyword = this.peekAt(negated ? 1 : 0);
    const word = keyword.kind === 'word' ? keyword.text.toUpperCase() : '';
    if (word === 'IN' || word === 'LIKE' || word === 'BETWEEN') {
      if (negated) this.next();
      this.next();
      if (word === 'IN') return this.inPredicate(left, negated, position);
      if (word === 'LIKE') {
        return { kind: 'like', operand: left, negated, pattern: this.additive(), position };
      }
      const low = this.additive();
      this.expectWord('AND');
      return { kind: 'between', operand: left, negated, low, high: this.additive(), position };
    }
    if (negated) throw this.unexpected('IN, LIKE or BETWEEN after NOT');
    return left;
  }

  private inPredicate(operand: Expr, negated: boolean, position: Position): Expr {
    const token = this.peek();
    if (this.isWord('UNNEST')) {
      this.next();
      this.expectSymbol('(');
      const array = this.expression();
      this.expectSymbol(')');
      return { kind: 'inUnnest', operand, negated, array, position };
    }
    if (!this.isSymbol('(')) throw this.unexpected('( or UNNEST after IN', token);
    this.next();
    if (this.isWord('SELECT')) throw unsupported('IN (subquery)', this.peek());
    const items = this.list(() => this.expression());
    this.expectSymbol(')');
    return { kind: 'in', operand, negated, items, position };
  }

  private additive(): Expr {
    let left = this.multiplicative();
    while (this.isSymbol('+') || this.isSymbol('-')) {
      const token = this.next();
      const right = this.multiplicative();
      left = { kind: 'binary', op: token.text as BinaryOp, left, right, position: pos(token) };
    }
    return left;
  }

  private multiplicative(): Expr {
    let left = this.unary();
    while (this.isSymbol('*') || this.isSymbol('/') || this.isSymbol('||')) {
      const token = this.next();
      const right = this.unary();
      left = { kind: 'binary', op: token.text as BinaryOp, left, right, position: pos(token) };
    }
    const token = this.peek();
    if (token.kind === 'symbol' && ['%', '&', '|', '^', '<<', '>>', '~'].includes(token.text)) {
      throw unsupported(`operator ${token.text}`, token);
    }
    return left;
  }

  private unary(): Expr {
    if (this.isSymbol('-')) {
      const token = this.next();
      const operand = this.unary();
      if (operand.kind === 'literal' && (operand.type === 'INT64' || operand.type === 'FLOAT64')) {
        return { ...operand, text: `-${operand.text}`, position: pos(token) };
      }
      return { kind: 'negate', operand, position: pos(token) };
    }
    if (this.isSymbol('+')) this.next();
    return this.postfix();
  }

  private postfix(): Expr {
    let expr = this.primary();
    for (;;) {
      if (this.isSymbol('.')) {
        this.next();
        const token = this.peek();
        const name = this.identifier();
        expr =
          expr.kind === 'path'
            ? { ...expr, parts: [...expr.parts, name] }
            : { kind: 'field', operand: expr, name, position: pos(token) };
        continue;
      }
      if (this.isSymbol('[')) throw unsupported('array subscripts ([OFFSET(n)])', this.peek());
      return expr;
    }
  }

  private primary(): Expr {
    const token = this.peek();
    const position = pos(token);
    const upper = token.kind === 'word' ? token.text.toUpperCase() : '';
    const following = this.peekAt(1);
    const call = following.kind === 'symbol' && following.text === '(';
    if (this.isSymbol('(')) {
      this.next();
      if (this.isWord('SELECT')) {
        const query = this.select();
        this.expectSymbol(')');
        return { kind: 'subquery', query, position };
      }
      const inner = this.expression();
      if (this.isSymbol(',')) throw unsupported('STRUCT constructors ( , )', this.peek());
      this.expectSymbol(')');
      return inner;
    }
    if (token.kind === 'param') {
      this.next();
      return { kind: 'param', name: token.text, position };
    }
    if (token.kind === 'string' || token.kind === 'bytes') {
      this.next();
      return {
        kind: 'literal',
        type: token.kind === 'string' ? 'STRING' : 'BYTES',
        text: token.text,
        position,
      };
    }
    if (token.kind === 'number') {
      this.next();
      const type: LiteralType = /^\d+$/.test(token.text) ? 'INT64' : 'FLOAT64';
      return { kind: 'literal', type, text: token.text, position };
    }
    if (upper === 'TRUE' || upper === 'FALSE' || upper === 'NULL') {
      this.next();
      return { kind: 'literal', type: upper === 'NULL' ? 'NULL' : 'BOOL', text: upper, position };
    }
    if (token.kind === 'word' && following.kind === 'string') {
      if (TYPED_LITERALS.has(upper)) {
        this.next();
        const text = this.next().text;
        return { kind: 'literal', type: upper as LiteralType, text, position };
      }
      if (UNSUPPORTED_TYPED_LITERALS.has(upper)) throw unsupported(`${upper} literals`, token);
    }
    if (upper === 'EXISTS' && call) {
      this.next();
      this.next();
      const query = this.select();
      this.expectSymbol(')');
      return { kind: 'exists', query, position };
    }
    if (upper === 'ARRAY' && call) {
      this.next();
      this.next();
      if (!this.isWord('SELECT')) throw this.unexpected('SELECT');
      const query = this.select();
      this.expectSymbol(')');
      return { kind: 'arraySubquery', query, position };
    }
    if (this.isSymbol('[') || (upper === 'ARRAY' && following.text === '[')) {
      if (upper === 'ARRAY') this.next();
      this.next();
      const items = this.isSymbol(']') ? [] : this.list(() => this.expression());
      this.expectSymbol(']');
      return { kind: 'arrayLiteral', items, position };
    }
    if (upper === 'ARRAY' || upper === 'STRUCT') throw unsupported(`${upper} constructors`, token);
    if ((upper === 'CAST' || upper === 'SAFE_CAST') && call) {
      this.next();
      this.next();
      const operand = this.expression();
      this.expectWord('AS');
      const type = this.typeName();
      this.expectSymbol(')');
      return { kind: 'cast', operand, type, safe: upper === 'SAFE_CAST', position };
    }
    if (upper === 'CASE') return this.caseExpr();
    if (upper === 'INTERVAL') {
      this.next();
      const value = this.additive();
      const unit = this.next();
      if (unit.kind !== 'word') throw this.unexpected('a date part', unit);
      return { kind: 'interval', value, unit: unit.text.toUpperCase(), position };
    }
    if (upper === 'EXTRACT') throw unsupported('EXTRACT', token);
    if (token.kind === 'word' && call) return this.call();
    if (token.kind === 'word' && NILADIC.has(upper)) {
      this.next();
      return { kind: 'call', name: upper, args: [], distinct: false, star: false, position };
    }
    if (this.isIdentifier()) return this.path();
    throw this.unexpected('an expression');
  }

  private caseExpr(): Expr {
    const position = pos(this.next());
    const operand = this.isWord('WHEN') ? undefined : this.expression();
    const whens: Array<{ when: Expr; then: Expr }> = [];
    while (this.isWord('WHEN')) {
      this.next();
      const when = this.expression();
      this.expectWord('THEN');
      whens.push({ when, then: this.expression() });
    }
    if (whens.length === 0) throw this.unexpected('WHEN');
    let otherwise: Expr | undefined;
    if (this.isWord('ELSE')) {
      this.next();
      otherwise = this.expression();
    }
    this.expectWord('END');
    return {
      kind: 'case',
      whens,
      position,
      ...(operand === undefined ? {} : { operand }),
      ...(otherwise === undefined ? {} : { else: otherwise }),
    };
  }

  private call(): Expr {
    const token = this.next();
    const position = pos(token);
    const name = token.text.toUpperCase();
    this.expectSymbol('(');
    if (this.isSymbol('*')) {
      this.next();
      this.expectSymbol(')');
      this.rejectOver();
      return { kind: 'call', name, args: [], distinct: false, star: true, position };
    }
    let distinct = false;
    if (this.isWord('DISTINCT')) {
      this.next();
      distinct = true;
    }
    const args = this.isSymbol(')') ? [] : this.list(() => this.expression());
    if (
      this.isWord('IGNORE') ||
      this.isWord('RESPECT') ||
      this.isWord('ORDER') ||
      this.isWord('LIMIT')
    ) {
      throw unsupported(`${this.peek().text.toUpperCase()} in an aggregate`, this.peek());
    }
    this.expectSymbol(')');
    this.rejectOver();
    return { kind: 'call', name, args, distinct, star: false, position };
  }

  private rejectOver(): void {
    if (this.isWord('OVER')) throw unsupported('window functions (OVER)', this.peek());
  }

  private typeName(): string {
    const token = this.next();
    if (token.kind !== 'word') throw this.unexpected('a type name', token);
    const name = token.text.toUpperCase();
    if (this.isSymbol('<') || this.isSymbol('(')) throw unsupported(`CAST to ${name}<...>`, token);
    return name;
  }

  private path(): PathExpr {
    const token = this.peek();
    const parts = this.identifierParts();
    while (this.isSymbol('.') && this.peekAt(1).kind !== 'symbol') {
      this.next();
      parts.push(...this.identifierParts());
    }
    return { kind: 'path', parts, position: pos(token) };
  }

  private identifierParts(): string[] {
    const token = this.next();
    if (token.kind === 'quoted' && token.text !== '') return token.text.split('.');
    if (token.kind === 'word' && !RESERVED.has(token.text.toUpperCase())) return [token.text];
    throw this.unexpected('an identifier', token);
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
