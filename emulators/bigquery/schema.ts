import { invalid } from './errors';
import {
  FIELD_TYPES,
  fromJson,
  normaliseType,
  schemaTypeName,
  ValueError,
  type FieldType,
  type Value,
} from './values';

export type FieldMode = 'NULLABLE' | 'REQUIRED';

export interface Field {
  name: string;
  type: FieldType;
  mode: FieldMode;
  description?: string;
}

export interface TableRef {
  projectId: string;
  datasetId: string;
  tableId: string;
}

/** A table as the compiler sees it: its schema and the SQLite table holding its rows. */
export interface TableInfo extends TableRef {
  fields: Field[];
  sqlName: string;
}

/** The SQLite column holding field `index`; positional names sidestep quoting and case rules. */
export const columnSql = (index: number): string => `c${index}`;

/** Insert time (epoch µs) of rows added by insertAll; NULL for seeded and query-written rows. */
export const STREAMED_AT_COLUMN = '_streamed_at';

/** `project.dataset.table`, the form service error messages use. */
export const dottedName = (ref: TableRef): string =>
  `${ref.projectId}.${ref.datasetId}.${ref.tableId}`;

/** Looks a column up case-insensitively, as GoogleSQL resolves names. */
export function findField(fields: readonly Field[], name: string): number {
  const lower = name.toLowerCase();
  return fields.findIndex((field) => field.name.toLowerCase() === lower);
}

/** The REST shape of a schema field, as tables.insert and seed files give it. */
export interface RestField {
  name?: unknown;
  type?: unknown;
  mode?: unknown;
  description?: unknown;
  fields?: unknown;
}

/**
 * Validates a table schema. Only top-level NULLABLE/REQUIRED scalar fields of the supported
 * types are accepted: anything else is refused rather than stored with other semantics.
 */
export function parseSchemaFields(raw: readonly RestField[]): Field[] {
  const fields: Field[] = [];
  for (const field of raw) {
    const name = typeof field.name === 'string' ? field.name : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,299}$/.test(name)) {
      throw invalid(
        `Invalid field name "${name}". Fields must contain only letters, numbers, and underscores, start with a letter or underscore, and be at most 300 characters long.`,
      );
    }
    if (findField(fields, name) !== -1) throw invalid(`Field ${name} already exists in schema`);
    const typeName = typeof field.type === 'string' ? field.type : '';
    const type = normaliseType(typeName);
    if (type === undefined) {
      throw invalid(
        `Unsupported field type ${typeName || '(missing)'} for field ${name}; the BigQuery emulator supports ${FIELD_TYPES.join(', ')}`,
      );
    }
    const mode = typeof field.mode === 'string' ? field.mode.toUpperCase() : 'NULLABLE';
    if (mode !== 'NULLABLE' && mode !== 'REQUIRED') {
      throw invalid(
        `Unsupported mode ${mode} for field ${name}; the BigQuery emulator supports NULLABLE and REQUIRED`,
      );
    }
    fields.push({
      name,
      type,
      mode,
      ...(typeof field.description === 'string' ? { description: field.description } : {}),
    });
  }
  return fields;
}

/** A schema as the REST API reports it, with legacy type names. */
export function schemaResource(fields: readonly Field[]): { fields: object[] } {
  return {
    fields: fields.map((field) => ({
      name: field.name,
      type: schemaTypeName(field.type),
      mode: field.mode,
      ...(field.description === undefined ? {} : { description: field.description }),
    })),
  };
}

/**
 * Converts one JSON row (insertAll `json`, a seed row) to values in schema order, or the
 * service-style messages for what is wrong with it.
 */
export function rowFromJson(
  fields: readonly Field[],
  json: Record<string, unknown>,
  ignoreUnknownValues = false,
): { row: Value[]; errors: string[] } {
  const errors: string[] = [];
  const row: Value[] = fields.map(() => null);
  for (const [key, raw] of Object.entries(json)) {
    const index = findField(fields, key);
    if (index === -1) {
      if (!ignoreUnknownValues) errors.push(`no such field: ${key}.`);
      continue;
    }
    const field = fields[index] as Field;
    try {
      row[index] = fromJson(field.type, raw);
    } catch (error) {
      if (!(error instanceof ValueError)) throw error;
      errors.push(`Cannot convert value of field ${field.name}: ${error.message}`);
    }
  }
  fields.forEach((field, index) => {
    if (field.mode === 'REQUIRED' && row[index] === null)
      errors.push(`Missing required field: ${field.name}.`);
  });
  return { row, errors };
}
