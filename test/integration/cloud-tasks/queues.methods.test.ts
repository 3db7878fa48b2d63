import { codeOf, LOCATION_PATH, queuePath, startHarness, Status, type Harness } from './fixture';

describe('Cloud Tasks emulator: queue methods through the official client', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queues: [queuePath('preset')] });
  });
  afterAll(() => h.stop());

  it('creates a queue with the service defaults and reads it back', async () => {
    const [created] = await h.client.createQueue({
      parent: LOCATION_PATH,
      queue: { name: queuePath('defaults') },
    });
    expect(created).toMatchObject({
      name: queuePath('defaults'),
      state: 'RUNNING',
      rateLimits: { maxDispatchesPerSecond: 500, maxBurstSize: 100, maxConcurrentDispatches: 1000 },
      retryConfig: {
        maxAttempts: 100,
        minBackoff: { seconds: '0', nanos: 100_000_000 },
        maxBackoff: { seconds: '3600' },
        maxDoublings: 16,
      },
    });
    const [got] = await h.client.getQueue({ name: queuePath('defaults') });
    expect(got).toEqual(created);
  });

  it('refuses a second queue of the same name with ALREADY_EXISTS', async () => {
    const error = await codeOf(
      h.client.createQueue({ parent: LOCATION_PATH, queue: { name: queuePath('preset') } }),
    );
    expect(error).toEqual({
      code: Status.ALREADY_EXISTS,
      message: 'Queue already exists',
    });
  });

  it('answers NOT_FOUND for a queue that does not exist', async () => {
    const error = await codeOf(h.client.getQueue({ name: queuePath('nope') }));
    expect(error.code).toBe(Status.NOT_FOUND);
  });

  it('lists queues page by page', async () => {
    for (const id of ['page-a', 'page-b', 'page-c']) {
      await h.client.createQueue({ parent: LOCATION_PATH, queue: { name: queuePath(id) } });
    }
    const [first, , firstResponse] = await h.client.listQueues(
      { parent: LOCATION_PATH, pageSize: 2 },
      { autoPaginate: false },
    );
    expect(first).toHaveLength(2);
    expect(firstResponse?.nextPageToken).toBeTruthy();
    const all = [...first];
    for (let token = firstResponse?.nextPageToken; token;) {
      const [page, , response] = await h.client.listQueues(
        { parent: LOCATION_PATH, pageSize: 2, pageToken: token },
        { autoPaginate: false },
      );
      all.push(...page);
      token = response?.nextPageToken;
    }
    expect(all.map((q) => q.name)).toEqual(
      expect.arrayContaining(['a', 'b', 'c'].map((x) => queuePath(`page-${x}`))),
    );
    const names = all.map((q) => q.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('updates only the fields in the update mask, and creates a missing queue', async () => {
    const name = queuePath('masked');
    await h.client.createQueue({
      parent: LOCATION_PATH,
      queue: { name, retryConfig: { maxAttempts: 7 }, rateLimits: { maxConcurrentDispatches: 3 } },
    });
    const [updated] = await h.client.updateQueue({
      queue: {
        name,
        rateLimits: { maxDispatchesPerSecond: 2, maxConcurrentDispatches: 99 },
        retryConfig: { maxAttempts: 1 },
      },
      updateMask: { paths: ['rate_limits.max_dispatches_per_second'] },
    });
    expect(updated.rateLimits).toMatchObject({
      maxDispatchesPerSecond: 2,
      maxConcurrentDispatches: 3,
      maxBurstSize: 1,
    });
    expect(updated.retryConfig?.maxAttempts).toBe(7);

    const [upserted] = await h.client.updateQueue({
      queue: { name: queuePath('upserted'), retryConfig: { maxAttempts: -1 } },
    });
    expect(upserted).toMatchObject({ state: 'RUNNING', retryConfig: { maxAttempts: -1 } });
  });

  it('refuses rate limits above the service maximums with INVALID_ARGUMENT', async () => {
    const tooFast = await codeOf(
      h.client.createQueue({
        parent: LOCATION_PATH,
        queue: { name: queuePath('too-fast'), rateLimits: { maxDispatchesPerSecond: 501 } },
      }),
    );
    const tooWide = await codeOf(
      h.client.updateQueue({
        queue: { name: queuePath('preset'), rateLimits: { maxConcurrentDispatches: 5001 } },
        updateMask: { paths: ['rate_limits.max_concurrent_dispatches'] },
      }),
    );
    expect(tooFast.code).toBe(Status.INVALID_ARGUMENT);
    expect(tooFast.message).toMatch(/max_dispatches_per_second/);
    expect(tooWide.code).toBe(Status.INVALID_ARGUMENT);
    expect(tooWide.message).toMatch(/max_concurrent_dispatches/);
  });

  it('pauses, resumes and purges', async () => {
    const name = queuePath('preset');
    expect((await h.client.pauseQueue({ name }))[0].state).toBe('PAUSED');
    const [paused] = await h.client.listQueues({ parent: LOCATION_PATH, filter: 'state: PAUSED' });
    expect(paused.map((q) => q.name)).toEqual([name]);
    expect((await h.client.resumeQueue({ name }))[0].state).toBe('RUNNING');

    await h.client.pauseQueue({ name });
    await h.client.createTask({
      parent: name,
      task: { httpRequest: { url: 'http://127.0.0.1:9/' } },
    });
    const [purged] = await h.client.purgeQueue({ name });
    expect(purged.purgeTime?.seconds).toBeDefined();
    const [tasks] = await h.client.listTasks({ parent: name });
    expect(tasks).toEqual([]);
    await h.client.resumeQueue({ name });
  });

  it('deletes a queue', async () => {
    const name = queuePath('doomed');
    await h.client.createQueue({ parent: LOCATION_PATH, queue: { name } });
    await h.client.deleteQueue({ name });
    expect((await codeOf(h.client.getQueue({ name }))).code).toBe(Status.NOT_FOUND);
  });

  it('answers UNIMPLEMENTED for the IAM methods', async () => {
    const resource = queuePath('preset');
    expect((await codeOf(h.client.getIamPolicy({ resource }))).code).toBe(Status.UNIMPLEMENTED);
    expect((await codeOf(h.client.setIamPolicy({ resource, policy: {} }))).code).toBe(
      Status.UNIMPLEMENTED,
    );
    expect((await codeOf(h.client.testIamPermissions({ resource, permissions: ['x'] }))).code).toBe(
      Status.UNIMPLEMENTED,
    );
  });
});
