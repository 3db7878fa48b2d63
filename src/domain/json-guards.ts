import { ValidationError } from './errors';
import { isWellFormedText } from './model';

/** Deeper than this, a body is refused (Firestore stores at most 20 levels, and we nest it). */
export const MAX_JSON_DEPTH = 12;

/**
 * A parsed JSON body, checked whole before anything reads it: no `__proto__` key anywhere
 * (assigning one replaces an object's prototype instead of adding a field), no lone surrogate
 * in any key or string (such text has no UTF-8 form, so no store can hold it), and no more
 * than MAX_JSON_DEPTH levels of nesting. Each refusal names where it is.
 */
export function assertSafeJson(value: unknown): void {
  const problem = findProblem(value, '', 0);
  if (problem !== undefined) {
    const [path, message] = problem;
    throw new ValidationError(`Invalid input: ${path || '(body)'}: ${message}`, [
      { path, message },
    ]);
  }
}

function findProblem(value: unknown, path: string, depth: number): [string, string] | undefined {
  if (typeof value === 'string') {
    return isWellFormedText(value)
      ? undefined
      : [path, 'not well-formed Unicode (a lone surrogate)'];
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth >= MAX_JSON_DEPTH) return [path, `nested deeper than ${MAX_JSON_DEPTH} levels`];
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.keys(value).map((k) => [k, (value as Record<string, unknown>)[k]]);
  for (const [key, child] of entries) {
    const at = Array.isArray(value) ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
    if (!Array.isArray(value)) {
      if (key === '__proto__') return [at, 'the key __proto__ is not allowed'];
      if (!isWellFormedText(key)) return [path, 'a key is not well-formed Unicode'];
    }
    const found = findProblem(child, at, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}
