/**
 * `npm run bench -- bigquery [--rows 1000000] [--repeats 5] [--profile DIR]`: the BigQuery
 * emulator holding a GA4-style events table of a million rows, in a process of its own (so its
 * peak RSS is its own), driven through the official client as the executors drive it.
 * - load: the rows go in through `Warehouse.insertRows` in the emulator process (reported, not
 *   a goal);
 * - statements: a point DELETE of one user (by the email inside `user_properties`, the GA4
 *   deletion), a point SELECT of another (the export's query) and a GROUP BY over the table,
 *   each timed from job insert to DONE; one unmeasured round first, then `--repeats` rounds,
 *   alternating, each about different users;
 * - memory: the emulator process's RSS high-water mark (VmHWM) after loading and at the end.
 * Goals, on this 2-core machine: peak RSS under 2 GiB, every statement under 2 s.
 * `--profile DIR` runs the emulator under `--cpu-prof` and leaves the profile in DIR.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createBigQueryClient,
  createBigQueryWarehouse,
} from '../src/adapters/bigquery/bigquery-warehouse';
import type { Warehouse, WarehouseQuery } from '../src/ports/warehouse';
import type { ChildMessage, ParentMessage } from './lib/bigquery-emulator';
import { benchData, emailOf, subjectOf, userIdOf } from './lib/ga4-data';

const GOAL_RSS_MIB = 2048;
const GOAL_STATEMENT_MS = 2000;
const ROWS_PAGE = 1000;

type StatementName = 'delete' | 'select' | 'groupBy';

interface Timing {
  /** Job insert to DONE. */
  doneMs: number;
  /** A SELECT's first page of rows, read after DONE. */
  readMs?: number;
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      rows: { type: 'string', default: '1000000' },
      repeats: { type: 'string', default: '5' },
      profile: { type: 'string' },
    },
  });
  const rows = Number(values.rows);
  const repeats = Number(values.repeats);
  if (!Number.isSafeInteger(rows) || rows < 1) throw new Error('--rows must be a positive integer');
  if (!Number.isSafeInteger(repeats) || repeats < 1)
    throw new Error('--repeats must be a positive integer');
  process.env['METADATA_SERVER_DETECTION'] = 'none';

  const data = benchData(rows);
  const profile =
    values.profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', resolve(values.profile)];
  const child = fork(
    join(__dirname, 'lib', `bigquery-emulator${extname(__filename)}`),
    [JSON.stringify(data)],
    {
      // tsx's loader flags, as this process got them, so the child runs the TypeScript sources.
      // Never `-e`/`-p` and their script: the child would run that script, not its module, and
      // fork again (a fork bomb when this bench is started with `node -e`).
      execArgv: [...loaderFlags(process.execArgv), ...profile],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`the emulator process ended (code ${code}, signal ${signal})`)),
    ),
  );
  exited.catch(() => undefined);

  try {
    const ready = await Promise.race([receive(child, 'ready'), exited]);
    const afterLoad = await Promise.race([memory(child), exited]);

    const client = createBigQueryClient(data.projectId, `http://127.0.0.1:${ready.port}`);
    const warehouse = createBigQueryWarehouse(client);
    const table = `\`${data.projectId}.${data.datasetId}.${data.tableId}\``;
    const match =
      "EXISTS (SELECT 1 FROM UNNEST(user_properties) AS kv WHERE kv.key = 'email' " +
      'AND LOWER(TRIM(kv.value.string_value)) = @subject)';

    let remaining = ready.rows;
    const round = async (r: number): Promise<Record<StatementName, Timing>> => {
      const deleted = subjectOf(data, 2 * r);
      const selected = subjectOf(data, 2 * r + 1);
      const del = await timed(warehouse, {
        sql: `DELETE FROM ${table} WHERE ${match}`,
        params: { subject: emailOf(deleted) },
      });
      const affected = del.job.affectedRows ?? 0;
      if (affected === 0) throw new Error(`the DELETE of user ${deleted} removed no row`);
      remaining -= affected;

      const sel = await timed(
        warehouse,
        { sql: `SELECT * FROM ${table} WHERE ${match}`, params: { subject: emailOf(selected) } },
        true,
      );
      if (sel.rows.length === 0 || sel.rows.some((row) => row['user_id'] !== userIdOf(selected)))
        throw new Error(`the SELECT of user ${selected} did not return that user's rows`);

      const group = await timed(
        warehouse,
        {
          sql: `SELECT event_name, COUNT(*) AS events FROM ${table} GROUP BY event_name`,
          params: {},
        },
        true,
      );
      const total = group.rows.reduce((sum, row) => sum + Number(row['events']), 0);
      if (total !== remaining)
        throw new Error(`the GROUP BY counted ${total} rows, expected ${remaining}`);
      return { delete: del.timing, select: sel.timing, groupBy: group.timing };
    };

    // The first round warms the JIT, the client's connection and the emulator's size cache.
    const cold = await Promise.race([round(0), exited]);
    const measured: Array<Record<StatementName, Timing>> = [];
    for (let r = 1; r <= repeats; r++) measured.push(await Promise.race([round(r), exited]));
    const atEnd = await Promise.race([memory(child), exited]);

    const oneDecimal = (n: number) => Number(n.toFixed(1));
    const names: StatementName[] = ['delete', 'select', 'groupBy'];
    const statements = Object.fromEntries(
      names.map((name) => {
        const done = measured.map((m) => m[name].doneMs);
        const read = measured.flatMap((m) =>
          m[name].readMs === undefined ? [] : [m[name].readMs],
        );
        return [
          name,
          {
            medianMs: oneDecimal(median(done)),
            maxMs: oneDecimal(Math.max(...done)),
            coldMs: oneDecimal(cold[name].doneMs),
            ...(read.length === 0 ? {} : { readMedianMs: oneDecimal(median(read)) }),
          },
        ];
      }),
    ) as Record<
      StatementName,
      { medianMs: number; maxMs: number; coldMs: number; readMedianMs?: number }
    >;
    const peakRssMiB = oneDecimal(atEnd.hwmMiB);
    const goals = {
      peakRssUnder2GiB: peakRssMiB < GOAL_RSS_MIB,
      statementsUnder2s: names.every((name) => statements[name].maxMs < GOAL_STATEMENT_MS),
    };
    const result = {
      name: 'bigquery.ga4_events',
      rows: ready.rows,
      users: data.users,
      repeats,
      loadMs: oneDecimal(ready.loadMs),
      statements,
      peakRssAfterLoadMiB: oneDecimal(afterLoad.hwmMiB),
      peakRssMiB,
      heapUsedMiB: oneDecimal(atEnd.heapUsedMiB),
      goals,
    };

    const mark = (met: boolean) => (met ? 'met' : 'NOT MET');
    console.log(
      `BigQuery emulator (own process), ${ready.rows.toLocaleString('en')} GA4 events of ` +
        `${data.users.toLocaleString('en')} users, loaded in ${(ready.loadMs / 1000).toFixed(1)} s`,
    );
    console.log(
      `peak RSS ${result.peakRssAfterLoadMiB} MiB after loading, ${peakRssMiB} MiB at the end ` +
        `(JS heap in use ${result.heapUsedMiB} MiB); goal < ${GOAL_RSS_MIB} MiB: ` +
        mark(goals.peakRssUnder2GiB),
    );
    console.log(
      `statements, job insert → DONE over ${repeats} rounds after one cold round; ` +
        `goal < ${GOAL_STATEMENT_MS} ms each: ${mark(goals.statementsUnder2s)}`,
    );
    console.table(
      Object.fromEntries(
        names.map((name) => [
          name,
          {
            'median ms': statements[name].medianMs,
            'max ms': statements[name].maxMs,
            'cold ms': statements[name].coldMs,
            'rows read ms (median)': statements[name].readMedianMs ?? '',
            goal: mark(statements[name].maxMs < GOAL_STATEMENT_MS),
          },
        ]),
      ),
    );
    console.log(`BENCH ${JSON.stringify(result)}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      send(child, { type: 'stop' });
      await gone;
    }
  }
}

/** Runs one statement as the executors do: insert the job, check until DONE, read its rows. */
async function timed(
  warehouse: Warehouse,
  query: WarehouseQuery,
  read = false,
): Promise<{
  timing: Timing;
  job: Awaited<ReturnType<Warehouse['getJob']>>;
  rows: Record<string, unknown>[];
}> {
  const start = performance.now();
  let job = await warehouse.startQuery(query);
  while (!job.done) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    job = await warehouse.getJob(job.jobId, job.location);
  }
  const doneMs = performance.now() - start;
  if (!read) return { timing: { doneMs }, job, rows: [] };
  const page = await warehouse.getRows(job.jobId, job.location, { maxResults: ROWS_PAGE });
  const readMs = performance.now() - start - doneMs;
  return { timing: { doneMs, readMs }, job, rows: page.rows };
}

/** The emulator process's peak and current RSS (from /proc where there is one) and its heap. */
async function memory(
  child: ChildProcess,
): Promise<{ hwmMiB: number; rssMiB: number; heapUsedMiB: number }> {
  send(child, { type: 'memory' });
  const reported = await receive(child, 'memory');
  const mib = (bytes: number) => bytes / 2 ** 20;
  let hwmKiB = reported.maxRssKiB;
  let rssKiB = reported.usage.rss / 1024;
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    hwmKiB = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? hwmKiB);
    rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? rssKiB);
  } catch {
    // No /proc: the child's own figures (resourceUsage().maxRSS is the same high-water mark).
  }
  return {
    hwmMiB: mib(hwmKiB * 1024),
    rssMiB: mib(rssKiB * 1024),
    heapUsedMiB: mib(reported.usage.heapUsed),
  };
}

function send(child: ChildProcess, message: ParentMessage): void {
  child.send(message);
}

function receive<T extends ChildMessage['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve) => {
    const listener = (message: ChildMessage) => {
      if (message.type !== type) return;
      child.off('message', listener);
      resolve(message as Extract<ChildMessage, { type: T }>);
    };
    child.on('message', listener);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
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
