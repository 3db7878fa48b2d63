import { FILER, eventsSeed, useBatchFixture } from './harness';
import { cancelRequest } from '../../../src/app/operations';
import { getRequestView, listRuns } from '../../../src/app/request-views';
import { decideFlushClaim } from '../../../src/domain/batch';

const PROJECT = 'batch-faults';
const TABLE = `${PROJECT}.crm.events`;
// The streamed row leaves the buffer before the flush's first retry (2 minutes on).
const f = useBatchFixture(PROJECT, eventsSeed(4), { streamingBufferSeconds: 100 });

/** The id of the batch the first joiner opened. */
function firstBatch(): string {
  const line = f.events('batch.joined').find((l) => l['batchOpened'] === true);
  return (
    (line?.['logging.googleapis.com/labels'] as { batchId?: string } | undefined)?.batchId ?? ''
  );
}

const joined = (n: number) => async () => f.events('batch.joined').length >= n;
const flushed = async () =>
  firstBatch() !== '' && (await f.batches.get(firstBatch()))?.state === 'flushed';

describe('a batch under faults', () => {
  it('retries a failed flush as a whole, and each member’s share covers every attempt’s jobs', async () => {
    await f.deleteTask('events-delete', { maxSubjects: 100, maxWaitSeconds: 60 });
    // A freshly streamed row of s1: DML over the streaming buffer is refused until it is flushed.
    await f.emu.bigquery
      .dataset('crm')
      .table('events')
      .insert([{ email: 's1@example.com', kind: 'streamed', n: 99 }]);
    const ids = [await f.file(0), await f.file(1), await f.file(2)];
    await f.drain();

    const failed = f.events('batch.flush_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ attempt: 1, errorCode: 'bigquery.streaming_buffer' });
    const batch = await f.batches.get(firstBatch());
    expect(batch).toMatchObject({ state: 'flushed', attempt: 2 });
    expect(await f.emails()).not.toContain('s1@example.com');
    const billed = batch?.jobs.reduce((sum, j) => sum + j.bytesBilled, 0) ?? 0;
    // Attempt 1's grouped count is billed too, and shared.
    expect(batch?.jobs.map((j) => j.role)).toEqual(['count', 'count', 'change', 'verify']);
    let shares = 0;
    for (const id of ids) {
      expect((await getRequestView(f.deps(), id)).status).toBe('completed');
      const runs = await listRuns(f.deps(), id);
      shares += runs.reduce((sum, r) => sum + r.cost.bytesBilled, 0);
    }
    expect(shares).toBe(billed);
  });

  it('fails every member with the same error when the flush fails for good', async () => {
    await f.deleteTask('events-delete', { maxSubjects: 100, maxWaitSeconds: 60 });
    const ids = [await f.file(0), await f.file(1)];
    await f.drain(joined(2));
    await f.emu.bigquery.dataset('crm').table('events').delete();
    await f.drain();

    expect(f.events('batch.failed')).toHaveLength(1);
    const errors = [];
    for (const id of ids) {
      const view = await getRequestView(f.deps(), id);
      expect(view.status).not.toBe('completed');
      const runs = await listRuns(f.deps(), id);
      const last = runs[runs.length - 1];
      expect(last?.status).toBe('failed');
      errors.push(last?.error);
    }
    expect(errors[0]?.code).toBe('bigquery.not_found');
    expect(errors[1]).toEqual(errors[0]);
  });

  it('takes over a killed flush once its lease expires, as the watchdog does a stuck lease', async () => {
    await f.deleteTask('events-delete', { maxSubjects: 100, maxWaitSeconds: 60 });
    const ids = [await f.file(0), await f.file(1)];
    await f.drain(joined(2));
    const id = firstBatch();
    // A flush claims the batch and takes the table, then dies without a word.
    await f.batches.close(id, f.now);
    await f.batches.claim(id, (b) => decideFlushClaim(b, f.now, 30));
    expect(await f.leases.acquire(TABLE, `batch/${id}`, 600)).toBe(true);

    await f.drain(flushed);
    expect(f.events('batch.rearmed').length).toBeGreaterThanOrEqual(1);
    expect((await f.batches.get(id))?.attempt).toBe(2);
    for (const r of ids) {
      await f.drain(async () => (await getRequestView(f.deps(), r)).status === 'completed');
    }
    expect((await f.emails()).filter((e) => /^s[01]@/i.test(e))).toEqual([]);
  });

  it('lets a member whose request is cancelled leave before the flush; its rows stay', async () => {
    await f.deleteTask('events-delete', { maxSubjects: 100, maxWaitSeconds: 60 });
    const ids = [await f.file(0), await f.file(1), await f.file(2)];
    await f.drain(joined(3));
    await cancelRequest(f.deps(), ids[1] ?? '', FILER);
    await f.drain();

    expect(f.events('batch.flushed')[0]).toMatchObject({ batchMembers: 2, batchLeft: 1 });
    expect((await getRequestView(f.deps(), ids[1] ?? '')).status).toBe('cancelled');
    expect((await getRequestView(f.deps(), ids[0] ?? '')).status).toBe('completed');
    const left = await f.emails();
    expect(left).toContain('s1@example.com');
    expect(left).not.toContain('s0@example.com');
    expect(left).not.toContain('s2@example.com');
  });

  it('waits while another statement holds the table lease, without spending an attempt', async () => {
    await f.deleteTask('events-delete', { maxSubjects: 100, maxWaitSeconds: 60 });
    expect(await f.leases.acquire(TABLE, 'batch/another', 600)).toBe(true);
    await f.file(0);
    await f.drain(async () => f.events('batch.blocked').length >= 2);
    expect(await f.emails()).toContain('s0@example.com');
    await f.leases.release(TABLE, 'batch/another');
    await f.drain(flushed);
    expect((await f.batches.get(firstBatch()))?.attempt).toBe(1);
    expect(await f.emails()).not.toContain('s0@example.com');
  });

  it('closes a full batch at once, never putting more than maxSubjects subjects in one statement', async () => {
    await f.deleteTask('events-delete', { maxSubjects: 2, maxWaitSeconds: 3600 });
    const ids = [await f.file(0), await f.file(1), await f.file(2)];
    await f.drain(flushed);
    // Long before the hour's wait is over.
    expect(f.now.getTime() - Date.parse('2030-03-01T12:00:00.000Z')).toBeLessThan(600_000);
    // Joins that raced the close may be in the batch too: its flush splits them off.
    const [line] = f.events('batch.flushed');
    const members = Number(line?.['batchMembers']);
    expect(members).toBeGreaterThanOrEqual(2);
    expect(line?.['statements']).toBe(Math.ceil(members / 2));
    await f.drain(async () => {
      const views = await Promise.all(ids.map((id) => getRequestView(f.deps(), id)));
      return views.every((v) => v.status === 'completed');
    }, 400);
    expect((await f.emails()).filter((e) => /^s[012]@/i.test(e))).toEqual([]);
  });

  it('flushes only inside its task’s execution window', async () => {
    await f.deleteTask(
      'events-delete',
      { maxSubjects: 100, maxWaitSeconds: 120 },
      // 12:00-12:01 UTC: the batch's wait ends after the window has closed.
      { executionWindow: { start: '12:00', end: '12:01' } },
    );
    const id = await f.file(0);
    await f.drain(async () => (await getRequestView(f.deps(), id)).status === 'completed', 400);
    expect(f.events('batch.outside_window').length).toBeGreaterThanOrEqual(1);
    const flushedAt = f.events('batch.flushed')[0]?.['time'] as string;
    expect(flushedAt).toBeDefined();
    const at = f.now;
    // The next day's window.
    expect(at.toISOString().slice(0, 10)).toBe('2030-03-02');
    expect(at.getUTCHours()).toBe(12);
  });
});
