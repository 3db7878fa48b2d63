import { RetryableError, ValidationError } from '../../../src/domain/errors';
import { demoFlakyExecutor } from '../../../src/executors/demo-flaky';
import { createExecutorRegistry } from '../../../src/executors/registry';
import { executorContext } from '../../helpers/executor-context';

const run = (config: object, attempt: number, totalAttempts?: number, dryRun = false) =>
  demoFlakyExecutor.run(
    executorContext(demoFlakyExecutor, config, {
      attempt,
      dryRun,
      ...(totalAttempts === undefined ? {} : { totalAttempts }),
    }),
  );

describe('demo.flaky fails its first attempts, decided by the attempt count alone', () => {
  it('fails retryably on each of the first failAttempts attempts, saying which', async () => {
    for (const attempt of [1, 2]) {
      const failure = run({ failAttempts: 2 }, attempt, attempt);
      await expect(failure).rejects.toBeInstanceOf(RetryableError);
      await expect(run({ failAttempts: 2 }, attempt, attempt)).rejects.toThrow(
        `attempt ${attempt}; the first 2 fail`,
      );
    }
  });

  it('succeeds on the attempt after them, the same on every run', async () => {
    for (let i = 0; i < 3; i++) {
      await expect(run({ failAttempts: 2 }, 3, 3)).resolves.toMatchObject({
        outcome: 'succeeded',
        message: 'succeeded on attempt 3 (the first 2 failed)',
      });
    }
  });

  it('counts attempts across series: the first attempt of a retry succeeds once enough failed', async () => {
    // Series 2, attempt 1, after the two failed attempts of series 1.
    await expect(run({ failAttempts: 2 }, 1, 3)).resolves.toMatchObject({
      outcome: 'succeeded',
    });
    // Without the total (an older caller), the attempt of the series counts.
    await expect(run({ failAttempts: 2 }, 1)).rejects.toBeInstanceOf(RetryableError);
  });

  it('never fails with failAttempts 0, and changes nothing in an audit', async () => {
    await expect(run({ failAttempts: 0 }, 1, 1)).resolves.toMatchObject({ outcome: 'succeeded' });
    await expect(run({ failAttempts: 5 }, 1, 1, true)).resolves.toMatchObject({
      outcome: 'succeeded',
      message: 'audit: would fail the first 5 attempts, then succeed',
    });
  });

  it('refuses a config without failAttempts or with unknown fields, naming the field', () => {
    const registry = createExecutorRegistry([demoFlakyExecutor]);
    const paths = (config: object) => {
      try {
        registry.parseConfig('demo.flaky', config);
        return [];
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).issues.map((i) => i.path);
      }
    };
    expect(paths({ failAttempts: 2, ms: 10 })).toEqual([]);
    expect(paths({})).toEqual(['config.failAttempts']);
    expect(paths({ failAttempts: -1 })).toEqual(['config.failAttempts']);
    expect(paths({ failAttempts: 1, random: true })).toEqual(['config']);
  });
});
