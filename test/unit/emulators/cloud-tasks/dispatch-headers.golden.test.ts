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
  it('matches the recorded HTTP headers for 503, 404, 200', () => {
    const attempts = golden.find((s) => s.requestType === 'http')?.attempts ?? [];
    const states = [
      task(),
      task({ dispatchCount: 1, responseCount: 1, executionCount: 0, previousResponseStatus: 503 }),
      task({ dispatchCount: 2, responseCount: 2, executionCount: 1, previousResponseStatus: 404 }),
    ];
    const fill = (v: string) =>
      v.replace('{queue}', 'q1').replace('{task}', 't1').replace('{eta}', '1700000000.123000');
    states.forEach((state, i) => {
      const expected = Object.fromEntries(
        Object.entries(attempts[i]?.headers ?? {}).map(([k, v]) => [k, fill(v)]),
      );
      expect(lower(dispatchHeaders(state))).toEqual(lower(expected));
    });
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
