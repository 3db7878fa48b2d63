import {
  ceTypeOf,
  eventSourceFor,
  lifecycleEvents,
  type LifecycleEventType,
} from '../../../src/domain/lifecycle-events';
import type { Request } from '../../../src/domain/model';

const SOURCE = eventSourceFor('demo-project');

const base: Request = {
  id: 'req-1',
  type: 'deletion',
  subject: { email: 'jane.doe@example.com', userId: 'u-777' },
  subjectHash: 'f'.repeat(64),
  subjectAsGiven: { email: ' Jane.Doe@Example.com' },
  regulation: 'gdpr',
  channel: 'web',
  receivedAt: '2026-01-31T10:00:00.000Z',
  dueAt: '2026-02-28T23:59:59.999Z',
  originalDueAt: '2026-02-28T23:59:59.999Z',
  externalId: 'TICKET-1',
  notes: 'called from +44 7700 900123',
  dryRun: false,
  status: 'in_progress',
  overdue: false,
  createdAt: '2026-01-31T10:00:00.000Z',
  updatedAt: '2026-01-31T10:00:00.000Z',
  createdBy: 'requester@corp.example',
  counts: { queued: 2 },
  cost: { bytesBilled: 0, usd: 0 },
};

const at = (iso: string) => ({ updatedAt: iso });
const types = (before: Request | null, after: Request): LifecycleEventType[] =>
  lifecycleEvents(before, after, SOURCE).map((e) => e.type);

describe('lifecycleEvents: which change announces what', () => {
  const cases: [string, Request | null, Partial<Request>, LifecycleEventType[]][] = [
    ['a new request', null, {}, ['request.filed']],
    [
      'a new request with no work is filed and completed at once',
      null,
      { status: 'completed', completedAt: base.createdAt },
      ['request.filed', 'request.completed'],
    ],
    ['a write that changes nothing lifecycle-wise', base, { counts: { running: 2 } }, []],
    [
      'the acknowledgement',
      base,
      { acknowledgement: { at: '2026-02-01T09:00:00.000Z', by: 'a@corp.example' } },
      ['request.acknowledged'],
    ],
    [
      'the verification',
      { ...base, status: 'awaiting_verification', verification: { state: 'pending', since: 'x' } },
      {
        verification: { state: 'verified', since: 'x', at: '2026-02-01T00:00:00.000Z' },
        status: 'in_progress',
      },
      ['request.verified'],
    ],
    ['the approval', base, { approvedAt: '2026-02-01T00:00:00.000Z' }, ['request.approved']],
    [
      'the extension',
      base,
      {
        extension: {
          at: '2026-02-10T00:00:00.000Z',
          by: 'a@corp.example',
          reason: 'complex',
          previousDueAt: base.dueAt,
        },
        dueAt: '2026-04-30T23:59:59.999Z',
      },
      ['request.extended'],
    ],
    [
      'the denial',
      base,
      {
        status: 'denied',
        denial: { at: '2026-02-02T00:00:00.000Z', by: 'a', reason: 'exempt', note: 'n' },
      },
      ['request.denied'],
    ],
    ['completion', base, { status: 'completed', completedAt: 'c' }, ['request.completed']],
    [
      'completion with errors, after a failure announced in the same write',
      base,
      { status: 'completed_with_errors', completedAt: 'c', failedInstances: ['crm#1'] },
      ['instance.failed', 'request.completed_with_errors'],
    ],
    ['staying completed', { ...base, status: 'completed' }, { counts: {} }, []],
    ['ok → at_risk', base, { deadlineRisk: 'at_risk' }, ['request.at_risk']],
    [
      'at_risk → overdue',
      { ...base, deadlineRisk: 'at_risk' },
      { deadlineRisk: 'overdue' },
      ['request.overdue'],
    ],
    [
      'ok → overdue (one crossing, one event)',
      base,
      { deadlineRisk: 'overdue' },
      ['request.overdue'],
    ],
    [
      'at_risk stays at_risk',
      { ...base, deadlineRisk: 'at_risk' },
      { deadlineRisk: 'at_risk' },
      [],
    ],
    [
      'overdue → ok (an extension) is no event',
      { ...base, deadlineRisk: 'overdue' },
      { deadlineRisk: 'ok' },
      [],
    ],
    [
      'a second failed instance only',
      { ...base, failedInstances: ['crm#1'] },
      { failedInstances: ['crm#1', 'warehouse#2'] },
      ['instance.failed'],
    ],
  ];
  test.each(cases)('%s', (_name, before, patch, expected) => {
    const after = { ...(before ?? base), ...patch };
    expect(types(before, after)).toEqual(expected);
  });
});

describe('lifecycleEvents: ids, attributes and data', () => {
  test('the same change gives the same ce-id; a different change a different one', () => {
    const after = { ...base, status: 'completed' as const, completedAt: 'c1' };
    const [a] = lifecycleEvents(base, after, SOURCE);
    const [b] = lifecycleEvents(base, { ...after, updatedAt: 'later' }, SOURCE);
    const [c] = lifecycleEvents(base, { ...after, completedAt: 'c2' }, SOURCE);
    expect(a?.id).toMatch(/^[0-9a-f]{32}$/);
    expect(b?.id).toBe(a?.id);
    expect(c?.id).not.toBe(a?.id);
  });

  test('a risk crossing after an extension is a new event (the dueAt in force differs)', () => {
    const [first] = lifecycleEvents(base, { ...base, deadlineRisk: 'at_risk' }, SOURCE);
    const extended = { ...base, deadlineRisk: 'ok' as const, dueAt: '2026-04-30T23:59:59.999Z' };
    const [second] = lifecycleEvents(extended, { ...extended, deadlineRisk: 'at_risk' }, SOURCE);
    expect(first?.type).toBe('request.at_risk');
    expect(second?.type).toBe('request.at_risk');
    expect(second?.id).not.toBe(first?.id);
  });

  test('ce-subject is the request id, ce-source as configured, ce-type prefixed', () => {
    const [e] = lifecycleEvents(null, base, SOURCE);
    expect(e).toMatchObject({
      subject: 'req-1',
      source: '//dsr-taskrunner/demo-project',
      time: base.createdAt,
    });
    expect(ceTypeOf('request.filed')).toBe('dev.dsr-taskrunner.request.filed');
  });

  test('instance.failed names the task and series', () => {
    const [e] = lifecycleEvents(base, { ...base, failedInstances: ['crm-db#3'] }, SOURCE);
    expect(e?.data).toMatchObject({ taskId: 'crm-db', series: 3, requestId: 'req-1' });
  });

  test('the data carries deadlines and the deny reason, never identifiers or free text', () => {
    const after: Request = {
      ...base,
      status: 'denied',
      acknowledgement: { at: 'ack', by: 'staff@corp.example' },
      extension: {
        at: 'ext',
        by: 'staff@corp.example',
        reason: 'SECRET-REASON',
        previousDueAt: 'p',
      },
      denial: { at: 'den', by: 'staff@corp.example', reason: 'legal_hold', note: 'SECRET-NOTE' },
      verification: {
        state: 'verified',
        since: 's',
        at: 'ver',
        by: 'staff@corp.example',
        method: 'SECRET-METHOD',
      },
    };
    const events = lifecycleEvents(null, after, SOURCE);
    const text = JSON.stringify(events);
    for (const forbidden of [
      'jane',
      'Jane',
      'u-777',
      base.subjectHash,
      '7700',
      'SECRET',
      'staff@corp.example',
      'requester@corp.example',
    ]) {
      expect(text).not.toContain(forbidden);
    }
    expect(events[0]?.data).toMatchObject({
      requestType: 'deletion',
      regulation: 'gdpr',
      externalId: 'TICKET-1',
      dueAt: base.dueAt,
      originalDueAt: base.originalDueAt,
      previousDueAt: 'p',
      denyReason: 'legal_hold',
      verifiedAt: 'ver',
      counts: { queued: 2 },
    });
    expect(Object.keys(events[0]?.data ?? {})).not.toContain('subject');
  });

  test('at() keeps the fixture honest', () => {
    expect(types(base, { ...base, ...at('x') })).toEqual([]);
  });
});
