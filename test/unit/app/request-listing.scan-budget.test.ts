import { listRequests, MAX_SCANNED } from '../../../src/app/request-listing';
import { DEFAULT_SETTINGS } from '../../../src/app/deps';
import type { Instance, Request } from '../../../src/domain/model';
import { parseRequestFilter } from '../../../src/domain/request-filter';
import { createMemoryStore } from '../../infra/support/memory-store';

/**
 * The in-memory part of a listing (over the memory store, which answers the scans as Firestore
 * would): a page reads at most MAX_SCANNED requests, so a rare match far down the scan comes on
 * a later page, never by reading everything at once.
 */

const T0 = Date.parse('2030-03-01T00:00:00.000Z');
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function aRequest(n: number, over: Partial<Request> = {}): Request {
  return {
    id: `r${String(n).padStart(5, '0')}`,
    type: 'deletion',
    subject: { email: `${n}@example.com` },
    subjectHash: `h${n}`,
    regulation: 'gdpr',
    receivedAt: iso(-n),
    dueAt: iso(30 * 24 * 60 - n),
    dryRun: false,
    status: 'in_progress',
    overdue: false,
    createdAt: iso(-n),
    updatedAt: iso(-n),
    createdBy: 'filer@example.com',
    counts: { queued: 1 },
    cost: { bytesBilled: 0, usd: 0 },
    taskIds: ['crm'],
    ...over,
  };
}

const anInstance = (requestId: string, taskId: string): Instance => ({
  requestId,
  taskId,
  taskName: taskId,
  executor: 'noop',
  jobType: 'deletion',
  state: 'queued',
  attempt: 0,
  totalAttempts: 0,
  series: 1,
  maxAttempts: 3,
  timeoutSeconds: 60,
  cost: { bytesBilled: 0, usd: 0 },
  updatedAt: iso(0),
});

describe('listRequests: the bounded in-memory scan', () => {
  const store = createMemoryStore();
  const deps = { store, clock: { now: () => new Date(T0) }, settings: DEFAULT_SETTINGS };

  beforeAll(async () => {
    // The newest MAX_SCANNED + 50 are deletions; the two oldest a records request and a
    // request filed before task ids were kept with it.
    for (let n = 0; n < MAX_SCANNED + 50; n += 1) await store.createRequest(aRequest(n), []);
    await store.createRequest(aRequest(90_000, { type: 'records', taskIds: ['export'] }), []);
    const { taskIds: _none, ...legacy } = aRequest(90_001);
    await store.createRequest(legacy, [anInstance('r90001', 'ga')]);
  });

  it('answers with what a page of scanning found and a cursor, then goes on from there', async () => {
    const first = await listRequests(deps, parseRequestFilter({ type: 'records', limit: '10' }));
    expect(first.items).toEqual([]);
    expect(first.nextCursor).toBeDefined();
    const second = await listRequests(
      deps,
      parseRequestFilter({ type: 'records', limit: '10', cursor: first.nextCursor }),
    );
    expect(second.items.map((r) => r.id)).toEqual(['r90000']);
    expect(second.nextCursor).toBeUndefined();
  });

  it('fills a page without the scan bound when every criterion is indexed', async () => {
    const page = await listRequests(deps, parseRequestFilter({ limit: '200' }));
    expect(page.items).toHaveLength(200);
    expect(page.items[0]?.id).toBe('r00000');
    expect(page.nextCursor).toBeDefined();
  });

  it('reads the instances of a request filed before its task ids were kept', async () => {
    const pages: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listRequests(
        deps,
        parseRequestFilter({ task: 'ga', ...(cursor === undefined ? {} : { cursor }) }),
      );
      pages.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(pages).toEqual(['r90001']);
  });
});
