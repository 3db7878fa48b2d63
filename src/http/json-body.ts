import { ValidationError } from '../domain/errors';
import { isWellFormedText } from '../domain/model';
import { header, type HttpRequest } from './types';

/** Deeper than any body the API takes; Firestore itself refuses maps nested past 20 levels. */
export const MAX_BODY_DEPTH = 16;

const WRITE_METHODS = ['POST', 'PATCH', 'PUT'];

/**
 * The JSON body of a write, read strictly before any use case sees it: sent as JSON (a form
 * post or text/plain body, which a browser sends cross-site without asking, is refused), UTF-8,
 * and plain data (no reserved `__…__` keys such as `__proto__`, no lone surrogates, no deeper
 * nesting than MAX_BODY_DEPTH). Every refusal is a 400 naming where in the body it is.
 */
export function parseJsonBody(req: HttpRequest): unknown {
  if (!WRITE_METHODS.includes(req.method)) return undefined;
  const fromWire = req.rawBody !== undefined && req.rawBody.length > 0;
  if (fromWire && !isJsonType(header(req, 'content-type'))) {
    throw invalid('', 'a body must be JSON, sent with Content-Type: application/json');
  }
  let body = req.body;
  // The framework hands over a Buffer or string when it did not parse the JSON itself.
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    const text = typeof body === 'string' ? body : strictUtf8(body);
    if (text.trim() === '') return undefined;
    try {
      body = JSON.parse(text) as unknown;
    } catch (err) {
      throw invalid('', `malformed JSON: ${(err as Error).message}`);
    }
  }
  assertPlainJson(body, '', 1);
  return body;
}

function isJsonType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

function assertPlainJson(value: unknown, path: string, depth: number): void {
  if (typeof value === 'string') {
    if (!isWellFormedText(value)) throw invalid(path, 'not well-formed Unicode (a lone surrogate)');
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (depth > MAX_BODY_DEPTH) throw invalid(path, `nested deeper than ${MAX_BODY_DEPTH} levels`);
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertPlainJson(item, `${path}[${i}]`, depth + 1));
    return;
  }
  for (const key of Object.keys(value)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (!isWellFormedText(key)) {
      throw invalid(path, 'a key that is not well-formed Unicode (a lone surrogate)');
    }
    // `__proto__` and every other `__…__` name: prototype pollution, and reserved by Firestore.
    if (/^__.*__$/s.test(key)) throw invalid(at, 'a reserved key name (__…__)');
    assertPlainJson((value as Record<string, unknown>)[key], at, depth + 1);
  }
}

/** The bytes as text, or 400 `invalid_utf8`: never U+FFFD in place of what was sent. */
function strictUtf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('', 'not valid UTF-8', 'invalid_utf8');
  }
}

function invalid(
  path: string,
  message: string,
  code: 'validation_failed' | 'invalid_utf8' = 'validation_failed',
): ValidationError {
  return new ValidationError(
    `Invalid input: ${path === '' ? '(body)' : path}: ${message}`,
    [{ path, message }],
    code,
  );
}
