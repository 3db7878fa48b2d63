/**
 * The wire objects of google.cloud.tasks.v2 as @grpc/proto-loader hands them over (camelCase,
 * int64 as string or number, enums as names, bytes as Buffer). The REST surface converts its JSON
 * to and from the same shapes, so the service speaks one dialect.
 */
export interface PDuration {
  seconds?: string | number;
  nanos?: number;
}
export type PTimestamp = PDuration;

export interface PRateLimits {
  maxDispatchesPerSecond?: number;
  maxBurstSize?: number;
  maxConcurrentDispatches?: number;
}

export interface PRetryConfig {
  maxAttempts?: number;
  maxRetryDuration?: PDuration;
  minBackoff?: PDuration;
  maxBackoff?: PDuration;
  maxDoublings?: number;
}

export interface PAppEngineRouting {
  service?: string;
  version?: string;
  instance?: string;
  host?: string;
}

export interface PQueue {
  name?: string;
  appEngineRoutingOverride?: PAppEngineRouting | null;
  rateLimits?: PRateLimits | null;
  retryConfig?: PRetryConfig | null;
  state?: string;
  purgeTime?: PTimestamp | null;
  stackdriverLoggingConfig?: { samplingRatio?: number } | null;
}

export interface POidcToken {
  serviceAccountEmail?: string;
  audience?: string;
}

export interface POAuthToken {
  serviceAccountEmail?: string;
  scope?: string;
}

export interface PHttpRequest {
  url?: string;
  httpMethod?: string | number;
  headers?: Record<string, string>;
  body?: Buffer | Uint8Array | string;
  oidcToken?: POidcToken | null;
  oauthToken?: POAuthToken | null;
}

export interface PAttempt {
  scheduleTime?: PTimestamp;
  dispatchTime?: PTimestamp;
  responseTime?: PTimestamp;
  responseStatus?: { code: number; message: string };
}

export interface PTask {
  name?: string;
  appEngineHttpRequest?: unknown;
  httpRequest?: PHttpRequest | null;
  scheduleTime?: PTimestamp | null;
  createTime?: PTimestamp;
  dispatchDeadline?: PDuration | null;
  dispatchCount?: number;
  responseCount?: number;
  firstAttempt?: PAttempt;
  lastAttempt?: PAttempt;
  view?: string;
}

export type View = 'BASIC' | 'FULL';

/** Milliseconds in a Duration or Timestamp (microsecond precision is kept as a fraction). */
export function toMs(value: PDuration | null | undefined): number {
  if (value === null || value === undefined) return 0;
  const seconds = Number(value.seconds ?? 0);
  const micros = Math.round((value.nanos ?? 0) / 1000);
  return seconds * 1000 + micros / 1000;
}

export function fromMs(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1000) * 1000;
  return nanos >= 1e9 ? { seconds: seconds + 1, nanos: 0 } : { seconds, nanos };
}
