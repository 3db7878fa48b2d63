import { ValidationError } from '../../../src/domain/errors';
import {
  matchesRequestCriteria,
  parseRequestCriteria,
  parseRequestFilter,
  REQUEST_FILTER_FIELDS,
  REQUEST_LIST_FIELDS,
  requestFilterToQuery,
  type FilterableRequest,
} from '../../../src/domain/request-filter';

/** The issues a bad query is refused with (and that it is refused at all). */
function issuesOf(query: Record<string, unknown>, zone?: string) {
  let thrown: unknown;
  try {
    parseRequestFilter(query, zone === undefined ? {} : { timeZone: zone });
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ValidationError);
  return (thrown as ValidationError).issues;
}

describe('parseRequestFilter', () => {
  it('defaults: real requests only, newest filed first, 50 a page', () => {
    expect(parseRequestFilter({})).toEqual({ dryRun: false, sort: 'filedAt', limit: 50 });
  });

  it('parses every filter from query text', () => {
    const filter = parseRequestFilter({
      type: 'deletion',
      regulation: 'ccpa',
      externalId: 'T-1.a:b_c',
      status: 'completed, in_progress,in_progress',
      overdue: 'false',
      deadlineRisk: 'overdue,at_risk',
      filedFrom: '2026-01-01',
      filedTo: '2026-02-01T00:00:00+01:00',
      dueBefore: '2026-03-01T12:00:00Z',
      dryRun: 'true',
      task: 'crm-delete_1',
      sort: 'dueAt',
      limit: '200',
      cursor: 'abc-_9',
    });
    expect(filter).toEqual({
      type: 'deletion',
      regulation: 'ccpa',
      externalId: 'T-1.a:b_c',
      // Distinct, in REQUEST_STATUSES order.
      status: ['in_progress', 'completed'],
      overdue: false,
      deadlineRisk: ['at_risk', 'overdue'],
      filedFrom: '2026-01-01T00:00:00.000Z',
      filedTo: '2026-01-31T23:00:00.000Z',
      dueBefore: '2026-03-01T12:00:00.000Z',
      dryRun: true,
      task: 'crm-delete_1',
      sort: 'dueAt',
      limit: 200,
      cursor: 'abc-_9',
    });
  });

  it('takes the same values typed, as a JSON body gives them', () => {
    expect(
      parseRequestFilter({ status: ['denied'], overdue: true, dryRun: false, limit: 5 }),
    ).toEqual({ status: ['denied'], overdue: true, dryRun: false, sort: 'filedAt', limit: 5 });
  });

  it('starts a bare date in the time zone it is given', () => {
    expect(
      parseRequestFilter({ filedFrom: '2026-07-01' }, { timeZone: 'Europe/Berlin' }),
    ).toMatchObject({
      filedFrom: '2026-06-30T22:00:00.000Z',
    });
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['an unknown type', { type: 'erasure' }, 'query.type', /deletion, records/],
    ['an unknown regulation', { regulation: 'hipaa' }, 'query.regulation', /gdpr/],
    ['a malformed externalId', { externalId: 'a b' }, 'query.externalId', /1-128/],
    ['an over-long externalId', { externalId: 'x'.repeat(129) }, 'query.externalId', /1-128/],
    ['an unknown status', { status: 'in_progress,done' }, 'query.status', /unknown status "done"/],
    ['an empty status', { status: '' }, 'query.status', /without empty entries/],
    ['a status list with a hole', { status: 'completed,,denied' }, 'query.status', /empty/],
    ['a status that is not text', { status: 3 }, 'query.status', /comma-separated/],
    ['overdue not a boolean', { overdue: 'yes' }, 'query.overdue', /true or false/],
    ['an unknown deadlineRisk', { deadlineRisk: 'late' }, 'query.deadlineRisk', /ok, at_risk/],
    ['a filedFrom that is no date', { filedFrom: 'yesterday' }, 'query.filedFrom', /ISO date/],
    ['an impossible date', { filedFrom: '2026-02-30' }, 'query.filedFrom', /ISO date/],
    ['an impossible offset', { filedTo: '2026-01-01T00:00:00+99:00' }, 'query.filedTo', /ISO/],
    ['a dueBefore that is no date', { dueBefore: '1700000000' }, 'query.dueBefore', /ISO date/],
    [
      'filedTo before filedFrom',
      { filedFrom: '2026-02-01', filedTo: '2026-01-01' },
      'query.filedTo',
      /after filedFrom/,
    ],
    [
      'filedTo equal to filedFrom',
      { filedFrom: '2026-02-01', filedTo: '2026-02-01T00:00:00Z' },
      'query.filedTo',
      /after filedFrom/,
    ],
    ['dryRun not a boolean', { dryRun: 'all' }, 'query.dryRun', /true or false/],
    ['a task id with a slash', { task: 'a/b' }, 'query.task', /task id/],
    ['a task id in capitals', { task: 'CRM' }, 'query.task', /task id/],
    ['an unknown sort', { sort: 'createdAt' }, 'query.sort', /filedAt, dueAt/],
    ['a limit of 0', { limit: '0' }, 'query.limit', /1-200/],
    ['a limit over 200', { limit: '201' }, 'query.limit', /1-200/],
    ['a fractional limit', { limit: '1.5' }, 'query.limit', /whole number/],
    ['a limit that is no number', { limit: 'ten' }, 'query.limit', /whole number/],
    ['a cursor with foreign characters', { cursor: 'a/b==' }, 'query.cursor', /cursor/],
    ['an over-long cursor', { cursor: 'a'.repeat(501) }, 'query.cursor', /cursor/],
    ['an unknown filter', { colour: 'red' }, 'query.colour', /unknown filter/],
    ['createdBy (not the caller’s to choose)', { createdBy: 'x@y' }, 'query.createdBy', /unknown/],
  ])('refuses %s, naming the field', (_name, query, path, message) => {
    const issues = issuesOf(query);
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)?.message).toMatch(message);
  });

  it('names every bad field at once', () => {
    expect(
      issuesOf({ type: 'x', limit: '0', colour: 1 })
        .map((i) => i.path)
        .sort(),
    ).toEqual(['query.colour', 'query.limit', 'query.type']);
  });

  it('refuses inherited names as unknown filters, never reading the prototype', () => {
    const query = JSON.parse('{"__proto__": {"dryRun": true}, "constructor": "x"}') as Record<
      string,
      unknown
    >;
    expect(
      issuesOf(query)
        .map((i) => i.path)
        .sort(),
    ).toEqual(['query.__proto__', 'query.constructor']);
  });

  it('refuses a filter that is not an object', () => {
    expect(() => parseRequestCriteria(['status'])).toThrow(ValidationError);
    expect(() => parseRequestCriteria(null)).toThrow(ValidationError);
  });
});

describe('parseRequestCriteria (bulk actions)', () => {
  it('takes the criteria, under the prefix given, and refuses paging fields', () => {
    expect(parseRequestCriteria({ status: ['denied'] }, { prefix: ['body', 'filter'] })).toEqual({
      status: ['denied'],
      dryRun: false,
    });
    let thrown: unknown;
    try {
      parseRequestCriteria({ limit: 5, status: 'x' }, { prefix: ['body', 'filter'] });
    } catch (err) {
      thrown = err;
    }
    expect((thrown as ValidationError).issues.map((i) => i.path).sort()).toEqual([
      'body.filter.limit',
      'body.filter.status',
    ]);
    expect(parseRequestCriteria({ type: 'records' })).toEqual({ type: 'records', dryRun: false });
  });
});

describe('the filter fields', () => {
  it('lists the criteria, then sort and paging', () => {
    expect(REQUEST_FILTER_FIELDS).toEqual([
      'type',
      'regulation',
      'externalId',
      'status',
      'overdue',
      'deadlineRisk',
      'filedFrom',
      'filedTo',
      'dueBefore',
      'dryRun',
      'task',
    ]);
    expect(REQUEST_LIST_FIELDS).toEqual([...REQUEST_FILTER_FIELDS, 'sort', 'limit', 'cursor']);
  });

  it('turn a filter back into query parameters that parse to the same filter', () => {
    const filter = parseRequestFilter({
      status: 'in_progress,denied',
      deadlineRisk: 'at_risk',
      overdue: 'true',
      filedFrom: '2026-01-01T00:00:00Z',
      task: 'crm',
      sort: 'dueAt',
      limit: '7',
    });
    const query = requestFilterToQuery(filter);
    expect(query).toMatchObject({ status: 'in_progress,denied', overdue: 'true', limit: '7' });
    expect(parseRequestFilter(query)).toEqual(filter);
  });
});

describe('matchesRequestCriteria', () => {
  const row: FilterableRequest = {
    type: 'deletion',
    regulation: 'gdpr',
    externalId: 'T-1',
    status: 'in_progress',
    overdue: false,
    deadlineRisk: 'at_risk',
    receivedAt: '2026-01-10T00:00:00.000Z',
    dueAt: '2026-02-10T00:00:00.000Z',
    dryRun: false,
    taskIds: ['crm', 'ga'],
  };
  const matches = (query: Record<string, unknown>) =>
    matchesRequestCriteria(row, parseRequestFilter(query));

  it('matches every criterion given, and a list by any of its values', () => {
    expect(matches({})).toBe(true);
    expect(
      matches({
        type: 'deletion',
        regulation: 'gdpr',
        externalId: 'T-1',
        status: 'completed,in_progress',
        overdue: 'false',
        deadlineRisk: 'overdue,at_risk',
        filedFrom: '2026-01-10',
        filedTo: '2026-01-11',
        dueBefore: '2026-02-11',
        task: 'ga',
      }),
    ).toBe(true);
  });

  it.each<Record<string, unknown>>([
    { type: 'records' },
    { regulation: 'ccpa' },
    { externalId: 'T-2' },
    { status: 'completed' },
    { overdue: 'true' },
    { deadlineRisk: 'ok' },
    // [filedFrom, filedTo): the end is excluded.
    { filedFrom: '2026-01-11' },
    { filedTo: '2026-01-10' },
    { dueBefore: '2026-02-10' },
    { dryRun: 'true' },
    { task: 'ads' },
  ])('does not match %p', (query) => {
    expect(matches(query)).toBe(false);
  });
});
