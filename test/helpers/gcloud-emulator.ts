import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { freePort } from './free-port';
import { waitFor } from './wait-for';

/**
 * An emulator that gcloud starts (`gcloud ... start --host-port=HOST`): the Firestore and the
 * Pub/Sub emulator. gcloud starts a shell script that starts Java, so the emulator runs in a
 * process group of its own and is stopped by signalling the whole group: killing gcloud alone
 * would orphan the Java process.
 */
export interface GcloudEmulator {
  /** `127.0.0.1:PORT`, the value for the client's `*_EMULATOR_HOST` variable. */
  host: string;
  /** The process group id (the gcloud process's pid). */
  pid: number;
  stop(): Promise<void>;
}

export interface GcloudEmulatorKind<E extends GcloudEmulator> {
  /** gcloud's arguments before `--host-port`, e.g. `['emulators', 'firestore', 'start']`. */
  args: readonly string[];
  /** How messages name one, e.g. `Firestore emulator`. */
  name: string;
  /** Whether the emulator on `host` answers yet (false, not a throw, while it starts). */
  isReady(host: string): Promise<boolean>;
  /** The emulator handed out (and tracked for the leak guard), built on the started process. */
  build(started: GcloudEmulator): E;
}

export interface GcloudEmulators<E extends GcloudEmulator> {
  start(opts?: { readyTimeoutMs?: number; attempts?: number }): Promise<E>;
  /** Emulators of this kind that this process started and has not stopped. */
  running(): readonly E[];
  /**
   * Registers an `afterAll` that fails the suite if an emulator this test file started is still
   * running (and stops it, so one leak does not cascade).
   */
  guardLeaks(): void;
}

/** Starting, tracking and leak-guarding the emulators of one kind. */
export function gcloudEmulators<E extends GcloudEmulator>(
  kind: GcloudEmulatorKind<E>,
): GcloudEmulators<E> {
  /** Emulators started by this process and not yet stopped, for the leak guard. */
  const running = new Set<E>();

  async function startOnce(port: number, readyTimeoutMs: number): Promise<E> {
    const host = `127.0.0.1:${port}`;
    const child = spawn('gcloud', [...kind.args, `--host-port=${host}`], {
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
    const emulator: E = kind.build({
      host,
      pid,
      async stop() {
        running.delete(emulator);
        process.removeListener('exit', killOnExit);
        await stopProcessGroup(pid);
      },
    });
    running.add(emulator);
    try {
      await waitFor(
        async () => {
          if (exit !== undefined) {
            throw new Error(`${kind.name} ${exit} before it was ready:\n${output}`);
          }
          return kind.isReady(host);
        },
        (ready) => ready,
        { timeoutMs: readyTimeoutMs, intervalMs: 50, what: `the ${kind.name} on ${host}` },
      );
    } catch (err) {
      await emulator.stop();
      throw err;
    }
    return emulator;
  }

  return {
    async start({ readyTimeoutMs = 60_000, attempts = 3 } = {}) {
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
    },
    running: () => [...running],
    guardLeaks() {
      const before = new Set(running);
      afterAll(async () => {
        const leaked = [...running].filter((e) => !before.has(e));
        await Promise.all(leaked.map((e) => e.stop()));
        if (leaked.length > 0) {
          throw new Error(
            `left running: ${kind.name}(s) on ${leaked.map((e) => e.host).join(', ')}`,
          );
        }
      });
    },
  };
}

/** The readiness probe of gcloud's emulators: `GET /` answers `Ok` once they serve. */
export async function answersOk(host: string): Promise<boolean> {
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
