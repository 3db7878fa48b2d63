import { z } from 'zod';
import { createStructuredLogger } from '../../../src/adapters/cloud-logging/structured-logger';
import { DEFAULT_SETTINGS, type AppDeps } from '../../../src/app/deps';
import { dispatch } from '../../../src/app/dispatch';
import { fileRequest } from '../../../src/app/requests';
import { runInstance } from '../../../src/app/run-instance';
import { registerTask } from '../../../src/app/tasks';
import { PermanentError } from '../../../src/domain/errors';
import { zeroCost } from '../../../src/domain/model';
import { builtInExecutors, defineExecutor } from '../../../src/executors';
import type { EnqueueInput } from '../../../src/ports/task-queue';
import { createMemoryStore } from '../../infra/support/memory-store';

const SUBJECT = { email: 'jane.o+dsr@example.com', userId: 'u-7731' };
const FORMS = [SUBJECT.email, encodeURIComponent(SUBJECT.email), SUBJECT.userId];

/** An executor that does what http.request must not: quotes the subject everywhere it reports. */
const careless = defineExecutor({
  name: 'test.careless',
  description: 'Quotes the subject in its message, evidence and errors.',
  configSchema: z.object({ fail: z.boolean() }).strict(),
  jobTypes: () => ['deletion'],
  async run({ config, subject, log }) {
    const where = `https://partner.example/users/${encodeURIComponent(subject['email'] ?? '')}`;
    log.info('run.started', `calling ${where} for ${subject['userId']}`);
    if (config.fail) throw new PermanentError(`${where} refused ${subject['email']}`, 'http.404');
    return {
      outcome: 'succeeded',
      message: `deleted ${subject['email']} (${subject['userId']})`,
      cost: zeroCost(),
      evidence: { touched: [where] },
    };
  },
});

describe('runInstance with an executor that quotes the subject', () => {
  it('keeps the kind, not the value, in the run record and every log line', async () => {
    const lines: string[] = [];
    const enqueued: EnqueueInput[] = [];
    const store = createMemoryStore();
    const deps: AppDeps = {
      store,
      queue: { enqueue: async (input) => (enqueued.push(input), 'created') },
      clock: { now: () => new Date('2031-03-10T12:00:00.000Z') },
      log: createStructuredLogger({
        projectId: 'unit',
        service: { name: 'run-task', revision: 'run-task-001' },
        write: (line) => lines.push(line),
      }),
      executors: builtInExecutors({ secrets: () => undefined, extra: [careless] }),
      settings: DEFAULT_SETTINGS,
    };
    for (const fail of [false, true]) {
      await registerTask(
        deps,
        {
          id: fail ? 'careless-fails' : 'careless-succeeds',
          name: 'Careless partner',
          jobType: 'deletion',
          executor: 'test.careless',
          config: { fail },
          maxAttempts: 1,
        },
        { identity: 'admin' },
      );
    }
    const { view } = await fileRequest(
      deps,
      { type: 'deletion', subject: SUBJECT },
      {
        identity: 'unit',
      },
    );
    await dispatch(deps);
    expect(enqueued).toHaveLength(2);
    for (const task of enqueued) await runInstance(deps, task.body, {});

    const runs = await store.listRuns(view.id);
    const instances = await store.listInstances(view.id);
    expect(runs.map((r) => r.status).sort()).toEqual(['failed', 'succeeded']);
    const recorded = JSON.stringify({ runs, instances });
    for (const form of FORMS) {
      expect(recorded).not.toContain(form);
      expect(lines.filter((l) => l.includes(form))).toEqual([]);
    }
    expect(runs.find((r) => r.status === 'failed')?.error?.message).toBe(
      'https://partner.example/users/[redacted:email] refused [redacted:email]',
    );
    expect(runs.find((r) => r.status === 'succeeded')).toMatchObject({
      message: 'deleted [redacted:email] ([redacted:userId])',
      evidence: { touched: ['https://partner.example/users/[redacted:email]'] },
    });
    expect(
      lines.some((l) => l.includes('calling https://partner.example/users/[redacted:email]')),
    ).toBe(true);
  });
});
