import { ValidationError } from '../../../src/domain/errors';
import type { Request } from '../../../src/domain/model';
import type { Page, RequestScan } from '../../../src/ports/request-store';
import { aRequest, anInstance, at, useStore } from './fixture';

/** Every item of a paged listing, following cursors to the end. */
async function drain<T>(fetchPage: (cursor?: string) => Promise<Page<T>>): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages;
}

describe('Firestore store: paged queries', () => {
  const f = useStore();

  it('scans requests by filing or by deadline, by status or filer, resuming after an item', async () => {
    // Two share a receivedAt (and two a dueAt), so the id breaks the tie.
    const specs = [
      { id: 'ra', receivedAt: at(1), dueAt: at(50), status: 'completed' as const },
      { id: 'rb', receivedAt: at(2), dueAt: at(40), createdBy: 'ann' },
      { id: 'rc', receivedAt: at(3), dueAt: at(40) },
      { id: 'rd', receivedAt: at(3), dueAt: at(10), createdBy: 'ann' },
      { id: 're', receivedAt: at(4), dueAt: at(20), status: 'awaiting_approval' as const },
      { id: 'rf', receivedAt: at(5), dueAt: at(5), dryRun: true },
    ];
    for (const { id, ...rest } of specs) await f.store.createRequest(aRequest(id, rest), []);
    const ids = (rs: Request[]) => rs.map((r) => r.id);
    const scan = (over: Partial<RequestScan>): RequestScan => ({
      by: { kind: 'all' },
      dryRun: false,
      orderBy: 'receivedAt',
      limit: 10,
      ...over,
    });

    expect(ids(await f.store.listRequests(scan({})))).toEqual(['re', 'rd', 'rc', 'rb', 'ra']);
    expect(ids(await f.store.listRequests(scan({ orderBy: 'dueAt' })))).toEqual([
      'rd',
      're',
      'rb',
      'rc',
      'ra',
    ]);
    expect(ids(await f.store.listRequests(scan({ dryRun: true })))).toEqual(['rf']);
    expect(
      ids(await f.store.listRequests(scan({ after: { value: at(3), id: 'rd' }, limit: 2 }))),
    ).toEqual(['rc', 'rb']);
    expect(
      ids(
        await f.store.listRequests(
          scan({ orderBy: 'dueAt', after: { value: at(40), id: 'rb' }, limit: 1 }),
        ),
      ),
    ).toEqual(['rc']);
    expect(
      ids(
        await f.store.listRequests(
          scan({
            by: { kind: 'status', statuses: ['in_progress', 'completed'] },
            orderBy: 'dueAt',
          }),
        ),
      ),
    ).toEqual(['rd', 'rb', 'rc', 'ra']);
    expect(
      ids(await f.store.listRequests(scan({ by: { kind: 'owner', createdBy: 'ann' } }))),
    ).toEqual(['rd', 'rb']);
    expect(ids(await f.store.listRequests(scan({ from: at(2), before: at(4) })))).toEqual([
      'rd',
      'rc',
      'rb',
    ]);
    expect(ids(await f.store.listRequests(scan({ orderBy: 'dueAt', before: at(40) })))).toEqual([
      'rd',
      're',
    ]);
  });

  it('finds a request by externalId, with the task ids filed with it', async () => {
    await f.store.createRequest(
      aRequest('rx', { externalId: 'ticket-1', taskIds: ['a-task', 'b-task'] }),
      [anInstance('rx', 'b-task'), anInstance('rx', 'a-task')],
    );
    await f.store.createRequest(aRequest('ry', { externalId: 'ticket-2' }), []);

    const found = await f.store.findRequestsByExternalId('ticket-1', 5);
    expect(found.map((r) => [r.id, r.taskIds])).toEqual([['rx', ['a-task', 'b-task']]]);
    expect(await f.store.findRequestsByExternalId('ticket-3', 5)).toEqual([]);
  });

  it('pages open requests for dispatch', async () => {
    for (const [id, status] of [
      ['q1', 'in_progress'],
      ['q2', 'completed'],
      ['q3', 'awaiting_approval'],
      ['q4', 'cancelled'],
      ['q5', 'in_progress'],
    ] as const) {
      await f.store.createRequest(aRequest(id, { status }), []);
    }

    const pages = await drain((cursor) => f.store.queryOpenRequests(2, cursor));

    expect(pages.map((p) => p.map((r) => r.id))).toEqual([['q1', 'q3'], ['q5']]);
  });

  it('queries instances across requests by state, due time and page', async () => {
    const due = (
      requestId: string,
      taskId: string,
      state: 'queued' | 'running' | 'pending_enqueue',
      minute?: number,
    ) =>
      anInstance(requestId, taskId, {
        state,
        ...(minute === undefined ? {} : { leaseExpiresAt: at(minute) }),
      });
    await f.store.createRequest(aRequest('ra'), [
      due('ra', 'x', 'running', 5),
      due('ra', 'y', 'running', 50),
      due('ra', 'z', 'pending_enqueue'),
    ]);
    await f.store.createRequest(aRequest('rb'), [
      due('rb', 'x', 'running', 1),
      due('rb', 'y', 'queued', 2),
      due('rb', 'z', 'pending_enqueue'),
    ]);
    const key = (i: { requestId: string; taskId: string }) => `${i.requestId}/${i.taskId}`;

    const expiring = await drain((cursor) =>
      f.store.queryInstances({
        states: ['running', 'waiting'],
        dueField: 'leaseExpiresAt',
        dueBefore: new Date(at(10)),
        limit: 1,
        cursor,
      }),
    );
    const outbox = await drain((cursor) =>
      f.store.queryInstances({ states: ['pending_enqueue'], limit: 1, cursor }),
    );

    expect(expiring.map((p) => p.map(key))).toEqual([['rb/x'], ['ra/x'], []]);
    expect(outbox.map((p) => p.map(key))).toEqual([['ra/z'], ['rb/z'], []]);
    expect(await f.store.queryInstances({ states: [], limit: 10 })).toEqual({ items: [] });
  });

  it('refuses a cursor it did not issue, or one issued by another listing', async () => {
    for (const id of ['c1', 'c2']) await f.store.createRequest(aRequest(id), []);
    const { nextCursor } = await f.store.queryRequestsReceived(at(-1), at(1), 1);
    const forged = Buffer.from(JSON.stringify(['requests'])).toString('base64url');

    expect(nextCursor).toBeDefined();
    for (const cursor of ['not-a-cursor', forged]) {
      await expect(f.store.queryOpenRequests(1, cursor)).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(f.store.queryOpenRequests(1, nextCursor)).rejects.toMatchObject({
      code: 'invalid_cursor',
    });
  });
});
