import { createRemoteJWKSet, jwtVerify } from 'jose';
import { queuePath, useEmulatorAndReceiver } from './fixture';

const QUEUE = queuePath('oidc');
const EMAIL = 'invoker@emulator-test.iam.gserviceaccount.com';

describe('Cloud Tasks emulator: OIDC tokens', () => {
  const t = useEmulatorAndReceiver({ queues: [QUEUE] });

  async function tokenFor(oidcToken: {
    serviceAccountEmail: string;
    audience?: string;
  }): Promise<string> {
    await t.h.client.createTask({
      parent: QUEUE,
      task: {
        httpRequest: { url: t.receiver.url, oidcToken, headers: { Authorization: 'Bearer mine' } },
      },
    });
    await t.h.emulator.waitForIdle(QUEUE);
    const header = t.receiver.requests.at(-1)?.headers.authorization ?? '';
    expect(header).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    return header.slice('Bearer '.length);
  }

  it('signs a token that verifies against /jwks, with the audience and the service account', async () => {
    const issuer = `http://127.0.0.1:${t.h.emulator.httpPort}`;
    const discovery = (await (
      await fetch(`${issuer}/.well-known/openid-configuration`)
    ).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(discovery).toMatchObject({ issuer, jwks_uri: `${issuer}/jwks` });
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));

    const token = await tokenFor({
      serviceAccountEmail: EMAIL,
      audience: 'https://run-task.example',
    });
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer,
      audience: 'https://run-task.example',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ email: EMAIL, email_verified: true });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
    expect(Math.abs((payload.iat ?? 0) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('uses the task URL as the audience when none is given', async () => {
    const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${t.h.emulator.httpPort}/jwks`));
    const token = await tokenFor({ serviceAccountEmail: EMAIL });
    const { payload } = await jwtVerify(token, jwks, { audience: t.receiver.url });
    expect(payload.email).toBe(EMAIL);
  });
});
