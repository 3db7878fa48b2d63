import { ValidationError } from '../../../src/domain/errors';
import type { Page } from '../../../src/ports/request-store';
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

  it('lists requests newest first, filtered by status and overdue, page by page', async () => {
    // Two share a createdAt, so the id breaks the tie and paging must not skip either.
    const specs = [
      { id: 'ra', createdAt: at(1), status: 'completed' as const },
      { id: 'rb', createdAt: at(2), status: 'in_progress' as const, overdue: true },
      { id: 'rc', createdAt: at(3), status: 'in_progress' as const },
      { id: 'rd', createdAt: at(3), status: 'in_progress' as const, overdue: true },
      { id: 're', createdAt: at(4), status: 'awaiting_approval' as const },
    ];
    for (const { id, ...rest } of specs) await f.store.createRequest(aRequest(id, rest), []);
    const ids = (pages: { id: string }[][]) => pages.map((p) => p.map((r) => r.id));

    expect(ids(await drain((cursor) => f.store.listRequests({ limit: 2, cursor })))).toEqual([
      ['re', 'rd'],
      ['rc', 'rb'],
      ['ra'],
    ]);
    expect(
      ids(
        await drain((cursor) => f.store.listRequests({ status: 'in_progress', limit: 1, cursor })),
      ),
    ).toEqual([['rd'], ['rc'], ['rb'], []]);
    expect(
      ids(await drain((cursor) => f.store.listRequests({ overdue: true, limit: 5, cursor }))),
    ).toEqual([['rd', 'rb']]);
    expect(
      ids(
        await drain((cursor) =>
          f.store.listRequests({ status: 'in_progress', overdue: false, limit: 5, cursor }),
        ),
      ),
    ).toEqual([['rc']]);
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
    const { nextCursor } = await f.store.listRequests({ limit: 1 });
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
