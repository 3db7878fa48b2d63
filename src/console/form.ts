import { ValidationError } from '../domain/errors';
import { isWellFormedText } from '../domain/model';
import { header, type HttpRequest } from '../http/types';

/** A console form as sent: each field once (a repeated one is refused), own keys only. */
export type FormFields = ReadonlyMap<string, string>;

/** Fields a form may repeat (checkbox groups); every other repeated field is refused. */
const REPEATABLE = new Set(['taskIds']);

/**
 * The urlencoded body of a console POST, read from the raw bytes (never the framework's
 * extended parse, which builds nested objects from `a[b]=` names). It must be declared as
 * `application/x-www-form-urlencoded`; its size is capped before this (MAX_BODY_BYTES) and its
 * UTF-8 checked at the edge (functions/framework-guards.ts).
 */
export function parseForm(req: HttpRequest): { fields: FormFields; lists: Map<string, string[]> } {
  const type = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw invalid('', 'a console form must be sent as application/x-www-form-urlencoded');
  }
  const text = req.rawBody === undefined ? '' : req.rawBody.toString('utf8');
  const fields = new Map<string, string>();
  const lists = new Map<string, string[]>();
  for (const [name, value] of pairs(text)) {
    if (!isWellFormedText(name) || !isWellFormedText(value)) {
      throw invalid(name, 'not well-formed Unicode (a lone surrogate)');
    }
    if (REPEATABLE.has(name)) {
      lists.set(name, [...(lists.get(name) ?? []), value]);
      continue;
    }
    if (fields.has(name)) throw invalid(name, 'given more than once; give it once');
    fields.set(name, value);
  }
  return { fields, lists };
}

/**
 * The name=value pairs of an urlencoded body, each percent-decoded strictly: an escape that is
 * not UTF-8 is a 400, never U+FFFD in place of what was sent (URLSearchParams would replace it).
 */
function pairs(text: string): [string, string][] {
  if (text === '') return [];
  return text
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const at = part.indexOf('=');
      const [rawName, rawValue] = at === -1 ? [part, ''] : [part.slice(0, at), part.slice(at + 1)];
      const decode = (raw: string, where: string) => {
        try {
          return decodeURIComponent(raw.replace(/\+/g, ' '));
        } catch {
          throw invalid(where, 'not valid percent-encoded UTF-8');
        }
      };
      const name = decode(rawName, '');
      return [name, decode(rawValue, name)];
    });
}

/** A field's value with surrounding blanks removed; undefined when absent or blank. */
export function text(fields: FormFields, name: string): string | undefined {
  const value = fields.get(name)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`Invalid input: ${path === '' ? '(body)' : path}: ${message}`, [
    { path, message },
  ]);
}
