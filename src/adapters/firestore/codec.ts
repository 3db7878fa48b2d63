import { FieldValue, Timestamp, type UpdateData } from '@google-cloud/firestore';
import { ValidationError } from '../../domain/errors';

/**
 * How domain objects become Firestore documents and back. Dates stay ISO-8601 strings, as in
 * the model: they sort lexicographically, so range filters and orderings on them are exact, and
 * nothing needs converting at the edge.
 */

/**
 * A copy without `undefined` values, at any depth (`undefined` in an array becomes `null`, as in
 * JSON). The adapter does this itself, so it does not depend on the client's
 * `ignoreUndefinedProperties` setting.
 */
export function stripUndefined<T>(value: T): T {
  if (Array.isArray(value)) {
    return value.map((v: unknown) => (v === undefined ? null : stripUndefined(v))) as T;
  }
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v !== undefined) out[key] = stripUndefined(v);
  }
  return out as T;
}

/**
 * A patch as Firestore update data with the meaning of `{ ...current, ...patch }`: a top-level
 * key present with `undefined` removes the field; a nested object replaces the field whole.
 */
export function toUpdateData<T extends object>(patch: Partial<T>): UpdateData<T> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(patch)) {
    out[key] = v === undefined ? FieldValue.delete() : stripUndefined(v);
  }
  return out as UpdateData<T>;
}

/**
 * The TTL field Firestore's policy deletes a document after (infra: `firestore_ttl_field`). It
 * must be a Timestamp, so it is the one stored field that is not an ISO string; it belongs to
 * storage, not to the model, and reads drop it.
 */
export const TTL_FIELD = 'expireAt';

/** A stored document as the model sees it: without the TTL field. */
export function fromStored<T>(data: unknown): T {
  if (!isPlainObject(data) || !(TTL_FIELD in data)) return data as T;
  const copy = { ...data };
  delete copy[TTL_FIELD];
  return copy as T;
}

/** `{ ...current, ...patch }` as it will be stored. */
export function applyPatch<T extends object>(current: T, patch: Partial<T>): T {
  return stripUndefined({ ...current, ...patch });
}

/** A page cursor: the last item's ordering values, opaque to callers. */
export function encodeCursor(values: readonly (string | boolean | number)[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

/** The values of a cursor `encodeCursor` made for a query ordered by `keys` keys. */
export function decodeCursor(cursor: string, keys: number): (string | boolean | number)[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length === keys &&
    parsed.every((v) => ['string', 'boolean', 'number'].includes(typeof v));
  if (!ok) throw invalidCursor();
  return parsed as (string | boolean | number)[];
}

export function invalidCursor(): ValidationError {
  const message = 'not a cursor this listing issued';
  return new ValidationError(
    `Invalid input: cursor: ${message}`,
    [{ path: 'cursor', message }],
    'invalid_cursor',
  );
}

const TOKEN_PREFIX = 'u1.';

/** A claim token: the instance's update time as the claim wrote it. */
export function encodeClaimToken(updateTime: Timestamp): string {
  return `${TOKEN_PREFIX}${updateTime.seconds}.${updateTime.nanoseconds}`;
}

export function decodeClaimToken(token: string): Timestamp {
  const match = /^u1\.(\d+)\.(\d{1,9})$/.exec(token);
  if (match === null) throw new Error(`not a claim token this store issued: ${token}`);
  return new Timestamp(Number(match[1]), Number(match[2]));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
