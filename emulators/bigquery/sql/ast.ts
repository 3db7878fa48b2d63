/** The AST of the GoogleSQL subset the emulator runs. Positions feed BigQuery-style error text. */

export interface Position {
  line: number;
  column: number;
}

/** A table as written: project and dataset are filled in later from the job's defaults. */
export interface TableName {
  project?: string;
  dataset?: string;
  /** May end in `*` (a wildcard table). */
  table: string;
  position: Position;
}

export type LiteralType =
  'STRING' | 'BYTES' | 'INT64' | 'FLOAT64' | 'BOOL' | 'NULL' | 'DATE' | 'TIMESTAMP' | 'NUMERIC';

export type BinaryOp =
  '=' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '||' | 'AND' | 'OR';

export type Expr =
  | { kind: 'literal'; type: LiteralType; text: string; position: Position }
  | { kind: 'param'; name: string; position: Position }
  /** `a`, `a.b.c`: a column, alias, or field path; resolved against the scope. */
  | { kind: 'path'; parts: string[]; position: Position }
  /** `(expr).name` on anything that is not a plain path. */
  | { kind: 'field'; operand: Expr; name: string; position: Position }
  | {
      kind: 'call';
      name: string;
      args: Expr[];
      distinct: boolean;
      /** COUNT(*) */
      star: boolean;
      position: Position;
    }
  | { kind: 'cast'; operand: Expr; type: string; safe: boolean; position: Position }
  | { kind: 'interval'; value: Expr; unit: string; position: Position }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; position: Position }
  | { kind: 'not'; operand: Expr; position: Position }
  | { kind: 'negate'; operand: Expr; position: Position }
  | { kind: 'isNull'; operand: Expr; negated: boolean; position: Position }
  | { kind: 'isBool'; operand: Expr; value: boolean; negated: boolean; position: Position }
  | { kind: 'in'; operand: Expr; negated: boolean; items: Expr[]; position: Position }
  | { kind: 'inUnnest'; operand: Expr; negated: boolean; array: Expr; position: Position }
  | { kind: 'between'; operand: Expr; negated: boolean; low: Expr; high: Expr; position: Position }
  | { kind: 'like'; operand: Expr; negated: boolean; pattern: Expr; position: Position }
  | { kind: 'exists'; query: SelectStatement; position: Position }
  | { kind: 'subquery'; query: SelectStatement; position: Position }
  | { kind: 'arraySubquery'; query: SelectStatement; position: Position }
  | { kind: 'arrayLiteral'; items: Expr[]; position: Position }
  | {
      kind: 'case';
      operand?: Expr;
      whens: Array<{ when: Expr; then: Expr }>;
      else?: Expr;
      position: Position;
    };

export type PathExpr = Extract<Expr, { kind: 'path' }>;

export type FromItem =
  | { kind: 'table'; name: TableName; alias?: string; position: Position }
  | {
      kind: 'unnest';
      array: Expr;
      alias?: string;
      offsetAlias?: string;
      /** LEFT JOIN UNNEST: keeps the outer row with NULL when the array is empty. */
      outer: boolean;
      position: Position;
    };

export type SelectItem =
  | { kind: 'star'; qualifier?: string; except: string[]; position: Position }
  | { kind: 'expr'; expr: Expr; alias?: string; position: Position };

export interface OrderItem {
  expr: Expr;
  descending: boolean;
}

export interface SelectStatement {
  kind: 'select';
  distinct: boolean;
  /** SELECT AS STRUCT: one STRUCT column. */
  asStruct: boolean;
  items: SelectItem[];
  from: FromItem[];
  where?: Expr;
  groupBy: Expr[];
  having?: Expr;
  orderBy: OrderItem[];
  limit?: Expr;
  offset?: Expr;
  position: Position;
}

export interface DeleteStatement {
  kind: 'delete';
  table: TableName;
  alias?: string;
  where: Expr;
}

export interface Assignment {
  target: PathExpr;
  value: Expr;
}

export interface UpdateStatement {
  kind: 'update';
  table: TableName;
  alias?: string;
  assignments: Assignment[];
  where: Expr;
}

export type Statement = SelectStatement | DeleteStatement | UpdateStatement;
