import { z } from 'zod';
import { RetryableError } from '../domain/errors';
import { zeroCost } from '../domain/model';
import { abortReason, defineExecutor } from './contract';

const configSchema = z
  .object({
    /**
     * How many attempts fail, counted across every attempt series of the instance: with
     * `failAttempts` at or above the task's `maxAttempts`, the first series fails and an
     * operator's retry (a new series) succeeds.
     */
    failAttempts: z.number().int().min(0).max(100),
    /** How long each attempt takes before it fails or succeeds. */
    ms: z.number().int().min(0).max(60_000).default(0),
  })
  .strict();

/**
 * Fails (retryably) on the first `failAttempts` attempts of an instance and succeeds after, so
 * the demo shows a request `completed_with_errors` and then a retry that completes it. Decided
 * by the attempt count alone: no randomness, the same on every run.
 */
export const demoFlakyExecutor = defineExecutor({
  name: 'demo.flaky',
  description:
    'Fails retryably on the first `failAttempts` attempts (across retries), then succeeds.',
  configSchema,
  // A demo that touches no data: either kind of request.
  jobTypes: () => ['deletion', 'records'],
  async run({ config, signal, attempt, totalAttempts, dryRun }) {
    if (dryRun) {
      return {
        outcome: 'succeeded',
        message: `audit: would fail the first ${config.failAttempts} attempts, then succeed`,
        cost: zeroCost(),
      };
    }
    await delay(config.ms, signal);
    const overall = totalAttempts ?? attempt;
    if (overall <= config.failAttempts) {
      throw new RetryableError(
        `demo.flaky failing on purpose (attempt ${overall}; the first ${config.failAttempts} fail)`,
        { code: 'demo.retryable' },
      );
    }
    return {
      outcome: 'succeeded',
      message: `succeeded on attempt ${overall} (the first ${config.failAttempts} failed)`,
      cost: zeroCost(),
    };
  },
});

function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(abortReason(signal));
      },
      { once: true },
    );
  });
}
