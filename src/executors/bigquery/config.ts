import { z } from 'zod';
import { MIN_BILLED_BYTES_PER_TABLE } from '../../domain/cost';

/** `project.dataset.table`, with a project id as Google Cloud allows it (6-30 characters). */
export const QUALIFIED_TABLE = /^[a-z][a-z0-9-]{4,28}[a-z0-9]\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/;
/** `dataset.table`, in the executors' default project. */
export const PROJECTLESS_TABLE = /^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/;
/** A BigQuery column name: letters, digits and underscores, not starting with a digit. */
export const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,299}$/;
/** The name of a subject identifier, as in the request's `subject`. */
const IDENTIFIER_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export const DEFAULT_MAX_ROWS = 10_000;

const table = z.string().refine((t) => QUALIFIED_TABLE.test(t) || PROJECTLESS_TABLE.test(t), {
  message:
    'a table as project.dataset.table or dataset.table (letters, digits, _; project ids also -)',
});

const column = z
  .string()
  .regex(COLUMN_NAME, 'a column name: letters, digits and _, not starting with a digit');

const columnList = z
  .array(column)
  .min(1, 'name at least one column')
  .max(300)
  // Column names are case-insensitive in BigQuery.
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

export const deleteConfigSchema = z
  .object({ table, column, identifier, maxBytesBilled: maxBytesBilled.optional() })
  .strict();
export type DeleteConfig = z.infer<typeof deleteConfigSchema>;

export const nullifyConfigSchema = z
  .object({
    table,
    columns: columnList,
    whereColumn: column,
    identifier,
    maxBytesBilled: maxBytesBilled.optional(),
  })
  .strict();
export type NullifyConfig = z.infer<typeof nullifyConfigSchema>;

export const exportConfigSchema = z
  .object({
    table,
    column,
    identifier,
    selectColumns: columnList.optional(),
    maxRows: z.number().int().min(1).max(100_000).default(DEFAULT_MAX_ROWS),
    maxBytesBilled: maxBytesBilled.optional(),
  })
  .strict();
export type ExportConfig = z.infer<typeof exportConfigSchema>;
