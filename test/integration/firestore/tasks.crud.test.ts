import { ConflictError, NotFoundError } from '../../../src/domain/errors';
import { aTask, at, useStore } from './fixture';

describe('Firestore store: tasks', () => {
  const f = useStore();

  it('creates, reads, lists with filters, and updates a task', async () => {
    const noop = aTask('noop-a', { team: 'privacy', description: undefined });
    await f.store.createTask(noop);
    await f.store.createTask(aTask('records-b', { jobType: 'records' }));
    await f.store.createTask(aTask('idle-c', { active: false }));

    expect(await f.store.getTask('noop-a')).toEqual(aTask('noop-a', { team: 'privacy' }));
    expect(await f.store.getTask('missing')).toBeNull();
    expect((await f.store.listTasks()).map((t) => t.id)).toEqual(['idle-c', 'noop-a', 'records-b']);
    expect(
      (await f.store.listTasks({ jobType: 'deletion', active: true })).map((t) => t.id),
    ).toEqual(['noop-a']);
    expect((await f.store.listTasks({ active: false })).map((t) => t.id)).toEqual(['idle-c']);

    const updated = await f.store.updateTask('noop-a', () => ({
      maxAttempts: 7,
      config: { note: 'replaced whole' },
      updatedAt: at(5),
    }));
    expect(updated).toEqual({
      ...noop,
      maxAttempts: 7,
      config: { note: 'replaced whole' },
      updatedAt: at(5),
    });
    expect(await f.store.getTask('noop-a')).toEqual(updated);
  });

  it('refuses a second task with the same id and leaves the first as it was', async () => {
    await f.store.createTask(aTask('dup'));
    await expect(f.store.createTask(aTask('dup', { name: 'other' }))).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect((await f.store.getTask('dup'))?.name).toBe('task dup');
  });

  it('answers NotFoundError for an update of a missing task, and writes nothing', async () => {
    await expect(f.store.updateTask('nope', () => ({ active: false }))).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(await f.store.getTask('nope')).toBeNull();
  });
});
