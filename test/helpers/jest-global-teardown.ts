import { stopProcessGroup } from './firestore-emulator';
import { OWNED_EMULATOR_PID } from './jest-global-setup';

/** Jest globalTeardown: stops the emulator globalSetup started, if it started one. */
export default async function globalTeardown(): Promise<void> {
  const emulator = globalThis.__dsrFirestoreEmulator;
  const pid = process.env[OWNED_EMULATOR_PID];
  globalThis.__dsrFirestoreEmulator = undefined;
  delete process.env[OWNED_EMULATOR_PID];
  if (emulator !== undefined) {
    delete process.env['FIRESTORE_EMULATOR_HOST'];
    await emulator.stop();
  } else if (pid !== undefined) {
    delete process.env['FIRESTORE_EMULATOR_HOST'];
    await stopProcessGroup(Number(pid));
  }
}
