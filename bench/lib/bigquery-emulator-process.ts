/**
 * bench/lib/bigquery-emulator.ts in a child process of its own (as `npm run bench -- bigquery`
 * runs it): the GA4-style table of `data.rows` rows, loaded straight into the emulator, served
 * on a free port. Stopping it waits for the process to end (SIGKILL after 10 s).
 */
import { fork } from 'node:child_process';
import { extname, join } from 'node:path';
import type { ChildMessage, ParentMessage } from './bigquery-emulator';
import type { BenchData } from './ga4-data';

export interface EmulatorProcess {
  pid: number;
  url: string;
  rows: number;
  loadMs: number;
  stop(): Promise<void>;
}

export async function startEmulatorProcess(data: BenchData): Promise<EmulatorProcess> {
  const child = fork(
    join(__dirname, `bigquery-emulator${extname(__filename)}`),
    [JSON.stringify(data)],
    {
      // tsx's loader flags, as this process got them, so the child runs the TypeScript sources.
      // Never `-e`/`-p` and their script: the child would run that script and fork again.
      execArgv: loaderFlags(process.execArgv),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };
  try {
    const ready = await new Promise<Extract<ChildMessage, { type: 'ready' }>>((resolve, reject) => {
      child.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') resolve(message);
      });
      child.once('exit', (code, signal) =>
        reject(new Error(`the BigQuery emulator process ended (code ${code}, signal ${signal})`)),
      );
    });
    return {
      pid: child.pid ?? 0,
      url: `http://127.0.0.1:${ready.port}`,
      rows: ready.rows,
      loadMs: ready.loadMs,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** This process's Node flags without an inline script (`-e`, `--eval`, `-p`, `--print`). */
function loaderFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i] as string;
    if (['-e', '--eval', '-p', '--print'].includes(flag)) {
      i++;
      continue;
    }
    if (/^--(eval|print)=/.test(flag)) continue;
    out.push(flag);
  }
  return out;
}
