import { getRequestView } from '../../../src/app/request-views';
import { pauseTask, resumeTask } from '../../../src/app/task-pause';
import { eventsSeed, T0, useBatchFixture } from './harness';

const f = useBatchFixture('batch-paused', eventsSeed(3));
const OPERATOR = { identity: 'operator@example.com' };

describe('a batch of a paused task', () => {
  it('does not flush while the task is paused, keeps its members, and flushes once resumed', async () => {
    await f.deleteTask('events-delete', { maxSubjects: 100, maxWaitSeconds: 60 });
    const ids = [await f.file(0), await f.file(1)];
    const states = async () =>
      Promise.all(
        ids.map(async (id) => (await f.store.store.getInstance(id, 'events-delete'))?.state),
      );
    await f.drain(async () => (await states()).every((s) => s === 'waiting'));
    await pauseTask(f.deps(), 'events-delete', { reason: 'warehouse migration' }, OPERATOR);

    // Well past the batch's wait: its flush comes, finds the task paused, and runs nothing.
    const quarterHour = T0.getTime() + 15 * 60_000;
    await f.drain(async () => f.now.getTime() >= quarterHour, 500);
    expect(f.events('batch.paused').length).toBeGreaterThan(0);
    expect(f.events('batch.flush_started')).toHaveLength(0);
    expect(await f.emails()).toEqual(expect.arrayContaining(['s0@example.com', 's1@example.com']));
    expect(await states()).toEqual(['waiting', 'waiting']);

    await resumeTask(f.deps(), 'events-delete', {}, OPERATOR);
    await f.drain(async () => (await states()).every((s) => s === 'succeeded'), 500);
    expect(f.events('batch.flushed')).toEqual([expect.objectContaining({ batchMembers: 2 })]);
    const left = await f.emails();
    expect(left.join(',')).not.toMatch(/s[01]@/i);
    for (const id of ids) expect((await getRequestView(f.deps(), id)).status).toBe('completed');
  });
});
