import { loadConfig } from '../../src/config';
import { ConfigError } from '../../src/domain/errors';

const BASE = {
  GOOGLE_CLOUD_PROJECT: 'p',
  RUN_TASK_URL: 'https://run-task.example.com',
  TASKS_INVOKER_SA: 'invoker@p.iam.gserviceaccount.com',
  SUBJECT_HASH_PEPPER: 'a-pepper-of-sixteen-chars',
};

describe('deadline settings', () => {
  it('defaults to UTC, 30 days for other, no extension, the clock table as shipped', () => {
    const c = loadConfig(BASE);
    expect(c.businessTimeZone).toBe('UTC');
    expect(c.otherResponseDays).toBe(30);
    expect(c.otherExtensionDays).toBe(0);
    expect(c.clockRunsWhileVerifying).toEqual({});
  });

  it('reads a business time zone, the other period and clock overrides', () => {
    const c = loadConfig({
      ...BASE,
      BUSINESS_TIME_ZONE: 'Europe/Berlin',
      OTHER_RESPONSE_DAYS: '21',
      OTHER_EXTENSION_DAYS: '14',
      VERIFICATION_CLOCK_RUNS: 'gdpr=true, lgpd=false',
    });
    expect(c).toMatchObject({
      businessTimeZone: 'Europe/Berlin',
      otherResponseDays: 21,
      otherExtensionDays: 14,
      clockRunsWhileVerifying: { gdpr: true, lgpd: false },
    });
  });

  it.each([
    ['BUSINESS_TIME_ZONE', 'Mars/Olympus_Mons'],
    ['BUSINESS_TIME_ZONE', 'CEST+2'],
    ['OTHER_RESPONSE_DAYS', '0'],
    ['OTHER_EXTENSION_DAYS', '-1'],
    ['VERIFICATION_CLOCK_RUNS', 'hipaa=true'],
    ['VERIFICATION_CLOCK_RUNS', 'gdpr=yes'],
  ])('refuses %s=%s, naming it', (name, value) => {
    let err: unknown;
    try {
      loadConfig({ ...BASE, [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message) + JSON.stringify(err)).toContain(name);
  });
});
