import { getTaskView, listTaskVersions, registerTask, updateTask } from '../../../src/app/tasks';
import { ValidationError } from '../../../src/domain/errors';
import { builtInExecutors } from '../../../src/executors';
import { useDispatchFixture } from '../dispatch/harness';

const ADMIN = { identity: 'admin@example.com' };
const OTHER = { identity: 'other-admin@example.com' };

describe('the task registry keeps every version, with its actor and hash', () => {
  const f = useDispatchFixture();
  const deps = () => ({
    ...f.deps(),
    executors: builtInExecutors({
      secrets: () => 'not-a-secret',
      origins: {
        allowedOrigins: ['https://partner.example'],
        secretOrigins: { PARTNER_TOKEN: ['https://partner.example'] },
      },
    }),
  });
  const taskDocs = async () => (await f.store.fs.db.collection('tasks').get()).size;

  it('registers version 1, then each real change is a new version; a no-op is none', async () => {
    const v1 = await registerTask(
      deps(),
      {
        id: 'partner-delete',
        name: 'Partner deletion',
        jobType: 'deletion',
        executor: 'http.request',
        config: {
          url: 'https://partner.example/users/{{subject.email}}',
          method: 'DELETE',
          headers: { Authorization: { secret: 'PARTNER_TOKEN' }, 'X-Team': 'privacy' },
        },
        requiresApproval: true,
      },
      ADMIN,
    );
    expect(v1).toMatchObject({ version: 1, approvalsRequired: 1, createdBy: ADMIN.identity });
    const v2 = await updateTask(deps(), 'partner-delete', { approvalsRequired: 2 }, OTHER);
    expect(v2).toMatchObject({ version: 2, approvalsRequired: 2, updatedBy: OTHER.identity });
    expect(v2.versionHash).not.toBe(v1.versionHash);
    // The same values again change nothing: no new version.
    const same = await updateTask(deps(), 'partner-delete', { approvalsRequired: 2 }, ADMIN);
    expect(same.version).toBe(2);
    const v3 = await updateTask(deps(), 'partner-delete', { description: 'GDPR erasure' }, ADMIN);
    expect(v3.version).toBe(3);
    // Not what runs: the hash an approval covers is unchanged.
    expect(v3.versionHash).toBe(v2.versionHash);

    const { versions } = await listTaskVersions(deps(), 'partner-delete');
    expect(versions.map((v) => [v.version, v.kind, v.actor])).toEqual([
      [1, 'registered', ADMIN.identity],
      [2, 'changed', OTHER.identity],
      [3, 'changed', ADMIN.identity],
    ]);
    expect(versions[1]?.fields).toEqual(expect.arrayContaining(['approvalsRequired']));
    // What the API shows never carries a header value, nor a secret's name.
    for (const shown of [await getTaskView(deps(), 'partner-delete'), versions[0]?.task]) {
      expect(shown?.config['headers']).toEqual({
        Authorization: '[redacted]',
        'X-Team': '[redacted]',
      });
    }
  });

  it('refuses a records task that would change data, and writes nothing', async () => {
    const err = await registerTask(
      deps(),
      {
        id: 'export-that-deletes',
        name: 'An export',
        jobType: 'records',
        executor: 'http.request',
        config: { url: 'https://partner.example/users', method: 'DELETE' },
      },
      ADMIN,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['jobType']);
    expect(await taskDocs()).toBe(0);
  });

  it('refuses a URL off the allowlist and a secret sent elsewhere, on register and on change', async () => {
    const base = {
      id: 'partner-export',
      name: 'Partner export',
      jobType: 'records',
      executor: 'http.request',
      config: { url: 'https://partner.example/export', method: 'GET' },
    };
    await expect(
      registerTask(
        deps(),
        { ...base, config: { ...base.config, url: 'https://evil.example/export' } },
        ADMIN,
      ),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await taskDocs()).toBe(0);
    await registerTask(deps(), base, ADMIN);
    await expect(
      updateTask(
        deps(),
        'partner-export',
        { config: { ...base.config, url: 'https://evil.example/x' } },
        ADMIN,
      ),
    ).rejects.toBeInstanceOf(ValidationError);
    expect((await getTaskView(deps(), 'partner-export')).version).toBe(1);
  });
});
