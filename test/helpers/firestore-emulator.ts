import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { freePort } from './free-port';
import { waitFor } from './wait-for';

/**
 * The real Firestore emulator (it ships with gcloud), for integration and e2e tests, the local
 * stack and the bench. gcloud starts a shell script that starts Java, so the emulator runs in a
 * process group of its own and is stopped by signalling the whole group: killing gcloud alone
 * would orphan the Java process.
 */
export interface FirestoreEmulator {
  /** `127.0.0.1:PORT`, the value for FIRESTORE_EMULATOR_HOST. */
  host: string;
  /** The process group id (the gcloud process's pid). */
  pid: number;
  stop(): Promise<void>;
}

/** Emulators started by this process and not yet stopped, for the leak guard. */
const running = new Set<FirestoreEmulator>();

export async function startFirestoreEmulator({
  readyTimeoutMs = 60_000,
  attempts = 3,
}: { readyTimeoutMs?: number; attempts?: number } = {}): Promise<FirestoreEmulator> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(await freePort(), readyTimeoutMs);
    } catch (err) {
      // freePort cannot reserve the port: another process may take it before Java binds it.
      const portTaken =
        err instanceof Error && /address already in use|BindException/i.test(err.message);
      if (!portTaken || attempt >= attempts) throw err;
    }
  }
}

async function startOnce(port: number, readyTimeoutMs: number): Promise<FirestoreEmulator> {
  const host = `127.0.0.1:${port}`;
  const child = spawn('gcloud', ['emulators', 'firestore', 'start', `--host-port=${host}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
  });
  let exit: string | undefined;
  child.on('error', (err) => (exit = `failed to start: ${err.message}`));
  child.on('exit', (code, signal) => (exit = `exited (${signal ?? code})`));
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error('could not spawn gcloud (is the Google Cloud SDK installed?)');
  }
  // The emulator must not keep a test runner or CLI alive on its own.
  child.unref();
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', keep);
    (stream as unknown as { unref?: () => void }).unref?.();
  }

  // Last resort if the owner dies without stopping it: exit handlers must be synchronous.
  const killOnExit = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);
  const emulator: FirestoreEmulator = {
    host,
    pid,
    async stop() {
      running.delete(emulator);
      process.removeListener('exit', killOnExit);
      await stopProcessGroup(pid);
    },
  };
  running.add(emulator);
  try {
    await waitFor(
      async () => {
        if (exit !== undefined) {
          throw new Error(`Firestore emulator ${exit} before it was ready:\n${output}`);
        }
        return isReady(host);
      },
      (ready) => ready,
      { timeoutMs: readyTimeoutMs, intervalMs: 50, what: `the Firestore emulator on ${host}` },
    );
  } catch (err) {
    await emulator.stop();
    throw err;
  }
  return emulator;
}

async function isReady(host: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
    return res.ok && (await res.text()).trim() === 'Ok';
  } catch {
    return false;
  }
}

/**
 * Stops a process group: SIGTERM, then SIGKILL if any member outlives `graceMs`. Resolves once
 * no live member is left (zombies awaiting their reaper do not count).
 */
export async function stopProcessGroup(pgid: number, graceMs = 5000): Promise<void> {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    if (!groupAlive(pgid)) return;
    try {
      process.kill(-pgid, signal);
    } catch {
      return; // ESRCH: gone meanwhile
    }
    try {
      await waitFor(
        () => groupAlive(pgid),
        (alive) => !alive,
        {
          timeoutMs: graceMs,
          intervalMs: 50,
          what: `process group ${pgid} to exit after ${signal}`,
        },
      );
      return;
    } catch (err) {
      if (signal === 'SIGKILL') throw err;
    }
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  const members = liveProcessGroupMembers(pgid);
  return members === undefined || members.length > 0;
}

/**
 * The live (non-zombie) members of a process group, by command name, read from /proc;
 * undefined where /proc is unavailable.
 */
export function liveProcessGroupMembers(
  pgid: number,
): { pid: number; command: string }[] | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  return pids.flatMap((pid) => {
    try {
      // /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, , pgrp] = stat.slice(close + 2).split(' ');
      if (Number(pgrp) !== pgid || state === 'Z') return [];
      return [{ pid: Number(pid), command: stat.slice(stat.indexOf('(') + 1, close) }];
    } catch {
      return []; // exited while we looked
    }
  });
}

/** Emulators this process started and has not stopped. */
export function runningEmulators(): readonly FirestoreEmulator[] {
  return [...running];
}

/**
 * Registers an `afterAll` that fails the suite if an emulator this test file started is still
 * running (and stops it, so one leak does not cascade).
 */
export function guardEmulatorLeaks(): void {
  const before = new Set(running);
  afterAll(async () => {
    const leaked = runningEmulators().filter((e) => !before.has(e));
    await Promise.all(leaked.map((e) => e.stop()));
    if (leaked.length > 0) {
      throw new Error(
        `left running: Firestore emulator(s) on ${leaked.map((e) => e.host).join(', ')}`,
      );
    }
  });
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
