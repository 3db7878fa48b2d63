import { z } from 'zod';
import { MAX_BATCH_SUBJECTS, MAX_BATCH_WAIT_SECONDS } from '../../domain/batch';
import { MIN_BILLED_BYTES_PER_TABLE } from '../../domain/cost';
import { readStatement } from './statement-text';

/** `project.dataset.table`, with a project id as Google Cloud allows it (6-30 characters). */
export const QUALIFIED_TABLE = /^[a-z][a-z0-9-]{4,28}[a-z0-9]\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/;
/** `dataset.table`, in the executors' default project. */
export const PROJECTLESS_TABLE = /^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/;
/** Either, ending in `*`: every table whose id starts with the prefix (date-sharded tables). */
const WILDCARD_TABLE = /^(?:[a-z][a-z0-9-]{4,28}[a-z0-9]\.)?[A-Za-z0-9_]+\.[A-Za-z0-9_]+\*$/;
/** A BigQuery column name: letters, digits and underscores, not starting with a digit. */
export const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,299}$/;
/** A column or a dotted path into STRUCT columns (`user.email`), at most 15 levels deep. */
export const COLUMN_PATH = /^[A-Za-z_][A-Za-z0-9_]{0,299}(?:\.[A-Za-z_][A-Za-z0-9_]{0,299}){0,14}$/;
/** The name of a subject identifier, as in the request's `subject`. */
export const IDENTIFIER_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export const DEFAULT_MAX_ROWS = 10_000;

const table = z
  .string()
  .refine((t) => QUALIFIED_TABLE.test(t) || PROJECTLESS_TABLE.test(t) || WILDCARD_TABLE.test(t), {
    message:
      'a table as project.dataset.table or dataset.table (letters, digits, _; project ids also -), or a prefix ending in * for date-sharded tables (dataset.events_*)',
  });

const column = z
  .string()
  .regex(COLUMN_NAME, 'a column name: letters, digits and _, not starting with a digit');

const columnPath = z
  .string()
  .regex(COLUMN_PATH, 'a column or a dotted STRUCT path (user.email): letters, digits and _');

/** Column paths, distinct (names are case-insensitive in BigQuery). */
const columnPaths = z
  .array(columnPath)
  .min(1, 'name at least one column')
  .max(300)
  .refine((cols) => new Set(cols.map((c) => c.toLowerCase())).size === cols.length, {
    message: 'columns must be distinct',
  });

const identifier = z
  .string()
  .regex(IDENTIFIER_NAME, 'the name of a subject identifier, e.g. email or userId');

const maxBytesBilled = z
  .number()
  .int()
  .min(
    MIN_BILLED_BYTES_PER_TABLE,
    `at least ${MIN_BILLED_BYTES_PER_TABLE} (10 MiB): BigQuery bills at least 10 MiB per table, so a lower cap fails every run`,
  )
  .max(Number.MAX_SAFE_INTEGER);

export const NORMALISATIONS = ['none', 'trim', 'lower', 'email'] as const;
export type Normalisation = (typeof NORMALISATIONS)[number];
export const HASHES = ['sha256_hex', 'sha256_base64'] as const;
export type HashKind = (typeof HASHES)[number];

/**
 * How a task finds the subject's rows: a column or STRUCT path compared with one of the
 * subject's identifiers, normalised the same way on both sides, or hashed in the app.
 */
export const matchSchema = z
  .object({
    path: columnPath,
    /** `scalar`: path = value; `array`: value IN UNNEST(path); `keyValue`: an ARRAY of STRUCTs. */
    kind: z.enum(['scalar', 'array', 'keyValue']).default('scalar'),
    /** keyValue: the key whose value is the identifier (GA4 `user_properties`: e.g. `email`). */
    key: z.string().min(1).max(300).optional(),
    /** keyValue: the STRUCT field holding the key. Default `key`. */
    keyField: column.optional(),
    /** keyValue: the (dotted) field holding the value. Default `value.string_value`. */
    valueField: columnPath.optional(),
    normalise: z.enum(NORMALISATIONS).default('none'),
    hash: z.enum(HASHES).optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.kind === 'keyValue' && rule.key === undefined) {
      ctx.addIssue({ code: 'custom', path: ['key'], message: 'a keyValue match names its key' });
    }
    if (rule.kind !== 'keyValue') {
      for (const field of ['key', 'keyField', 'valueField'] as const) {
        if (rule[field] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: `only a keyValue match has ${field}`,
          });
        }
      }
    }
  });
export type MatchConfig = z.infer<typeof matchSchema>;

/** `YYYY-MM-DD`, a real day. */
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
  .refine(
    (d) =>
      !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) &&
      new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    'not a real date',
  );

const shards = z
  .object({ from: day.optional(), to: day.optional() })
  .strict()
  .refine((s) => s.from === undefined || s.to === undefined || s.from <= s.to, {
    message: 'from must not be after to',
  });

/**
 * Batching (docs/jobs.md, "Batches"): the subjects of many requests changed by one statement
 * per table. On by default (1,000 subjects or 15 minutes); `false` runs one statement per request.
 */
export const batchSchema = z.union([
  z.literal(false),
  z
    .object({
      maxSubjects: z
        .number()
        .int()
        .min(1, 'at least 1 subject')
        .max(MAX_BATCH_SUBJECTS, `at most ${MAX_BATCH_SUBJECTS} subjects in one batch`)
        .default(1000),
      maxWaitSeconds: z
        .number()
        .int()
        .min(0, 'at least 0 seconds')
        .max(MAX_BATCH_WAIT_SECONDS, `at most ${MAX_BATCH_WAIT_SECONDS} seconds (a day)`)
        .default(900),
    })
    .strict(),
]);
export type BatchConfig = z.infer<typeof batchSchema>;

/** An executor that cannot batch refuses `batch` by name, rather than as an unknown key. */
function cannotBatch(executor: string, why: string) {
  return z
    .unknown()
    .optional()
    .superRefine((value, ctx) => {
      if (value !== undefined)
        ctx.addIssue({ code: 'custom', message: `${executor} cannot batch: ${why}` });
    });
}

/** What the delete, nullify and export configs share: where, whose, and what it may cost. */
const common = {
  table,
  identifier,
  maxBytesBilled: maxBytesBilled.optional(),
  /** For date-sharded tables (`table` ending in `*`): the days whose shards are read or changed. */
  shards: shards.optional(),
  /**
   * For partitioned tables: only partitions from this many days back are read or changed.
   * Required where the table has require_partition_filter (use its retention period).
   */
  partitionLookbackDays: z.number().int().min(1).max(36_600).optional(),
};

/** Exactly one of `match` and the older `<legacy>` (a flat column, read as a scalar match). */
function oneMatch<T extends { match?: MatchConfig | undefined }>(legacy: keyof T & string) {
  return (config: T, ctx: z.RefinementCtx): void => {
    const given = config.match !== undefined;
    const old = config[legacy] !== undefined;
    if (given === old) {
      ctx.addIssue({
        code: 'custom',
        path: ['match'],
        message: given
          ? `give match or ${legacy}, not both`
          : `name how the subject's rows are found: match { path, kind, normalise, hash } (or the older ${legacy})`,
      });
    }
  };
}

function shardsNeedWildcard(
  config: { table: string; shards?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (config.shards !== undefined && !config.table.endsWith('*')) {
    ctx.addIssue({
      code: 'custom',
      path: ['shards'],
      message: 'shards bound a date-sharded table (a table ending in *)',
    });
  }
}

export const deleteConfigSchema = z
  .object({
    ...common,
    match: matchSchema.optional(),
    column: column.optional(),
    batch: batchSchema.optional(),
  })
  .strict()
  .superRefine(oneMatch('column'))
  .superRefine(shardsNeedWildcard);
export type DeleteConfig = z.infer<typeof deleteConfigSchema>;

export const nullifyConfigSchema = z
  .object({
    ...common,
    columns: columnPaths,
    match: matchSchema.optional(),
    whereColumn: column.optional(),
    batch: batchSchema.optional(),
  })
  .strict()
  .superRefine(oneMatch('whereColumn'))
  .superRefine(shardsNeedWildcard);
export type NullifyConfig = z.infer<typeof nullifyConfigSchema>;

export const exportConfigSchema = z
  .object({
    ...common,
    match: matchSchema.optional(),
    column: column.optional(),
    selectColumns: columnPaths.optional(),
    maxRows: z.number().int().min(1).max(100_000).default(DEFAULT_MAX_ROWS),
    /** Off unless given: a records package is awaited by a person. */
    batch: batchSchema.optional(),
  })
  .strict()
  .superRefine(oneMatch('column'))
  .superRefine(shardsNeedWildcard);
export type ExportConfig = z.infer<typeof exportConfigSchema>;

/** The statements that change data, which a deletion task may run. */
export const DML_KINDS: ReadonlySet<string> = new Set(['DELETE', 'UPDATE', 'MERGE']);

/** A hand-written statement over named parameters from the subject (`@email`, `@userId`). */
export const statementConfigSchema = z
  .object({
    sql: z
      .string()
      .min(1)
      .max(64 * 1024),
    /** A SELECT returning one INT64: the subject's rows left after a DML statement ran. */
    verifySql: z
      .string()
      .min(1)
      .max(64 * 1024)
      .optional(),
    maxBytesBilled: maxBytesBilled.optional(),
    maxRows: z.number().int().min(1).max(100_000).default(DEFAULT_MAX_ROWS),
    batch: cannotBatch(
      'bigquery.statement',
      'a hand-written statement names one subject (@email); use bigquery.delete or bigquery.nullify to batch',
    ),
  })
  .strict()
  .superRefine((config, ctx) => {
    for (const [key, sql, allowed] of [
      ['sql', config.sql, ['SELECT', ...DML_KINDS]],
      ['verifySql', config.verifySql, ['SELECT']],
    ] as const) {
      if (sql === undefined) continue;
      const text = readStatement(sql);
      const issue = (message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
      if (text.script) issue('one statement only (no scripts)');
      if (!(allowed as readonly string[]).includes(text.kind)) {
        issue(
          `must be ${allowed.join(', ').replace(/, (\w+)$/, ' or $1')}; got ${text.kind || 'nothing'}`,
        );
      }
      for (const name of text.params) {
        if (!IDENTIFIER_NAME.test(name)) issue(`@${name} is not the name of a subject identifier`);
      }
    }
    if (config.verifySql !== undefined && !DML_KINDS.has(readStatement(config.sql).kind)) {
      ctx.addIssue({
        code: 'custom',
        path: ['verifySql'],
        message: 'only a statement that changes data (DELETE, UPDATE, MERGE) is verified',
      });
    }
  });
export type StatementConfig = z.infer<typeof statementConfigSchema>;
