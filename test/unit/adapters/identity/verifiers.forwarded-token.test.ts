import {
  createApiVerifier,
  createServiceVerifier,
  type CallerVerifier,
  type Headers,
} from '../../../../src/adapters/identity/verifiers';
import type { Identity } from '../../../../src/domain/access';
import { ForbiddenError, UnauthenticatedError } from '../../../../src/domain/errors';

/**
 * Deployed, Cloud Run IAM has verified the caller's token and forwards it with its signature
 * replaced: these tests build such tokens by hand, and the forgeries a caller could send instead.
 * (Full signature checks against a key set are in test/integration/identity.)
 */

const NOW = new Date('2026-03-02T12:00:00Z');
const clock = { now: () => NOW };
const t = Math.floor(NOW.getTime() / 1000);
const API = 'https://us-central1-p.cloudfunctions.net/api';
const RUN_TASK = 'https://run-task-abc.a.run.app';
const INVOKER = 'tasks-invoker@p.iam.gserviceaccount.com';

type Claims = Record<string, unknown>;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const token = (claims: Claims, signature = 'SIGNATURE_REMOVED_BY_GOOGLE', alg = 'RS256') =>
  `${b64({ alg, kid: 'k1', typ: 'JWT' })}.${b64(claims)}.${signature}`;
const claims = (over: Claims = {}): Claims => ({
  iss: 'https://accounts.google.com',
  aud: API,
  sub: '1234567890',
  email: 'alice@example.com',
  email_verified: true,
  iat: t - 10,
  exp: t + 3600,
  ...over,
});
const bearer = (value: string) => ({ authorization: `Bearer ${value}` });

const api = createApiVerifier({ localMode: false, audiences: [API], clock });

async function refusal(verify: CallerVerifier, headers: Headers): Promise<Error> {
  let identity: Identity | undefined;
  try {
    identity = await verify(headers);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`expected a refusal, got ${JSON.stringify(identity)}`);
}

describe('api caller, deployed: the token Cloud Run IAM forwarded', () => {
  it('takes the identity from a forwarded token', async () => {
    await expect(api(bearer(token(claims())))).resolves.toEqual({
      email: 'alice@example.com',
      kind: 'user',
      via: 'cloud-run-iam',
    });
  });

  it.each<[string, Claims]>([
    ['the bare issuer', { iss: 'accounts.google.com' }],
    ['an audience list that holds ours', { aud: ['https://elsewhere.example', API] }],
    ['an upper-case email (lower-cased)', { email: 'Alice@Example.COM' }],
    ['an expiry within the 60 s skew', { exp: t - 30 }],
  ])('accepts %s', async (_name, over) => {
    await expect(api(bearer(token(claims(over))))).resolves.toMatchObject({
      email: 'alice@example.com',
    });
  });

  it('knows a service account from its email', async () => {
    const sa = 'ci@p.iam.gserviceaccount.com';
    await expect(api(bearer(token(claims({ email: sa }))))).resolves.toEqual({
      email: sa,
      kind: 'serviceAccount',
      via: 'cloud-run-iam',
    });
  });

  it.each<[string, Headers]>([
    ['no credentials', {}],
    [
      'a real-looking signature (did not come through IAM)',
      bearer(token(claims(), 'c2lnbmF0dXJl')),
    ],
    ['an unsigned token (empty signature)', bearer(token(claims(), ''))],
    ['alg none', bearer(token(claims(), '', 'none'))],
    ['alg none with the removed-signature marker', bearer(token(claims(), undefined, 'none'))],
    ['an expired token', bearer(token(claims({ exp: t - 120 })))],
    ['a token without exp', bearer(token(claims({ exp: undefined })))],
    ['a token issued in the future', bearer(token(claims({ iat: t + 3600 })))],
    ['another audience', bearer(token(claims({ aud: 'https://elsewhere.example' })))],
    ['no audience', bearer(token(claims({ aud: undefined })))],
    ['another issuer', bearer(token(claims({ iss: 'https://evil.example' })))],
    ['no issuer', bearer(token(claims({ iss: undefined })))],
    ['IAP as the issuer', bearer(token(claims({ iss: 'https://cloud.google.com/iap' })))],
    ['email_verified false', bearer(token(claims({ email_verified: false })))],
    ['email_verified as the string "true"', bearer(token(claims({ email_verified: 'true' })))],
    ['markup in the email', bearer(token(claims({ email: '<script>@example.com' })))],
    ['a list of emails', bearer(token(claims({ email: 'a@example.com,b@example.com' })))],
    ['no email_verified', bearer(token(claims({ email_verified: undefined })))],
    ['no email', bearer(token(claims({ email: undefined })))],
    ['an email that is not one', bearer(token(claims({ email: 'alice' })))],
    ['two segments', bearer(token(claims()).split('.').slice(0, 2).join('.'))],
    ['four segments', bearer(`${token(claims())}.x`)],
    ['garbage claims', bearer(`${b64({ alg: 'RS256' })}.!!!.SIGNATURE_REMOVED_BY_GOOGLE`)],
    ['a Basic credential', { authorization: `Basic ${token(claims())}` }],
    [
      'a client-sent user email header',
      { 'x-goog-authenticated-user-email': 'accounts.google.com:ceo@example.com' },
    ],
    ['X-Dev-Identity outside local mode', { 'x-dev-identity': 'developer@localhost' }],
    [
      'an IAP assertion when the api is not behind IAP',
      { 'x-goog-iap-jwt-assertion': token(claims({ iss: 'https://cloud.google.com/iap' })) },
    ],
  ])('refuses %s with 401', async (_name, headers) => {
    const err = await refusal(api, headers);
    expect(err).toBeInstanceOf(UnauthenticatedError);
    expect(err.message).toMatch(/^no verified caller identity: /);
  });

  describe('X-Serverless-Authorization is the header IAM checked', () => {
    const good = `Bearer ${token(claims())}`;
    const forged = `Bearer ${token(claims({ email: 'ceo@example.com' }), '')}`;

    it('takes the identity from it, never from Authorization', async () => {
      const forwardedAsOther = `Bearer ${token(claims({ email: 'ceo@example.com' }))}`;
      await expect(
        api({ 'x-serverless-authorization': good, authorization: forwardedAsOther }),
      ).resolves.toMatchObject({ email: 'alice@example.com' });
      await expect(
        api({ 'x-serverless-authorization': good, authorization: forged }),
      ).resolves.toMatchObject({ email: 'alice@example.com' });
    });

    it('refuses when it fails, even with a good Authorization beside it', async () => {
      const err = await refusal(api, { 'x-serverless-authorization': forged, authorization: good });
      expect(err).toBeInstanceOf(UnauthenticatedError);
    });
  });
});

describe('api caller, local mode: X-Dev-Identity', () => {
  const local = createApiVerifier({ localMode: true, audiences: [API], clock });

  it('defaults to developer@localhost', async () => {
    await expect(local({})).resolves.toEqual({
      email: 'developer@localhost',
      kind: 'user',
      via: 'local-dev',
    });
  });

  it.each(["o'brien@example.com", 'first.last+tag@sub.example.co.uk', 'approver@localhost'])(
    'takes %s',
    async (v) => {
      await expect(local({ 'x-dev-identity': v })).resolves.toMatchObject({ email: v });
    },
  );

  it('takes the named identity, trimmed and lower-cased', async () => {
    await expect(local({ 'x-dev-identity': ' Approver@LocalHost ' })).resolves.toMatchObject({
      email: 'approver@localhost',
    });
  });

  it.each([
    'nobody',
    'a@b@c',
    'a b@c',
    'a/b@c',
    '@localhost',
    '',
    '<script>@example.com',
    'a@x,b@y',
  ])('refuses %j', async (v) => {
    expect(await refusal(local, { 'x-dev-identity': v })).toBeInstanceOf(UnauthenticatedError);
  });
});

describe('run-task and dispatch callers, deployed: one service account', () => {
  const runTask = createServiceVerifier({
    localMode: false,
    audience: RUN_TASK,
    serviceAccount: INVOKER,
    via: 'cloud-tasks-oidc',
    clock,
  });
  const invokerToken = (over: Claims = {}) =>
    bearer(token(claims({ aud: RUN_TASK, email: INVOKER, ...over })));

  it('accepts the invoker account', async () => {
    await expect(runTask(invokerToken())).resolves.toEqual({
      email: INVOKER,
      kind: 'serviceAccount',
      via: 'cloud-tasks-oidc',
    });
  });

  it('answers 403 to a verified token of another account', async () => {
    const err = await refusal(
      runTask,
      invokerToken({ email: 'intruder@p.iam.gserviceaccount.com' }),
    );
    expect(err).toBeInstanceOf(ForbiddenError);
    expect(err.message).toContain('intruder@p.iam.gserviceaccount.com may not call');
  });

  it.each<[string, Headers]>([
    ['no token', {}],
    ['the api audience', invokerToken({ aud: API })],
    ['an expired token', invokerToken({ exp: t - 3600 })],
    [
      'a real signature left in place',
      bearer(token(claims({ aud: RUN_TASK, email: INVOKER }), 'c2ln')),
    ],
    ['alg none', bearer(token(claims({ aud: RUN_TASK, email: INVOKER }), '', 'none'))],
    ['only Cloud Tasks headers', { 'x-cloudtasks-taskname': 't1', 'x-cloudtasks-queuename': 'q' }],
  ])('refuses %s with 401', async (_name, headers) => {
    expect(await refusal(runTask, headers)).toBeInstanceOf(UnauthenticatedError);
  });

  it('refuses in local mode without the emulator keys to verify with', async () => {
    const local = createServiceVerifier({
      localMode: true,
      audience: RUN_TASK,
      serviceAccount: INVOKER,
      via: 'cloud-tasks-oidc',
      clock,
    });
    expect(await refusal(local, invokerToken())).toBeInstanceOf(UnauthenticatedError);
  });
});
