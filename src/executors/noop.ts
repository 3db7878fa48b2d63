import { z } from 'zod';
import { zeroCost } from '../domain/model';
import { defineExecutor } from './contract';

/** Does nothing and succeeds: for wiring checks and benchmarks. */
export const noopExecutor = defineExecutor({
  name: 'noop',
  description: 'Does nothing and succeeds.',
  configSchema: z.object({}).strict(),
  // Changes and reads nothing: a wiring check fits either kind of request.
  jobTypes: () => ['deletion', 'records'],
  run: async ({ dryRun }) => ({
    outcome: 'succeeded',
    message: dryRun ? 'audit: noop would do nothing' : 'noop',
    cost: zeroCost(),
  }),
});
