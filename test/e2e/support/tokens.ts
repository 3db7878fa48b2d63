import { createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';

/**
 * Tokens a hostile caller would try: unsigned, `alg: none`, signed with a key of their own,
 * expired, for another audience or issuer, unverified email, a real signature where Cloud Run
 * leaves `SIGNATURE_REMOVED_BY_GOOGLE`, and tokens our Cloud Tasks emulator really signed, but
 * for another account or audience.
 */

export type Claims = Record<string, unknown>;

/** Cloud Run puts this in place of the signature of a token it has verified. */
export const SIGNATURE_REMOVED = 'SIGNATURE_REMOVED_BY_GOOGLE';
export const GOOGLE_ISSUER = 'https://accounts.google.com';

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Claims a Google ID token carries, valid for an hour from now. */
export function googleClaims(email: string, audience: string, extra: Claims = {}): Claims {
  const now = nowSeconds();
  return {
    iss: GOOGLE_ISSUER,
    aud: audience,
    azp: '111111111111111111111',
    sub: '111111111111111111111',
    email,
    email_verified: true,
    iat: now,
    exp: now + 3600,
    ...extra,
  };
}

/** An expiry well beyond any clock skew a verifier allows. */
export function expiredClaims(claims: Claims): Claims {
  const now = nowSeconds();
  return { ...claims, iat: now - 7200, exp: now - 3600 };
}

/** Header and claims with any third segment (e.g. `SIGNATURE_REMOVED_BY_GOOGLE`, or ''). */
export function tokenWithSignature(
  claims: Claims,
  signature: string,
  header: Claims = { alg: 'RS256', kid: 'forged', typ: 'JWT' },
): string {
  return `${b64(header)}.${b64(claims)}.${signature}`;
}

/** What Cloud Run forwards after verifying a token: the signature replaced. */
export function forwardedToken(claims: Claims): string {
  return tokenWithSignature(claims, SIGNATURE_REMOVED);
}

/** `alg: none`, with the empty signature the JWS spec gives it. */
export function algNoneToken(claims: Claims): string {
  return tokenWithSignature(claims, '', { alg: 'none', typ: 'JWT' });
}

/** Two segments only: no signature part at all. */
export function unsignedToken(claims: Claims): string {
  return `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}`;
}

let attackerKey: KeyObject | undefined;

/** The attacker's own RSA key, made once per test file. */
function attackerPrivateKey(): KeyObject {
  attackerKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  return attackerKey;
}

/** RS256-signed with a random key (optionally naming a real key id, as a forger would). */
export function randomKeyToken(claims: Claims, kid: string = randomUUID()): string {
  const input = `${b64({ alg: 'RS256', kid, typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), attackerPrivateKey()).toString('base64url')}`;
}

/**
 * The classic algorithm confusion: HS256 with the verifier's public key (as published at its
 * JWKS) used as the HMAC secret.
 */
export function hs256WithPublicKeyToken(claims: Claims, publicJwk: Claims, kid: string): string {
  const input = `${b64({ alg: 'HS256', kid, typ: 'JWT' })}.${b64(claims)}`;
  const secret = JSON.stringify(publicJwk);
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** The claims of a JWT, unverified (for tests that re-use a real token's claims). */
export function claimsOf(token: string): Claims {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Claims;
}

/** A real token's header and claims, re-signed with the attacker's key under its own `kid`. */
export function resignedToken(token: string, changes: Claims): string {
  const [header] = token.split('.');
  const kid = (JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')) as Claims)[
    'kid'
  ];
  return randomKeyToken({ ...claimsOf(token), ...changes }, typeof kid === 'string' ? kid : 'x');
}

/** The Cloud Tasks emulator's published keys. */
export async function emulatorJwks(tasksHttpPort: number): Promise<{ keys: Claims[] }> {
  const res = await fetch(`http://127.0.0.1:${tasksHttpPort}/jwks`);
  return (await res.json()) as { keys: Claims[] };
}
