import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dispatchHeaders, formatEta } from '../../../../emulators/cloud-tasks/dispatch-headers';
import type { TaskRecord } from '../../../../emulators/cloud-tasks/task-model';

const golden = JSON.parse(
  readFileSync(
    join(__dirname, '../../../fixtures/cloud-tasks/dispatch-headers.golden.json'),
    'utf8',
  ),
) as Array<{
  requestType: string;
  attempts: Array<{ status: number; headers: Record<string, string> }>;
}>;

function task(overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    name: 'projects/p/locations/l/queues/q1/tasks/t1',
    queueName: 'projects/p/locations/l/queues/q1',
    http: { url: 'http://x/', httpMethod: 'POST', headers: {}, body: Buffer.alloc(0) },
    scheduleTimeMs: 1_700_000_000_123,
    etaMs: 1_700_000_000_123,
    createTimeMs: 0,
    dispatchDeadlineMs: 600_000,
    dispatchCount: 0,
    responseCount: 0,
    executionCount: 0,
    running: false,
    generation: 0,
    ...overrides,
  };
}

const lower = (h: Record<string, string>) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));

describe('dispatchHeaders', () => {
  const fill = (v: string) =>
    v.replace('{queue}', 'q1').replace('{task}', 't1').replace('{eta}', '1700000000.123000');
  const recorded = (type: string) =>
    (golden.find((s) => s.requestType === type)?.attempts ?? []).map((a) =>
      lower(Object.fromEntries(Object.entries(a.headers).map(([k, v]) => [k, fill(v)]))),
    );

  it('matches the recorded HTTP headers for 503, 404, 429, 500, 302, 200', () => {
    // The task's state before each attempt: a 5xx is not an execution, every other answer is.
    const states = [
      task(),
      task({ dispatchCount: 1, responseCount: 1, executionCount: 0, previousResponseStatus: 503 }),
      task({ dispatchCount: 2, responseCount: 2, executionCount: 1, previousResponseStatus: 404 }),
      task({ dispatchCount: 3, responseCount: 3, executionCount: 2, previousResponseStatus: 429 }),
      task({ dispatchCount: 4, responseCount: 4, executionCount: 2, previousResponseStatus: 500 }),
      task({ dispatchCount: 5, responseCount: 5, executionCount: 3, previousResponseStatus: 302 }),
    ];
    expect(states.map((state) => lower(dispatchHeaders(state)))).toEqual(recorded('http'));
  });

  it('matches the recorded HTTP headers after a timed-out attempt (reported as 504)', () => {
    const states = [
      task(),
      task({ dispatchCount: 1, responseCount: 0, executionCount: 0, previousResponseStatus: 504 }),
    ];
    expect(states.map((state) => lower(dispatchHeaders(state)))).toEqual(recorded('http-timeout'));
  });

  it('keeps the task headers but not reserved ones, and lets a token replace Authorization', () => {
    const headers = dispatchHeaders(
      task({
        http: {
          url: 'http://x/',
          httpMethod: 'POST',
          body: Buffer.alloc(0),
          headers: {
            'Content-Type': 'application/json',
            authorization: 'old',
            Host: 'h',
            'X-AppEngine-Foo': '1',
          },
        },
      }),
      'Bearer new',
    );
    expect(headers['Content-Type']).toBe('application/json');
    expect(headers['Authorization']).toBe('Bearer new');
    expect(Object.keys(headers).map((k) => k.toLowerCase())).not.toEqual(
      expect.arrayContaining(['host', 'x-appengine-foo']),
    );
    expect(Object.keys(headers).filter((k) => k.toLowerCase() === 'authorization')).toHaveLength(1);
  });

  it('formats the ETA in epoch seconds with microseconds', () => {
    expect(formatEta(1_700_000_000_123.456)).toBe('1700000000.123456');
  });
});
