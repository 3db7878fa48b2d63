import { ValidationError } from '../../../src/domain/errors';
import { createExecutorRegistry } from '../../../src/executors/registry';
import { createHttpRequestExecutor } from '../../../src/executors/http-request';
import { originAllowed, templateOrigin } from '../../../src/executors/origin-policy';

const registry = createExecutorRegistry([
  createHttpRequestExecutor(() => 'token', fetch, {
    allowedOrigins: ['https://partner.example', 'http://127.0.0.1:*'],
    secretOrigins: { PARTNER_TOKEN: ['https://partner.example'] },
  }),
]);
const parse = (config: object) => registry.parseConfig('http.request', config);
const issuePaths = (config: object): string[] => {
  try {
    parse(config);
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
        headers: { 'X-Key': { secret: 'UNBOUND' } },
      }),
    ).toEqual(['config.headers.X-Key']);
  });

  it('matches origins exactly, with :* for any port only', () => {
    expect(originAllowed('http://127.0.0.1:99', ['http://127.0.0.1:*'])).toBe(true);
    expect(originAllowed('http://127.0.0.1.evil:99', ['http://127.0.0.1:*'])).toBe(false);
    expect(originAllowed('https://a.example', ['https://a.example:*'])).toBe(true);
    expect(templateOrigin('https://a.example/{{subject.email}}')).toEqual({
      origin: 'https://a.example',
    });
  });
});
