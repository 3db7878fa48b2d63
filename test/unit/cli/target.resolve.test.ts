import { resolveTarget } from '../../../src/cli/target';

describe('the target', () => {
  it.each([
    [{}, {}, { kind: 'local', apiUrl: 'http://localhost:8080' }],
    [{}, { DSR_API: 'http://127.0.0.1:9000/' }, { kind: 'local', apiUrl: 'http://127.0.0.1:9000' }],
    [
      { api: 'http://[::1]:1' },
      { DSR_API: 'https://x.run.app' },
      { kind: 'local', apiUrl: 'http://[::1]:1' },
    ],
    [
      { as: 'approver@localhost' },
      { DSR_IDENTITY: 'someone@localhost' },
      { kind: 'local', apiUrl: 'http://localhost:8080', identity: 'approver@localhost' },
    ],
    [
      {},
      { DSR_IDENTITY: 'auditor@localhost' },
      { kind: 'local', apiUrl: 'http://localhost:8080', identity: 'auditor@localhost' },
    ],
    [
      { api: 'https://api-abc.a.run.app/' },
      {},
      {
        kind: 'deployed',
        apiUrl: 'https://api-abc.a.run.app',
        audience: 'https://api-abc.a.run.app',
      },
    ],
    [
      {
        api: 'https://api.example.com/dsr',
        impersonateServiceAccount: 'ops@p.iam.gserviceaccount.com',
      },
      { DSR_AUDIENCE: 'aud-1', DSR_ID_TOKEN: 't' },
      {
        kind: 'deployed',
        apiUrl: 'https://api.example.com/dsr',
        audience: 'aud-1',
        impersonate: 'ops@p.iam.gserviceaccount.com',
        idToken: 't',
      },
    ],
  ])('flags %j with env %j', (options, env, expected) => {
    expect(resolveTarget(options, env)).toEqual(expected);
  });

  it('ignores a DSR_IDENTITY when deployed (the token says who you are)', () => {
    expect(resolveTarget({ api: 'https://x.run.app' }, { DSR_IDENTITY: 'a@b' })).not.toHaveProperty(
      'identity',
    );
  });

  it.each([
    [{ api: 'not a url' }, /not a URL/],
    [{ api: 'ftp://x' }, /http or https/],
    [{ api: 'https://x.run.app', as: 'a@b' }, /--as names the caller of a local stack only/],
    [{ impersonateServiceAccount: 'sa@x' }, /applies to a deployed api/],
  ])('refuses %j as a usage error', (options, message) => {
    expect(() => resolveTarget(options, {})).toThrow(message);
    expect(exitCodeOf(() => resolveTarget(options, {}))).toBe(2);
  });
});

/** The exit code a call's error carries; undefined when it does not throw. */
function exitCodeOf(call: () => unknown): number | undefined {
  try {
    call();
  } catch (err) {
    return (err as { exitCode?: number }).exitCode;
  }
  return undefined;
}
