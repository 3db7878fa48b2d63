import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The console's CSRF tokens: `<expiry>.<mac>`, where mac is HMAC-SHA256 over the caller's
 * identity and the expiry with a server secret. A token is good only for the identity it was
 * issued to and until it expires, so a page of one user cannot be replayed by another, and no
 * token is stored anywhere.
 */

/** How long a form stays submittable after its page was rendered. */
export const CSRF_TOKEN_TTL_SECONDS = 2 * 60 * 60;

/** The hidden field every console form carries. */
export const CSRF_FIELD = 'csrf';

export interface CsrfTokens {
  issue(identity: string, now: Date): string;
  /** True only for a token issued to `identity` that has not expired at `now`. */
  verify(token: string | undefined, identity: string, now: Date): boolean;
}

function mac(key: Buffer, identity: string, expiry: number): Buffer {
  return createHmac('sha256', key).update(`dsr-console-csrf\n${identity}\n${expiry}`).digest();
}

export function createCsrfTokens(secret: string | Buffer): CsrfTokens {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (key.length < 32) throw new Error('the CSRF secret must be at least 32 bytes');
  return {
    issue(identity, now) {
      const expiry = Math.floor(now.getTime() / 1000) + CSRF_TOKEN_TTL_SECONDS;
      return `${expiry}.${mac(key, identity, expiry).toString('base64url')}`;
    },
    verify(token, identity, now) {
      if (token === undefined || token.length > 200) return false;
      const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
      if (match === null) return false;
      const expiry = Number(match[1]);
      const seconds = Math.floor(now.getTime() / 1000);
      if (expiry <= seconds || expiry > seconds + CSRF_TOKEN_TTL_SECONDS) return false;
      const given = Buffer.from(match[2]!, 'base64url');
      const expected = mac(key, identity, expiry);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/**
 * The key the console signs with: CONSOLE_CSRF_SECRET when set; else, deployed, a key derived
 * from the subject-hash pepper (a Secret Manager secret already) under its own label, so the
 * two uses never share a key; else (local mode) a random key for this process.
 */
export function consoleCsrfKey(options: {
  secret: string | undefined;
  pepper: string;
  localMode: boolean;
}): Buffer {
  if (options.secret !== undefined) return Buffer.from(options.secret, 'utf8');
  if (options.localMode) return randomBytes(32);
  return createHmac('sha256', options.pepper).update('dsr-taskrunner console csrf key v1').digest();
}
