import { Option, type Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { REGULATIONS } from '../../domain/model';
import type { Context } from '../context';
import { parseCsv } from '../csv';
import { CliError, EXIT } from '../exit-codes';
import { autoColumns, listView, renderPairs, renderTable, type View } from '../output';
import { requestView } from './request-views';
import { act, seg, shortTime, usd, type Cli } from './shared';

/** The file name the api gave (Content-Disposition), kept to a plain name. */
function attachmentName(res: Response, fallback: string): string {
  const m = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '');
  const name = m?.[1]?.replace(/[^A-Za-z0-9._-]/g, '_');
  return name === undefined || name === '' || name.startsWith('.') ? fallback : name;
}

/** Streams a body to a file, or to stdout for `-`. */
async function save(ctx: Context, res: Response, target: string): Promise<void> {
  if (res.body === null) throw new CliError('the api answered with no body');
  const source = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  const sink =
    target === '-'
      ? new Writable({
          write(chunk: Buffer, _enc, done) {
            ctx.io.stdout.write(chunk);
            done();
          },
        })
      : createWriteStream(target, { flags: 'wx' });
  try {
    await pipeline(source, sink);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CliError(`${target} exists already; name another file with -o`);
    }
    throw err;
  }
}

const evidenceView: View = {
  rows: (data) =>
    data !== null && typeof data === 'object' ? [data as Record<string, unknown>] : [],
  describe: (data) => {
    const e = (data ?? {}) as {
      requestId?: string;
      verified?: boolean;
      root?: string;
      problems?: string[];
      ledger?: { entries?: Record<string, unknown>[] };
      instances?: { taskId: string; runs?: unknown[]; verified?: boolean }[];
    };
    const head = renderPairs([
      ['request', e.requestId],
      ['verified', e.verified],
      ['root', e.root],
      ['problems', (e.problems ?? []).length === 0 ? 'none' : (e.problems ?? []).join('; ')],
    ]);
    const ledger = renderTable(e.ledger?.entries ?? [], [
      { header: 'SEQ', path: 'seq' },
      { header: 'KIND', path: 'kind' },
      { header: 'ACTOR', path: 'actor' },
      { header: 'AT', path: 'at', show: shortTime },
    ]);
    const chains = renderTable(
      (e.instances ?? []).map((i) => ({
        taskId: i.taskId,
        runs: i.runs?.length ?? 0,
        verified: i.verified,
      })),
      [
        { header: 'TASK', path: 'taskId' },
        { header: 'RUNS', path: 'runs' },
        { header: 'VERIFIED', path: 'verified' },
      ],
    );
    return `${head}\nledger:\n${ledger}\nruns:\n${chains}`;
  },
};

export function registerRecordsAndReports(program: Command, cli: Cli): void {
  program
    .command('instances')
    .description("a request's instances")
    .command('retry')
    .description('start a fresh attempt series of a failed instance, with the task as it is now')
    .argument('<id>', 'the request id')
    .argument('<task>', 'the task id')
    .action(
      act(cli, async (ctx, [id = '', task = '']) => {
        await ctx.confirm(`Retry ${task} of request ${id}?`);
        const { body } = await ctx.client.json(
          'POST',
          `/requests/${seg(id)}/instances/${seg(task)}/retry`,
          {
            body: {},
          },
        );
        ctx.emit(body, requestView);
      }),
    );

  program
    .command('runs')
    .description('run records')
    .command('list')
    .description('every run record of a request')
    .argument('<id>', 'the request id')
    .action(
      act(cli, async (ctx, [id = '']) => {
        const { body } = await ctx.client.json<{ runs: unknown[] }>(
          'GET',
          `/requests/${seg(id)}/runs`,
        );
        ctx.emit(
          body.runs,
          listView([
            { header: 'RUN_ID', path: 'runId' },
            { header: 'TASK', path: 'taskId' },
            { header: 'SERIES', path: 'series' },
            { header: 'ATTEMPT', path: 'attempt' },
            { header: 'STATUS', path: 'status' },
            { header: 'STARTED', path: 'startedAt', show: shortTime },
            { header: 'MS', path: 'durationMs' },
            { header: 'USD', path: 'cost.usd', show: usd },
            { header: 'MESSAGE', path: 'message' },
          ]),
        );
      }),
    );

  program
    .command('records')
    .description('records packages')
    .command('download')
    .description("a records request's package for the person (a zip); each download is recorded")
    .argument('<id>', 'the request id')
    .option(
      '-o, --output <file>',
      'where to write it (- for stdout); the name the api gives by default',
    )
    .action(
      act(cli, async (ctx, [id = ''], o) => {
        const res = await ctx.client.raw('GET', `/requests/${seg(id)}/records/package`);
        const target =
          typeof o['output'] === 'string' ? o['output'] : attachmentName(res, `${id}-records.zip`);
        await save(ctx, res, target);
        if (target !== '-' && !ctx.quiet) ctx.note(`wrote ${target}`);
      }),
    );

  program
    .command('evidence')
    .description('the evidence trail')
    .command('show')
    .description(
      "a request's hash-chained ledger and run chains, checked (exit 1 when they do not verify)",
    )
    .argument('<id>', 'the request id')
    .action(
      act(cli, async (ctx, [id = '']) => {
        const { body } = await ctx.client.json<{ verified?: boolean }>(
          'GET',
          `/requests/${seg(id)}/evidence`,
        );
        ctx.emit(body, evidenceView);
        if (body.verified === false) {
          ctx.note(
            ctx.paint('red', 'the evidence does not verify: see problems (docs/evidence.md)'),
          );
          return EXIT.error;
        }
        return EXIT.ok;
      }),
    );

  const reports = program.command('reports').description('the regulator reports (auditor, admin)');
  reports
    .command('requests')
    .description('the CCPA record of every request received in [from, to), as CSV (11 CCR §7101)')
    .requiredOption('--from <date>', 'the first day (2026-01-01)')
    .requiredOption('--to <date>', 'the day after the last')
    .option('-o, --output <file>', 'write the CSV here instead of stdout')
    .action(
      act(cli, async (ctx, _a, o) => {
        const res = await ctx.client.raw('GET', '/reports/requests.csv', {
          query: { from: o['from'] as string, to: o['to'] as string },
        });
        if (typeof o['output'] === 'string') return void (await save(ctx, res, o['output']));
        // The report is a CSV: printed as the api wrote it, unless another format is asked for.
        if (!ctx.formatGiven || ctx.format.kind === 'csv') return void (await save(ctx, res, '-'));
        const [head, ...records] = parseCsv(await res.text());
        const names = head?.cells ?? [];
        const rows = records.map((r) =>
          Object.fromEntries(names.map((n, i) => [n, r.cells[i] ?? ''])),
        );
        ctx.emit(rows, listView());
      }),
    );
  reports
    .command('metrics')
    .description('the CCPA figures per request type for a year (11 CCR §7102)')
    .option('--year <year>', 'the year (default: the api picks the current one)')
    .addOption(new Option('--regulation <law>', 'only this law').choices(REGULATIONS))
    .action(
      act(cli, async (ctx, _a, o) => {
        const { body } = await ctx.client.json<Record<string, unknown>>('GET', '/reports/metrics', {
          query: {
            year: o['year'] as string | undefined,
            regulation: o['regulation'] as string | undefined,
          },
        });
        const byType = body['byType'] ?? body['types'] ?? body['rows'];
        if (Array.isArray(byType)) {
          ctx.emit(
            ctx.format.kind === 'table' || ctx.format.kind === 'csv' ? byType : body,
            listView(),
          );
        } else {
          ctx.emit(body, {
            rows: () => [body],
            describe: () => renderPairs(Object.entries(body)),
            columns: autoColumns([body]),
          });
        }
      }),
    );
}
