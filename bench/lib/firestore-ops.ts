/**
 * Firestore operations of the local stack's function processes, as counted by
 * bench/lib/firestore-op-probe.js (preloaded into each of them): where the probe goes, the
 * environment that turns it on, and the totals it has written, per function.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIRESTORE_OP_PROBE = join(__dirname, 'firestore-op-probe.js');

export interface FirestoreOps {
  reads: number;
  writes: number;
  /** Commits refused with ABORTED (transactions that lost a race and ran again). */
  aborted: number;
}

/** Per function (`api`, `run-task`, `dispatch`), summed over every process it had. */
export type FirestoreOpsByFunction = Record<string, FirestoreOps>;

/** The functions' environment that preloads the probe and names where it writes. */
export function probeEnv(dir: string): Record<string, string> {
  const inherited = process.env['NODE_OPTIONS'];
  return {
    NODE_OPTIONS: [inherited, `--require ${FIRESTORE_OP_PROBE}`]
      .filter((o) => o !== undefined && o !== '')
      .join(' '),
    BENCH_FIRESTORE_OPS_DIR: dir,
  };
}

export function readFirestoreOps(dir: string): FirestoreOpsByFunction {
  const out: FirestoreOpsByFunction = {};
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json')) continue;
    const totals = JSON.parse(readFileSync(join(dir, name), 'utf8')) as FirestoreOps & {
      service: string;
    };
    const sum = (out[totals.service] ??= { reads: 0, writes: 0, aborted: 0 });
    sum.reads += totals.reads;
    sum.writes += totals.writes;
    sum.aborted += totals.aborted;
  }
  return out;
}

/** `after − before`, per function. */
export function opsSince(
  before: FirestoreOpsByFunction,
  after: FirestoreOpsByFunction,
): FirestoreOpsByFunction {
  return Object.fromEntries(
    Object.entries(after).map(([fn, a]) => {
      const b = before[fn] ?? { reads: 0, writes: 0, aborted: 0 };
      return [
        fn,
        { reads: a.reads - b.reads, writes: a.writes - b.writes, aborted: a.aborted - b.aborted },
      ];
    }),
  );
}
