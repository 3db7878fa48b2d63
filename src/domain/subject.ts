import { createHash, createHmac } from 'node:crypto';
import type { Subject } from './model';

/**
 * A peppered HMAC-SHA256 of the subject's identifiers, the only form of the subject allowed in
 * logs and duplicate detection. A bare hash of an email is reversed by a dictionary; an HMAC
 * with a secret pepper is not. Identifiers are normalised (trimmed, emails lower-cased) and
 * sorted, so the same person gives the same hash whatever the order of fields.
 */
export function subjectHash(subject: Subject, pepper: string): string {
  const canonical = Object.keys(subject)
    .sort()
    .map((k) => `${k}=${normalise(k, subject[k] ?? '')}`)
    .join('\n');
  return createHmac('sha256', pepper).update(canonical).digest('hex');
}

function normalise(key: string, value: string): string {
  const v = value.trim();
  return key.toLowerCase() === 'email' ? v.toLowerCase() : v;
}

/**
 * The subject's value for an identifier name, by own property only: a caller-chosen name such
 * as `constructor` must find nothing, not the prototype's member.
 */
export function identifierOf(subject: Readonly<Subject>, name: string): string | undefined {
  return Object.hasOwn(subject, name) ? subject[name] : undefined;
}

/**
 * The identifiers to redact from a run's lines and records: the normalised values and, where
 * the request gave them differently, the given forms too (under `<name>_as_given`).
 */
export function redactionSubject(
  subject: Readonly<Subject>,
  asGiven: Readonly<Subject> | undefined,
): Subject {
  const all: Subject = { ...subject };
  for (const [name, value] of Object.entries(asGiven ?? {})) {
    if (value !== subject[name]) all[`${name}_as_given`] = value;
  }
  return all;
}

/** A short, stable, non-monotonic hex digest, for ids and Cloud Task name prefixes. */
export function shortHash(text: string, length = 12): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * Replaces each of the subject's identifier values in a text, as given and URL-encoded, with
 * `[redacted:<kind>]`. A second line of defence for logs and run records: code should not put
 * an identifier there in the first place.
 */
export function identifierRedactor(subject: Readonly<Subject>): (text: string) => string {
  const kinds = new Map<string, string>();
  for (const [kind, value] of Object.entries(subject)) {
    for (const form of [value, uriEncoded(value)]) {
      if (form !== undefined && form !== '' && !kinds.has(form)) kinds.set(form, kind);
    }
  }
  if (kinds.size === 0) return (text) => text;
  // One pass, longest value first: a value that holds another is replaced whole, and a marker
  // already written is never matched again.
  const pattern = new RegExp(
    [...kinds.keys()]
      .sort((a, b) => b.length - a.length)
      .map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
  return (text) => text.replace(pattern, (found) => `[redacted:${kinds.get(found) ?? 'id'}]`);
}

function uriEncoded(value: string): string | undefined {
  try {
    return encodeURIComponent(value);
  } catch {
    return undefined; // a lone surrogate: no URL could carry it
  }
}
