import type { Firestore } from '@google-cloud/firestore';
import type { AppDeps, AppSettings } from '../src/app/deps';
import { createStructuredLogger } from '../src/adapters/cloud-logging/structured-logger';
import { createFirestoreClient, type FirestoreTransport } from '../src/adapters/firestore/client';
import { createFirestoreStore } from '../src/adapters/firestore/firestore-store';
import { createFirestoreRecordStore } from '../src/adapters/firestore/firestore-record-store';
import { createRecordSink } from '../src/app/record-sets';
import { loadConfig, type Config } from '../src/config';
import { createFirestoreAccessStore } from '../src/adapters/firestore/policy-store';
import { createFirestoreTableLeases } from '../src/adapters/firestore/table-leases';
import { createFirestoreBatchStore } from '../src/adapters/firestore/batch-store';
import { createFirestoreOperationStore } from '../src/adapters/firestore/operation-store';
import { createFirestoreEventOutbox } from '../src/adapters/firestore/event-outbox';
import { createEventKicker, type LifecycleEventsDeps } from '../src/app/event-outbox';
import type { EventPublisher } from '../src/ports/event-publisher';
import {
  createApiVerifier,
  createServiceVerifier,
  type CallerVerifier,
} from '../src/adapters/identity/verifiers';
import { ConfigError } from '../src/domain/errors';
import type { AccessStore } from '../src/ports/access-store';
import { createBigQueryExecutors } from '../src/executors/bigquery';
import { builtInExecutors } from '../src/executors';
import { systemClock, type Clock } from '../src/ports/clock';
import type { RecordStore } from '../src/ports/record-store';
import type { TaskQueue } from '../src/ports/task-queue';
import type { Warehouse } from '../src/ports/warehouse';
import { lazyQueue, lazyWarehouse } from './lazy';

/**
 * The composition root shared by the three functions: config, clients and adapters, built on
 * first use (never at import) and once per instance. Only Firestore, which every function's
 * first call reads, is made here (its transport: RuntimeOptions); the Cloud Tasks, BigQuery
 * and Pub/Sub clients, their packages included, are loaded on the first call that needs each,
 * so an instance whose calls never enqueue, query the warehouse or publish never loads them.
 */
export interface Runtime {
  config: Config;
  deps: AppDeps;
  /** Records packages (export rows), kept apart from the run records. */
  records: RecordStore;
  /** The access policy (role bindings). */
  access: AccessStore;
  /** Who is calling each function: verified credentials only. */
  verifiers: { api: CallerVerifier; runTask: CallerVerifier; dispatch: CallerVerifier };
  /**
   * Publishes pending lifecycle events, best effort and bounded (about 1 s), after an api
   * write; absent when events are off. Dispatch publishes whatever this leaves.
   */
  publishEvents?: () => Promise<void>;
}

export interface RuntimeOptions {
  /**
   * Firestore's transport (src/adapters/firestore/client.ts). Default `rest`: the cheaper
   * first call, for the api, whose answers make a few Firestore calls each. run-task and
   * dispatch ask for `grpc`: an instance makes many calls, and each costs less over gRPC
   * (bench/README.md, "REST or gRPC, per function"). No function's calls need gRPC's streams.
   */
  firestoreTransport?: FirestoreTransport;
}

let runtime: Runtime | undefined;

/**
 * The instance's runtime, built by the first call (never at import) and kept. A deployed
 * instance serves one function, so its options are that function's; where one process serves
 * several (the tests, the pipeline bench), the first caller's stand.
 */
export function getRuntime(
  env: NodeJS.ProcessEnv = process.env,
  options: RuntimeOptions = {},
): Runtime {
  runtime ??= buildRuntime(env, options);
  return runtime;
}

function buildRuntime(env: NodeJS.ProcessEnv, options: RuntimeOptions): Runtime {
  const config = loadConfig(env);
  const log = createStructuredLogger({ projectId: config.projectId, service: config.service });
  const db = createFirestoreClient({
    projectId: config.projectId,
    transport: options.firestoreTransport ?? 'rest',
    emulatorHost: env['FIRESTORE_EMULATOR_HOST'],
  });
  const store = createFirestoreStore(db, {
    operationTimeoutMs: config.storeTimeoutSeconds * 1000,
    ...(config.events === undefined ? {} : { eventSource: config.events.source }),
  });
  const records = createFirestoreRecordStore(db);
  const queue = queueOf(config);
  const warehouse = warehouseOf(config);
  // Secrets reach the function as env vars (Secret Manager via secret_environment_variables).
  const executors = builtInExecutors({
    secrets: (ref) => env[`SECRET_${ref}`],
    origins: config.httpOrigins,
    extra: createBigQueryExecutors({
      warehouse,
      defaultProjectId: config.projectId,
      pricePerTiB: config.bigQuery.pricePerTiB,
      pollIntervalSeconds: config.bigQuery.pollIntervalSeconds,
      quickWaitMs: config.bigQuery.quickWaitMs,
      records: createRecordSink(records),
      leases: createFirestoreTableLeases(db, {
        now: () => new Date(Date.now() + config.clockOffsetMs),
        operationTimeoutMs: config.storeTimeoutSeconds * 1000,
      }),
    }),
  });
  const settings: AppSettings = {
    subjectHashPepper: config.subjectHashPepper,
    pricePerTiB: config.bigQuery.pricePerTiB,
    dispatchDeadlineMarginSeconds: config.dispatchDeadlineMarginSeconds,
    leaseGraceSeconds: config.leaseGraceSeconds,
    dispatchPageSize: config.dispatchPageSize,
    dispatchBudgetSeconds: config.dispatchBudgetSeconds,
    rearmAfterSeconds: config.rearmAfterSeconds,
    businessTimeZone: config.businessTimeZone,
    otherResponseDays: config.otherResponseDays,
    otherExtensionDays: config.otherExtensionDays,
    clockRunsWhileVerifying: config.clockRunsWhileVerifying,
    verificationAlertHours: config.verificationAlertHours,
    duplicateWindowDays: config.duplicateWindowDays,
    piiRetentionDays: config.piiRetentionDays,
    recordRetentionDays: config.recordRetentionDays,
    streamingBufferRetrySeconds: config.bigQuery.streamingBufferRetrySeconds,
    pollIntervalSeconds: config.bigQuery.pollIntervalSeconds,
    timeTravelDays: config.bigQuery.timeTravelDays,
  };
  const clock = clockOf(config);
  const events = config.events === undefined ? undefined : eventsOf(config, db);
  return {
    config,
    deps: {
      store,
      queue,
      clock,
      log,
      executors,
      settings,
      batches: createFirestoreBatchStore(db, {
        operationTimeoutMs: config.storeTimeoutSeconds * 1000,
      }),
      operations: createFirestoreOperationStore(db, {
        operationTimeoutMs: config.storeTimeoutSeconds * 1000,
      }),
      ...(events === undefined ? {} : { events }),
    },
    records,
    access: createFirestoreAccessStore(db, {
      operationTimeoutMs: config.storeTimeoutSeconds * 1000,
    }),
    verifiers: verifiersOf(config, clock),
    ...(events === undefined ? {} : { publishEvents: createEventKicker({ events, clock, log }) }),
  };
}

/** Cloud Tasks, its client made on the first enqueue (api filings, run-task retries, dispatch). */
function queueOf(config: Config): TaskQueue {
  return lazyQueue(async () => {
    const { cloudTasksQueueOptions, createCloudTasksClient, createCloudTasksQueue } =
      await import('../src/adapters/cloud-tasks/cloud-tasks-queue');
    return createCloudTasksQueue(
      createCloudTasksClient(config.cloudTasksEmulatorHost),
      cloudTasksQueueOptions(config),
    );
  });
}

/**
 * BigQuery, its client made on the first warehouse call: a BigQuery executor's run, audit or
 * registration check. Other tasks' runs, and every other route, never load it.
 */
function warehouseOf(config: Config): Warehouse {
  return lazyWarehouse(async () => {
    const { createBigQueryClient, createBigQueryWarehouse } =
      await import('../src/adapters/bigquery/bigquery-warehouse');
    return createBigQueryWarehouse(
      createBigQueryClient(config.projectId, config.bigQuery.emulatorHost),
      {
        location: config.bigQuery.location,
        streamingBufferRetrySeconds: config.bigQuery.streamingBufferRetrySeconds,
      },
    );
  });
}

/**
 * Lifecycle events: the outbox on Firestore and a Pub/Sub publisher whose client (and its
 * module) is loaded on the first publish, once: run-task never publishes, so never loads it.
 */
function eventsOf(config: Config, db: Firestore): LifecycleEventsDeps {
  const events = config.events!;
  let publisher: Promise<EventPublisher> | undefined;
  const load = async (): Promise<EventPublisher> => {
    const { createPubSubClient, createPubSubPublisher } =
      await import('../src/adapters/pubsub/pubsub-publisher');
    return createPubSubPublisher(
      createPubSubClient(config.projectId, events.emulatorHost),
      events.topic,
    );
  };
  return {
    outbox: createFirestoreEventOutbox(db, {
      operationTimeoutMs: config.storeTimeoutSeconds * 1000,
    }),
    publisher: {
      publish: async (event) => (await (publisher ??= load())).publish(event),
    },
  };
}

function verifiersOf(config: Config, clock: Clock): Runtime['verifiers'] {
  const { auth, localMode } = config;
  const service = (
    audience: string,
    serviceAccount: string | undefined,
    via: 'cloud-tasks-oidc' | 'scheduler-oidc',
  ): CallerVerifier => {
    if (serviceAccount === undefined) {
      // Misconfigured: refuse every call loudly rather than let anyone in.
      const variable = via === 'scheduler-oidc' ? 'SCHEDULER_SA' : 'TASKS_INVOKER_SA';
      return () =>
        Promise.reject(
          new ConfigError([{ path: variable, message: 'not set: no caller can be accepted' }]),
        );
    }
    return createServiceVerifier({
      localMode,
      audience,
      serviceAccount,
      via,
      clock,
      ...(auth.localTokens === undefined ? {} : { local: auth.localTokens }),
    });
  };
  return {
    api: createApiVerifier({
      localMode,
      audiences: auth.apiAudiences,
      ...(auth.iap === undefined ? {} : { iap: auth.iap }),
      clock,
    }),
    runTask: service(config.oidcAudience, config.invokerServiceAccount, 'cloud-tasks-oidc'),
    dispatch: service(auth.dispatchAudience, auth.schedulerServiceAccount, 'scheduler-oidc'),
  };
}

/** The system clock; in local mode shifted by CLOCK_OFFSET_MS (loadConfig refuses it elsewhere). */
function clockOf(config: Config): Clock {
  const offset = config.clockOffsetMs;
  return offset === 0 ? systemClock : { now: () => new Date(Date.now() + offset) };
}
