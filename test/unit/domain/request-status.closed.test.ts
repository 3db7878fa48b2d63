import { summarise } from '../../../src/app/rollup';
import { listedStatus } from '../../../src/app/request-listing';
import { eventSourceFor, lifecycleEvents } from '../../../src/domain/lifecycle-events';
import type { InstanceState, Request, RequestStatus } from '../../../src/domain/model';
import { responseDate, responseNature } from '../../../src/domain/report-metrics';
import { requestStatusOf } from '../../../src/domain/request-status';
import { isOpenStatus } from '../../../src/domain/states';

describe('requestStatusOf: closed work never reads completed unless it all ran', () => {
  const cases: [string, InstanceState[], { dryRun?: boolean; denied?: boolean }, RequestStatus][] =
    [
      ['all succeeded', ['succeeded', 'succeeded'], {}, 'completed'],
      ['succeeded and skipped', ['succeeded', 'skipped'], {}, 'completed'],
      ['no tasks at all', [], {}, 'completed'],
      [
        'one task cancelled, the rest succeeded',
        ['succeeded', 'cancelled'],
        {},
        'partially_completed',
      ],
      [
        'cancelled and skipped, one succeeded',
        ['succeeded', 'cancelled', 'skipped'],
        {},
        'partially_completed',
      ],
      [
        'a failure with a cancellation',
        ['failed', 'cancelled', 'succeeded'],
        {},
        'completed_with_errors',
      ],
      ['every applied task cancelled', ['cancelled', 'skipped'], {}, 'cancelled'],
      ['a failure', ['failed', 'succeeded'], {}, 'completed_with_errors'],
      ['still running', ['running', 'cancelled'], {}, 'in_progress'],
      ['denied, whatever ran', ['succeeded'], { denied: true }, 'denied'],
      ['a dry run that ran', ['succeeded', 'skipped'], { dryRun: true }, 'dry_run_completed'],
      ['a dry run with nothing to do', ['skipped'], { dryRun: true }, 'dry_run_completed'],
      [
        'a dry run partly cancelled',
        ['succeeded', 'cancelled'],
        { dryRun: true },
        'dry_run_completed',
      ],
      [
        'a dry run whose audit failed',
        ['failed', 'succeeded'],
        { dryRun: true },
        'dry_run_completed_with_errors',
      ],
      ['a dry run cancelled', ['cancelled'], { dryRun: true }, 'cancelled'],
      ['a dry run still running', ['queued'], { dryRun: true }, 'in_progress'],
      ['a dry run denied', ['cancelled'], { dryRun: true, denied: true }, 'denied'],
    ];

  it.each(cases)('%s', (_name, states, request, expected) => {
    expect(requestStatusOf(states, request)).toBe(expected);
  });

  it('is what summarise writes and the views show', () => {
    const instances = (['succeeded', 'cancelled'] as const).map((state, i) => ({
      state,
      cost: { bytesBilled: i, usd: 0 },
    })) as unknown as Parameters<typeof summarise>[0];
    expect(summarise(instances).status).toBe('partially_completed');
    expect(summarise(instances, undefined, true).status).toBe('dry_run_completed');
  });

  it('keeps every new status closed', () => {
    for (const status of [
      'partially_completed',
      'dry_run_completed',
      'dry_run_completed_with_errors',
    ] as const) {
      expect(isOpenStatus(status)).toBe(false);
    }
  });
});

const request = (over: Partial<Request>): Request => ({
  id: 'r1',
  type: 'deletion',
  subject: {},
  subjectHash: 'h',
  regulation: 'ccpa',
  receivedAt: '2026-01-01T00:00:00.000Z',
  dueAt: '2026-02-15T00:00:00.000Z',
  dryRun: false,
  status: 'in_progress',
  overdue: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'a',
  counts: {},
  cost: { bytesBilled: 0, usd: 0 },
  ...over,
});

describe('listedStatus: a request closed before the new statuses reads as it would now', () => {
  it.each<[string, Partial<Request>, RequestStatus]>([
    [
      'completed with a cancelled task',
      { status: 'completed', counts: { succeeded: 1, cancelled: 1 } },
      'partially_completed',
    ],
    [
      'a completed dry run',
      { status: 'completed', dryRun: true, counts: { succeeded: 2 } },
      'dry_run_completed',
    ],
    [
      'a dry run with errors',
      { status: 'completed_with_errors', dryRun: true, counts: { failed: 1 } },
      'dry_run_completed_with_errors',
    ],
    ['plain completed', { status: 'completed', counts: { succeeded: 2 } }, 'completed'],
    ['open stays as stored', { status: 'in_progress', counts: { succeeded: 2 } }, 'in_progress'],
    ['denied stays denied', { status: 'denied', counts: { succeeded: 1 } }, 'denied'],
  ])('%s', (_name, over, expected) => {
    expect(listedStatus(request(over))).toBe(expected);
  });
});

describe('reports and events agree with the statuses', () => {
  it('reports a partly cancelled request as complied in part, with its response date', () => {
    const r = request({ status: 'partially_completed', completedAt: '2026-01-20T00:00:00.000Z' });
    expect(responseNature(r)).toBe('complied in part');
    expect(responseDate(r)).toBe('2026-01-20T00:00:00.000Z');
  });

  it('announces each closed status as its own event, never request.completed for a dry run', () => {
    const source = eventSourceFor('p');
    const before = request({ status: 'in_progress' });
    const closeAs = (status: RequestStatus, dryRun = false) =>
      lifecycleEvents(
        { ...before, dryRun },
        { ...before, dryRun, status, completedAt: '2026-01-20T00:00:00.000Z' },
        source,
      ).map((e) => e.type);
    expect(closeAs('partially_completed')).toEqual(['request.partially_completed']);
    expect(closeAs('dry_run_completed', true)).toEqual(['request.dry_run_completed']);
    expect(closeAs('dry_run_completed_with_errors', true)).toEqual([
      'request.dry_run_completed_with_errors',
    ]);
    expect(closeAs('completed')).toEqual(['request.completed']);
  });
});
