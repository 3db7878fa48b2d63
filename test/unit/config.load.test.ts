import { ConfigError } from '../../src/domain/errors';
import { loadConfig, requiredEnvVars } from '../../src/config';

const base = {
  GOOGLE_CLOUD_PROJECT: 'demo-project',
  RUN_TASK_URL: 'https://run-task-abc.a.run.app',
  TASKS_INVOKER_SA: 'tasks-invoker@demo-project.iam.gserviceaccount.com',
  SUBJECT_HASH_PEPPER: 'sixteen-chars-or-more',
};

describe('loadConfig', () => {
  it('applies defaults', () => {
    const c = loadConfig(base);
    expect(c.bigQuery.pricePerTiB).toBe(6.25);
    expect(c.queueId).toBe('dsr-tasks');
    expect(c.oidcAudience).toBe(base.RUN_TASK_URL);
    expect(c.localMode).toBe(false);
    expect(c.bigQuery.quickWaitMs).toBe(2000);
    expect(c.dispatchBudgetSeconds).toBe(180);
    expect(c.rearmAfterSeconds).toBe(900);
    expect(c.storeTimeoutSeconds).toBe(10);
    expect(c.clockOffsetMs).toBe(0);
    expect(c.verificationAlertHours).toBe(72);
    expect(loadConfig({ ...base, VERIFICATION_ALERT_HOURS: '24' }).verificationAlertHours).toBe(24);
  });

  it('honours a clock offset in local mode only', () => {
    const c = loadConfig({ ...base, LOCAL_MODE: 'true', CLOCK_OFFSET_MS: '-3600000' });
    expect(c.clockOffsetMs).toBe(-3_600_000);
  });

  it.each<[string, Record<string, string | undefined>, RegExp]>([
    ['missing project', { GOOGLE_CLOUD_PROJECT: undefined }, /GOOGLE_CLOUD_PROJECT/],
    ['short pepper', { SUBJECT_HASH_PEPPER: 'short' }, /SUBJECT_HASH_PEPPER: the pepper/],
    ['bad URL', { RUN_TASK_URL: 'not a url' }, /RUN_TASK_URL/],
    ['negative price', { BIGQUERY_PRICE_PER_TIB: '-1' }, /BIGQUERY_PRICE_PER_TIB/],
    ['bad bool', { LOCAL_MODE: 'yes' }, /LOCAL_MODE/],
    ['bad queue id', { TASKS_QUEUE: 'a/b' }, /TASKS_QUEUE/],
    ['a quick wait over a minute', { BIGQUERY_QUICK_WAIT_MS: '60001' }, /BIGQUERY_QUICK_WAIT_MS/],
    ['a negative quick wait', { BIGQUERY_QUICK_WAIT_MS: '-1' }, /BIGQUERY_QUICK_WAIT_MS/],
    ['a dispatch budget under 5 s', { DISPATCH_BUDGET_SECONDS: '4' }, /DISPATCH_BUDGET_SECONDS/],
    ['a zero store timeout', { STORE_TIMEOUT_SECONDS: '0' }, /STORE_TIMEOUT_SECONDS/],
    ['a zero re-arm delay', { REARM_AFTER_SECONDS: '0' }, /REARM_AFTER_SECONDS/],
    ['a zero verification alert', { VERIFICATION_ALERT_HOURS: '0' }, /VERIFICATION_ALERT_HOURS/],
    [
      'a bootstrap admin that is not a member',
      { BOOTSTRAP_ADMINS: 'alice@example.com' },
      /BOOTSTRAP_ADMINS/,
    ],
    ['a scheduler account that is not an email', { SCHEDULER_SA: 'scheduler' }, /SCHEDULER_SA/],
    [
      'a dispatch audience that is not a URL',
      { DISPATCH_AUDIENCE: 'dispatch' },
      /DISPATCH_AUDIENCE/,
    ],
    ['an IAP key set that is not a URL', { IAP_JWKS_URL: 'keys' }, /IAP_JWKS_URL/],
    [
      'a local key set without its issuer',
      { LOCAL_MODE: 'true', TASKS_OIDC_JWKS_URL: 'http://127.0.0.1:1/jwks' },
      /TASKS_OIDC_ISSUER: TASKS_OIDC_JWKS_URL and TASKS_OIDC_ISSUER are set together/,
    ],
    [
      'a clock offset outside local mode',
      { CLOCK_OFFSET_MS: '60000' },
      /CLOCK_OFFSET_MS: a clock offset is honoured only with LOCAL_MODE=true/,
    ],
  ])('rejects %s', (_name, override, message) => {
    expect(() => loadConfig({ ...base, ...override })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...override })).toThrow(message);
  });

  it('lists every problem at once', () => {
    let caught: unknown;
    try {
      loadConfig({});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).issues.map((i) => i.path).sort()).toEqual(
      requiredEnvVars().sort(),
    );
  });

  it('parses numbers and booleans from strings', () => {
    const c = loadConfig({
      ...base,
      BIGQUERY_PRICE_PER_TIB: '5',
      LOCAL_MODE: 'true',
      LEASE_GRACE_SECONDS: '5',
    });
    expect(c.bigQuery.pricePerTiB).toBe(5);
    expect(c.localMode).toBe(true);
    expect(c.leaseGraceSeconds).toBe(5);
  });

  describe('who may call', () => {
    it("defaults the audiences to the functions' URLs and trusts no one by default", () => {
      const { auth } = loadConfig(base);
      expect(auth).toEqual({
        apiAudiences: ['https://us-central1-demo-project.cloudfunctions.net/api'],
        dispatchAudience: 'https://us-central1-demo-project.cloudfunctions.net/dispatch',
        schedulerServiceAccount: undefined,
        bootstrapAdmins: [],
      });
    });

    it('reads audiences, IAP, the scheduler account and bootstrap admins', () => {
      const { auth } = loadConfig({
        ...base,
        API_AUDIENCES: ' https://api-x.a.run.app , custom-audience ,',
        IAP_AUDIENCE: '/projects/1/global/backendServices/2',
        IAP_JWKS_URL: 'http://127.0.0.1:9/keys',
        SCHEDULER_SA: 'scheduler@demo-project.iam.gserviceaccount.com',
        DISPATCH_AUDIENCE: 'https://dispatch-x.a.run.app',
        BOOTSTRAP_ADMINS:
          'user:Lead@Example.com, group:privacy@example.com,serviceAccount:ops@p.iam.gserviceaccount.com',
      });
      expect(auth).toEqual({
        apiAudiences: ['https://api-x.a.run.app', 'custom-audience'],
        iap: {
          audience: '/projects/1/global/backendServices/2',
          jwksUrl: 'http://127.0.0.1:9/keys',
        },
        dispatchAudience: 'https://dispatch-x.a.run.app',
        schedulerServiceAccount: 'scheduler@demo-project.iam.gserviceaccount.com',
        bootstrapAdmins: [
          'user:lead@example.com',
          'group:privacy@example.com',
          'serviceAccount:ops@p.iam.gserviceaccount.com',
        ],
      });
    });

    it('takes a blank setting (as Terraform passes an unused one) for unset', () => {
      const { auth } = loadConfig({
        ...base,
        API_AUDIENCES: '',
        IAP_AUDIENCE: '',
        SCHEDULER_SA: '',
        DISPATCH_AUDIENCE: '',
        TASKS_OIDC_JWKS_URL: '',
        TASKS_OIDC_ISSUER: '',
      });
      expect(auth.apiAudiences).toEqual([
        'https://us-central1-demo-project.cloudfunctions.net/api',
      ]);
      expect(auth.iap).toBeUndefined();
      expect(auth.schedulerServiceAccount).toBeUndefined();
      expect(auth.localTokens).toBeUndefined();
    });

    it("never honours the emulator's keys outside local mode", () => {
      const { auth } = loadConfig({
        ...base,
        TASKS_OIDC_JWKS_URL: 'http://127.0.0.1:8124/jwks',
        TASKS_OIDC_ISSUER: 'http://127.0.0.1:8124',
      });
      expect(auth.localTokens).toBeUndefined();
    });

    it("uses the Cloud Tasks emulator's keys in local mode", () => {
      const { auth } = loadConfig({
        ...base,
        LOCAL_MODE: 'true',
        TASKS_OIDC_JWKS_URL: 'http://127.0.0.1:8124/jwks',
        TASKS_OIDC_ISSUER: 'http://127.0.0.1:8124',
      });
      expect(auth.localTokens).toEqual({
        jwksUrl: 'http://127.0.0.1:8124/jwks',
        issuer: 'http://127.0.0.1:8124',
      });
    });
  });

  describe('where http.request may call', () => {
    it('is closed by default: no origin, no secret bound', () => {
      expect(loadConfig(base).httpOrigins).toEqual({ allowedOrigins: [], secretOrigins: {} });
    });

    it('reads the allowlist and the secret bindings', () => {
      const { httpOrigins } = loadConfig({
        ...base,
        HTTP_ALLOWED_ORIGINS: 'https://api.partner.example, http://127.0.0.1:*',
        HTTP_SECRET_ORIGINS: '{"PARTNER_TOKEN":["https://api.partner.example"]}',
      });
      expect(httpOrigins).toEqual({
        allowedOrigins: ['https://api.partner.example', 'http://127.0.0.1:*'],
        secretOrigins: { PARTNER_TOKEN: ['https://api.partner.example'] },
      });
    });

    it.each<[string, Record<string, string>, RegExp]>([
      [
        'a URL with a path',
        { HTTP_ALLOWED_ORIGINS: 'https://a.example/v1' },
        /HTTP_ALLOWED_ORIGINS/,
      ],
      [
        'a host wildcard',
        { HTTP_ALLOWED_ORIGINS: 'https://*.example.com' },
        /HTTP_ALLOWED_ORIGINS/,
      ],
      ['not http', { HTTP_ALLOWED_ORIGINS: 'ftp://a.example' }, /HTTP_ALLOWED_ORIGINS/],
      [
        'bindings that are not JSON',
        { HTTP_SECRET_ORIGINS: 'PARTNER_TOKEN=x' },
        /HTTP_SECRET_ORIGINS/,
      ],
      [
        'bindings that are a list',
        { HTTP_SECRET_ORIGINS: '["https://a.example"]' },
        /HTTP_SECRET_ORIGINS/,
      ],
      [
        'a binding to something not an origin',
        { HTTP_SECRET_ORIGINS: '{"PARTNER_TOKEN":["https://a.example/path"]}' },
        /HTTP_SECRET_ORIGINS: .*not an origin/,
      ],
      [
        'a binding of a name that is not a secret reference',
        { HTTP_SECRET_ORIGINS: '{"__proto__":["https://a.example"]}' },
        /HTTP_SECRET_ORIGINS: .*not a secret reference/,
      ],
    ])('refuses %s', (_name, env, message) => {
      expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
      expect(() => loadConfig({ ...base, ...env })).toThrow(message);
    });
  });
});
