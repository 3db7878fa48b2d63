import { ConflictError, NotFoundError } from '../../../src/domain/errors';
import { aTask, aTaskVersion, at, useStore } from './fixture';

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

    const change = aTaskVersion(noop, {
      maxAttempts: 7,
      config: { note: 'replaced whole' },
      updatedAt: at(5),
    });
    const updated = await f.store.updateTask('noop-a', () => change);
    expect(updated).toMatchObject({
      ...aTask('noop-a', { team: 'privacy' }),
      maxAttempts: 7,
      config: { note: 'replaced whole' },
      updatedAt: at(5),
      version: 2,
      versionHash: 'noop-a-v2',
    });
    expect(await f.store.getTask('noop-a')).toEqual(updated);
    expect(await f.store.getTaskVersion('noop-a', 2)).toEqual(change.version);
    expect(await f.store.listTaskVersions('noop-a')).toEqual([change.version]);
    // The change's ledger entry went with it, chained onto the task's head.
    const ledger = await f.store.listLedger({ kind: 'task', taskId: 'noop-a' });
    expect(ledger.map((e) => [e.seq, e.kind, e.taskId])).toEqual([[1, 'changed', 'noop-a']]);
    expect(updated).toMatchObject({ ledgerHead: { seq: 1, hash: ledger[0]?.hash } });
  });

  it('writes nothing for a declined change, and refuses a version that is not the next', async () => {
    const task = aTask('kept');
    await f.store.createTask(task);
    expect(await f.store.updateTask('kept', () => null)).toEqual(task);
    const skipping = aTaskVersion({ ...task, version: 2 }, { active: false });
    await expect(f.store.updateTask('kept', () => skipping)).rejects.toThrow(/not its next/);
    expect(await f.store.getTask('kept')).toEqual(task);
    expect(await f.store.listTaskVersions('kept')).toEqual([]);
    expect(await f.store.getTaskVersion('kept', 3)).toBeNull();
    expect(await f.store.getTaskVersion('kept', 0)).toBeNull();
  });

  it('refuses a second task with the same id and leaves the first as it was', async () => {
    await f.store.createTask(aTask('dup'));
    await expect(f.store.createTask(aTask('dup', { name: 'other' }))).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect((await f.store.getTask('dup'))?.name).toBe('task dup');
  });

  it('answers NotFoundError for an update of a missing task, and writes nothing', async () => {
    await expect(
      f.store.updateTask('nope', (t) => aTaskVersion(t, { active: false })),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await f.store.getTask('nope')).toBeNull();
  });
});
