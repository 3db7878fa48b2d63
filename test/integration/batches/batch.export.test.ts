import { FILER, eventsSeed, useBatchFixture } from './harness';
import { fileRequest } from '../../../src/app/intake';
import { registerTask } from '../../../src/app/tasks';
import { getRequestView, listRuns } from '../../../src/app/request-views';
import { exportedRows } from '../../helpers/exported-rows';

const f = useBatchFixture('batch-export', eventsSeed(4));

describe('a batch of records requests', () => {
  it('reads every subject’s rows in one query and gives each request only its own', async () => {
    await registerTask(
      f.deps(),
      {
        id: 'events-export',
        name: 'export events',
        jobType: 'records',
        executor: 'bigquery.export',
        config: {
          table: 'crm.events',
          identifier: 'email',
          match: { path: 'email', normalise: 'email' },
          selectColumns: ['kind', 'n'],
          batch: { maxSubjects: 100, maxWaitSeconds: 30 },
        },
        timeoutSeconds: 120,
        maxAttempts: 3,
        retryPolicy: { minBackoffSeconds: 10, maxBackoffSeconds: 60, maxDoublings: 2 },
      },
      FILER,
    );
    const ids: string[] = [];
    for (const email of ['s0@example.com', 's2@example.com', 'nobody@example.com']) {
      const { view } = await fileRequest(
        f.deps(),
        { type: 'records', regulation: 'gdpr', subject: { email } },
        FILER,
      );
      ids.push(view.id);
    }
    await f.drain();

    expect(f.events('batch.flushed')[0]).toMatchObject({ batchMembers: 3, statements: 1 });
    const packages = [];
    for (const id of ids) {
      expect((await getRequestView(f.deps(), id)).status).toBe('completed');
      const runs = await listRuns(f.deps(), id);
      const last = runs[runs.length - 1];
      expect(last?.evidence.batch).toMatchObject({ members: 3, statements: 1 });
      const rows = await exportedRows(f.records, last ?? {}, {
        requestId: id,
        taskId: 'events-export',
      });
      packages.push(rows.rows);
      expect(rows.columns).toEqual(['kind', 'n']);
    }
    expect(packages[0]).toEqual([
      { kind: 'view', n: 0 },
      { kind: 'click', n: 0 },
    ]);
    expect(packages[1]).toEqual([
      { kind: 'view', n: 2 },
      { kind: 'click', n: 2 },
    ]);
    expect(packages[2]).toEqual([]);
  });
});
