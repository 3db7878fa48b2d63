import type { RetryPolicy } from './backoff';
import { invalid } from './errors';
import { parseQueueName } from './names';
import { deriveMaxBurstSize } from './rate-limiter';
import { fromMs, toMs, type PAppEngineRouting, type PQueue } from './proto-types';

/** A queue's settings after defaults and validation. */
export interface QueueConfig {
  name: string;
  state: 'RUNNING' | 'PAUSED' | 'DISABLED';
  maxDispatchesPerSecond: number;
  maxConcurrentDispatches: number;
  retry: RetryPolicy;
  appEngineRoutingOverride?: PAppEngineRouting;
  samplingRatio?: number;
  purgeTimeMs?: number;
}

/** The service's defaults and bounds (Cloud Tasks reference, "Queue defaults"). */
export const QUEUE_LIMITS = {
  defaultMaxAttempts: 100,
  defaultMinBackoffMs: 100,
  defaultMaxBackoffMs: 3_600_000,
  defaultMaxDoublings: 16,
  defaultMaxDispatchesPerSecond: 500,
  maxDispatchesPerSecond: 500,
  defaultMaxConcurrentDispatches: 1000,
  maxConcurrentDispatches: 5000,
} as const;

/**
 * Builds a queue's config from its wire form. Proto3 cannot tell an unset number from 0, so 0
 * means "unspecified" and takes the default, as on the service.
 */
export function queueConfigFromProto(queue: PQueue, previous?: QueueConfig): QueueConfig {
  parseQueueName(queue.name);
  const rate = queue.rateLimits ?? {};
  const retry = queue.retryConfig ?? {};
  const dps = rate.maxDispatchesPerSecond ?? 0;
  if (!(dps >= 0) || dps > QUEUE_LIMITS.maxDispatchesPerSecond) {
    throw invalid(
      `Invalid value for max_dispatches_per_second: ${dps}. It must be greater than 0 and at most ${QUEUE_LIMITS.maxDispatchesPerSecond}.`,
    );
  }
  const concurrent = rate.maxConcurrentDispatches ?? 0;
  if (
    !Number.isInteger(concurrent) ||
    concurrent < 0 ||
    concurrent > QUEUE_LIMITS.maxConcurrentDispatches
  ) {
    throw invalid(
      `Invalid value for max_concurrent_dispatches: ${concurrent}. It must be greater than 0 and at most ${QUEUE_LIMITS.maxConcurrentDispatches}.`,
    );
  }
  const maxAttempts = retry.maxAttempts ?? 0;
  if (maxAttempts < -1) {
    throw invalid(
      `Invalid value for max_attempts: ${maxAttempts}. It must be -1 (unlimited) or positive.`,
    );
  }
  const maxDoublings = retry.maxDoublings ?? 0;
  if (maxDoublings < 0) throw invalid(`Invalid value for max_doublings: ${maxDoublings}.`);
  const durations = {
    max_retry_duration: toMs(retry.maxRetryDuration),
    min_backoff: toMs(retry.minBackoff),
    max_backoff: toMs(retry.maxBackoff),
  };
  for (const [field, ms] of Object.entries(durations)) {
    if (ms < 0) throw invalid(`Invalid value for ${field}: it must not be negative.`);
  }
  const minBackoffMs = durations.min_backoff || QUEUE_LIMITS.defaultMinBackoffMs;
  const maxBackoffMs = durations.max_backoff || QUEUE_LIMITS.defaultMaxBackoffMs;
  if (minBackoffMs > maxBackoffMs) {
    throw invalid('Invalid retry_config: min_backoff must be less than or equal to max_backoff.');
  }
  const samplingRatio = queue.stackdriverLoggingConfig?.samplingRatio;
  if (samplingRatio !== undefined && !(samplingRatio >= 0 && samplingRatio <= 1)) {
    throw invalid('Invalid value for sampling_ratio: it must be between 0.0 and 1.0.');
  }
  return {
    name: queue.name ?? '',
    state: previous?.state ?? 'RUNNING',
    maxDispatchesPerSecond: dps || QUEUE_LIMITS.defaultMaxDispatchesPerSecond,
    maxConcurrentDispatches: concurrent || QUEUE_LIMITS.defaultMaxConcurrentDispatches,
    retry: {
      maxAttempts: maxAttempts || QUEUE_LIMITS.defaultMaxAttempts,
      maxRetryDurationMs: durations.max_retry_duration,
      minBackoffMs,
      maxBackoffMs,
      maxDoublings: maxDoublings || QUEUE_LIMITS.defaultMaxDoublings,
    },
    ...(queue.appEngineRoutingOverride
      ? { appEngineRoutingOverride: queue.appEngineRoutingOverride }
      : {}),
    ...(samplingRatio !== undefined ? { samplingRatio } : {}),
    ...(previous?.purgeTimeMs !== undefined ? { purgeTimeMs: previous.purgeTimeMs } : {}),
  };
}

export function queueConfigToProto(config: QueueConfig): PQueue {
  const { retry } = config;
  return {
    name: config.name,
    ...(config.appEngineRoutingOverride
      ? { appEngineRoutingOverride: config.appEngineRoutingOverride }
      : {}),
    rateLimits: {
      maxDispatchesPerSecond: config.maxDispatchesPerSecond,
      maxBurstSize: deriveMaxBurstSize(config.maxDispatchesPerSecond),
      maxConcurrentDispatches: config.maxConcurrentDispatches,
    },
    retryConfig: {
      maxAttempts: retry.maxAttempts,
      ...(retry.maxRetryDurationMs > 0
        ? { maxRetryDuration: fromMs(retry.maxRetryDurationMs) }
        : {}),
      minBackoff: fromMs(retry.minBackoffMs),
      maxBackoff: fromMs(retry.maxBackoffMs),
      maxDoublings: retry.maxDoublings,
    },
    state: config.state,
    ...(config.purgeTimeMs !== undefined ? { purgeTime: fromMs(config.purgeTimeMs) } : {}),
    ...(config.samplingRatio !== undefined
      ? { stackdriverLoggingConfig: { samplingRatio: config.samplingRatio } }
      : {}),
  };
}

/** The fields UpdateQueue may change, in camelCase; children of these are accepted too. */
const MUTABLE_FIELDS = [
  'appEngineRoutingOverride',
  'rateLimits',
  'retryConfig',
  'stackdriverLoggingConfig',
] as const;
const OUTPUT_ONLY = new Set(['name', 'state', 'purgeTime', 'rateLimits.maxBurstSize']);

/**
 * Applies UpdateQueue's field mask: listed paths are copied from `patch` (an absent value clears
 * the field back to its default); an empty mask updates every field the patch carries.
 */
export function applyUpdateMask(current: PQueue, patch: PQueue, paths: readonly string[]): PQueue {
  const camelPaths = paths.map((p) => p.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
  const effective =
    camelPaths.length > 0
      ? camelPaths
      : MUTABLE_FIELDS.filter((field) => patch[field] !== undefined && patch[field] !== null);
  const result = structuredClone(current) as Record<string, unknown>;
  for (const path of effective) {
    if (OUTPUT_ONLY.has(path)) throw invalid(`Field ${path} is output only and cannot be updated.`);
    const [head, ...rest] = path.split('.');
    if (
      head === undefined ||
      !(MUTABLE_FIELDS as readonly string[]).includes(head) ||
      rest.length > 1
    ) {
      throw invalid(`Invalid update_mask path: "${path}".`);
    }
    const source = (patch as Record<string, unknown>)[head];
    if (rest.length === 0) {
      result[head] = source ?? undefined;
      continue;
    }
    const child = rest[0] as string;
    const target = { ...((result[head] as Record<string, unknown> | undefined) ?? {}) };
    const value = (source as Record<string, unknown> | null | undefined)?.[child];
    if (value === undefined) delete target[child];
    else target[child] = value;
    result[head] = target;
  }
  return result;
}
