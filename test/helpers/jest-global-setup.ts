import { startFirestoreEmulator, type FirestoreEmulator } from './firestore-emulator';

/**
 * Jest globalSetup for the `integration` and `e2e` projects: one Firestore emulator for the
 * whole run, announced through FIRESTORE_EMULATOR_HOST, which the workers inherit. An emulator
 * already named by FIRESTORE_EMULATOR_HOST is reused and left alone. When several projects
 * list this setup, the first starts the emulator and the others reuse it.
 */
export const OWNED_EMULATOR_PID = 'DSR_TEST_FIRESTORE_EMULATOR_PID';

declare global {
  // Jest shares globalSetup's globals with globalTeardown only.
  var __dsrFirestoreEmulator: FirestoreEmulator | undefined;
}

export default async function globalSetup(): Promise<void> {
  process.env['METADATA_SERVER_DETECTION'] ??= 'none';
  const existing = process.env['FIRESTORE_EMULATOR_HOST'];
  if (existing !== undefined && existing !== '') return;
  const emulator = await startFirestoreEmulator();
  globalThis.__dsrFirestoreEmulator = emulator;
  process.env['FIRESTORE_EMULATOR_HOST'] = emulator.host;
  process.env[OWNED_EMULATOR_PID] = String(emulator.pid);
}
