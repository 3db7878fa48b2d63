import { eventsSeed, useBatchFixture } from './harness';
import { getRequestView, listRuns } from '../../../src/app/request-views';

const f = useBatchFixture('batch-flush', eventsSeed(6));

describe('a batch of deletion requests', () => {
  it('deletes exactly its subjects’ rows in one statement, and gives each run its own rows and a share of the cost that adds up', async () => {
    await f.deleteTask('events-delete', { maxSubjects: 100, maxWaitSeconds: 60 });
    const ids = [];
    for (const i of [0, 1, 2, 3]) ids.push(await f.file(i));
    await f.drain();

    const left = await f.emails();
    for (const i of [0, 1, 2, 3]) expect(left.join(',')).not.toMatch(new RegExp(`s${i}@`, 'i'));
    expect(left).toContain('s4@example.com');
    expect(left).toContain('S5@Example.com ');
    expect(left.filter((e) => e.startsWith('other'))).toHaveLength(5);

    const flushed = f.events('batch.flushed');
    expect(flushed).toHaveLength(1);
    expect(flushed[0]).toMatchObject({ batchMembers: 4, statements: 1, affectedRows: 8 });
    const batchId = (flushed[0]?.['logging.googleapis.com/labels'] as { batchId: string }).batchId;
    const batch = await f.batches.get(batchId);
    expect(batch?.state).toBe('flushed');
    // One grouped count, the DELETE, one grouped verification.
    expect(batch?.jobs.map((j) => j.role)).toEqual(['count', 'change', 'verify']);
    const billed = batch?.jobs.reduce((sum, j) => sum + j.bytesBilled, 0) ?? 0;

    let shares = 0;
    let usd = 0;
    for (const id of ids) {
      const view = await getRequestView(f.deps(), id);
      expect(view.status).toBe('completed');
      const runs = await listRuns(f.deps(), id);
      const last = runs.find((r) => r.status === 'succeeded');
      expect(last?.evidence.affectedRows).toBe(2);
      expect(last?.evidence.remainingRows).toBe(0);
      expect(last?.evidence.batch).toMatchObject({ id: batchId, members: 4, statements: 1 });
      expect(last?.evidence.jobIds).toEqual(batch?.jobs.map((j) => j.jobId));
      shares += last?.cost.bytesBilled ?? 0;
      usd += Math.round((last?.cost.usd ?? 0) * 1e9);
    }
    expect(shares).toBe(billed);
    expect(usd).toBe(Math.round((batch?.result?.usd ?? 0) * 1e9));
  });
});
