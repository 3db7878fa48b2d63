import {
  csvCell,
  csvLine,
  daysToRespond,
  latestReportEnd,
  MetricsAccumulator,
  REQUEST_CSV_COLUMNS,
  requestRow,
  responseDate,
  responseNature,
  summariseDays,
  yearRange,
  type ReportedRequest,
} from '../../../src/domain/report-metrics';

const base: ReportedRequest = {
  id: 'r1',
  type: 'deletion',
  regulation: 'ccpa',
  receivedAt: '2026-03-01T10:00:00.000Z',
  dueAt: '2026-04-15T23:59:59.999Z',
  status: 'in_progress',
  counts: {},
};
const req = (patch: Partial<ReportedRequest>): ReportedRequest => ({ ...base, ...patch });

describe('responseNature and responseDate', () => {
  it.each([
    [{ status: 'completed' }, 'complied'],
    [{ status: 'completed', counts: { succeeded: 2, skipped: 1 } }, 'complied'],
    [{ status: 'completed', counts: { succeeded: 1, cancelled: 1 } }, 'complied in part'],
    [{ status: 'completed_with_errors' }, 'complied in part'],
    [{ status: 'denied' }, 'denied'],
    [{ status: 'cancelled' }, 'cancelled'],
    [{ status: 'in_progress' }, 'open'],
    [{ status: 'awaiting_approval' }, 'open'],
    [{ status: 'awaiting_verification' }, 'open'],
  ] as const)('%j → %s', (patch, nature) => {
    expect(responseNature(req(patch))).toBe(nature);
  });

  it('dates a denial by the denial, anything complied with by completedAt, others not at all', () => {
    const denial = { at: '2026-03-05T08:00:00.000Z', by: 'a@x', reason: 'exempt' as const };
    expect(
      responseDate(req({ status: 'denied', denial, completedAt: '2026-03-06T00:00:00.000Z' })),
    ).toBe(denial.at);
    expect(
      responseDate(req({ status: 'completed', completedAt: '2026-03-06T00:00:00.000Z' })),
    ).toBe('2026-03-06T00:00:00.000Z');
    expect(
      responseDate(req({ status: 'cancelled', completedAt: '2026-03-06T00:00:00.000Z' })),
    ).toBeUndefined();
    expect(responseDate(req({ status: 'in_progress' }))).toBeUndefined();
  });
});

describe('daysToRespond: calendar days between the local dates', () => {
  it.each([
    ['2026-03-01T10:00:00Z', '2026-03-01T23:00:00Z', 'UTC', 0],
    ['2026-03-01T23:59:00Z', '2026-03-02T00:01:00Z', 'UTC', 1],
    ['2026-01-31T12:00:00Z', '2026-03-02T12:00:00Z', 'UTC', 30],
    // 23:30 UTC on 1 March is already 2 March in Berlin: 0 days there, 1 in UTC.
    ['2026-03-01T23:30:00Z', '2026-03-02T10:00:00Z', 'Europe/Berlin', 0],
    ['2026-03-01T23:30:00Z', '2026-03-02T10:00:00Z', 'UTC', 1],
    // Across the spring DST change in Los Angeles (8 March 2026).
    ['2026-03-07T20:00:00Z', '2026-03-09T20:00:00Z', 'America/Los_Angeles', 2],
  ])('%s → %s in %s: %d', (from, to, zone, days) => {
    expect(daysToRespond(from, to, zone)).toBe(days);
  });
});

describe('summariseDays', () => {
  it('is null with nothing answered', () => {
    expect(summariseDays(new Map())).toEqual({ responded: 0, median: null, mean: null });
  });
  it('takes the middle value of an odd count', () => {
    // 1, 2, 2, 9, 30 → median 2, mean 44 / 5 = 8.8
    const h = new Map([
      [2, 2],
      [30, 1],
      [1, 1],
      [9, 1],
    ]);
    expect(summariseDays(h)).toEqual({ responded: 5, median: 2, mean: 8.8 });
  });
  it('averages the two middle values of an even count, and rounds the mean to 2 places', () => {
    // 1, 4, 5, 5, 5, 10 → median (5 + 5) / 2 = 5; 0, 1, 1 → mean 2 / 3 = 0.67, median 1
    expect(
      summariseDays(
        new Map([
          [1, 1],
          [4, 1],
          [5, 3],
          [10, 1],
        ]),
      ),
    ).toEqual({ responded: 6, median: 5, mean: 5 });
    expect(
      summariseDays(
        new Map([
          [0, 1],
          [1, 2],
        ]),
      ),
    ).toEqual({ responded: 3, median: 1, mean: 0.67 });
    // 3, 8 → median 5.5
    expect(
      summariseDays(
        new Map([
          [3, 1],
          [8, 1],
        ]),
      ).median,
    ).toBe(5.5);
  });
});

describe('MetricsAccumulator', () => {
  it('counts each request once, by type, and the days over answered ones only', () => {
    const acc = new MetricsAccumulator('UTC');
    const at = (d: string) => `2026-03-${d}T12:00:00.000Z`;
    acc.add(req({ status: 'completed', completedAt: at('04') })); // 3 days
    acc.add(req({ status: 'completed_with_errors', completedAt: at('11') })); // 10 days
    acc.add(
      req({
        status: 'denied',
        denial: { at: at('02'), by: 'x', reason: 'unverifiable_identity' },
        completedAt: at('02'),
      }),
    ); // 1 day
    acc.add(req({ status: 'cancelled', completedAt: at('03') }));
    acc.add(req({ status: 'in_progress' }));
    acc.add(req({ type: 'records', status: 'completed', completedAt: at('01') })); // 0 days
    const [deletion, records] = acc.result();
    expect(deletion).toMatchObject({
      type: 'deletion',
      nature: 'request to delete',
      received: 5,
      compliedInWhole: 1,
      compliedInPart: 1,
      denied: 1,
      cancelled: 1,
      open: 1,
      // days 1, 3, 10 → median 3, mean 14 / 3 = 4.67
      daysToRespond: { responded: 3, median: 3, mean: 4.67 },
    });
    expect(deletion?.deniedByReason).toEqual({
      unverifiable_identity: 1,
      exempt: 0,
      manifestly_unfounded: 0,
      excessive: 0,
      legal_hold: 0,
      other: 0,
    });
    expect(records).toMatchObject({
      type: 'records',
      nature: 'request to know',
      received: 1,
      compliedInWhole: 1,
      daysToRespond: { responded: 1, median: 0, mean: 0 },
    });
  });
});

describe('CSV', () => {
  it('quotes per RFC 4180', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvLine(['a', 1, ''])).toBe('a,1,\r\n');
  });

  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])(
    'defuses a formula-looking cell %j with a leading quote',
    (value) => {
      expect(csvCell(value).replace(/^"/, '').startsWith("'")).toBe(true);
    },
  );

  it('a row has a value per column, and none of the free text', () => {
    const row = requestRow(
      req({
        status: 'denied',
        channel: 'email',
        externalId: 'T-1',
        originalDueAt: '2026-04-15T23:59:59.999Z',
        dueAt: '2026-05-30T23:59:59.999Z',
        extension: {
          at: '2026-03-10T00:00:00.000Z',
          by: 'a@x',
          reason: 'jane@example.com asked twice',
          previousDueAt: '2026-04-15T23:59:59.999Z',
        },
        denial: { at: '2026-03-20T00:00:00.000Z', by: 'a@x', reason: 'excessive', note: 'secret' },
        completedAt: '2026-03-20T00:00:01.000Z',
      }),
    );
    expect(row).toHaveLength(REQUEST_CSV_COLUMNS.length);
    expect(Object.fromEntries(REQUEST_CSV_COLUMNS.map((c, i) => [c, row[i]]))).toEqual({
      date_of_request: '2026-03-01T10:00:00.000Z',
      nature_of_request: 'request to delete',
      manner_of_request: 'email',
      date_of_response: '2026-03-20T00:00:00.000Z',
      nature_of_response: 'denied',
      basis_for_denial: 'excessive',
      request_id: 'r1',
      external_id: 'T-1',
      regulation: 'ccpa',
      due_at: '2026-05-30T23:59:59.999Z',
      original_due_at: '2026-04-15T23:59:59.999Z',
      extended: 'yes',
      extended_at: '2026-03-10T00:00:00.000Z',
      acknowledged_at: '',
      completed_at: '2026-03-20T00:00:01.000Z',
      status: 'denied',
    });
    expect(row.join()).not.toMatch(/jane|secret/);
  });

  it('an old request without a channel was made through the api', () => {
    expect(requestRow(base)[2]).toBe('api');
  });
});

describe('ranges', () => {
  it('a calendar year in the business zone', () => {
    expect(yearRange(2026, 'UTC')).toEqual({
      from: new Date('2026-01-01T00:00:00.000Z'),
      to: new Date('2027-01-01T00:00:00.000Z'),
    });
    expect(yearRange(2026, 'America/Los_Angeles')).toEqual({
      from: new Date('2026-01-01T08:00:00.000Z'),
      to: new Date('2027-01-01T08:00:00.000Z'),
    });
  });
  it('at most 3 years', () => {
    expect(latestReportEnd(new Date('2024-02-29T00:00:00Z')).toISOString()).toBe(
      '2027-03-01T00:00:00.000Z',
    );
    expect(latestReportEnd(new Date('2025-01-01T00:00:00Z')).toISOString()).toBe(
      '2028-01-01T00:00:00.000Z',
    );
  });
});
