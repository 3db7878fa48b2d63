import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import {
  createApiVerifier,
  createServiceVerifier,
  SIGNATURE_REMOVED,
  type Headers,
} from '../../../src/adapters/identity/verifiers';
import { ForbiddenError, UnauthenticatedError } from '../../../src/domain/errors';

const NOW = new Date('2030-05-01T12:00:00Z');
const clock = { now: () => NOW };
const nowS = NOW.getTime() / 1000;
const API = 'https://us-central1-p.cloudfunctions.net/api';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A token as Cloud Run IAM forwards it: header and claims intact, signature removed. */
function forwarded(claims: Record<string, unknown>, header: object = { alg: 'RS256' }): string {
  return `${b64(header)}.${b64(claims)}.${SIGNATURE_REMOVED}`;
}
const good = {
  iss: 'https://accounts.google.com',
  aud: API,
  email: 'Jane@Example.com',
  email_verified: true,
  exp: nowS + 600,
  iat: nowS - 10,
};
const bearer = (token: string): Headers => ({ authorization: `Bearer ${token}` });

describe('the api caller, deployed (Cloud Run IAM forwarded the token)', () => {
  const verify = createApiVerifier({ localMode: false, audiences: [API], clock });

  it('takes the identity from a forwarded token whose claims check out', async () => {
    await expect(verify(bearer(forwarded(good)))).resolves.toEqual({
      email: 'jane@example.com',
      kind: 'user',
      via: 'cloud-run-iam',
    });
  });

  it.each([
    [
      'a token with a real signature (it did not come through IAM)',
      `${b64({ alg: 'RS256' })}.${b64(good)}.c2lnbmF0dXJl`,
    ],
    ['alg none', forwarded(good, { alg: 'none' })],
    ['an unsigned two-part token', `${b64({ alg: 'none' })}.${b64(good)}`],
    ['another issuer', forwarded({ ...good, iss: 'https://evil.example' })],
    ['another audience', forwarded({ ...good, aud: 'https://other.run.app' })],
    ['an expired token', forwarded({ ...good, exp: nowS - 3600 })],
    ['a token from the future', forwarded({ ...good, iat: nowS + 3600 })],
    ['an unverified email', forwarded({ ...good, email_verified: false })],
    ['no email', forwarded({ ...good, email: undefined })],
    ['garbage', 'not.a.token'],
  ])('refuses %s with 401', async (_name, token) => {
    await expect(verify(bearer(token))).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('never trusts a client header that names the caller', async () => {
    const headers = {
      'x-goog-authenticated-user-email': 'accounts.google.com:cpo@example.com',
      'x-dev-identity': 'cpo@example.com',
    };
    await expect(verify(headers)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('reads X-Serverless-Authorization when present, and never Authorization then', async () => {
    const attacker = forwarded({ ...good, email: 'cpo@example.com' });
    const checked = forwarded(good);
    const identity = await verify({
      'x-serverless-authorization': `Bearer ${checked}`,
      authorization: `Bearer ${attacker}`,
    });
    expect(identity.email).toBe('jane@example.com');
    await expect(
      verify({ 'x-serverless-authorization': 'Bearer junk', authorization: `Bearer ${checked}` }),
    ).rejects.toBeInstanceOf(UnauthenticatedError);
  });
});

describe('local mode', () => {
  const verify = createApiVerifier({ localMode: true, audiences: [], clock });

  it('names the caller by X-Dev-Identity, defaulting to developer@localhost', async () => {
    await expect(verify({})).resolves.toMatchObject({ email: 'developer@localhost' });
    await expect(verify({ 'x-dev-identity': 'Approver@Localhost' })).resolves.toMatchObject({
      email: 'approver@localhost',
      via: 'local-dev',
    });
    await expect(verify({ 'x-dev-identity': 'not an email' })).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
  });

  it('ignores X-Dev-Identity outside local mode', async () => {
    const deployed = createApiVerifier({ localMode: false, audiences: [API], clock });
    await expect(deployed({ 'x-dev-identity': 'developer@localhost' })).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
  });
});

/** A JWKS endpoint on loopback, serving one public key. */
async function jwksServer(
  publicKey: KeyLike,
  alg: string,
): Promise<{ url: string; server: Server }> {
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg, use: 'sig' };
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, server };
}

describe('tokens verified in full against a key set', () => {
  let servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    servers = [];
  });

  it('run-task: the invoker account only, signed by the emulator key', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const other = await generateKeyPair('RS256');
    const { url, server } = await jwksServer(publicKey, 'RS256');
    servers.push(server);
    const issuer = 'http://127.0.0.1:1';
    const audience = 'http://127.0.0.1:2/';
    const verify = createServiceVerifier({
      localMode: true,
      audience,
      serviceAccount: 'invoker@p.iam.gserviceaccount.com',
      local: { jwksUrl: url, issuer },
      via: 'cloud-tasks-oidc',
      clock,
    });
    const sign = (claims: Record<string, unknown>, key = privateKey) =>
      new SignJWT({ email_verified: true, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(nowS)
        .setExpirationTime(nowS + 600)
        .sign(key);

    await expect(
      verify(bearer(await sign({ email: 'invoker@p.iam.gserviceaccount.com' }))),
    ).resolves.toMatchObject({ kind: 'serviceAccount', via: 'cloud-tasks-oidc' });
    await expect(
      verify(bearer(await sign({ email: 'someone@p.iam.gserviceaccount.com' }))),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(
      verify(bearer(await sign({ email: 'invoker@p.iam.gserviceaccount.com' }, other.privateKey))),
    ).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(verify({})).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(verify(bearer(forwarded(good)))).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('IAP: the assertion verified against IAP keys, for its audience', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const { url, server } = await jwksServer(publicKey, 'ES256');
    servers.push(server);
    const audience = '/projects/42/global/backendServices/7';
    const verify = createApiVerifier({
      localMode: false,
      audiences: [API],
      iap: { audience, jwksUrl: url },
      clock,
    });
    const assertion = (aud: string, iss = 'https://cloud.google.com/iap') =>
      new SignJWT({ email: 'lawyer@example.com' })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(iss)
        .setAudience(aud)
        .setIssuedAt(nowS)
        .setExpirationTime(nowS + 600)
        .sign(privateKey);
    await expect(
      verify({ 'x-goog-iap-jwt-assertion': await assertion(audience) }),
    ).resolves.toMatchObject({ email: 'lawyer@example.com', via: 'iap' });
    for (const bad of [
      await assertion('/projects/42/global/backendServices/8'),
      await assertion(audience, 'https://accounts.google.com'),
    ]) {
      await expect(verify({ 'x-goog-iap-jwt-assertion': bad })).rejects.toBeInstanceOf(
        UnauthenticatedError,
      );
    }
    // Behind IAP, a forwarded IAM token alone does not name the caller.
    await expect(verify(bearer(forwarded(good)))).rejects.toBeInstanceOf(UnauthenticatedError);
  });
});
