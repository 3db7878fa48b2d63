import { invalid, invalidQuery } from './errors';
import { fromJsonTyped, type SqlType } from './types';
import {
  FIELD_TYPES,
  normaliseType,
  schemaTypeName,
  ValueError,
  type FieldType,
  type Value,
} from './values';

export type FieldMode = 'NULLABLE' | 'REQUIRED' | 'REPEATED';

/** A schema field as tables.insert gives it: a scalar, or a RECORD (STRUCT) with sub-fields. */
export interface Field {
  name: string;
  type: FieldType | 'STRUCT';
  mode: FieldMode;
  /** For STRUCT (RECORD) fields. */
  fields?: Field[];
  description?: string;
}

export interface TableRef {
  projectId: string;
  datasetId: string;
  tableId: string;
}

/** Time-unit column partitioning, or ingestion-time partitioning when `field` is absent. */
export interface Partitioning {
  type: 'HOUR' | 'DAY' | 'MONTH' | 'YEAR';
  field?: string;
  requirePartitionFilter: boolean;
  expirationMs?: string;
}

/** A field's GoogleSQL type: REPEATED makes an ARRAY, RECORD a STRUCT. */
export function fieldType(field: Field): SqlType {
  const element: SqlType =
    field.type === 'STRUCT'
      ? {
          kind: 'struct',
          fields: (field.fields ?? []).map((sub) => ({ name: sub.name, type: fieldType(sub) })),
        }
      : { kind: 'scalar', name: field.type };
  return field.mode === 'REPEATED' ? { kind: 'array', element } : element;
}

/** The schema field describing a result column of this type. */
export function fieldOfType(name: string, type: SqlType): Field {
  const repeated = type.kind === 'array';
  const element = type.kind === 'array' ? type.element : type;
  if (element.kind === 'array') {
    throw invalidQuery(`Cannot write nested ARRAY<ARRAY> in the result column ${name}`);
  }
  return {
    name,
    mode: repeated ? 'REPEATED' : 'NULLABLE',
    ...(element.kind === 'struct'
      ? {
          type: 'STRUCT' as const,
          // An unnamed STRUCT field (SELECT AS STRUCT 1) is reported as _field_N.
          fields: element.fields.map((field, i) =>
            fieldOfType(field.name === '' ? `_field_${i + 1}` : field.name, field.type),
          ),
        }
      : { type: element.name }),
  };
}

/** The table's row type: a STRUCT of its columns. */
export function rowType(fields: readonly Field[]): SqlType {
  return {
    kind: 'struct',
    fields: fields.map((field) => ({ name: field.name, type: fieldType(field) })),
  };
}

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

const MAX_NESTING = 15;

/**
 * Validates a table schema: scalar fields of the supported types and RECORD (STRUCT) fields,
 * NULLABLE, REQUIRED or REPEATED, nested at most 15 levels as on the service.
 */
export function parseSchemaFields(raw: readonly RestField[], depth = 1): Field[] {
  const fields: Field[] = [];
  for (const field of raw) {
    const name = typeof field.name === 'string' ? field.name : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,299}$/.test(name)) {
      throw invalid(
        `Invalid field name "${name}". Fields must contain only letters, numbers, and underscores, start with a letter or underscore, and be at most 300 characters long.`,
      );
    }
    if (findField(fields, name) !== -1) throw invalid(`Field ${name} already exists in schema`);
    const typeName = typeof field.type === 'string' ? field.type.toUpperCase() : '';
    const mode = typeof field.mode === 'string' ? field.mode.toUpperCase() : 'NULLABLE';
    if (!isMode(mode)) throw invalid(`Invalid mode ${mode} for field ${name}`);
    const base = {
      name,
      mode,
      ...(typeof field.description === 'string' ? { description: field.description } : {}),
    };
    if (typeName === 'RECORD' || typeName === 'STRUCT') {
      const sub = Array.isArray(field.fields) ? (field.fields as RestField[]) : [];
      if (sub.length === 0) throw invalid(`Field ${name} is type RECORD but has no schema`);
      if (depth >= MAX_NESTING) {
        throw invalid(
          `Field ${name}: Schema has too many levels of nesting (maximum ${MAX_NESTING})`,
        );
      }
      fields.push({ ...base, type: 'STRUCT', fields: parseSchemaFields(sub, depth + 1) });
      continue;
    }
    const type = normaliseType(typeName);
    if (type === undefined) {
      throw invalid(
        `Unsupported field type ${typeName || '(missing)'} for field ${name}; the BigQuery emulator supports ${FIELD_TYPES.join(', ')} and RECORD`,
      );
    }
    fields.push({ ...base, type });
  }
  return fields;
}

function isMode(mode: string): mode is FieldMode {
  return mode === 'NULLABLE' || mode === 'REQUIRED' || mode === 'REPEATED';
}

/** Reads `timePartitioning` (and the table-level `requirePartitionFilter`) of tables.insert. */
export function parsePartitioning(
  raw: unknown,
  requireFilter: unknown,
  fields: readonly Field[],
): Partitioning | undefined {
  if (raw === undefined || raw === null) return undefined;
  const spec = raw as Record<string, unknown>;
  const type = typeof spec.type === 'string' ? spec.type.toUpperCase() : 'DAY';
  if (type !== 'DAY' && type !== 'HOUR' && type !== 'MONTH' && type !== 'YEAR') {
    throw invalid(`Invalid time partitioning type ${type}; use DAY, HOUR, MONTH or YEAR`);
  }
  const partitioning: Partitioning = {
    type,
    requirePartitionFilter: requireFilter === true || spec.requirePartitionFilter === true,
    ...(typeof spec.expirationMs === 'string' || typeof spec.expirationMs === 'number'
      ? { expirationMs: String(spec.expirationMs) }
      : {}),
  };
  if (typeof spec.field === 'string' && spec.field !== '') {
    const index = findField(fields, spec.field);
    const field = fields[index];
    if (field === undefined) {
      throw invalid(`The field specified for partitioning cannot be found in the schema`);
    }
    if ((field.type !== 'DATE' && field.type !== 'TIMESTAMP') || field.mode === 'REPEATED') {
      throw invalid(
        `The field specified for time partitioning can only be of type TIMESTAMP, DATE or DATETIME. The type found is: ${field.mode === 'REPEATED' ? 'ARRAY' : field.type}.`,
      );
    }
    if (field.type === 'DATE' && type === 'HOUR') {
      throw invalid('HOUR partitioning is not allowed on a DATE column');
    }
    partitioning.field = field.name;
  }
  return partitioning;
}

/** A schema as the REST API reports it, with legacy type names (RECORD, INTEGER, ...). */
export function schemaResource(fields: readonly Field[]): { fields: object[] } {
  return { fields: fields.map(fieldResource) };
}

function fieldResource(field: Field): object {
  return {
    name: field.name,
    type: field.type === 'STRUCT' ? 'RECORD' : schemaTypeName(field.type),
    mode: field.mode,
    ...(field.fields === undefined ? {} : schemaResource(field.fields)),
    ...(field.description === undefined ? {} : { description: field.description }),
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
  const row: Value[] = fields.map((field) => (field.mode === 'REPEATED' ? [] : null));
  for (const [key, raw] of Object.entries(json)) {
    const index = findField(fields, key);
    if (index === -1) {
      if (!ignoreUnknownValues) errors.push(`no such field: ${key}.`);
      continue;
    }
    const field = fields[index] as Field;
    try {
      row[index] = fromJsonTyped(fieldType(field), raw, field.name);
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
