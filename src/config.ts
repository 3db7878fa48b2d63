import { z } from 'zod';
import { memberSchema, type Member } from './domain/access';
import { ConfigError } from './domain/errors';
import type { Regulation } from './domain/model';
import { parseSecretOrigins, type OriginPolicy } from './executors/origin-policy';

/** `scheme://host[:port]`, or with `:*` for any port. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:(\d{1,5}|\*))?$/;

const bool = z.enum(['true', 'false', '1', '0', '']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** A comma-separated list; blanks dropped. */
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
);

/** An optional setting for which a blank value means unset. */
const blankAsUnset = <T extends z.ZodTypeAny>(inner: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), inner.optional());

/**
 * Every setting, with its environment variable. `.env.example` documents each one; the infra
 * tests read `requiredEnvVars()` so Terraform sets every variable without a default.
 */
const schema = z.object({
  GOOGLE_CLOUD_PROJECT: z.string().min(1, 'the Google Cloud project id is required'),
  LOCATION: z.string().min(1).default('us-central1'),
  TASKS_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,100}$/, 'a queue id: letters, digits and hyphens')
    .default('dsr-tasks'),
  RUN_TASK_URL: z.string().url('the HTTPS URL of the run-task function'),
  TASKS_INVOKER_SA: z.string().email('the service account Cloud Tasks signs OIDC tokens as'),
  TASKS_OIDC_AUDIENCE: z.string().url().optional(),
  SUBJECT_HASH_PEPPER: z
    .string()
    .min(16, 'the pepper must be at least 16 characters (keep it in Secret Manager)'),
  BIGQUERY_PRICE_PER_TIB: z.coerce.number().positive().default(6.25),
  BIGQUERY_LOCATION: z.string().min(1).default('US'),
  BIGQUERY_POLL_INTERVAL_SECONDS: int(1, 1800).default(30),
  BIGQUERY_QUICK_WAIT_MS: int(0, 60_000).default(2000),
  BIGQUERY_TIME_TRAVEL_DAYS: int(2, 7).default(7),
  STREAMING_BUFFER_RETRY_SECONDS: int(1, 86_400).default(5400),
  DISPATCH_DEADLINE_MARGIN_SECONDS: int(1, 300).default(30),
  LEASE_GRACE_SECONDS: int(1, 3600).default(60),
  DISPATCH_PAGE_SIZE: int(1, 1000).default(200),
  DISPATCH_BUDGET_SECONDS: int(5, 1740).default(180),
  REARM_AFTER_SECONDS: int(1, 86_400).default(900),
  STORE_TIMEOUT_SECONDS: int(1, 120).default(10),
  CLOCK_OFFSET_MS: z.coerce.number().int().default(0),
  BUSINESS_TIME_ZONE: z.string().default('UTC').refine(isTimeZone, {
    message: 'an IANA time zone, e.g. Europe/Berlin or America/Los_Angeles',
  }),
  OTHER_RESPONSE_DAYS: int(1, 3650).default(30),
  OTHER_EXTENSION_DAYS: int(0, 3650).default(0),
  VERIFICATION_CLOCK_RUNS: blankAsUnset(
    list.pipe(
      z.array(
        z
          .string()
          .regex(
            /^(gdpr|uk_gdpr|ccpa|lgpd|other)=(true|false)$/,
            'regulation=true|false pairs, e.g. gdpr=true,lgpd=false',
          ),
      ),
    ),
  ),
  VERIFICATION_ALERT_HOURS: int(1, 8760).default(72),
  DUPLICATE_WINDOW_DAYS: int(0, 3650).default(30),
  PII_RETENTION_DAYS: int(1, 3650).default(30),
  RECORD_RETENTION_DAYS: int(0, 36_500).default(1095),
  CLOUD_TASKS_EMULATOR_HOST: z.string().optional(),
  // Lifecycle events (docs/compliance.md): off when PUBSUB_TOPIC is unset.
  PUBSUB_TOPIC: blankAsUnset(
    z.string().regex(/^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/, 'a Pub/Sub topic id, e.g. dsr-events'),
  ),
  PUBSUB_EMULATOR_HOST: blankAsUnset(z.string()),
  EVENT_SOURCE: blankAsUnset(z.string().min(1).max(500)),
  BIGQUERY_EMULATOR_HOST: z.string().optional(),
  LOCAL_MODE: bool.default('false'),
  // Who may call. Deployed, identities come only from verified tokens (see docs/security.md).
  // A blank value counts as unset, so Terraform can pass "" for a setting it does not use.
  API_AUDIENCES: blankAsUnset(list.pipe(z.array(z.string().max(500)).min(1))),
  IAP_AUDIENCE: blankAsUnset(z.string().max(500)),
  IAP_JWKS_URL: blankAsUnset(z.string().url()),
  DISPATCH_AUDIENCE: blankAsUnset(z.string().url()),
  SCHEDULER_SA: blankAsUnset(
    z.string().email('the service account Cloud Scheduler calls dispatch as'),
  ),
  TASKS_OIDC_JWKS_URL: blankAsUnset(z.string().url()),
  TASKS_OIDC_ISSUER: blankAsUnset(z.string().url()),
  BOOTSTRAP_ADMINS: list.pipe(z.array(memberSchema)).default(''),
  // Where http.request may call, and which origins each secret may be sent to.
  HTTP_ALLOWED_ORIGINS: list
    .pipe(z.array(z.string().regex(ORIGIN, 'an origin such as https://api.example.com')))
    .default(''),
  HTTP_SECRET_ORIGINS: z
    .string()
    .default('{}')
    .transform((text, ctx) => {
      try {
        const parsed = parseSecretOrigins(text);
        for (const origins of Object.values(parsed)) {
          for (const origin of origins) {
            if (!ORIGIN.test(origin)) throw new Error(`${origin}: not an origin`);
          }
        }
        return parsed;
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: `a JSON object of secret reference → origins: ${(err as Error).message}`,
        });
        return z.NEVER;
      }
    }),
  // The web console's CSRF key (src/console/csrf.ts); unset: derived from the pepper (local: random).
  CONSOLE_CSRF_SECRET: blankAsUnset(
    z.string().min(32, 'the console CSRF secret must be at least 32 characters'),
  ),
  K_SERVICE: z.string().optional(),
  K_REVISION: z.string().optional(),
});

export type Config = Readonly<{
  projectId: string;
  location: string;
  queueId: string;
  runTaskUrl: string;
  invokerServiceAccount: string;
  oidcAudience: string;
  subjectHashPepper: string;
  bigQuery: {
    pricePerTiB: number;
    location: string;
    pollIntervalSeconds: number;
    /** How long a run waits for its job before handing it to polling. */
    quickWaitMs: number;
    timeTravelDays: number;
    streamingBufferRetrySeconds: number;
    emulatorHost: string | undefined;
  };
  dispatchDeadlineMarginSeconds: number;
  leaseGraceSeconds: number;
  dispatchPageSize: number;
  dispatchBudgetSeconds: number;
  rearmAfterSeconds: number;
  storeTimeoutSeconds: number;
  /** Local and test mode only: shifts every function's clock (fault tests of windows and parking). */
  clockOffsetMs: number;
  /** IANA zone in which receipts are dated and deadline days end. */
  businessTimeZone: string;
  /** The response period of regulation `other`, and its one extension (0: none), in days. */
  otherResponseDays: number;
  otherExtensionDays: number;
  /** Overrides of whether a regulation's clock runs while verification is pending. */
  clockRunsWhileVerifying: Partial<Record<Regulation, boolean>>;
  /** A request still waiting for identity verification this long is logged as a warning. */
  verificationAlertHours: number;
  duplicateWindowDays: number;
  /** Days after a request closes before dispatch strips its subject and records package. */
  piiRetentionDays: number;
  /** Days the minimised proof (request, instances, runs) is kept before Firestore's TTL deletes it; 0 keeps it. */
  recordRetentionDays: number;
  cloudTasksEmulatorHost: string | undefined;
  /** Lifecycle events on Pub/Sub; undefined when PUBSUB_TOPIC is unset (none are kept). */
  events:
    | {
        topic: string;
        /** `ce-source`: EVENT_SOURCE, else `//dsr-taskrunner/<project>`. */
        source: string;
        emulatorHost: string | undefined;
      }
    | undefined;
  localMode: boolean;
  /** Where http.request may send identifiers and secrets. */
  httpOrigins: OriginPolicy;
  auth: {
    /** `aud` values the api accepts on Cloud Run's forwarded token. */
    apiAudiences: string[];
    /** Set when the api sits behind IAP: only its assertion names the caller. */
    iap?: { audience: string; jwksUrl?: string };
    /** The `aud` of the scheduler's token to dispatch, and the account it must name. */
    dispatchAudience: string;
    schedulerServiceAccount: string | undefined;
    /** Local mode: the Cloud Tasks emulator's keys, to verify service tokens in full. */
    localTokens?: { jwksUrl: string; issuer: string };
    bootstrapAdmins: Member[];
  };
  service: { name: string; revision: string };
  /** The web console: CONSOLE_CSRF_SECRET when set (see consoleCsrfKey). */
  console: { csrfSecret: string | undefined };
}>;

/** Pure: reads only the given env. Throws ConfigError listing every problem at once. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const e = parsed.data;
  if ((e.TASKS_OIDC_JWKS_URL === undefined) !== (e.TASKS_OIDC_ISSUER === undefined)) {
    throw new ConfigError([
      {
        path: e.TASKS_OIDC_JWKS_URL === undefined ? 'TASKS_OIDC_JWKS_URL' : 'TASKS_OIDC_ISSUER',
        message: 'TASKS_OIDC_JWKS_URL and TASKS_OIDC_ISSUER are set together',
      },
    ]);
  }
  if (e.CLOCK_OFFSET_MS !== 0 && !e.LOCAL_MODE) {
    throw new ConfigError([
      { path: 'CLOCK_OFFSET_MS', message: 'a clock offset is honoured only with LOCAL_MODE=true' },
    ]);
  }
  return {
    projectId: e.GOOGLE_CLOUD_PROJECT,
    location: e.LOCATION,
    queueId: e.TASKS_QUEUE,
    runTaskUrl: e.RUN_TASK_URL,
    invokerServiceAccount: e.TASKS_INVOKER_SA,
    oidcAudience: e.TASKS_OIDC_AUDIENCE ?? e.RUN_TASK_URL,
    subjectHashPepper: e.SUBJECT_HASH_PEPPER,
    bigQuery: {
      pricePerTiB: e.BIGQUERY_PRICE_PER_TIB,
      location: e.BIGQUERY_LOCATION,
      pollIntervalSeconds: e.BIGQUERY_POLL_INTERVAL_SECONDS,
      quickWaitMs: e.BIGQUERY_QUICK_WAIT_MS,
      timeTravelDays: e.BIGQUERY_TIME_TRAVEL_DAYS,
      streamingBufferRetrySeconds: e.STREAMING_BUFFER_RETRY_SECONDS,
      emulatorHost: e.BIGQUERY_EMULATOR_HOST,
    },
    dispatchDeadlineMarginSeconds: e.DISPATCH_DEADLINE_MARGIN_SECONDS,
    leaseGraceSeconds: e.LEASE_GRACE_SECONDS,
    dispatchPageSize: e.DISPATCH_PAGE_SIZE,
    dispatchBudgetSeconds: e.DISPATCH_BUDGET_SECONDS,
    rearmAfterSeconds: e.REARM_AFTER_SECONDS,
    storeTimeoutSeconds: e.STORE_TIMEOUT_SECONDS,
    clockOffsetMs: e.CLOCK_OFFSET_MS,
    businessTimeZone: e.BUSINESS_TIME_ZONE,
    otherResponseDays: e.OTHER_RESPONSE_DAYS,
    otherExtensionDays: e.OTHER_EXTENSION_DAYS,
    clockRunsWhileVerifying: Object.fromEntries(
      (e.VERIFICATION_CLOCK_RUNS ?? []).map((pair) => {
        const [regulation, runs] = pair.split('=');
        return [regulation, runs === 'true'];
      }),
    ) as Partial<Record<Regulation, boolean>>,
    verificationAlertHours: e.VERIFICATION_ALERT_HOURS,
    duplicateWindowDays: e.DUPLICATE_WINDOW_DAYS,
    piiRetentionDays: e.PII_RETENTION_DAYS,
    recordRetentionDays: e.RECORD_RETENTION_DAYS,
    cloudTasksEmulatorHost: e.CLOUD_TASKS_EMULATOR_HOST,
    events:
      e.PUBSUB_TOPIC === undefined
        ? undefined
        : {
            topic: e.PUBSUB_TOPIC,
            source: e.EVENT_SOURCE ?? `//dsr-taskrunner/${e.GOOGLE_CLOUD_PROJECT}`,
            emulatorHost: e.PUBSUB_EMULATOR_HOST,
          },
    localMode: e.LOCAL_MODE,
    httpOrigins: { allowedOrigins: e.HTTP_ALLOWED_ORIGINS, secretOrigins: e.HTTP_SECRET_ORIGINS },
    auth: {
      apiAudiences: e.API_AUDIENCES ?? [functionUrl(e, 'api')],
      ...(e.IAP_AUDIENCE === undefined
        ? {}
        : {
            iap: {
              audience: e.IAP_AUDIENCE,
              ...(e.IAP_JWKS_URL === undefined ? {} : { jwksUrl: e.IAP_JWKS_URL }),
            },
          }),
      dispatchAudience: e.DISPATCH_AUDIENCE ?? functionUrl(e, 'dispatch'),
      schedulerServiceAccount: e.SCHEDULER_SA,
      // Deployed, Cloud Run IAM verifies service tokens against Google's keys: local keys are
      // never honoured outside local mode (a stack switched to deployed mode keeps them unused).
      ...(!e.LOCAL_MODE || e.TASKS_OIDC_JWKS_URL === undefined || e.TASKS_OIDC_ISSUER === undefined
        ? {}
        : { localTokens: { jwksUrl: e.TASKS_OIDC_JWKS_URL, issuer: e.TASKS_OIDC_ISSUER } }),
      bootstrapAdmins: e.BOOTSTRAP_ADMINS,
    },
    service: { name: e.K_SERVICE ?? 'local', revision: e.K_REVISION ?? 'local' },
    console: { csrfSecret: e.CONSOLE_CSRF_SECRET },
  };
}

/** A gen2 function's URL, known before it exists (as infra/functions.tf derives run-task's). */
function functionUrl(e: { LOCATION: string; GOOGLE_CLOUD_PROJECT: string }, name: string): string {
  return `https://${e.LOCATION}-${e.GOOGLE_CLOUD_PROJECT}.cloudfunctions.net/${name}`;
}

/** The environment variables that have no default: deployments must set each of them. */
export function requiredEnvVars(): string[] {
  return Object.entries(schema.shape)
    .filter(([, field]) => !field.isOptional())
    .filter(([, field]) => !(field instanceof z.ZodDefault))
    .map(([name]) => name);
}

/** Every variable the config reads, for `.env.example` and the infra tests. */
export function knownEnvVars(): string[] {
  return Object.keys(schema.shape);
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
