import type { Command } from 'commander';
import type { Context } from '../context';
import { ApiError } from '../client';
import { EXIT } from '../exit-codes';
import { listView, type Column } from '../output';
import { readRequests, type Candidate } from '../request-input';
import { act, readInput, sleep, wholeNumber, type Cli } from './shared';

/** One filed row, as `requests file` prints it. */
interface Filed {
  source: string;
  id: string;
  externalId?: string;
  status: string;
  /** `filed` (new, 201) or `existing` (the externalId was filed before, 200). */
  result: 'filed' | 'existing';
}

const FILED_COLUMNS: Column[] = [
  { header: 'SOURCE', path: 'source' },
  { header: 'RESULT', path: 'result' },
  { header: 'ID', path: 'id' },
  { header: 'EXTERNAL_ID', path: 'externalId' },
  { header: 'STATUS', path: 'status' },
];

/**
 * Files every valid request of the file, a few at a time. The API dedupes on `externalId`
 * (the same externalId maps to the same request: 200 with it, nothing filed again), so a re-run
 * after a failure resumes: rows filed before come back `existing`. Bad rows, found here or
 * refused by the API, are reported on stderr with their line; the rest are filed, and the
 * exit code is then 1.
 */
async function fileRequests(
  ctx: Context,
  file: string,
  o: Record<string, unknown>,
): Promise<number> {
  const candidates = readRequests(await readInput(ctx, file), file);
  const bad: { label: string; reason: string }[] = candidates.flatMap((c) =>
    c.error === undefined ? [] : [{ label: c.label, reason: c.error }],
  );
  const valid = candidates.filter(
    (c): c is Candidate & { body: Record<string, unknown> } => c.body !== undefined,
  );
  const withoutKey = valid.filter((c) => typeof c.body['externalId'] !== 'string').length;
  if (withoutKey > 0 && !ctx.quiet) {
    ctx.note(
      `${withoutKey} request(s) have no externalId: running this file again would file them again`,
    );
  }
  const filed: (Filed | undefined)[] = new Array<Filed | undefined>(valid.length);
  let next = 0;
  let done = 0;
  const progress = () => {
    if (ctx.showProgress) ctx.io.stderr.write(`\r\u001b[2Kfiling ${done}/${valid.length}`);
  };
  const worker = async () => {
    for (;;) {
      const i = next++;
      const candidate = valid[i];
      if (candidate === undefined) return;
      try {
        const { status, body } = await fileOne(ctx, candidate.body);
        filed[i] = {
          source: candidate.label,
          id: body.id,
          ...(typeof candidate.body['externalId'] === 'string'
            ? { externalId: candidate.body['externalId'] }
            : {}),
          status: body.status,
          result: status === 201 ? 'filed' : 'existing',
        };
      } catch (err) {
        // A refused row is that row's problem; losing the api is everyone's: stop.
        if (!(err instanceof ApiError) || err.status >= 500) throw err;
        const issues = err.issues.map((x) => `${x.path}: ${x.message}`).join('; ');
        bad.push({
          label: candidate.label,
          reason: `${err.code}: ${issues === '' ? err.message : issues}`,
        });
      }
      done++;
      progress();
    }
  };
  await Promise.all(Array.from({ length: o['concurrency'] as number }, worker));
  if (ctx.showProgress && valid.length > 0) ctx.io.stderr.write('\r\u001b[2K');
  const rows = filed.filter((f): f is Filed => f !== undefined);
  ctx.emit(rows, listView(FILED_COLUMNS));
  const lineOf = (label: string) => Number(/\d+/.exec(label)?.[0] ?? 0);
  for (const { label, reason } of bad.sort((a, b) => lineOf(a.label) - lineOf(b.label))) {
    ctx.note(`${ctx.paint('red', 'error')}: ${label}: ${reason}`);
  }
  if (!ctx.quiet) {
    const newly = rows.filter((r) => r.result === 'filed').length;
    ctx.note(
      `${newly} filed, ${rows.length - newly} filed before (same externalId), ${bad.length} refused`,
    );
  }
  return bad.length > 0 ? EXIT.error : EXIT.ok;
}

/** Busy answers (429, 503) are tried again, a few times, after the wait they ask for. */
async function fileOne(ctx: Context, body: Record<string, unknown>, tries = 4) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.client.json<{ id: string; status: string }>('POST', '/requests', { body });
    } catch (err) {
      const busy = err instanceof ApiError && (err.status === 429 || err.status === 503);
      if (!busy || attempt >= tries) throw err;
      await sleep(Math.min(30, err.retryAfterSeconds ?? 2 ** attempt) * 1000);
    }
  }
}

export function registerFileCommand(requests: Command, cli: Cli): void {
  requests
    .command('file')
    .description(
      'file requests from JSON (one or an array) or CSV (one a row: type, regulation, externalId, receivedAt, notes, one column per identifier); - reads stdin',
    )
    .argument('<file>', 'a .json or .csv file, or - for stdin')
    .option(
      '--concurrency <n>',
      'requests in flight at once',
      wholeNumber('--concurrency', 1, 32),
      8,
    )
    .action(act(cli, (ctx, [file = '-'], o) => fileRequests(ctx, file, o)));
}
