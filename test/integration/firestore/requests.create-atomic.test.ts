import { ConflictError } from '../../../src/domain/errors';
import { aRequest, aRequestWithInstances, anInstance, at, useStore } from './fixture';

describe('Firestore store: createRequest', () => {
  const f = useStore();

  it('writes the request and all its instances together', async () => {
    const { request, instances } = aRequestWithInstances('r-new', 3);
    const result = await f.store.createRequest({ ...request, notes: undefined }, instances);

    expect(result).toEqual({ created: true, request, instances });
    expect(await f.store.getRequest('r-new')).toEqual(request);
    expect(await f.store.listInstances('r-new')).toEqual(instances);
    expect(await f.store.getInstance('r-new', 't01')).toEqual(instances[1]);
  });

  it('returns what is stored, unchanged, when the request id exists already', async () => {
    const first = aRequestWithInstances('r-dup', 2);
    await f.store.createRequest(first.request, first.instances);
    const again = aRequestWithInstances('r-dup', 3);

    const result = await f.store.createRequest(
      { ...again.request, notes: 'second filing' },
      again.instances,
    );

    expect(result).toEqual({ created: false, request: first.request, instances: first.instances });
    expect(await f.store.listInstances('r-dup')).toHaveLength(2);
  });

  it('writes nothing at all when any one of the creates fails', async () => {
    // A stray instance under a new request id makes its create fail inside the batch.
    const { request, instances } = aRequestWithInstances('r-atomic', 3);
    await f.fs.db
      .doc('requests/r-atomic/instances/t02')
      .create(anInstance('r-atomic', 't02', { state: 'failed' }));

    await expect(f.store.createRequest(request, instances)).rejects.toBeInstanceOf(ConflictError);

    expect(await f.store.getRequest('r-atomic')).toBeNull();
    expect((await f.store.listInstances('r-atomic')).map((i) => [i.taskId, i.state])).toEqual([
      ['t02', 'failed'],
    ]);
  });

  it('finds requests of a subject and type, newest first', async () => {
    const mine = { subjectHash: 'h-1' };
    await f.store.createRequest(
      aRequest('r-old', { ...mine, createdAt: at(1), status: 'completed' }),
      [],
    );
    await f.store.createRequest(aRequest('r-mid', { ...mine, createdAt: at(2) }), []);
    await f.store.createRequest(aRequest('r-new', { ...mine, createdAt: at(3) }), []);
    await f.store.createRequest(
      aRequest('r-records', { ...mine, type: 'records', createdAt: at(4) }),
      [],
    );
    await f.store.createRequest(aRequest('r-other', { subjectHash: 'h-2', createdAt: at(5) }), []);

    const found = await f.store.findRequestsBySubject('h-1', 'deletion', 2);

    expect(found.map((r) => r.id)).toEqual(['r-new', 'r-mid']);
    expect((await f.store.findRequestsBySubject('h-1', 'deletion', 10)).map((r) => r.id)).toEqual([
      'r-new',
      'r-mid',
      'r-old',
    ]);
  });

  it('applies a guarded request update, and declines without writing', async () => {
    await f.store.createRequest(aRequest('r-upd'), []);

    const updated = await f.store.updateRequest('r-upd', (c) => ({
      overdue: !c.overdue,
      updatedAt: at(9),
    }));
    const declined = await f.store.updateRequest('r-upd', () => null);
    const missing = await f.store.updateRequest('r-none', () => ({ overdue: true }));

    expect(updated).toEqual(aRequest('r-upd', { overdue: true, updatedAt: at(9) }));
    expect(declined).toBeNull();
    expect(missing).toBeNull();
    expect(await f.store.getRequest('r-upd')).toEqual(updated);
    expect(await f.store.getRequest('r-none')).toBeNull();
  });
});
