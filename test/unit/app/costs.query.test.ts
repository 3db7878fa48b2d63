import { parseCostQuery } from '../../../src/app/costs';
import { ValidationError } from '../../../src/domain/errors';

const NOW = new Date('2026-06-15T12:00:00.000Z');

function issuesOf(query: Record<string, unknown>) {
  let thrown: unknown;
  try {
    parseCostQuery(query, NOW, 'UTC');
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ValidationError);
  return (thrown as ValidationError).issues;
}

describe('parseCostQuery', () => {
  it('defaults to costs by task over the year up to now, 50 groups a page', () => {
    expect(parseCostQuery({}, NOW, 'UTC')).toEqual({
      groupBy: 'task',
      from: '2025-06-15T12:00:00.000Z',
      to: '2026-06-15T12:00:00.000Z',
      limit: 50,
    });
  });

  it('takes dates in the business time zone and every grouping', () => {
    for (const groupBy of ['task', 'month', 'regulation', 'type']) {
      expect(
        parseCostQuery(
          { groupBy, from: '2026-01-01', to: '2026-02-01', limit: '3' },
          NOW,
          'Europe/Berlin',
        ),
      ).toEqual({
        groupBy,
        from: '2025-12-31T23:00:00.000Z',
        to: '2026-01-31T23:00:00.000Z',
        limit: 3,
      });
    }
  });

  it('takes exactly three years, from the same instant', () => {
    expect(parseCostQuery({ from: '2023-01-01', to: '2026-01-01' }, NOW, 'UTC').to).toBe(
      '2026-01-01T00:00:00.000Z',
    );
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['an unknown groupBy', { groupBy: 'team' }, 'query.groupBy', /task, month, regulation, type/],
    ['from after to', { from: '2026-02-01', to: '2026-01-01' }, 'query.to', /after from/],
    ['from equal to to', { from: '2026-02-01', to: '2026-02-01' }, 'query.to', /after from/],
    ['a from after now without to', { from: '2026-07-01' }, 'query.from', /before to/],
    [
      'a range over 3 years',
      { from: '2023-01-01', to: '2026-01-01T00:00:00.001Z' },
      'query.to',
      /over 3 years/,
    ],
    ['a from that is no date', { from: 'last year' }, 'query.from', /ISO date/],
    ['a to with an impossible offset', { to: '2026-01-01T00:00:00+99:00' }, 'query.to', /ISO/],
    ['a limit of 0', { limit: '0' }, 'query.limit', /1-200/],
    ['a limit that is no number', { limit: 'all' }, 'query.limit', /whole number/],
    ['a forged cursor', { cursor: '../x' }, 'query.cursor', /cursor/],
    ['an unknown parameter', { team: 'x' }, 'query', /unknown field\(s\): team/],
  ])('refuses %s, naming the field', (_name, query, path, message) => {
    const issues = issuesOf(query);
    expect(issues.find((i) => i.path === path)?.message).toMatch(message);
  });
});
