import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';
import {
  createApiVerifier,
  createServiceVerifier,
  type CallerVerifier,
  type Headers,
} from '../../../src/adapters/identity/verifiers';
import { ForbiddenError, UnauthenticatedError } from '../../../src/domain/errors';
import { systemClock } from '../../../src/ports/clock';

/**
 * The verifiers that check signatures: IAP's assertion (ES256, against IAP's key set) and, in
 * local mode, run-task's and dispatch's OIDC tokens (RS256, against the Cloud Tasks emulator's
 * key set). The key sets are served here from a JWKS server on a free port.
 */

const IAP_ISSUER = 'https://cloud.google.com/iap';
const IAP_AUDIENCE = '/projects/123/global/backendServices/456';
const RUN_TASK = 'http://127.0.0.1:1/run-task';
const INVOKER = 'tasks-invoker@local-project.iam.gserviceaccount.com';

interface KeyPair {
  privateKey: KeyLike;
  publicJwk: JWK;
}

async function keyPair(alg: 'ES256' | 'RS256', kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

let server: Server;
let baseUrl: string;
let fetches = 0;
let iapKey: KeyPair;
let emulatorKey: KeyPair;
/** The attacker's keys, with the same key ids as the real ones. */
let otherIapKey: KeyPair;
let otherEmulatorKey: KeyPair;
const emulatorIssuer = () => baseUrl;

beforeAll(async () => {
  [iapKey, emulatorKey, otherIapKey, otherEmulatorKey] = await Promise.all([
    keyPair('ES256', 'iap-1'),
    keyPair('RS256', 'emu-1'),
    keyPair('ES256', 'iap-1'),
    keyPair('RS256', 'emu-1'),
  ]);
  server = createServer((req, res) => {
    fetches += 1;
    const keys =
      req.url === '/iap/public_key-jwk'
        ? [iapKey.publicJwk]
        : req.url === '/jwks'
          ? [emulatorKey.publicJwk]
          : undefined;
    res.writeHead(keys === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(keys === undefined ? {} : { keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
});

type Claims = Record<string, unknown>;

async function sign(
  key: KeyPair,
  claims: Claims,
  { alg = key.publicJwk.alg!, expiresIn = '10m' }: { alg?: string; expiresIn?: string } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid: key.publicJwk.kid!, typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key.privateKey);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const unsigned = (claims: Claims, alg = 'none') => `${b64({ alg, typ: 'JWT' })}.${b64(claims)}.`;

async function refusal(verify: CallerVerifier, headers: Headers): Promise<Error> {
  try {
    const identity = await verify(headers);
    throw new Error(`expected a refusal, got ${JSON.stringify(identity)}`);
  } catch (err) {
    return err as Error;
  }
}

describe('api behind IAP: the x-goog-iap-jwt-assertion, verified in full', () => {
  let iap: CallerVerifier;
  const iapClaims = (over: Claims = {}): Claims => ({
    iss: IAP_ISSUER,
    aud: IAP_AUDIENCE,
    sub: 'accounts.google.com:1234',
    email: 'Alice@Example.com',
    ...over,
  });
  const assertion = (value: string) => ({ 'x-goog-iap-jwt-assertion': value });

  beforeAll(() => {
    iap = createApiVerifier({
      localMode: false,
      audiences: ['https://api.example'],
      iap: { audience: IAP_AUDIENCE, jwksUrl: `${baseUrl}/iap/public_key-jwk` },
      clock: systemClock,
    });
  });

  it('fetches IAP keys on first use only, and keeps them', async () => {
    const before = fetches;
    const good = assertion(await sign(iapKey, iapClaims()));
    expect(fetches).toBe(before);
    await expect(iap(good)).resolves.toEqual({
      email: 'alice@example.com',
      kind: 'user',
      via: 'iap',
    });
    await expect(iap(good)).resolves.toMatchObject({ email: 'alice@example.com' });
    expect(fetches).toBe(before + 1);
  });

  it.each<[string, () => Promise<Headers>]>([
    ['no assertion', async () => ({})],
    [
      'a signature by another key with the same kid',
      async () => assertion(await sign(otherIapKey, iapClaims())),
    ],
    [
      'another audience',
      async () =>
        assertion(
          await sign(iapKey, iapClaims({ aud: '/projects/123/global/backendServices/999' })),
        ),
    ],
    [
      'another issuer',
      async () => assertion(await sign(iapKey, iapClaims({ iss: 'https://accounts.google.com' }))),
    ],
    [
      'an expired assertion',
      async () => assertion(await sign(iapKey, iapClaims(), { expiresIn: '-5m' })),
    ],
    ['alg none', async () => assertion(unsigned(iapClaims()))],
    [
      'the removed-signature marker',
      async () => assertion(`${unsigned(iapClaims(), 'ES256')}SIGNATURE_REMOVED_BY_GOOGLE`),
    ],
    [
      'an RS256 signature (IAP signs ES256)',
      async () => assertion(await sign(emulatorKey, iapClaims())),
    ],
    ['no email', async () => assertion(await sign(iapKey, iapClaims({ email: undefined })))],
    [
      'a forwarded Cloud Run token instead (only the assertion counts behind IAP)',
      async () => ({
        authorization: `Bearer ${b64({ alg: 'RS256' })}.${b64({ iss: 'https://accounts.google.com', aud: 'https://api.example', email: 'alice@example.com', email_verified: true, exp: Math.floor(Date.now() / 1000) + 600 })}.SIGNATURE_REMOVED_BY_GOOGLE`,
      }),
    ],
    [
      'a client-sent user email header',
      async () => ({ 'x-goog-authenticated-user-email': 'accounts.google.com:alice@example.com' }),
    ],
    ['garbage', async () => assertion('not.a.jwt')],
  ])('refuses %s with 401', async (_name, headers) => {
    expect(await refusal(iap, await headers())).toBeInstanceOf(UnauthenticatedError);
  });
});

describe('run-task in local mode: the Cloud Tasks OIDC token, verified against the emulator keys', () => {
  let runTask: CallerVerifier;
  const oidc = (over: Claims = {}): Claims => ({
    iss: emulatorIssuer(),
    aud: RUN_TASK,
    sub: '1234',
    email: INVOKER,
    email_verified: true,
    ...over,
  });
  const bearer = (value: string) => ({ authorization: `Bearer ${value}` });

  beforeAll(() => {
    runTask = createServiceVerifier({
      localMode: true,
      audience: RUN_TASK,
      serviceAccount: INVOKER,
      via: 'cloud-tasks-oidc',
      local: { jwksUrl: `${baseUrl}/jwks`, issuer: emulatorIssuer() },
      clock: systemClock,
    });
  });

  it('accepts the invoker account', async () => {
    await expect(runTask(bearer(await sign(emulatorKey, oidc())))).resolves.toEqual({
      email: INVOKER,
      kind: 'serviceAccount',
      via: 'cloud-tasks-oidc',
    });
  });

  it('answers 403 to a valid token of another account', async () => {
    const err = await refusal(
      runTask,
      bearer(await sign(emulatorKey, oidc({ email: 'x@p.iam.gserviceaccount.com' }))),
    );
    expect(err).toBeInstanceOf(ForbiddenError);
  });

  it.each<[string, () => Promise<Headers>]>([
    ['no token', async () => ({})],
    ['a forged signature', async () => bearer(await sign(otherEmulatorKey, oidc()))],
    [
      'another audience',
      async () => bearer(await sign(emulatorKey, oidc({ aud: 'https://elsewhere.example' }))),
    ],
    [
      'another issuer',
      async () => bearer(await sign(emulatorKey, oidc({ iss: 'https://accounts.google.com' }))),
    ],
    ['an expired token', async () => bearer(await sign(emulatorKey, oidc(), { expiresIn: '-5m' }))],
    [
      'email_verified false',
      async () => bearer(await sign(emulatorKey, oidc({ email_verified: false }))),
    ],
    ['alg none', async () => bearer(unsigned(oidc()))],
    [
      'a token as Cloud Run forwards it (no signature to check)',
      async () => bearer(`${unsigned(oidc(), 'RS256')}SIGNATURE_REMOVED_BY_GOOGLE`),
    ],
    [
      'the token in X-Serverless-Authorization only',
      async () => ({ 'x-serverless-authorization': `Bearer ${await sign(emulatorKey, oidc())}` }),
    ],
  ])('refuses %s with 401', async (_name, headers) => {
    expect(await refusal(runTask, await headers())).toBeInstanceOf(UnauthenticatedError);
  });
});
