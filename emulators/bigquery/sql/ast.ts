/** The AST of the SQL subset the emulator runs. Positions feed BigQuery-style error text. */

export interface Position {
  line: number;
  column: number;
}

/** A table as written: project and dataset are filled in later from the job's defaults. */
export interface TableName {
  project?: string;
  dataset?: string;
  table: string;
  position: Position;
}

export type LiteralType =
  'STRING' | 'INT64' | 'FLOAT64' | 'BOOL' | 'NULL' | 'DATE' | 'TIMESTAMP' | 'NUMERIC';

export type Expr =
  | { kind: 'column'; name: string; position: Position }
  | { kind: 'param'; name: string; position: Position }
  | { kind: 'literal'; type: LiteralType; text: string; position: Position }
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr; position: Position }
  | { kind: 'in'; operand: Expr; negated: boolean; items: Expr[]; position: Position }
  | { kind: 'inUnnest'; operand: Expr; negated: boolean; param: ParamRef; position: Position }
  | { kind: 'isNull'; operand: Expr; negated: boolean; position: Position }
  | { kind: 'and' | 'or'; left: Expr; right: Expr; position: Position }
  | { kind: 'not'; operand: Expr; position: Position };

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type ParamRef = Extract<Expr, { kind: 'param' }>;
export type ColumnRef = Extract<Expr, { kind: 'column' }>;

export type SelectItem =
  | { kind: 'column'; column: ColumnRef; alias?: string }
  | { kind: 'count'; alias?: string; position: Position };

export interface OrderItem {
  column: ColumnRef;
  descending: boolean;
}

export interface SelectStatement {
  kind: 'select';
  /** `'*'` for SELECT *. */
  items: SelectItem[] | '*';
  table: TableName;
  where?: Expr;
  orderBy: OrderItem[];
  limit?: { kind: 'literal'; value: bigint } | ParamRef;
}

export interface DeleteStatement {
  kind: 'delete';
  table: TableName;
  where: Expr;
}

export interface Assignment {
  column: ColumnRef;
  /** NULL, a literal or a parameter: nothing computed from the row. */
  value: Extract<Expr, { kind: 'literal' | 'param' }>;
}

export interface UpdateStatement {
  kind: 'update';
  table: TableName;
  assignments: Assignment[];
  where: Expr;
}

export type Statement = SelectStatement | DeleteStatement | UpdateStatement;
