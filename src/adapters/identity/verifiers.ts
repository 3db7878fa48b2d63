import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type JWTPayload,
} from 'jose';
import { identityKind, type Identity, type IdentitySource } from '../../domain/access';
import { ForbiddenError, UnauthenticatedError } from '../../domain/errors';
import type { Clock } from '../../ports/clock';

/**
 * Who is calling, from what was verified and nothing else.
 *
 * Deployed, Cloud Run IAM has already checked the caller's Google-signed ID token (only
 * invokers reach the service) and replaced its signature with `SIGNATURE_REMOVED_BY_GOOGLE`;
 * the app takes the identity only from that forwarded token, after checking that it went
 * through IAM (the signature was removed), who issued it, for whom (`aud`), until when, and
 * that its email is verified. When a call carries `X-Serverless-Authorization`, that is the
 * header IAM checked, and `Authorization` reached the app unchecked: it is never read then.
 * Behind IAP, the `x-goog-iap-jwt-assertion` is verified in full against IAP's keys.
 * Locally, Cloud Tasks' and the scheduler's tokens are verified in full against the Cloud Tasks
 * emulator's keys; people name themselves with `X-Dev-Identity` (local mode only).
 */

export type Headers = Record<string, string | string[] | undefined>;

/** Verifies a call's headers; resolves to the identity or throws 401/403. */
export type CallerVerifier = (headers: Headers) => Promise<Identity>;

export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];
export const IAP_ISSUER = 'https://cloud.google.com/iap';
export const IAP_JWKS_URL = 'https://www.gstatic.com/iap/verify/public_key-jwk';
export const SIGNATURE_REMOVED = 'SIGNATURE_REMOVED_BY_GOOGLE';
export const LOCAL_DEFAULT_IDENTITY = 'developer@localhost';
const CLOCK_SKEW_S = 60;

export interface ApiIdentityOptions {
  localMode: boolean;
  /** `aud` values a forwarded token may carry (the api's URL, or configured audiences). */
  audiences: readonly string[];
  /** When set, callers come through IAP and only its assertion counts. */
  iap?: { audience: string; jwksUrl?: string };
  clock: Clock;
}

/** The api's caller: IAP's assertion, the forwarded IAM token, or (local mode) X-Dev-Identity. */
export function createApiVerifier(options: ApiIdentityOptions): CallerVerifier {
  const { iap } = options;
  if (options.localMode) {
    return async (headers) => localIdentity(header(headers, 'x-dev-identity'));
  }
  if (iap !== undefined) {
    const keys = lazyJwks(iap.jwksUrl ?? IAP_JWKS_URL);
    return async (headers) => {
      const assertion = header(headers, 'x-goog-iap-jwt-assertion');
      if (assertion === undefined) throw unauthenticated('no IAP assertion');
      const claims = await verified(assertion, keys(), {
        issuer: IAP_ISSUER,
        audience: iap.audience,
        algorithms: ['ES256'],
        currentDate: options.clock.now(),
      });
      return identityFrom(claims, 'iap', { requireVerifiedEmail: false });
    };
  }
  return async (headers) =>
    identityFrom(forwardedClaims(headers, options.audiences, options.clock), 'cloud-run-iam');
}

export interface ServiceIdentityOptions {
  localMode: boolean;
  /** The `aud` the caller's OIDC token is minted for (the function's URL). */
  audience: string;
  /** The only service account that may call (the Cloud Tasks invoker, or the scheduler's). */
  serviceAccount: string;
  /** Local mode: the Cloud Tasks emulator's keys and issuer, to verify tokens in full. */
  local?: { jwksUrl: string; issuer: string };
  via: Extract<IdentitySource, 'cloud-tasks-oidc' | 'scheduler-oidc'>;
  clock: Clock;
}

/** run-task's and dispatch's caller: one service account's OIDC token, or 401/403. */
export function createServiceVerifier(options: ServiceIdentityOptions): CallerVerifier {
  const { local } = options;
  const keys = local === undefined ? undefined : lazyJwks(local.jwksUrl);
  return async (headers) => {
    let claims: JWTPayload;
    if (options.localMode) {
      if (local === undefined || keys === undefined) {
        throw unauthenticated('no key set is configured to verify OIDC tokens locally');
      }
      claims = await verified(bearer(headers, 'authorization'), keys(), {
        issuer: local.issuer,
        audience: options.audience,
        algorithms: ['RS256'],
        currentDate: options.clock.now(),
      });
    } else {
      claims = forwardedClaims(headers, [options.audience], options.clock);
    }
    const identity = identityFrom(claims, options.via);
    if (identity.email !== options.serviceAccount.toLowerCase()) {
      throw new ForbiddenError(`${identity.email} may not call this function`);
    }
    return identity;
  };
}

/**
 * An email as identities are named: a plain local part and a host name, lower-cased. Nothing
 * that could be markup, a path or a list (`<`, `/`, `,`, spaces) reaches a log or a ledger.
 */
const EMAIL = /^[a-z0-9._%+'-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})*$/;

/** X-Dev-Identity, or the default local developer. */
function localIdentity(given: string | undefined): Identity {
  const address = (given ?? LOCAL_DEFAULT_IDENTITY).trim().toLowerCase();
  if (!EMAIL.test(address)) {
    throw unauthenticated('X-Dev-Identity must be an email address');
  }
  return { email: address, kind: identityKind(address), via: 'local-dev' };
}

/**
 * The claims of the token Cloud Run IAM verified and forwarded. Its signature is gone (IAM
 * removed it after checking it), so everything else is checked here, and a token that still
 * has a signature did not come through IAM and is refused.
 */
function forwardedClaims(headers: Headers, audiences: readonly string[], clock: Clock): JWTPayload {
  const serverless = header(headers, 'x-serverless-authorization');
  const token = bearer(
    headers,
    serverless === undefined ? 'authorization' : 'x-serverless-authorization',
  );
  const parts = token.split('.');
  if (parts.length !== 3 || parts[2] !== SIGNATURE_REMOVED) {
    throw unauthenticated('the token did not come through Cloud Run IAM');
  }
  let claims: JWTPayload;
  try {
    const alg = decodeProtectedHeader(token).alg;
    if (alg === undefined || alg === 'none') throw new Error('unsigned');
    claims = decodeJwt(token);
  } catch {
    throw unauthenticated('the token is malformed');
  }
  if (typeof claims.iss !== 'string' || !GOOGLE_ISSUERS.includes(claims.iss)) {
    throw unauthenticated('the token was not issued by Google');
  }
  const aud = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
  if (!aud.some((a) => audiences.includes(a))) {
    throw unauthenticated('the token is for another audience');
  }
  const now = clock.now().getTime() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_S < now) {
    throw unauthenticated('the token has expired');
  }
  if (typeof claims.iat === 'number' && claims.iat - CLOCK_SKEW_S > now) {
    throw unauthenticated('the token is not valid yet');
  }
  return claims;
}

function identityFrom(
  claims: JWTPayload,
  via: IdentitySource,
  { requireVerifiedEmail = true } = {},
): Identity {
  const address = claims['email'];
  const email = typeof address === 'string' ? address.toLowerCase() : '';
  if (!EMAIL.test(email)) {
    throw unauthenticated('the token names no email');
  }
  // Google ID tokens carry a boolean; anything else is not a token Google issued.
  if (requireVerifiedEmail && claims['email_verified'] !== true) {
    throw unauthenticated('the token’s email is not verified');
  }
  return { email, kind: identityKind(email), via };
}

async function verified(
  token: string,
  keys: ReturnType<typeof createRemoteJWKSet>,
  options: Parameters<typeof jwtVerify>[2],
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, keys, options)).payload;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why =
      code === 'ERR_JWT_EXPIRED'
        ? 'the token has expired'
        : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
          ? 'the token is for another audience or issuer'
          : 'the token could not be verified';
    throw unauthenticated(why);
  }
}

/** A key set fetched on first use and cached (jose refreshes it on an unknown key id). */
function lazyJwks(url: string): () => ReturnType<typeof createRemoteJWKSet> {
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  return () => (jwks ??= createRemoteJWKSet(new URL(url)));
}

function bearer(headers: Headers, name: string): string {
  const value = header(headers, name);
  const match = value === undefined ? null : /^Bearer\s+(\S+)$/i.exec(value);
  if (match === null) throw unauthenticated(`no bearer token in ${name}`);
  return match[1]!;
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function unauthenticated(why: string): UnauthenticatedError {
  return new UnauthenticatedError(`no verified caller identity: ${why}`);
}
