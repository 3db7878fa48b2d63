import {
  guardEmulatorLeaks,
  liveProcessGroupMembers,
  runningEmulators,
  startFirestoreEmulator,
} from '../../helpers/firestore-emulator';

const commands = (pgid: number) => (liveProcessGroupMembers(pgid) ?? []).map((p) => p.command);

describe('Firestore emulator harness', () => {
  guardEmulatorLeaks();

  it('starts an emulator in its own process group and stops the whole group, Java included', async () => {
    const emulator = await startFirestoreEmulator();
    try {
      const res = await fetch(`http://${emulator.host}/`);
      expect(await res.text()).toMatch(/^Ok/);
      expect(runningEmulators()).toContain(emulator);
      expect(commands(emulator.pid)).toContain('java');
    } finally {
      await emulator.stop();
    }
    expect(commands(emulator.pid)).toEqual([]);
    expect(runningEmulators()).not.toContain(emulator);
    await expect(fetch(`http://${emulator.host}/`)).rejects.toThrow();
  });
});
