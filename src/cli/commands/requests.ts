import { Option, type Command } from 'commander';
import { DENY_REASONS, REGULATIONS, REQUEST_TYPES, VERIFICATION_METHODS } from '../../domain/model';
import type { Context } from '../context';
import { CliError, exitCodeForStatus, isOpenStatus } from '../exit-codes';
import { listView } from '../output';
import { renderProgress, type WatchedRequest } from '../progress';
import { REQUEST_COLUMNS, requestView } from './request-views';
import { act, collect, seconds, seg, sleep, wholeNumber, type Cli } from './shared';

/** The request filters of `requests list` and `requests bulk`, as the API's query names them. */
export function addFilterOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--type <type>', 'deletion or records').choices(REQUEST_TYPES))
    .addOption(new Option('--regulation <law>', 'the law').choices(REGULATIONS))
    .option('--external-id <id>', 'the id your own system gave the request')
    .option(
      '--status <list>',
      'one or more statuses, comma-separated (in_progress,awaiting_approval)',
    )
    .option('--overdue', 'only requests past their deadline')
    .option('--deadline-risk <list>', 'ok, at_risk, overdue (comma-separated)')
    .option('--filed-from <date>', 'received at or after (2026-01-01 or a date-time)')
    .option('--filed-to <date>', 'received before')
    .option('--due-before <date>', 'deadline before')
    .option('--dry-run', 'dry runs only (they are left out otherwise)')
    .option('--task <taskId>', 'requests with an instance of this task');
}

/** The filter options given, as the API's query parameters (text, lists comma-separated). */
export function filterQuery(o: Record<string, unknown>): Record<string, string> {
  const names: [string, string][] = [
    ['type', 'type'],
    ['regulation', 'regulation'],
    ['externalId', 'externalId'],
    ['status', 'status'],
    ['deadlineRisk', 'deadlineRisk'],
    ['filedFrom', 'filedFrom'],
    ['filedTo', 'filedTo'],
    ['dueBefore', 'dueBefore'],
    ['task', 'task'],
  ];
  const query: Record<string, string> = {};
  for (const [option, param] of names) {
    if (typeof o[option] === 'string') query[param] = o[option];
  }
  if (o['overdue'] === true) query['overdue'] = 'true';
  if (o['dryRun'] === true) query['dryRun'] = 'true';
  return query;
}

interface Page {
  items: Record<string, unknown>[];
  nextCursor?: string;
}

async function listRequests(ctx: Context, o: Record<string, unknown>): Promise<void> {
  const want = o['all'] === true ? Number.POSITIVE_INFINITY : (o['limit'] as number);
  const items: Record<string, unknown>[] = [];
  let cursor = o['cursor'] as string | undefined;
  for (;;) {
    const limit = Math.min(200, want - items.length);
    const { body } = await ctx.client.json<Page>('GET', '/requests', {
      query: {
        ...filterQuery(o),
        ...(typeof o['sort'] === 'string' ? { sort: o['sort'] } : {}),
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      },
    });
    items.push(...body.items);
    cursor = body.nextCursor;
    if (cursor === undefined || items.length >= want) break;
  }
  ctx.emit(items, listView(REQUEST_COLUMNS));
  if (cursor !== undefined && !ctx.quiet) {
    ctx.note(`more requests: --cursor ${cursor} for the next page, or --all`);
  }
}

async function watch(ctx: Context, id: string, o: Record<string, unknown>): Promise<number> {
  const intervalMs = (o['interval'] as number) * 1000;
  const timeoutMs = o['timeout'] === undefined ? undefined : (o['timeout'] as number) * 1000;
  const started = Date.now();
  let drawn = 0;
  const draw = (request: WatchedRequest) => {
    if (!ctx.showProgress) return;
    const lines = renderProgress(request, (c, t) => ctx.paint(c, t));
    // Move up over the last drawing and clear each line before writing the new one.
    const up = drawn > 0 ? `\u001b[${drawn}A` : '';
    ctx.io.stderr.write(`${up}${lines.map((l) => `\u001b[2K${l}\n`).join('')}`);
    drawn = lines.length;
  };
  for (;;) {
    const { body } = await ctx.client.json<WatchedRequest>('GET', `/requests/${seg(id)}`);
    draw(body);
    if (!isOpenStatus(body.status)) {
      ctx.emit(body, requestView);
      return exitCodeForStatus(body.status);
    }
    if (timeoutMs !== undefined && Date.now() - started >= timeoutMs) {
      throw new CliError(`request ${id} is still ${body.status} after ${o['timeout'] as number} s`);
    }
    await sleep(intervalMs);
  }
}

/** A POST to one of a request's actions, after a confirmation on a terminal. */
async function requestAction(
  ctx: Context,
  id: string,
  action: string,
  body: Record<string, unknown>,
  question?: string,
): Promise<void> {
  if (question !== undefined) await ctx.confirm(question);
  const answer = await ctx.client.json('POST', `/requests/${seg(id)}/${action}`, { body });
  ctx.emit(answer.body, requestView);
}

const tasksOf = (o: Record<string, unknown>) =>
  Array.isArray(o['task']) && o['task'].length > 0 ? { taskIds: o['task'] as string[] } : {};

export function registerRequestCommands(requests: Command, cli: Cli): void {
  addFilterOptions(
    requests
      .command('list')
      .description('list requests, newest filed first (filters as the API takes them)'),
  )
    .option('--sort <field>', 'filedAt (newest first) or dueAt (soonest deadline first)')
    .option('--limit <n>', 'at most this many (fetched in pages)', wholeNumber('--limit'), 50)
    .option('--all', 'every matching request, however many pages')
    .option('--cursor <cursor>', 'continue from a cursor a previous list printed')
    .action(act(cli, (ctx, _a, o) => listRequests(ctx, o)));

  requests
    .command('show')
    .description('a request: status, deadlines, cost and each instance')
    .argument('<id>', 'the request id')
    .action(
      act(cli, async (ctx, [id = '']) => {
        const { body } = await ctx.client.json('GET', `/requests/${seg(id)}`);
        ctx.emit(body, requestView);
      }),
    );

  requests
    .command('watch')
    .description(
      'follow a request until it ends (exit 0 completed, 3 completed with errors, 4 denied or cancelled)',
    )
    .argument('<id>', 'the request id')
    .option('--interval <seconds>', 'between polls', seconds('--interval', 0.2), 2)
    .option('--timeout <seconds>', 'give up (exit 1) after this long', seconds('--timeout', 1))
    .action(act(cli, (ctx, [id = ''], o) => watch(ctx, id, o)));

  requests
    .command('approve')
    .description('approve the instances awaiting approval (all, or --task ones)')
    .argument('<id>', 'the request id')
    .option('--task <taskId>', 'approve only this task (repeatable)', collect)
    .action(
      act(cli, (ctx, [id = ''], o) =>
        requestAction(ctx, id, 'approve', tasksOf(o), `Approve request ${id}?`),
      ),
    );

  requests
    .command('deny')
    .description('refuse the request (or only --task instances), with the basis')
    .argument('<id>', 'the request id')
    .addOption(
      new Option('--reason <reason>', 'the basis').choices(DENY_REASONS).makeOptionMandatory(),
    )
    .option('--note <text>', 'a note for the record')
    .option('--task <taskId>', 'refuse only this task (repeatable)', collect)
    .action(
      act(cli, (ctx, [id = ''], o) =>
        requestAction(
          ctx,
          id,
          'deny',
          {
            reason: o['reason'],
            ...(typeof o['note'] === 'string' ? { note: o['note'] } : {}),
            ...tasksOf(o),
          },
          `Deny request ${id} (${o['reason'] as string})?`,
        ),
      ),
    );

  requests
    .command('extend')
    .description("take the law's one extension of the deadline")
    .argument('<id>', 'the request id')
    .requiredOption('--reason <text>', 'why the request needs more time')
    .action(
      act(cli, (ctx, [id = ''], o) =>
        requestAction(ctx, id, 'extend', { reason: o['reason'] }, `Extend the deadline of ${id}?`),
      ),
    );

  requests
    .command('verify')
    .description("record how the person's identity was verified (releases held instances)")
    .argument('<id>', 'the request id')
    .addOption(
      new Option('--method <method>', 'how').choices(VERIFICATION_METHODS).makeOptionMandatory(),
    )
    .option('--note <text>', 'a note for the record')
    .action(
      act(cli, (ctx, [id = ''], o) =>
        requestAction(ctx, id, 'verify', {
          method: o['method'],
          ...(typeof o['note'] === 'string' ? { note: o['note'] } : {}),
        }),
      ),
    );

  requests
    .command('acknowledge')
    .description('record that the person was told the request was received')
    .argument('<id>', 'the request id')
    .action(act(cli, (ctx, [id = '']) => requestAction(ctx, id, 'acknowledge', {})));

  requests
    .command('cancel')
    .description('cancel what has not started')
    .argument('<id>', 'the request id')
    .action(
      act(cli, (ctx, [id = '']) =>
        requestAction(ctx, id, 'cancel', {}, `Cancel request ${id}? Work not started is dropped.`),
      ),
    );
}
