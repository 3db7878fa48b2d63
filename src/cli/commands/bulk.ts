import { Option, type Command } from 'commander';
import type { Context } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { autoColumns, renderPairs, renderTable, type View } from '../output';
import { addFilterOptions, filterQuery } from './requests';
import { act, seconds, seg, sleep, type Cli } from './shared';

/** A bulk operation as `GET /operations/:id` answers (fields read leniently). */
type Operation = Record<string, unknown>;

const FINISHED = new Set([
  'completed',
  'succeeded',
  'done',
  'failed',
  'cancelled',
  'completed_with_errors',
]);

/** Whether the operation has stopped: `done: true` or a finished status or state. */
export function operationFinished(op: Operation): boolean {
  if (op['done'] === true) return true;
  const status = op['status'] ?? op['state'];
  return typeof status === 'string' && FINISHED.has(status);
}

/** Per-item failures the operation reports (a list, or a count). */
export function operationFailures(op: Operation): number {
  const failures = op['failures'];
  if (Array.isArray(failures)) return failures.length;
  const progress = op['progress'] as Record<string, unknown> | undefined;
  const failed = progress?.['failed'] ?? op['failed'];
  return typeof failed === 'number' ? failed : 0;
}

const operationView: View = {
  rows: (data) =>
    data !== null && typeof data === 'object' ? [data as Record<string, unknown>] : [],
  describe: (data) => {
    const op = (data ?? {}) as Operation;
    const scalars = Object.entries(op).filter(([, v]) => typeof v !== 'object' || v === null);
    const progress = op['progress'];
    const pairs: [string, unknown][] = [
      ...scalars,
      ...(progress !== null && typeof progress === 'object'
        ? Object.entries(progress).map(([k, v]): [string, unknown] => [`progress.${k}`, v])
        : []),
    ];
    const failures = Array.isArray(op['failures'])
      ? (op['failures'] as Record<string, unknown>[])
      : [];
    return (
      renderPairs(pairs) +
      (failures.length === 0 ? '' : `\nfailures:\n${renderTable(failures, autoColumns(failures))}`)
    );
  },
};

async function waitForOperation(ctx: Context, id: string, intervalMs: number): Promise<Operation> {
  for (;;) {
    const { body } = await ctx.client.json<Operation>('GET', `/operations/${seg(id)}`);
    if (operationFinished(body)) return body;
    if (ctx.showProgress) {
      const p = (body['progress'] ?? {}) as Record<string, unknown>;
      const parts = Object.entries(p).map(([k, v]) => `${k} ${String(v)}`);
      ctx.io.stderr.write(`\r\u001b[2Koperation ${id}: ${parts.join(', ')}`);
    }
    await sleep(intervalMs);
  }
}

async function showOperation(ctx: Context, op: Operation): Promise<number> {
  if (ctx.showProgress) ctx.io.stderr.write('\r\u001b[2K');
  ctx.emit(op, operationView);
  return operationFailures(op) > 0 ? EXIT.error : EXIT.ok;
}

export function registerBulkCommands(program: Command, requests: Command, cli: Cli): void {
  addFilterOptions(
    requests
      .command('bulk')
      .description(
        'approve, retry or cancel every request the filters match; the api works through them in pages',
      ),
  )
    .addOption(
      new Option('--action <action>', 'what to do to each')
        .choices(['approve', 'retry', 'cancel'])
        .makeOptionMandatory(),
    )
    .requiredOption('--reason <text>', 'why, for the record')
    .option('--wait', 'follow the operation until it ends (exit 1 if any item failed)')
    .option('--interval <seconds>', 'between polls with --wait', seconds('--interval', 0.2), 2)
    .action(
      act(cli, async (ctx, _a, o) => {
        const filter = filterQuery(o);
        const described = Object.entries(filter)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        if (Object.keys(filter).length === 0 && o['action'] !== 'retry') {
          ctx.note('no filter given: every open request matches');
        }
        await ctx.confirm(
          `${String(o['action'])} every request matching ${described || '(no filter)'}?`,
        );
        const { body } = await ctx.client.json<Operation>('POST', '/requests:bulk', {
          body: { filter, action: o['action'], reason: o['reason'] },
        });
        const id = body['operationId'] ?? body['id'];
        if (typeof id !== 'string') throw new CliError('the api answered without an operationId');
        if (o['wait'] !== true) {
          const op = body['operation'];
          ctx.emit(op !== null && typeof op === 'object' ? op : body, operationView);
          if (!ctx.quiet) ctx.note(`follow it with: dsr operations show ${id}`);
          return EXIT.ok;
        }
        return showOperation(
          ctx,
          await waitForOperation(ctx, id, (o['interval'] as number) * 1000),
        );
      }),
    );

  program
    .command('operations')
    .description('bulk operations')
    .command('show')
    .description("an operation's progress and per-item failures (exit 1 when any item failed)")
    .argument('<id>', 'the operation id')
    .option('--wait', 'poll until it ends')
    .option('--interval <seconds>', 'between polls with --wait', seconds('--interval', 0.2), 2)
    .action(
      act(cli, async (ctx, [id = ''], o) => {
        const op =
          o['wait'] === true
            ? await waitForOperation(ctx, id, (o['interval'] as number) * 1000)
            : (await ctx.client.json<Operation>('GET', `/operations/${seg(id)}`)).body;
        return showOperation(ctx, op);
      }),
    );
}
