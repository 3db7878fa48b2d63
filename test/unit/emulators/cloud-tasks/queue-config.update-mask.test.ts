import { codeThrown } from './code-thrown';
import {
  applyUpdateMask,
  queueConfigFromProto,
} from '../../../../emulators/cloud-tasks/queue-config';

const name = 'projects/p/locations/l/queues/q';
const current = {
  name,
  rateLimits: { maxDispatchesPerSecond: 5, maxConcurrentDispatches: 7 },
  retryConfig: { maxAttempts: 3 },
};

describe('applyUpdateMask', () => {
  it('copies only the masked leaf, in snake_case or camelCase', () => {
    const patch = {
      name,
      rateLimits: { maxDispatchesPerSecond: 9, maxConcurrentDispatches: 1 },
      retryConfig: { maxAttempts: 1 },
    };
    for (const path of [
      'rate_limits.max_dispatches_per_second',
      'rateLimits.maxDispatchesPerSecond',
    ]) {
      expect(applyUpdateMask(current, patch, [path])).toEqual({
        ...current,
        rateLimits: { maxDispatchesPerSecond: 9, maxConcurrentDispatches: 7 },
      });
    }
  });

  it('replaces a whole message for a top-level path, and clears a masked field the patch leaves out', () => {
    expect(
      applyUpdateMask(current, { name, retryConfig: { maxDoublings: 2 } }, ['retry_config'])
        .retryConfig,
    ).toEqual({ maxDoublings: 2 });
    expect(applyUpdateMask(current, { name }, ['retry_config.max_attempts']).retryConfig).toEqual(
      {},
    );
  });

  it('with an empty mask, updates every field the patch carries', () => {
    expect(applyUpdateMask(current, { name, retryConfig: { maxAttempts: 9 } }, [])).toEqual({
      ...current,
      retryConfig: { maxAttempts: 9 },
    });
  });

  it.each([
    'state',
    'name',
    'rate_limits.max_burst_size',
    'nonsense',
    'retry_config.min_backoff.seconds',
  ])('refuses the path %s', (path) => {
    expect(codeThrown(() => applyUpdateMask(current, { name }, [path]))).toBe('INVALID_ARGUMENT');
  });
});

describe('queueConfigFromProto', () => {
  it('fills the service defaults where proto3 leaves zeros', () => {
    expect(queueConfigFromProto({ name })).toMatchObject({
      state: 'RUNNING',
      maxDispatchesPerSecond: 500,
      maxConcurrentDispatches: 1000,
      retry: {
        maxAttempts: 100,
        maxRetryDurationMs: 0,
        minBackoffMs: 100,
        maxBackoffMs: 3_600_000,
        maxDoublings: 16,
      },
    });
  });

  it.each([
    [{ rateLimits: { maxDispatchesPerSecond: 500.5 } }],
    [{ rateLimits: { maxConcurrentDispatches: 5001 } }],
    [{ retryConfig: { maxAttempts: -2 } }],
    [{ retryConfig: { minBackoff: { seconds: 10 }, maxBackoff: { seconds: 5 } } }],
    [{ name: 'projects/p/queues/q' }],
  ])('refuses %j with INVALID_ARGUMENT', (fields) => {
    expect(codeThrown(() => queueConfigFromProto({ name, ...fields }))).toBe('INVALID_ARGUMENT');
  });
});
