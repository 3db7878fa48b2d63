import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { answersOk, gcloudEmulators, type GcloudEmulator } from './gcloud-emulator';

export { liveProcessGroupMembers, stopProcessGroup } from './gcloud-emulator';

/**
 * The real Firestore emulator (it ships with gcloud), for integration and e2e tests, the local
 * stack and the bench. It runs in a process group of its own, as every gcloud emulator does
 * (see gcloud-emulator.ts).
 */
export type FirestoreEmulator = GcloudEmulator;

const firestoreEmulators = gcloudEmulators<FirestoreEmulator>({
  args: ['emulators', 'firestore', 'start'],
  name: 'Firestore emulator',
  isReady: answersOk,
  build: (started) => started,
});

export function startFirestoreEmulator(
  opts: { readyTimeoutMs?: number; attempts?: number } = {},
): Promise<FirestoreEmulator> {
  return firestoreEmulators.start(opts);
}

/** Emulators this process started and has not stopped. */
export function runningEmulators(): readonly FirestoreEmulator[] {
  return firestoreEmulators.running();
}

/**
 * Registers an `afterAll` that fails the suite if an emulator this test file started is still
 * running (and stops it, so one leak does not cascade).
 */
export function guardEmulatorLeaks(): void {
  firestoreEmulators.guardLeaks();
}

/** The emulator's host from the environment, as set by jest's globalSetup. */
export function emulatorHost(): string {
  const host = process.env['FIRESTORE_EMULATOR_HOST'];
  if (host === undefined || host === '') {
    throw new Error(
      'FIRESTORE_EMULATOR_HOST is not set: run this test through a jest project whose globalSetup ' +
        'is test/helpers/jest-global-setup.ts, or start an emulator and export the variable',
    );
  }
  return host;
}

export interface TestFirestore {
  db: Firestore;
  projectId: string;
  host: string;
  /** Deletes every document of this project in the emulator. */
  reset(): Promise<void>;
  /** Resets the data and closes the client. */
  close(): Promise<void>;
}

/**
 * A client on the emulator with a project id of its own, so test files never see each other's
 * documents. The default id names the calling test file, plus a random suffix.
 */
export function firestoreForTest(projectId = uniqueProjectId()): TestFirestore {
  const host = emulatorHost();
  process.env['METADATA_SERVER_DETECTION'] ??= 'none';
  const db = new Firestore({ projectId, host, ssl: false, ignoreUndefinedProperties: true });
  return {
    db,
    projectId,
    host,
    reset: () => resetFirestore(host, projectId),
    async close() {
      await resetFirestore(host, projectId);
      await db.terminate();
    },
  };
}

/** Deletes every document of a project in the emulator. */
export async function resetFirestore(host: string, projectId: string): Promise<void> {
  const url = `http://${host}/emulator/v1/projects/${projectId}/databases/(default)/documents`;
  const res = await fetch(url, { method: 'DELETE' });
  if (!res.ok) throw new Error(`resetting ${projectId} failed: ${res.status} ${await res.text()}`);
}

function uniqueProjectId(): string {
  const testPath = typeof expect === 'undefined' ? undefined : expect.getState().testPath;
  const name = testPath === undefined ? 'test' : basename(testPath).replace(/\.test\.ts$/, '');
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 20);
  return `${slug || 'test'}-${randomBytes(4).toString('hex')}`;
}
