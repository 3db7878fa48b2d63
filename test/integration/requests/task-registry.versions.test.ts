import {
  getTaskView,
  listTaskVersions,
  listTasksView,
  registerTask,
  taskVersionHash,
  updateTask,
} from '../../../src/app/tasks';
import { ValidationError } from '../../../src/domain/errors';
import { builtInExecutors } from '../../../src/executors';
import { useDispatchFixture } from '../dispatch/harness';

const ADMIN = { identity: 'admin@example.com' };
const OTHER = { identity: 'other-admin@example.com' };

const PARTNER_DELETE = {
  id: 'partner-delete',
  name: 'Partner deletion',
  jobType: 'deletion',
  executor: 'http.request',
  config: {
    url: 'https://partner.example/users/{{subject.email}}',
    method: 'DELETE',
    headers: { Authorization: { secret: 'PARTNER_TOKEN' }, 'X-Team': 'privacy-literal' },
  },
  requiresApproval: true,
};

/** The paths a refusal names (and that it is a 400-style ValidationError at all). */
async function refusedAt(attempt: Promise<unknown>): Promise<string[]> {
  const err = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return (err as ValidationError).issues.map((i) => i.path);
}

describe('the task registry keeps every version, with its actor and hash', () => {
  const f = useDispatchFixture();
  const deps = () => ({
    ...f.deps(),
    executors: builtInExecutors({
      secrets: () => 'not-a-secret',
      origins: {
        allowedOrigins: ['https://partner.example', 'https://other.example'],
        secretOrigins: { PARTNER_TOKEN: ['https://partner.example'] },
      },
    }),
  });
  const db = () => f.store.fs.db;
  /** Every document under `tasks`, with its subcollections, as stored. */
  async function registrySnapshot(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const task of (await db().collection('tasks').get()).docs) {
      out[task.ref.path] = task.data();
      for (const sub of await task.ref.listCollections()) {
        for (const doc of (await sub.get()).docs) out[doc.ref.path] = doc.data();
      }
    }
    return out;
  }

  it('registers version 1, keeps each change as a new immutable version; a no-op makes none', async () => {
    const v1 = await registerTask(deps(), PARTNER_DELETE, ADMIN);
    expect(v1).toMatchObject({
      version: 1,
      approvalsRequired: 1,
      requiresApproval: true,
      createdBy: ADMIN.identity,
      updatedBy: ADMIN.identity,
    });
    const kept1 = await f.store.store.getTaskVersion('partner-delete', 1);
    expect(kept1).not.toBeNull();

    const v2 = await updateTask(deps(), 'partner-delete', { approvalsRequired: 2 }, OTHER);
    expect(v2).toMatchObject({ version: 2, approvalsRequired: 2, updatedBy: OTHER.identity });
    expect(v2.createdBy).toBe(ADMIN.identity);
    expect(v2.versionHash).not.toBe(v1.versionHash);

    // The same values again change nothing: no new version, no ledger entry.
    const before = await registrySnapshot();
    const same = await updateTask(deps(), 'partner-delete', { approvalsRequired: 2 }, ADMIN);
    expect(same.version).toBe(2);
    expect(await updateTask(deps(), 'partner-delete', {}, ADMIN)).toMatchObject({ version: 2 });
    expect(await registrySnapshot()).toEqual(before);

    const v3 = await updateTask(deps(), 'partner-delete', { description: 'GDPR erasure' }, ADMIN);
    expect(v3.version).toBe(3);
    // Not what runs: the hash an approval covers is unchanged.
    expect(v3.versionHash).toBe(v2.versionHash);

    const { versions } = await listTaskVersions(deps(), 'partner-delete');
    expect(versions.map((v) => [v.version, v.kind, v.actor, v.versionHash])).toEqual([
      [1, 'registered', ADMIN.identity, v1.versionHash],
      [2, 'changed', OTHER.identity, v2.versionHash],
      [3, 'changed', ADMIN.identity, v3.versionHash],
    ]);
    expect(versions.map((v) => v.fields)).toEqual([
      expect.arrayContaining(['id', 'executor', 'config']),
      ['approvalsRequired', 'versionHash'],
      ['description'],
    ]);

    // Each kept version is the task as it was, whole, and its hash is recomputable from it;
    // the earlier ones did not move when later versions were made.
    expect(await f.store.store.getTaskVersion('partner-delete', 1)).toEqual(kept1);
    for (const [version, task] of [
      [1, v1],
      [2, v2],
      [3, v3],
    ] as const) {
      const kept = await f.store.store.getTaskVersion('partner-delete', version);
      if (kept === null) throw new Error(`version ${version} was not kept`);
      expect(kept.task).toEqual(task);
      expect(taskVersionHash(kept.task)).toBe(kept.versionHash);
      expect(kept.at).toBe(task.updatedAt);
    }
    expect((await db().doc('tasks/partner-delete/versions/2').get()).get('actor')).toBe(
      OTHER.identity,
    );

    // Each version is also an entry of the task's hash-chained ledger.
    const ledger = await f.store.store.listLedger({ kind: 'task', taskId: 'partner-delete' });
    expect(ledger.map((e) => [e.seq, e.kind, e.actor, e.details?.['versionHash']])).toEqual([
      [1, 'registered', ADMIN.identity, v1.versionHash],
      [2, 'changed', OTHER.identity, v2.versionHash],
      [3, 'changed', ADMIN.identity, v3.versionHash],
    ]);
    expect(ledger[1]?.details?.['fields']).toEqual(['approvalsRequired', 'versionHash']);
  });

  it('never shows a header value, literal or secret reference, on any read', async () => {
    await registerTask(deps(), PARTNER_DELETE, ADMIN);
    await updateTask(deps(), 'partner-delete', { description: 'v2' }, ADMIN);
    const shown = [
      await getTaskView(deps(), 'partner-delete'),
      ...(await listTasksView(deps())),
      ...(await listTaskVersions(deps(), 'partner-delete')).versions.map((v) => v.task),
    ];
    expect(shown).toHaveLength(4);
    for (const task of shown) {
      expect(task.config['headers']).toEqual({
        Authorization: '[redacted]',
        'X-Team': '[redacted]',
      });
      const text = JSON.stringify(task);
      expect(text).not.toContain('privacy-literal');
      expect(text).not.toContain('PARTNER_TOKEN');
    }
  });

  it('refuses a records task that would change data, on register and on change, and writes nothing', async () => {
    expect(
      await refusedAt(
        registerTask(
          deps(),
          {
            id: 'export-that-deletes',
            name: 'An export',
            jobType: 'records',
            executor: 'http.request',
            config: { url: 'https://partner.example/users', method: 'DELETE' },
          },
          ADMIN,
        ),
      ),
    ).toEqual(['jobType']);
    expect(await registrySnapshot()).toEqual({});

    await registerTask(deps(), PARTNER_DELETE, ADMIN);
    const before = await registrySnapshot();
    expect(
      await refusedAt(updateTask(deps(), 'partner-delete', { jobType: 'records' }, ADMIN)),
    ).toEqual(['jobType']);
    // A deletion task that would only read is refused too.
    expect(
      await refusedAt(
        updateTask(
          deps(),
          'partner-delete',
          { config: { ...PARTNER_DELETE.config, method: 'GET' } },
          ADMIN,
        ),
      ),
    ).toEqual(['jobType']);
    expect(await registrySnapshot()).toEqual(before);
  });

  it('refuses a URL off the allowlist and a secret bound elsewhere, on register and on change', async () => {
    const base = {
      id: 'partner-export',
      name: 'Partner export',
      jobType: 'records',
      executor: 'http.request',
      config: { url: 'https://partner.example/export', method: 'GET' },
    };
    expect(
      await refusedAt(
        registerTask(
          deps(),
          { ...base, config: { ...base.config, url: 'https://evil.example/export' } },
          ADMIN,
        ),
      ),
    ).toEqual(['config.url']);
    expect(
      await refusedAt(
        registerTask(
          deps(),
          {
            ...base,
            config: {
              url: 'https://other.example/export',
              method: 'GET',
              headers: { Authorization: { secret: 'PARTNER_TOKEN' } },
            },
          },
          ADMIN,
        ),
      ),
    ).toEqual(['config.headers.Authorization']);
    expect(await registrySnapshot()).toEqual({});

    await registerTask(deps(), base, ADMIN);
    const before = await registrySnapshot();
    expect(
      await refusedAt(
        updateTask(
          deps(),
          'partner-export',
          { config: { ...base.config, url: 'https://evil.example/x' } },
          ADMIN,
        ),
      ),
    ).toEqual(['config.url']);
    expect(await registrySnapshot()).toEqual(before);
    expect((await getTaskView(deps(), 'partner-export')).version).toBe(1);
  });

  it('keeps an unrelated change possible after the allowlist tightened (the run checks again)', async () => {
    await registerTask(deps(), PARTNER_DELETE, ADMIN);
    const tightened = {
      ...deps(),
      executors: builtInExecutors({ secrets: () => undefined }),
    };
    const off = await updateTask(tightened, 'partner-delete', { active: false }, ADMIN);
    expect(off).toMatchObject({ version: 2, active: false });
    expect(
      await refusedAt(
        updateTask(tightened, 'partner-delete', { config: PARTNER_DELETE.config }, ADMIN),
      ),
    ).toEqual(['config.url', 'config.headers.Authorization']);
  });
});
