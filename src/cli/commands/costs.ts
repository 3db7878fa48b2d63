import { Option, type Command } from 'commander';
import { renderTable, type Column, type View } from '../output';
import { formatBytes } from '../progress';
import { act, usd, type Cli } from './shared';

/** `GET /costs`, one page (src/app/costs.ts). */
interface CostPage {
  groupBy?: string;
  groups?: Record<string, unknown>[];
  totals?: Record<string, unknown>;
  audits?: {
    audits?: number;
    bytesBilled?: number;
    usd?: number;
    byCaller?: Record<string, unknown>[];
  };
  nextCursor?: string;
  [field: string]: unknown;
}

const bytes = (v: unknown) => (typeof v === 'number' ? formatBytes(v) : '');

const groupColumns = (groupBy: string): Column[] => [
  { header: groupBy.toUpperCase(), path: 'key' },
  { header: 'RUNS', path: 'runs' },
  { header: 'REQUESTS', path: 'requests' },
  { header: 'BILLED', path: 'bytesBilled', show: bytes },
  { header: 'USD', path: 'usd', show: usd },
  { header: 'DRY_RUN_USD', path: 'dryRun.usd', show: usd },
];

/** The report: the groups (every page), a total row, then the task audits apart. */
function costView(groupBy: string): View {
  const columns = groupColumns(groupBy);
  return {
    rows: (data) => (data as CostPage).groups ?? [],
    columns: columns.map((c) => ({ ...c, show: undefined })),
    describe: (data) => {
      const report = data as CostPage;
      const rows = [
        ...(report.groups ?? []),
        ...(report.totals === undefined ? [] : [{ ...report.totals, key: 'total' }]),
      ];
      const audits = report.audits;
      const callers = audits?.byCaller ?? [];
      return (
        renderTable(rows, columns) +
        (audits === undefined
          ? ''
          : `\ntask audits (no request's cost): ${audits.audits ?? 0}, ${bytes(audits.bytesBilled ?? 0)} billed, ${usd(audits.usd ?? 0)}\n` +
            (callers.length === 0
              ? ''
              : renderTable(callers, [
                  { header: 'CALLER', path: 'caller' },
                  { header: 'AUDITS', path: 'audits' },
                  { header: 'BILLED', path: 'bytesBilled', show: bytes },
                  { header: 'USD', path: 'usd', show: usd },
                ])))
      );
    },
  };
}

export function registerCostCommands(program: Command, cli: Cli): void {
  program
    .command('costs')
    .description('what the work cost')
    .command('report')
    .description(
      'bytes billed and USD from the run records, grouped; task audits counted apart, by caller',
    )
    .addOption(
      new Option('--group-by <group>', 'how to group')
        .choices(['task', 'month', 'regulation', 'type'])
        .default('task'),
    )
    .option('--from <date>', 'runs from this date (2026-01-01 or a date-time; default a year ago)')
    .option('--to <date>', 'runs before this date (default now)')
    .action(
      act(cli, async (ctx, _a, o) => {
        const groups: Record<string, unknown>[] = [];
        let first: CostPage | undefined;
        let cursor: string | undefined;
        do {
          const { body } = await ctx.client.json<CostPage>('GET', '/costs', {
            query: {
              groupBy: o['groupBy'] as string,
              from: o['from'] as string | undefined,
              to: o['to'] as string | undefined,
              limit: 200,
              cursor,
            },
          });
          first ??= body;
          groups.push(...(body.groups ?? []));
          cursor = body.nextCursor;
        } while (cursor !== undefined);
        const { nextCursor: _next, ...meta } = first ?? {};
        ctx.emit({ ...meta, groups }, costView(o['groupBy'] as string));
      }),
    );
}
