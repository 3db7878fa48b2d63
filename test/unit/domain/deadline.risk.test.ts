import {
  clockStart,
  deadlineRisk,
  deadlineStatus,
  isWorseRisk,
  type DeadlineSettings,
} from '../../../src/domain/deadline';
import type { Request } from '../../../src/domain/model';

const UTC: DeadlineSettings = { businessTimeZone: 'UTC', otherResponseDays: 30 };
const HOUR = 3_600_000;

describe('deadlineRisk: at risk under 25 % of the period in force', () => {
  // A 30-day period: 720 h, of which 25 % is 180 h.
  const start = new Date('2026-01-01T00:00:00Z');
  const due = new Date('2026-01-31T00:00:00Z');
  it.each([
    ['at the start', start.getTime(), 'ok'],
    ['with exactly 25 % left', due.getTime() - 180 * HOUR, 'ok'],
    ['1 ms under 25 % left', due.getTime() - 180 * HOUR + 1, 'at_risk'],
    ['at dueAt itself', due.getTime(), 'at_risk'],
    ['1 ms past dueAt', due.getTime() + 1, 'overdue'],
  ] as const)('%s: %s', (_name, now, risk) => {
    expect(deadlineRisk(start, due, new Date(now))).toBe(risk);
  });

  it('counts an extension into the period in force', () => {
    // Extended to 90 days: 25 % is 22.5 days, so 20 days before the end is at risk, 30 is not.
    const extended = new Date('2026-04-01T00:00:00Z');
    expect(deadlineRisk(start, extended, new Date('2026-03-02T00:00:00Z'))).toBe('ok');
    expect(deadlineRisk(start, extended, new Date('2026-03-12T00:00:00Z'))).toBe('at_risk');
  });
});

describe('deadlineStatus', () => {
  const request = (over: Partial<Request> = {}) =>
    ({
      regulation: 'gdpr',
      receivedAt: '2026-01-31T10:00:00Z',
      dueAt: '2026-02-28T23:59:59.999Z',
      ...over,
    }) as Pick<Request, 'regulation' | 'receivedAt' | 'dueAt' | 'verification'>;

  it.each([
    ['2026-02-01T00:00:00Z', 27, 'ok'],
    ['2026-02-28T00:00:00Z', 0, 'at_risk'],
    ['2026-02-28T23:59:59.999Z', 0, 'at_risk'],
    ['2026-03-01T00:00:00Z', -1, 'overdue'],
    ['2026-03-10T12:00:00Z', -10, 'overdue'],
  ] as const)('at %s: %i days left, %s', (now, daysLeft, risk) => {
    expect(deadlineStatus(request(), new Date(now), UTC)).toEqual({ daysLeft, deadlineRisk: risk });
  });

  it('counts days in the business time zone', () => {
    const berlin = { ...UTC, businessTimeZone: 'Europe/Berlin' };
    const r = request({ dueAt: '2026-02-15T22:59:59.999Z' });
    // 23:30 UTC on 14 February is already 15 February in Berlin: due today there.
    expect(deadlineStatus(r, new Date('2026-02-14T23:30:00Z'), berlin).daysLeft).toBe(0);
    expect(deadlineStatus(r, new Date('2026-02-14T23:30:00Z'), UTC).daysLeft).toBe(1);
  });

  it('starts the period at the verification where the clock waited for it', () => {
    const verified = request({
      dueAt: '2026-03-20T23:59:59.999Z',
      verification: {
        state: 'verified',
        since: '2026-01-31T10:00:00Z',
        at: '2026-02-20T09:00:00Z',
      },
    });
    expect(clockStart(verified, UTC).toISOString()).toBe('2026-02-20T09:00:00.000Z');
    // 28 days in force from the verification: 10 days before the end is still ok.
    expect(deadlineStatus(verified, new Date('2026-03-11T00:00:00Z'), UTC).deadlineRisk).toBe('ok');
    const ccpa = { ...verified, regulation: 'ccpa' as const };
    expect(clockStart(ccpa, UTC).toISOString()).toBe('2026-01-31T10:00:00.000Z');
  });
});

describe('isWorseRisk', () => {
  it.each([
    ['at_risk', undefined, true],
    ['ok', undefined, false],
    ['overdue', 'at_risk', true],
    ['at_risk', 'at_risk', false],
    ['ok', 'at_risk', false],
  ] as const)('%s after %s: %s', (next, previous, worse) => {
    expect(isWorseRisk(next, previous)).toBe(worse);
  });
});
