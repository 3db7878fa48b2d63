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

/** A short, stable, non-monotonic hex digest, for ids and Cloud Task name prefixes. */
export function shortHash(text: string, length = 12): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
