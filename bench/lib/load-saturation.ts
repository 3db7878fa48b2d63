/**
 * Which resource a load step saturated first. Each candidate gets a utilisation, 1.0 being its
 * ceiling: a Node process's CPU (one thread for its handlers, whatever the other cores do), the
 * Firestore emulator's JVM (it may use every core), the bench process (which hosts the Cloud
 * Tasks emulator and the intake driver), the queue's dispatch rate against its limit, and the
 * machine's cores (which other users' processes share).
 */
import type { FunctionFigures, HostFigures } from './load-resources';
import { round } from './load-resources';

export interface Pressure {
  resource: string;
  utilisation: number;
}

/** At or past this utilisation a resource counts as saturated. */
export const SATURATED = 0.85;

export function saturation(
  fns: Record<string, FunctionFigures>,
  host: HostFigures,
  dispatchShare: number,
): { ranked: Pressure[]; first: string | null } {
  const candidates: Pressure[] = [
    // A Node process runs its handlers on one thread: it is saturated when it gets a whole core.
    // Its event-loop utilisation alone overstates that on a busy machine: time the process waits
    // to be scheduled mid-callback counts as busy.
    ...Object.entries(fns).map(([fn, f]) => ({
      resource: `${fn} process (CPU ${f.cpu} cores, event loop busy ${Math.round(f.eluMean * 100)} %, lag p99 ${f.lagP99Ms} ms)`,
      utilisation: round(f.cpu),
    })),
    {
      resource: `Firestore emulator JVM (CPU ${host.firestoreCpu} of ${host.cores} cores)`,
      utilisation: round(host.firestoreCpu / host.cores),
    },
    {
      resource: `bench process: Cloud Tasks emulator + intake driver (CPU ${host.benchCpu} cores)`,
      utilisation: round(host.benchCpu),
    },
    { resource: 'queue dispatch rate (500/s per queue)', utilisation: round(dispatchShare) },
    {
      resource: `machine CPU (${host.cores} cores, all users; load ${host.load1})`,
      utilisation: host.machineBusy,
    },
  ];
  const ranked = candidates.sort((a, b) => b.utilisation - a.utilisation);
  // The machine's cores are the sum of the others: name a process when one is saturated too.
  const own = ranked.find((p) => !p.resource.startsWith('machine') && p.utilisation >= SATURATED);
  const machine = ranked.find(
    (p) => p.resource.startsWith('machine') && p.utilisation >= SATURATED,
  );
  return { ranked, first: own?.resource ?? machine?.resource ?? null };
}
