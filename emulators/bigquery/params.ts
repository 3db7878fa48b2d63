import { invalidQuery } from './errors';
import { unsupported } from './sql/tokens';
import { fromJson, normaliseType, ValueError, type FieldType, type Value } from './values';

/** A decoded named query parameter. */
export type QueryParam =
  | { kind: 'scalar'; type: FieldType; value: Value }
  | { kind: 'array'; elementType: FieldType; values: Value[] };

/** The REST shape of `configuration.query.queryParameters[]`. */
export interface RestQueryParameter {
  name?: string;
  parameterType?: { type?: string; arrayType?: { type?: string } };
  parameterValue?: { value?: unknown; arrayValues?: Array<{ value?: unknown }> };
}

/**
 * Decodes named query parameters of the scalar types and ARRAY of scalars, keyed by lower-cased
 * name (GoogleSQL parameter names are case-insensitive).
 */
export function decodeParameters(
  parameters: readonly RestQueryParameter[] | undefined,
  parameterMode: string | undefined,
): Map<string, QueryParam> {
  const decoded = new Map<string, QueryParam>();
  if (parameters === undefined || parameters.length === 0) return decoded;
  if (parameterMode !== undefined && parameterMode.toUpperCase() === 'POSITIONAL') {
    throw unsupported('positional query parameters (?)');
  }
  for (const parameter of parameters) {
    const name = parameter.name;
    if (name === undefined || name === '') throw unsupported('positional query parameters (?)');
    const typeName = parameter.parameterType?.type ?? '';
    try {
      if (typeName.toUpperCase() === 'ARRAY') {
        const elementType = scalarType(parameter.parameterType?.arrayType?.type ?? '', name);
        const values = (parameter.parameterValue?.arrayValues ?? []).map((item) =>
          fromJson(elementType, item.value),
        );
        decoded.set(name.toLowerCase(), { kind: 'array', elementType, values });
      } else {
        const type = scalarType(typeName, name);
        decoded.set(name.toLowerCase(), {
          kind: 'scalar',
          type,
          value: fromJson(type, parameter.parameterValue?.value),
        });
      }
    } catch (error) {
      if (error instanceof ValueError) {
        throw invalidQuery(`Invalid value for query parameter ${name}: ${error.message}`);
      }
      throw error;
    }
  }
  return decoded;
}

function scalarType(typeName: string, name: string): FieldType {
  const type = normaliseType(typeName);
  if (type === undefined) {
    throw unsupported(`query parameter type ${typeName || '(missing)'} (parameter ${name})`);
  }
  return type;
}
