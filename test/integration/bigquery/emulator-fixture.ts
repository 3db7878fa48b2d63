import { BigQuery } from '@google-cloud/bigquery';
import {
  startBigQueryEmulator,
  type BigQueryEmulator,
  type BigQueryEmulatorOptions,
} from '../../../emulators/bigquery';
import { freePort } from '../../helpers/free-port';

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
    // No credentials are needed: the client proceeds unauthenticated once ADC lookup fails,
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
