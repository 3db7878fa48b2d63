import { computeDueAt, deadlineRisk } from '../../../src/domain';

describe('computeDueAt', () => {
  const received = new Date('2026-01-01T00:00:00Z');
  it('gives GDPR 30 days', () => {
    expect(computeDueAt('gdpr', received).toISOString()).toBe('2026-01-31T00:00:00.000Z');
  });
  it('gives CCPA 45 days', () => {
    expect(computeDueAt('ccpa', received).toISOString()).toBe('2026-02-15T00:00:00.000Z');
  });
  it('prefers an explicit dueAt', () => {
    const due = new Date('2026-01-10T00:00:00Z');
    expect(computeDueAt('ccpa', received, due)).toBe(due);
  });
});

describe('deadlineRisk', () => {
  const due = new Date('2026-01-31T00:00:00Z');
  it.each([
    ['2026-01-20T00:00:00Z', 'ok'],
    ['2026-01-28T00:00:00Z', 'at_risk'],
    ['2026-01-31T00:00:00Z', 'at_risk'],
    ['2026-01-31T00:00:01Z', 'overdue'],
  ])('at %s is %s', (now, risk) => {
    expect(deadlineRisk(due, new Date(now), 72)).toBe(risk);
  });
});
