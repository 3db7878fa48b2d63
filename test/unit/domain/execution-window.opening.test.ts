import { isWindowOpen, nextWindowOpening } from '../../../src/domain';

describe('nextWindowOpening', () => {
  const at = (iso: string) => new Date(iso);

  it('is now when there is no window', () => {
    expect(nextWindowOpening(undefined, at('2026-03-01T12:00:00Z')).toISOString()).toBe(
      '2026-03-01T12:00:00.000Z',
    );
  });

  it.each([
    // [window, now, expected]
    [
      { start: '09:00', end: '17:00', timeZone: 'UTC' },
      '2026-03-01T12:00:00Z',
      '2026-03-01T12:00:00.000Z',
    ],
    [
      { start: '09:00', end: '17:00', timeZone: 'UTC' },
      '2026-03-01T07:30:00Z',
      '2026-03-01T09:00:00.000Z',
    ],
    [
      { start: '09:00', end: '17:00', timeZone: 'UTC' },
      '2026-03-01T17:00:00Z',
      '2026-03-02T09:00:00.000Z',
    ],
    // Across midnight: open 22:00-04:00.
    [
      { start: '22:00', end: '04:00', timeZone: 'UTC' },
      '2026-03-01T23:15:00Z',
      '2026-03-01T23:15:00.000Z',
    ],
    [
      { start: '22:00', end: '04:00', timeZone: 'UTC' },
      '2026-03-02T03:59:00Z',
      '2026-03-02T03:59:00.000Z',
    ],
    [
      { start: '22:00', end: '04:00', timeZone: 'UTC' },
      '2026-03-02T04:00:00Z',
      '2026-03-02T22:00:00.000Z',
    ],
    // A zone: 02:00-05:00 in Berlin is 01:00-04:00 UTC in winter.
    [
      { start: '02:00', end: '05:00', timeZone: 'Europe/Berlin' },
      '2026-01-10T12:00:00Z',
      '2026-01-11T01:00:00.000Z',
    ],
    // ... and 00:00-03:00 UTC in summer.
    [
      { start: '02:00', end: '05:00', timeZone: 'Europe/Berlin' },
      '2026-07-10T12:00:00Z',
      '2026-07-11T00:00:00.000Z',
    ],
    // New York, the evening before the DST change (2026-03-08).
    [
      { start: '01:00', end: '02:00', timeZone: 'America/New_York' },
      '2026-03-07T12:00:00Z',
      '2026-03-08T06:00:00.000Z',
    ],
  ])('%j at %s opens %s', (window, now, expected) => {
    expect(nextWindowOpening(window, at(now)).toISOString()).toBe(expected);
  });

  it('says whether a window is open', () => {
    const w = { start: '22:00', end: '04:00', timeZone: 'UTC' };
    expect(isWindowOpen(w, at('2026-03-01T21:59:00Z'))).toBe(false);
    expect(isWindowOpen(w, at('2026-03-01T22:00:00Z'))).toBe(true);
    expect(isWindowOpen(undefined, at('2026-03-01T21:59:00Z'))).toBe(true);
  });
});
