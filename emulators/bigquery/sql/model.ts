import type { QueryParam } from '../params';
import type { Field } from '../schema';
import type { SqlType, Value } from '../types';
import type { TableRecord, Warehouse } from '../warehouse';

/** The shapes compiled statements are made of: scopes, slots, sources and compiled expressions. */

export interface CompileContext {
  /** The job's project: tables written `dataset.table` live there. */
  projectId: string;
  /** `configuration.query.defaultDataset`, for tables written without a dataset. */
  defaultDataset?: { projectId?: string; datasetId: string };
  location: string;
  warehouse: Warehouse;
  params: ReadonlyMap<string, QueryParam>;
  /** The job's time (epoch µs): CURRENT_TIMESTAMP and CURRENT_DATE. */
  now: bigint;
}

/** The values in scope while a row is evaluated: one slot per FROM item, outer queries first. */
export type Env = unknown[];

export interface Compiled {
  /** null: the NULL literal, which takes any type. */
  type: SqlType | null;
  eval(env: Env): Value;
}

/** One table (or wildcard set of tables) a statement reads, and what it reads of it. */
export interface Source {
  slot: number;
  /** As written, for messages: `p.d.t` or `p.d.events_*`. */
  name: string;
  wildcard: boolean;
  tables: SourceTable[];
  /** The schema names resolve against (for a wildcard, the newest table's). */
  fields: Field[];
  /** Column paths read, keyed lower-case: billing sums exactly these. */
  refs: Map<string, string[]>;
  /** `_TABLE_SUFFIX` of the table being scanned. */
  suffix: { value: string };
  /** WHERE conjuncts that only read `_TABLE_SUFFIX`: they choose the tables scanned. */
  suffixFilters: Compiled[];
  /** WHERE conjuncts over the partitioning column: they choose the partitions scanned. */
  partitionFilters: PartitionFilter[];
}

export interface SourceTable {
  table: TableRecord;
  suffix: string;
  /** For a wildcard: the index in this table of each field of the source's schema. */
  map?: number[];
}

/** A conjunct that can eliminate partitions, and how to test it against one. */
export interface PartitionFilter {
  /** False when no row of the partition `[lo, hi)` (or NULL partition) can pass. */
  mayMatch(table: TableRecord, partition: string): boolean;
}

export type Slot =
  | { kind: 'table'; index: number; alias: string; source: Source }
  | {
      kind: 'value';
      index: number;
      alias: string | undefined;
      type: SqlType;
      origin?: { source: Source; path: string[] };
      used: boolean;
    };

export class Scope {
  readonly slots: Slot[] = [];
  constructor(readonly parent: Scope | undefined) {}
  get size(): number {
    return (this.parent?.size ?? 0) + this.slots.length;
  }
}

/** What a compiled expression read: for deciding what can prune partitions or tables. */
export type Ref = { slot: number; column: string } | { slot: -1; column: '' };

export interface GroupContext {
  keys: Set<string>;
  aggregates: AggregateSpec[];
  slot: number;
}

export interface AggregateSpec {
  name: string;
  distinct: boolean;
  arg?: Compiled;
  type: SqlType;
}

export interface CompiledSelect {
  fields: Field[];
  types: SqlType[];
  sources: Source[];
  run(outer: Env, limit?: number): Value[][];
  /** What `run` runs: for callers that can do better than running it (EXISTS over UNNEST). */
  plan: SelectPlan;
}

export type Step =
  | { kind: 'table'; source: Source }
  | {
      kind: 'unnest';
      array: Compiled;
      slot: number;
      offsetSlot: number | undefined;
      outer: boolean;
    };

/** The tables and partitions of a source that its filters leave to scan. */
/** A compiled SELECT, ready to run against an outer row (for correlated subqueries). */
export interface SelectPlan {
  steps: Step[];
  where: Compiled | undefined;
  columns: Compiled[];
  orderBy: Array<{
    column: number | undefined;
    compiled: Compiled | undefined;
    descending: boolean;
  }>;
  /** Set for an aggregate query: its groups' keys, aggregates and HAVING. */
  group: GroupContext | undefined;
  groupBy: Compiled[];
  /** With no GROUP BY, an aggregate query over no rows still gives one row. */
  grouped: boolean;
  having: Compiled | undefined;
  distinct: boolean;
  limit: number | undefined;
  offset: number | undefined;
  asStruct: boolean;
}
