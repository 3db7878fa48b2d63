import type { AddressInfo } from 'node:net';
import { JobEngine, type Clock } from './jobs';
import { applySeed, loadSeed, type Seed } from './seed';
import { createBigQueryServer } from './server';
import { Warehouse } from './warehouse';

export type { Clock } from './jobs';
export type { Seed } from './seed';

export interface BigQueryEmulatorOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** The project seeded datasets belong to unless they name one. Default `local-project`. */
  projectId?: string;
  /** Datasets, tables and rows to start with: an object or a JSON file path. */
  seed?: Seed | string;
  /** How long rows added by insertAll stay in the streaming buffer; 0 turns it off. Default 1800. */
  streamingBufferSeconds?: number;
  /** The least time a job takes from insert to DONE, so callers exercise polling. Default 0. */
  minJobMs?: number;
  /** Time source for job timing and streaming-buffer age. Default: the system clock. */
  clock?: Clock;
  /** Server-assigned job ids become `job_000001`, `job_000002`, … instead of random. */
  deterministicJobIds?: boolean;
}

export interface BigQueryEmulator {
  port: number;
  /** `http://127.0.0.1:PORT`, for `apiEndpoint` or `BIGQUERY_EMULATOR_HOST`. */
  url: string;
  projectId: string;
  /** Closes the server and every connection, then frees the database. */
  stop(): Promise<void>;
  /** Drops all data and jobs and re-applies the seed. */
  reset(): void;
}

/** Starts a local BigQuery v2 REST emulator the official client can use unchanged. */
export async function startBigQueryEmulator(
  options: BigQueryEmulatorOptions = {},
): Promise<BigQueryEmulator> {
  const projectId = options.projectId ?? 'local-project';
  const clock = options.clock ?? { now: () => Date.now() };
  const streamingBufferSeconds = options.streamingBufferSeconds ?? 1800;
  const minJobMs = options.minJobMs ?? 0;
  for (const [name, value] of Object.entries({ streamingBufferSeconds, minJobMs })) {
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`${name} must be a non-negative number`);
  }
  const seed = options.seed === undefined ? undefined : await loadSeed(options.seed);
  const warehouse = await Warehouse.create();
  const engine = new JobEngine({
    warehouse,
    clock,
    minJobMs,
    streamingBufferSeconds,
    deterministicJobIds: options.deterministicJobIds ?? false,
  });
  const reset = (): void => {
    engine.reset();
    warehouse.reset();
    if (seed !== undefined) applySeed(warehouse, seed, projectId, clock.now());
  };
  try {
    reset();
  } catch (error) {
    warehouse.close();
    throw error;
  }

  const server = createBigQueryServer({
    warehouse,
    engine,
    clock,
    streamingBufferSeconds,
    projectId,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    projectId,
    reset,
    stop: () => {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => {
          warehouse.close();
          if (error) reject(error);
          else resolve();
        });
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
