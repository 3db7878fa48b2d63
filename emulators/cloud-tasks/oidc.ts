import { createHash, generateKeyPair, randomUUID, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Clock } from './clock';

const TOKEN_LIFETIME_S = 3600;
/** Re-mint a cached token once less than this is left, as Google's token caches do. */
const REFRESH_MARGIN_S = 300;

/**
 * Mints the OIDC ID tokens attached to HTTP tasks, signed RS256 with a key made at start-up and
 * published at /jwks, so receivers can verify them exactly as they would Google's.
 */
export class OidcSigner {
  /** The `iss` claim and discovery issuer; set once the HTTP port is known. */
  issuer = 'http://127.0.0.1';
  private readonly kid = randomUUID();
  private readonly cache = new Map<string, { token: string; exp: number }>();

  private constructor(
    private readonly privateKey: KeyObject,
    private readonly publicKey: KeyObject,
    private readonly clock: Clock,
  ) {}

  static async create(clock: Clock): Promise<OidcSigner> {
    const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', {
      modulusLength: 2048,
    });
    return new OidcSigner(privateKey, publicKey, clock);
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return {
      keys: [
        { ...this.publicKey.export({ format: 'jwk' }), kid: this.kid, alg: 'RS256', use: 'sig' },
      ],
    };
  }

  discovery(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: `${this.issuer}/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: ['aud', 'email', 'email_verified', 'exp', 'iat', 'iss', 'sub'],
    };
  }

  /** An ID token for `email` with audience `audience`; cached while it has time left. */
  token(email: string, audience: string): string {
    const now = Math.floor(this.clock.now() / 1000);
    const key = `${email}\n${audience}`;
    const cached = this.cache.get(key);
    if (
      cached !== undefined &&
      cached.exp - now > REFRESH_MARGIN_S &&
      cached.exp - now <= TOKEN_LIFETIME_S
    ) {
      return cached.token;
    }
    const exp = now + TOKEN_LIFETIME_S;
    const claims = {
      aud: audience,
      azp: subjectFor(email),
      email,
      email_verified: true,
      exp,
      iat: now,
      iss: this.issuer,
      sub: subjectFor(email),
    };
    const header = { alg: 'RS256', kid: this.kid, typ: 'JWT' };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const token = `${input}.${sign('sha256', Buffer.from(input), this.privateKey).toString('base64url')}`;
    this.cache.set(key, { token, exp });
    return token;
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** A stable numeric `sub`, as Google gives each service account a numeric unique id. */
function subjectFor(email: string): string {
  const digest = createHash('sha256').update(email).digest();
  return (digest.readBigUInt64BE(0) % 10n ** 21n).toString().padStart(21, '1');
}
