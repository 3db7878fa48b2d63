import { Timestamp } from '@google-cloud/firestore';
import { createFirestoreRecordStore } from '../../../src/adapters/firestore/firestore-record-store';
import { dispatch } from '../../../src/app/dispatch';
import { getRecordsPackage } from '../../../src/app/records';
import { getRequestView, retryInstance } from '../../../src/app/requests';
import { GoneError } from '../../../src/domain/errors';
import { aRequest, anInstance, aRun } from '../firestore/fixture';
import { T0, useDispatchFixture } from './harness';

const DAY_MS = 86_400_000;
const daysAfterT0 = (days: number) => new Date(T0.getTime() + days * DAY_MS);

describe('dispatch: PII minimisation after retention', () => {
  const f = useDispatchFixture();
  const settings = { piiRetentionDays: 30, recordRetentionDays: 365 };

  /** A records request closed at T0, with one run and a two-chunk records package. */
  async function closedRequest(id: string, overrides: Parameters<typeof aRequest>[1] = {}) {
    const request = aRequest(id, {
      type: 'records',
      subject: { email: `${id}@example.com`, userId: `user-${id}` },
      notes: `ticket for ${id}@example.com`,
      status: 'completed',
      completedAt: T0.toISOString(),
      minimised: false,
      ...overrides,
    });
    const instance = anInstance(id, 'export', { state: 'succeeded', jobType: 'records' });
    await f.store.store.createRequest(request, [instance]);
    await f.store.store.recordRun(aRun(instance, 'run-1'), () => ({
      updatedAt: T0.toISOString(),
    }));
    const set = { requestId: id, taskId: 'export', setId: 'job-1' };
    await createFirestoreRecordStore(f.store.fs.db).putChunks(set, 0, [
      Buffer.from('{"email":"x"}\n'),
      Buffer.from('{"email":"y"}\n'),
    ]);
    return request;
  }

  const docsUnder = async (id: string, sub: string) =>
    (await f.store.fs.db.collection(`requests/${id}/instances/export/${sub}`).get()).docs;

  it('leaves a request alone until PII_RETENTION_DAYS after it closed', async () => {
    await closedRequest('r1');
    f.now = daysAfterT0(29);
    expect((await dispatch(f.deps(settings))).minimised).toBe(0);
    const stored = await f.store.store.getRequest('r1');
    expect(stored?.subject).toEqual({ email: 'r1@example.com', userId: 'user-r1' });
    expect(await docsUnder('r1', 'records')).toHaveLength(2);
  });

  it('then removes the identifiers, notes and records package, keeps the proof and sets the TTL', async () => {
    await closedRequest('r1');
    f.now = daysAfterT0(31);
    expect((await dispatch(f.deps(settings))).minimised).toBe(1);

    const stored = await f.store.store.getRequest('r1');
    const retainUntil = new Date(f.now.getTime() + 365 * DAY_MS);
    expect(stored).toMatchObject({
      subject: {},
      subjectKinds: ['email', 'userId'],
      subjectHash: 'hash-r1',
      minimised: true,
      minimisedAt: f.now.toISOString(),
      retainUntil: retainUntil.toISOString(),
    });
    expect(stored?.notes).toBeUndefined();
    // The TTL field is a Firestore Timestamp on every document of the request; the model never sees it.
    expect(stored).not.toHaveProperty('expireAt');
    const raw = await f.store.fs.db.doc('requests/r1').get();
    expect(raw.get('expireAt')).toEqual(Timestamp.fromDate(retainUntil));
    const instance = await f.store.fs.db.doc('requests/r1/instances/export').get();
    expect(instance.get('expireAt')).toEqual(Timestamp.fromDate(retainUntil));
    const runs = await docsUnder('r1', 'runs');
    expect(runs.map((r) => r.get('expireAt') as unknown)).toEqual([
      Timestamp.fromDate(retainUntil),
    ]);
    expect(await docsUnder('r1', 'records')).toHaveLength(0);

    const view = await getRequestView(f.deps(settings), 'r1');
    expect(view).toMatchObject({
      subjectIdentifiers: ['email', 'userId'],
      minimisedAt: f.now.toISOString(),
    });
    expect(JSON.stringify(view)).not.toContain('r1@example.com');
    expect(f.events('request.minimised')).toEqual([
      expect.objectContaining({ subjectHash: 'hash-r1', retainUntil: retainUntil.toISOString() }),
    ]);
    expect(JSON.stringify(f.lines)).not.toContain('@example.com');

    // What needs the subject now answers 410, saying why.
    const records = getRecordsPackage(
      { ...f.deps(settings), records: createFirestoreRecordStore(f.store.fs.db) },
      'r1',
      { pageSize: 10 },
      { identity: 'reader@example.com' },
    );
    await expect(records).rejects.toThrow(GoneError);
    await expect(
      retryInstance(f.deps(settings), 'r1', 'export', {}, { identity: 'ops' }),
    ).rejects.toMatchObject({ code: 'request_minimised' });

    // Done once: the next run finds nothing to do.
    expect((await dispatch(f.deps(settings))).minimised).toBe(0);
  });

  it('sets no TTL when RECORD_RETENTION_DAYS is 0, and skips a request that reopened', async () => {
    await closedRequest('r1');
    await closedRequest('r2', { status: 'in_progress' });
    f.now = daysAfterT0(31);
    const summary = await dispatch(f.deps({ ...settings, recordRetentionDays: 0 }));

    expect(summary.minimised).toBe(1);
    const raw = await f.store.fs.db.doc('requests/r1').get();
    expect(raw.get('minimised')).toBe(true);
    expect(raw.get('expireAt')).toBeUndefined();
    expect(raw.get('retainUntil')).toBeUndefined();
    const reopened = await f.store.store.getRequest('r2');
    expect(reopened).toMatchObject({ minimised: false, subject: { email: 'r2@example.com' } });
    expect(await docsUnder('r2', 'records')).toHaveLength(2);
  });
});
