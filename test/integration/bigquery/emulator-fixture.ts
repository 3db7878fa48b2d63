import { BigQuery } from '@google-cloud/bigquery';
import type { ApiError } from '@google-cloud/common';
import {
  startBigQueryEmulator,
  type BigQueryEmulator,
  type BigQueryEmulatorOptions,
} from '../../../emulators/bigquery';
import { freePort } from '../../helpers/free-port';

/**
 * The official client runs unchanged in the test's realm, but its HTTP layer (teeny-request)
 * calls `import('node-fetch')`, which Jest's VM refuses without --experimental-vm-modules. So
 * teeny-request alone is loaded by Node's own loader (Jest replaces `createRequire`, but a
 * `Module` instance still requires through Node). Test files import this module before
 * anything that loads `@google-cloud/bigquery`.
 */
jest.mock('teeny-request', () => {
  const { Module: NodeModule } = jest.requireActual<typeof import('node:module')>('node:module');
  return new NodeModule(__filename).require(require.resolve('teeny-request')) as unknown;
});

export { BigQuery };

export interface EmulatorFixture {
  emulator: BigQueryEmulator;
  bigquery: BigQuery;
  projectId: string;
}

/**
 * Starts an emulator on a free port for this test file, with an official client pointed at it,
 * and stops it after the file. Each file passes its own project id, so files stay isolated.
 */
export function useBigQueryEmulator(
  projectId: string,
  options: BigQueryEmulatorOptions = {},
): EmulatorFixture {
  const fixture = { projectId } as EmulatorFixture;
  beforeAll(async () => {
    // No credentials are needed: the client goes on unauthenticated once ADC lookup fails,
    // and this stops it probing the GCE metadata server first.
    process.env.METADATA_SERVER_DETECTION = 'none';
    fixture.emulator = await startBigQueryEmulator({
      projectId,
      port: await freePort(),
      ...options,
    });
    fixture.bigquery = new BigQuery({ projectId, apiEndpoint: fixture.emulator.url });
  });
  afterAll(async () => {
    await fixture.emulator?.stop();
  });
  return fixture;
}

/** The ApiError a client call fails with; fails the test if the call succeeds. */
export async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error as ApiError,
  );
  if (outcome === undefined) throw new Error('expected the call to fail');
  return outcome;
}

/** The first element of a client response tuple, typed (the client types rows and metadata as any). */
export async function first<T>(call: Promise<readonly unknown[]>): Promise<T> {
  const [value] = await call;
  return value as T;
}
