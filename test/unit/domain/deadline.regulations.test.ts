import {
  computeDeadlines,
  computeDueAt,
  deadlineAfterVerification,
  extendedDueAt,
  type DeadlineSettings,
} from '../../../src/domain/deadline';
import type { Regulation, Request } from '../../../src/domain/model';

const UTC: DeadlineSettings = { businessTimeZone: 'UTC', otherResponseDays: 30 };
const BERLIN: DeadlineSettings = { ...UTC, businessTimeZone: 'Europe/Berlin' };
const LOS_ANGELES: DeadlineSettings = { ...UTC, businessTimeZone: 'America/Los_Angeles' };

const due = (regulation: Regulation, receivedAt: string, settings = UTC): string =>
  computeDeadlines(regulation, new Date(receivedAt), settings).dueAt.toISOString();

describe('one month, Reg. 1182/71 (GDPR and UK GDPR)', () => {
  it.each<[string, Regulation, string, string]>([
    ['an ordinary date', 'gdpr', '2026-03-10T09:00:00Z', '2026-04-10T23:59:59.999Z'],
    [
      '31 January: the last day of February',
      'gdpr',
      '2026-01-31T10:00:00Z',
      '2026-02-28T23:59:59.999Z',
    ],
    [
      '31 January in a leap year: 29 February',
      'gdpr',
      '2024-01-31T10:00:00Z',
      '2024-02-29T23:59:59.999Z',
    ],
    [
      '29 February in a leap year: 29 March',
      'gdpr',
      '2024-02-29T10:00:00Z',
      '2024-03-29T23:59:59.999Z',
    ],
    ['30 January: 28 February', 'gdpr', '2026-01-30T10:00:00Z', '2026-02-28T23:59:59.999Z'],
    ['31 March: 30 April', 'gdpr', '2026-03-31T10:00:00Z', '2026-04-30T23:59:59.999Z'],
    ['31 August: 30 September', 'uk_gdpr', '2026-08-31T10:00:00Z', '2026-09-30T23:59:59.999Z'],
    ['December into the next year', 'gdpr', '2026-12-15T10:00:00Z', '2027-01-15T23:59:59.999Z'],
    [
      'a last day on a Sunday is not rolled on',
      'gdpr',
      '2026-01-15T10:00:00Z',
      '2026-02-15T23:59:59.999Z',
    ],
    [
      'receipt at 00:00 counts that day',
      'uk_gdpr',
      '2026-09-03T00:00:00Z',
      '2026-10-03T23:59:59.999Z',
    ],
    [
      'receipt at 23:59 counts that day',
      'uk_gdpr',
      '2026-09-03T23:59:00Z',
      '2026-10-03T23:59:59.999Z',
    ],
  ])('%s (%s, received %s)', (_name, regulation, receivedAt, dueAt) => {
    expect(due(regulation, receivedAt)).toBe(dueAt);
    expect(computeDeadlines(regulation, new Date(receivedAt), UTC).acknowledgeBy).toBeUndefined();
  });
});

describe('CCPA: 45 calendar days from the day of receipt, acknowledged within 10 business days', () => {
  it.each([
    // day 1 is the day of receipt (11 CCR §7021(b)): 1 January + 44 days
    ['2026-01-01T12:00:00Z', '2026-02-14T23:59:59.999Z', '2026-01-14T23:59:59.999Z'],
    // received on a Saturday: the business days start on Monday 5 January
    ['2026-01-03T12:00:00Z', '2026-02-16T23:59:59.999Z', '2026-01-16T23:59:59.999Z'],
    // across 29 February 2024
    ['2024-02-01T12:00:00Z', '2024-03-16T23:59:59.999Z', '2024-02-14T23:59:59.999Z'],
  ])('received %s: due %s, acknowledge by %s', (receivedAt, dueAt, acknowledgeBy) => {
    const d = computeDeadlines('ccpa', new Date(receivedAt), UTC);
    expect(d.dueAt.toISOString()).toBe(dueAt);
    expect(d.acknowledgeBy?.toISOString()).toBe(acknowledgeBy);
  });
});

describe('LGPD 15 days and other (configured)', () => {
  it.each<[Regulation, string, DeadlineSettings, string]>([
    ['lgpd', '2026-01-31T10:00:00Z', UTC, '2026-02-15T23:59:59.999Z'],
    ['lgpd', '2024-02-20T10:00:00Z', UTC, '2024-03-06T23:59:59.999Z'],
    ['other', '2026-01-01T10:00:00Z', UTC, '2026-01-31T23:59:59.999Z'],
    [
      'other',
      '2026-01-01T10:00:00Z',
      { ...UTC, otherResponseDays: 10 },
      '2026-01-11T23:59:59.999Z',
    ],
  ])('%s received %s', (regulation, receivedAt, settings, dueAt) => {
    expect(due(regulation, receivedAt, settings)).toBe(dueAt);
  });
});

describe('the business time zone dates the receipt and ends the day', () => {
  it('23:59 UTC on 14 January is already 15 January in Berlin', () => {
    expect(due('gdpr', '2026-01-14T23:59:00Z')).toBe('2026-02-14T23:59:59.999Z');
    expect(due('gdpr', '2026-01-14T23:59:00Z', BERLIN)).toBe('2026-02-15T22:59:59.999Z');
  });
  it('a CCPA receipt on the evening of 1 January in Los Angeles is 2 January in UTC', () => {
    expect(due('ccpa', '2026-01-02T05:00:00Z', LOS_ANGELES)).toBe('2026-02-15T07:59:59.999Z');
    expect(due('ccpa', '2026-01-02T05:00:00Z')).toBe('2026-02-15T23:59:59.999Z');
  });
  it.each<[string, Regulation, string, DeadlineSettings, string]>([
    // CET (+1) at receipt, CEST (+2) at the deadline: the day still ends at local midnight
    ['spring forward, Berlin', 'gdpr', '2026-03-01T12:00:00Z', BERLIN, '2026-04-01T21:59:59.999Z'],
    ['fall back, Berlin', 'gdpr', '2026-10-01T12:00:00Z', BERLIN, '2026-11-01T22:59:59.999Z'],
    [
      'due on the day of the change (23 hours), Berlin',
      'other',
      '2026-02-27T12:00:00Z',
      BERLIN,
      '2026-03-29T21:59:59.999Z',
    ],
    [
      'due on the day of the change, Los Angeles',
      'ccpa',
      '2026-01-23T20:00:00Z',
      LOS_ANGELES,
      '2026-03-09T06:59:59.999Z',
    ],
    [
      'spring forward, Los Angeles',
      'ccpa',
      '2026-03-01T20:00:00Z',
      LOS_ANGELES,
      '2026-04-15T06:59:59.999Z',
    ],
    [
      'fall back, Los Angeles',
      'ccpa',
      '2026-10-01T20:00:00Z',
      LOS_ANGELES,
      '2026-11-15T07:59:59.999Z',
    ],
  ])('%s', (_name, regulation, receivedAt, settings, dueAt) => {
    expect(due(regulation, receivedAt, settings)).toBe(dueAt);
  });
});

describe('computeDueAt', () => {
  it('prefers an explicit dueAt', () => {
    const explicit = new Date('2026-01-10T00:00:00Z');
    expect(computeDueAt('ccpa', new Date('2026-01-01T00:00:00Z'), UTC, explicit)).toBe(explicit);
  });
  it("otherwise gives the law's deadline", () => {
    expect(computeDueAt('gdpr', new Date('2026-01-31T00:00:00Z'), UTC).toISOString()).toBe(
      '2026-02-28T23:59:59.999Z',
    );
  });
});

describe('extensions', () => {
  it.each<[Regulation, string, DeadlineSettings, string | null]>([
    // two further months from the deadline in force, month ends clamped
    ['gdpr', '2026-02-28T23:59:59.999Z', UTC, '2026-04-28T23:59:59.999Z'],
    ['uk_gdpr', '2026-04-10T23:59:59.999Z', UTC, '2026-06-10T23:59:59.999Z'],
    ['gdpr', '2026-12-31T23:59:59.999Z', UTC, '2027-02-28T23:59:59.999Z'],
    ['gdpr', '2026-04-01T21:59:59.999Z', BERLIN, '2026-06-01T21:59:59.999Z'],
    // 45 more days: 90 in all from 1 January
    ['ccpa', '2026-02-14T23:59:59.999Z', UTC, '2026-03-31T23:59:59.999Z'],
    ['lgpd', '2026-02-15T23:59:59.999Z', UTC, null],
    ['other', '2026-01-31T23:59:59.999Z', UTC, null],
    [
      'other',
      '2026-01-31T23:59:59.999Z',
      { ...UTC, otherExtensionDays: 15 },
      '2026-02-15T23:59:59.999Z',
    ],
  ])('%s due %s', (regulation, dueAt, settings, extended) => {
    expect(extendedDueAt(regulation, new Date(dueAt), settings)?.toISOString() ?? null).toBe(
      extended,
    );
  });
});

describe('deadlineAfterVerification', () => {
  const pending = (
    regulation: Regulation,
    dueAt: string,
    extra: Partial<Request> = {},
  ): Pick<Request, 'regulation' | 'dueAt' | 'originalDueAt' | 'verification' | 'extension'> => ({
    regulation,
    dueAt,
    originalDueAt: dueAt,
    verification: { state: 'pending', since: '2026-01-10T09:00:00Z' },
    ...extra,
  });
  const verifiedAt = new Date('2026-01-20T09:00:00Z');

  it('GDPR: the month is counted from the verification (the clock waited)', () => {
    expect(
      deadlineAfterVerification(pending('gdpr', '2026-02-10T23:59:59.999Z'), verifiedAt, UTC),
    ).toEqual({ dueAt: '2026-02-20T23:59:59.999Z' });
  });
  it('UK GDPR: likewise, in the business time zone', () => {
    expect(
      deadlineAfterVerification(pending('uk_gdpr', '2026-02-10T22:59:59.999Z'), verifiedAt, BERLIN),
    ).toEqual({ dueAt: '2026-02-20T22:59:59.999Z' });
  });
  it('an extension granted while pending is kept on top', () => {
    const request = pending('gdpr', '2026-04-10T23:59:59.999Z', {
      extension: { at: 'x', by: 'y', reason: 'z', previousDueAt: '2026-02-10T23:59:59.999Z' },
    });
    expect(deadlineAfterVerification(request, verifiedAt, UTC)).toEqual({
      dueAt: '2026-04-20T23:59:59.999Z',
    });
  });
  it.each<Regulation>(['ccpa', 'lgpd', 'other'])('%s: null, the clock ran', (regulation) => {
    expect(
      deadlineAfterVerification(pending(regulation, '2026-02-10T23:59:59.999Z'), verifiedAt, UTC),
    ).toBeNull();
  });
  it('null where the configuration says the clock runs', () => {
    const settings = { ...UTC, clockRunsWhileVerifying: { gdpr: true } };
    expect(
      deadlineAfterVerification(pending('gdpr', '2026-02-10T23:59:59.999Z'), verifiedAt, settings),
    ).toBeNull();
  });
  it('and a moved deadline where it says the clock waits', () => {
    const settings = { ...UTC, clockRunsWhileVerifying: { ccpa: false } };
    expect(
      deadlineAfterVerification(pending('ccpa', '2026-02-14T23:59:59.999Z'), verifiedAt, settings),
    ).toEqual({ dueAt: '2026-03-05T23:59:59.999Z' });
  });
  it('null when a later explicit dueAt is in force', () => {
    expect(
      deadlineAfterVerification(pending('gdpr', '2026-06-30T00:00:00.000Z'), verifiedAt, UTC),
    ).toBeNull();
  });
  it('null when the request was not pending verification', () => {
    const request = { ...pending('gdpr', '2026-02-10T23:59:59.999Z'), verification: undefined };
    expect(deadlineAfterVerification(request, verifiedAt, UTC)).toBeNull();
  });
});
