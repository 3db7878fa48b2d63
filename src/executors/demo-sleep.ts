import { z } from 'zod';
import { PermanentError, RetryableError } from '../domain/errors';
import { zeroCost } from '../domain/model';
import { abortReason, defineExecutor } from './contract';

const configSchema = z
  .object({
    ms: z
      .number()
      .int()
      .min(0)
      .max(30 * 60 * 1000),
    /** Fail (retryably) on the first N attempts. */
    failTimes: z.number().int().min(0).max(100).default(0),
    /** Fail permanently instead. */
    failPermanently: z.boolean().default(false),
    /** Honour the AbortSignal only after this many extra ms (or never, with -1): fault tests. */
    abortLagMs: z.number().int().min(-1).max(60_000).default(0),
  })
  .strict();

/** Sleeps, then succeeds; can be told to fail. For tests and demos. */
export const demoSleepExecutor = defineExecutor({
  name: 'demo.sleep',
  description: 'Sleeps for `ms`, failing retryably on the first `failTimes` attempts.',
  configSchema,
  // A demo that touches no data: either kind of request.
  jobTypes: () => ['deletion', 'records'],
  async run({ config, signal, attempt, dryRun }) {
    if (dryRun)
      return {
        outcome: 'succeeded',
        message: `audit: would sleep ${config.ms} ms`,
        cost: zeroCost(),
      };
    await sleep(config.ms, signal, config.abortLagMs);
    if (attempt <= config.failTimes) {
      if (config.failPermanently) {
        throw new PermanentError(
          `demo.sleep failing permanently (attempt ${attempt})`,
          'demo.permanent',
        );
      }
      throw new RetryableError(
        `demo.sleep failing on purpose (attempt ${attempt} of the first ${config.failTimes})`,
        {
          code: 'demo.retryable',
        },
      );
    }
    return { outcome: 'succeeded', message: `slept ${config.ms} ms`, cost: zeroCost() };
  },
});

function sleep(ms: number, signal: AbortSignal, abortLagMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    if (abortLagMs < 0) return;
    const onAbort = () => {
      setTimeout(() => {
        clearTimeout(timer);
        reject(abortReason(signal));
      }, abortLagMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
