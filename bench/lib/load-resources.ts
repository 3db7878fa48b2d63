/**
 * Resource figures for `npm run bench -- load`, per step: CPU of each process that serves the
 * pipeline (the function processes from bench/lib/load-probe.js, the Firestore emulator's JVM
 * and the bench process itself, which hosts the Cloud Tasks emulator and the intake driver, from
 * /proc), the machine's busy share and load average, and the function processes' event loops.
 */
import { cpus, loadavg } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { liveProcessGroupMembers } from '../../test/helpers/firestore-emulator';

export const LOAD_PROBE = join(__dirname, 'load-probe.js');

/** One line of load-probe.js. */
interface ProbeLine {
  t: number;
  service: string;
  pid: number;
  cpuMs: number;
  elu: number;
  lagP99Ms: number;
  lagMaxMs: number;
  commits: number;
  commitErrors: Record<string, number>;
}

/** A function's figures over a window (summed over its processes). */
export interface FunctionFigures {
  /** CPU time over wall time: 1.0 is one core. */
  cpu: number;
  /** Event-loop utilisation, the busiest second of the window (1.0: always busy). */
  eluMax: number;
  /** Mean event-loop utilisation over the window. */
  eluMean: number;
  lagP99Ms: number;
  lagMaxMs: number;
  commits: number;
  /** Failed commits by gRPC code (9 guard lost a race, 10 aborted transaction, 6 exists). */
  commitErrors: Record<string, number>;
}

/** Reads every probe file: lines per process. */
export function readProbe(dir: string): ProbeLine[][] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .map((name) =>
      readFileSync(join(dir, name), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as ProbeLine),
    );
}

/** Each function's figures between `from` and `to` (ms since the epoch). */
export function functionFigures(
  dir: string,
  from: number,
  to: number,
): Record<string, FunctionFigures> {
  const out: Record<string, FunctionFigures> = {};
  for (const lines of readProbe(dir)) {
    const inside = lines.filter((l) => l.t > from && l.t <= to + 500);
    if (inside.length === 0) continue;
    const before = [...lines].reverse().find((l) => l.t <= from);
    const first = before ?? inside[0]!;
    const last = inside[inside.length - 1]!;
    const seconds = Math.max(0.001, (last.t - first.t) / 1000);
    const f = (out[last.service] ??= {
      cpu: 0,
      eluMax: 0,
      eluMean: 0,
      lagP99Ms: 0,
      lagMaxMs: 0,
      commits: 0,
      commitErrors: {},
    });
    f.cpu = round(f.cpu + (last.cpuMs - first.cpuMs) / 1000 / seconds);
    f.eluMax = Math.max(f.eluMax, ...inside.map((l) => l.elu));
    f.eluMean = round(Math.max(f.eluMean, mean(inside.map((l) => l.elu))));
    f.lagP99Ms = Math.max(f.lagP99Ms, ...inside.map((l) => l.lagP99Ms));
    f.lagMaxMs = Math.max(f.lagMaxMs, ...inside.map((l) => l.lagMaxMs));
    f.commits += last.commits - (before?.commits ?? 0);
    for (const [code, n] of Object.entries(last.commitErrors)) {
      const was = before?.commitErrors[code] ?? 0;
      if (n > was) f.commitErrors[code] = (f.commitErrors[code] ?? 0) + n - was;
    }
  }
  return out;
}

/** CPU seconds a process has used, from /proc/PID/stat (utime + stime); 0 if it is gone. */
function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after "(comm)": state is [0], utime [11], stime [12], in clock ticks (USER_HZ 100).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The machine's busy and total jiffies (all cores), from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = values.map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export interface HostSample {
  at: number;
  benchCpuS: number;
  firestoreCpuS: number;
  machine: { busy: number; total: number };
}

/** A sample to take at a step's start and end; `hostFigures` compares two. */
export function sampleHost(firestorePgid: number | undefined): HostSample {
  const usage = process.cpuUsage();
  const firestoreCpuS =
    firestorePgid === undefined
      ? 0
      : (liveProcessGroupMembers(firestorePgid) ?? []).reduce(
          (sum, p) => sum + procCpuSeconds(p.pid),
          0,
        );
  return {
    at: Date.now(),
    benchCpuS: (usage.user + usage.system) / 1e6,
    firestoreCpuS,
    machine: machineJiffies(),
  };
}

export interface HostFigures {
  /** The bench process (Cloud Tasks emulator + intake driver + BigQuery emulator): cores. */
  benchCpu: number;
  /** The Firestore emulator's JVM: cores. */
  firestoreCpu: number;
  /** The whole machine, every process of every user: share of all cores busy. */
  machineBusy: number;
  cores: number;
  load1: number;
}

export function hostFigures(a: HostSample, b: HostSample): HostFigures {
  const seconds = Math.max(0.001, (b.at - a.at) / 1000);
  const total = b.machine.total - a.machine.total;
  return {
    benchCpu: round((b.benchCpuS - a.benchCpuS) / seconds),
    firestoreCpu: round((b.firestoreCpuS - a.firestoreCpuS) / seconds),
    machineBusy: total > 0 ? round((b.machine.busy - a.machine.busy) / total) : 0,
    cores: cpus().length,
    load1: round(loadavg()[0] ?? 0),
  };
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

export function round(n: number): number {
  return Math.round(n * 100) / 100;
}
