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
});
