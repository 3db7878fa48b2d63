import { PermanentError, ValidationError } from '../../../src/domain/errors';
import { createExecutorRegistry } from '../../../src/executors/registry';
import { createHttpRequestExecutor } from '../../../src/executors/http-request';
import {
  originAllowed,
  templateOrigin,
  type OriginPolicy,
} from '../../../src/executors/origin-policy';
import { executorContext } from '../../helpers/executor-context';

const POLICY: OriginPolicy = {
  allowedOrigins: ['https://partner.example', 'http://127.0.0.1:*'],
  secretOrigins: { PARTNER_TOKEN: ['https://partner.example'] },
};

/** Every call the executor would have made; a refused run makes none. */
function recordingFetch() {
  const calls: string[] = [];
  const fetchImpl = (async (url: string | URL | Request) => {
    calls.push(typeof url === 'string' ? url : url instanceof URL ? url.href : url.url);
    return new Response(null, { status: 204 });
  }) as typeof fetch;
  return { calls, fetchImpl };
}

const registry = createExecutorRegistry([createHttpRequestExecutor(() => 'token', fetch, POLICY)]);
const issuePaths = (config: object): string[] => {
  try {
    registry.admitConfig('http.request', config);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues.map((i) => i.path);
  }
};

describe('http.request sends identifiers and secrets only where it may', () => {
  it('accepts an allowlisted origin, and a secret bound to it', () => {
    expect(
      issuePaths({
        url: 'https://partner.example/v1/users/{{subject.email}}',
        headers: { Authorization: { secret: 'PARTNER_TOKEN' } },
      }),
    ).toEqual([]);
    expect(issuePaths({ url: 'http://127.0.0.1:4567/answer' })).toEqual([]);
  });

  it.each([
    ['another origin', 'https://evil.example/users'],
    ['the allowed origin as user info', 'https://partner.example@evil.example/users'],
    ['a subdomain', 'https://partner.example.evil.example/users'],
    ['http instead of https', 'http://partner.example/users'],
    ['another port', 'https://partner.example:8443/users'],
    ['the metadata server', 'http://169.254.169.254/computeMetadata/v1/'],
    ['the subject in the host', 'https://{{subject.email}}.partner.example/'],
    ['not http', 'file:///etc/passwd'],
  ])('refuses %s', (_name, url) => {
    expect(issuePaths({ url })).toEqual(['config.url']);
  });

  it('refuses a secret bound to another origin, or to none', () => {
    expect(
      issuePaths({
        url: 'http://127.0.0.1:4567/x',
        headers: { Authorization: { secret: 'PARTNER_TOKEN' } },
      }),
    ).toEqual(['config.headers.Authorization']);
    expect(
      issuePaths({
        url: 'https://partner.example/x',
        headers: { 'X-Key': { secret: 'UNBOUND' }, 'X-Team': 'privacy' },
      }),
    ).toEqual(['config.headers.X-Key']);
    // A secret named like an inherited property is bound to nothing.
    expect(
      issuePaths({ url: 'https://partner.example/x', headers: { A: { secret: 'CONSTRUCTOR' } } }),
    ).toEqual(['config.headers.A']);
  });

  it('is closed by default: with no policy, no origin is allowed', () => {
    const closed = createExecutorRegistry([createHttpRequestExecutor(() => 'token')]);
    expect(() => closed.admitConfig('http.request', { url: 'https://partner.example/x' })).toThrow(
      ValidationError,
    );
  });

  it('checks again before every run: a task admitted under a looser policy sends nothing', async () => {
    const { calls, fetchImpl } = recordingFetch();
    const tighter = createHttpRequestExecutor(() => 'token', fetchImpl, {
      allowedOrigins: ['https://partner.example'],
      secretOrigins: {},
    });
    const refusal = async (config: object, dryRun = false) => {
      const err = await tighter
        .run(executorContext(tighter, config, { dryRun }))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentError);
      return (err as PermanentError).code;
    };
    expect(await refusal({ url: 'http://127.0.0.1:4567/users/{{subject.email}}' })).toBe(
      'http.origin_not_allowed',
    );
    expect(await refusal({ url: 'http://127.0.0.1:4567/x' }, true)).toBe('http.origin_not_allowed');
    expect(
      await refusal({
        url: 'https://partner.example/x',
        headers: { Authorization: { secret: 'PARTNER_TOKEN' } },
      }),
    ).toBe('http.secret_not_bound');
    expect(calls).toEqual([]);

    // Within the policy, the call goes out.
    await tighter.run(executorContext(tighter, { url: 'https://partner.example/x' }));
    expect(calls).toEqual(['https://partner.example/x']);
  });

  it('matches origins exactly, with :* for any port only', () => {
    expect(originAllowed('http://127.0.0.1:99', ['http://127.0.0.1:*'])).toBe(true);
    expect(originAllowed('http://127.0.0.1', ['http://127.0.0.1:*'])).toBe(true);
    expect(originAllowed('http://127.0.0.1.evil:99', ['http://127.0.0.1:*'])).toBe(false);
    expect(originAllowed('http://127.0.0.1:99x', ['http://127.0.0.1:*'])).toBe(false);
    expect(originAllowed('https://a.example', ['https://a.example:*'])).toBe(true);
    // Entries are compared as URL writes an origin: case and the default port do not matter.
    expect(originAllowed('https://api.example.com', ['HTTPS://API.Example.com:443'])).toBe(true);
    expect(originAllowed('https://a.example', ['https://a.example/'])).toBe(false);
    expect(originAllowed('https://a.example', ['https://a.example/v1'])).toBe(false);
    expect(originAllowed('https://a.example', ['https://x@a.example'])).toBe(false);
    expect(templateOrigin('https://a.example/{{subject.email}}')).toEqual({
      origin: 'https://a.example',
    });
    // URL normalises the default port away, so an allowlisted origin matches its explicit form.
    expect(templateOrigin('https://a.example:443/x')).toEqual({ origin: 'https://a.example' });
  });
});
