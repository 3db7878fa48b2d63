import { createHash } from 'node:crypto';
import { ConflictError, NotFoundError } from '../domain/errors';
import type { Instance, Request, Run } from '../domain/model';
import { PACKAGE_HTML_CSP, cellText, csvRecord, escapeHtml } from '../domain/package-format';
import { isOpenStatus } from '../domain/states';
import { recordsOutputOf, type RecordsOutput } from '../executors/contract';
import type { RecordRow, RecordStore } from '../ports/record-store';
import type { Actor } from './actor';
import type { AppDeps } from './deps';
import { recordAction } from './evidence';
import { readRecordSegments, segmentLines, type RecordSegment } from './record-sets';
import { summarise } from './rollup';

/**
 * `GET /requests/:id/records/package`: the records package as files for the person, produced
 * as they are read (see docs/compliance.md, "The records package"):
 * - `README.txt`: the request, the dates and the sources;
 * - `index.html`: a readable report, every value escaped, under a CSP that lets nothing load
 *   or run;
 * - per records task with exported rows, `<taskId>.json` (the rows exactly as exported, as a
 *   JSON array) and `<taskId>.csv` (RFC 4180, one column per exported column);
 * - `manifest.json`, last: each file's name, size and SHA-256, summed while it streamed.
 * Every check is made before the first byte, so a refusal writes nothing; the download itself
 * is recorded in the request's ledger (`records_read`, `{ format: 'zip' }`) before it starts.
 */

/** Rows of each source shown in index.html; the JSON and CSV files hold every row. */
export const HTML_ROWS_PER_SOURCE = 1000;

export interface PackageFile {
  name: string;
  data: AsyncIterable<Buffer>;
}

export interface RecordsPackageDownload {
  requestId: string;
  /** What the person's copy is called, e.g. `records-<id>.zip`. */
  fileName: string;
  generatedAt: Date;
  /** The files, each streamed; pulled one after the other. */
  files: AsyncIterable<PackageFile>;
}

/** A records task whose rows are in the package. */
interface Included {
  instance: Instance;
  records: RecordsOutput;
}

/** A records task that has no rows in the package, and why. */
interface Missing {
  instance: Instance;
  why: string;
}

type Deps = Pick<AppDeps, 'store' | 'clock' | 'log'> & { records: RecordStore };

/** Checks that the request has a package, records the download, and returns its files. */
export async function openRecordsPackage(
  deps: Deps,
  requestId: string,
  actor: Actor,
  options: { htmlRowsPerSource?: number } = {},
): Promise<RecordsPackageDownload> {
  const request = await deps.store.getRequest(requestId);
  if (request === null) throw new NotFoundError(`no request with id ${requestId}`);
  if (request.type !== 'records') {
    throw new ConflictError(
      `request ${requestId} is a ${request.type} request: only a records request has a records package`,
      'not_records_request',
    );
  }
  if (request.minimised === true) {
    throw new ConflictError(
      `the records package of request ${requestId} was deleted at ${request.minimisedAt ?? 'an earlier date'}, PII_RETENTION_DAYS after the request closed`,
      'records_deleted',
    );
  }
  const [instances, runs] = await Promise.all([
    deps.store.listInstances(requestId),
    deps.store.listRuns(requestId),
  ]);
  const status = summarise(instances, undefined, request.dryRun).status;
  if (request.denial !== undefined || request.status === 'denied') {
    throw new ConflictError(
      `request ${requestId} was denied: it has no records package`,
      'no_records_package',
    );
  }
  if (isOpenStatus(status)) {
    throw new ConflictError(
      `request ${requestId} is ${status}: its records package is ready once it has completed`,
      'records_not_ready',
    );
  }
  const { included, missing } = sortOut(instances, runs);
  if (status === 'cancelled' || included.length === 0) {
    throw new ConflictError(
      request.dryRun
        ? `request ${requestId} is a dry run: it exported no rows, so it has no records package`
        : `request ${requestId} is ${status} with no exported rows: it has no records package`,
      'no_records_package',
    );
  }

  const generatedAt = deps.clock.now();
  const taskIds = included.map((i) => i.instance.taskId);
  await recordAction(deps, requestId, 'records_read', actor, { format: 'zip', taskIds });
  const log = deps.log.child({ labels: { requestId } });
  log.info('request.records_read', 'records package download started', {
    readBy: actor.identity,
    format: 'zip',
    tasks: taskIds,
    rows: included.reduce((n, i) => n + i.records.rowCount, 0),
  });
  const build: Build = {
    deps,
    request,
    included,
    missing,
    generatedAt,
    htmlRows: options.htmlRowsPerSource ?? HTML_ROWS_PER_SOURCE,
  };
  return {
    requestId,
    fileName: `records-${requestId}.zip`,
    generatedAt,
    files: packageFiles(build, (summary) =>
      log.info('request.package_sent', 'records package sent in full', {
        readBy: actor.identity,
        format: 'zip',
        ...summary,
        durationMs: deps.clock.now().getTime() - generatedAt.getTime(),
      }),
    ),
  };
}

/** Records tasks in taskId order: those whose last run stored rows, and the others. */
function sortOut(
  instances: readonly Instance[],
  runs: readonly Run[],
): { included: Included[]; missing: Missing[] } {
  const runsById = new Map(runs.map((r) => [r.runId, r]));
  const included: Included[] = [];
  const missing: Missing[] = [];
  const records = instances
    .filter((i) => i.jobType === 'records')
    .sort((a, b) => a.taskId.localeCompare(b.taskId));
  for (const instance of records) {
    const run = instance.lastRun === undefined ? undefined : runsById.get(instance.lastRun.runId);
    const output = recordsOutputOf(run?.output);
    if (output !== undefined && instance.state === 'succeeded') {
      included.push({ instance, records: output });
    } else {
      missing.push({ instance, why: whyMissing(instance, run) });
    }
  }
  return { included, missing };
}

function whyMissing(instance: Instance, run: Run | undefined): string {
  switch (instance.state) {
    case 'skipped':
      return 'not run: the request did not give the identifier this source needs';
    case 'failed':
      return 'the export failed';
    case 'cancelled':
      return 'cancelled before it ran';
    case 'succeeded':
      return run?.dryRun === true
        ? 'a dry run: nothing was exported'
        : 'this source keeps no rows for the package';
    default:
      return `not finished (${instance.state})`;
  }
}

interface Build {
  deps: Deps;
  request: Request;
  included: Included[];
  missing: Missing[];
  generatedAt: Date;
  htmlRows: number;
}

interface Summed {
  name: string;
  bytes: number;
  sha256: string;
}

async function* packageFiles(
  b: Build,
  onEnd: (summary: { files: number; bytes: number }) => void,
): AsyncGenerator<PackageFile> {
  const summed: Summed[] = [];
  const file = (name: string, content: AsyncIterable<string | Buffer>): PackageFile => ({
    name,
    data: hashed(name, content, summed),
  });
  yield file('README.txt', once(readme(b)));
  yield file('index.html', indexHtml(b));
  for (const source of b.included) {
    yield file(`${source.instance.taskId}.json`, jsonRows(b, source));
    yield file(`${source.instance.taskId}.csv`, csvRows(b, source));
  }
  // Last: every hash above is known only once its file has streamed.
  yield { name: 'manifest.json', data: bytesOf(once(manifest(b, summed))) };
  onEnd({ files: summed.length + 1, bytes: summed.reduce((n, f) => n + f.bytes, 0) });
}

/** Passes `content` through as bytes, and notes its size and SHA-256 once it has all passed. */
async function* hashed(
  name: string,
  content: AsyncIterable<string | Buffer>,
  into: Summed[],
): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const part of content) {
    const buffer = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    hash.update(buffer);
    bytes += buffer.length;
    yield buffer;
  }
  into.push({ name, bytes, sha256: hash.digest('hex') });
}

async function* bytesOf(content: AsyncIterable<string | Buffer>): AsyncGenerator<Buffer> {
  for await (const part of content) {
    yield typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
  }
}

async function* once(content: string | Buffer): AsyncGenerator<string | Buffer> {
  yield content;
}

function segmentsOf(b: Build, source: Included): AsyncGenerator<RecordSegment> {
  return readRecordSegments(b.deps.records, setOf(b, source), source.records);
}

const setOf = (b: Build, source: Included) => ({
  requestId: b.request.id,
  taskId: source.instance.taskId,
  setId: source.records.setId,
});

/** Text is handed on in pieces of about this many characters. */
const PIECE_CHARS = 32 * 1024;
const OPEN = Buffer.from('[');
const FIRST = Buffer.from('\n');
const NEXT = Buffer.from(',\n');
const NEWLINE = 0x0a;

/**
 * The rows as exported, one per line, in a JSON array: the stored NDJSON bytes with a comma
 * between lines, never decoded (JSON text holds no raw newline, and no UTF-8 sequence holds
 * the byte 0x0a), so a segment costs one copy.
 */
async function* jsonRows(b: Build, source: Included): AsyncGenerator<Buffer> {
  let separator = FIRST;
  yield OPEN;
  for await (const segment of segmentsOf(b, source)) {
    const parts: Buffer[] = [];
    let at = 0;
    for (let row = 0; row < segment.rows; row++) {
      const end = segment.ndjson.indexOf(NEWLINE, at);
      if (end < 0) throw new Error(`record set ${source.records.setId}: a segment is cut short`);
      parts.push(separator, segment.ndjson.subarray(at, end));
      separator = NEXT;
      at = end + 1;
    }
    if (parts.length > 0) yield Buffer.concat(parts);
  }
  yield Buffer.from(separator === FIRST ? ']\n' : '\n]\n');
}

/**
 * The exported columns in the source's order; a key a row has beyond them (none, for the
 * built-in exporters, whose rows all have the result's columns) goes in a last `_other`
 * column as JSON, so nothing is dropped.
 */
async function* csvRows(b: Build, source: Included): AsyncGenerator<string> {
  const columns = source.records.columns;
  const declared = new Set(columns);
  yield csvRecord([...columns, '_other']);
  for await (const segment of segmentsOf(b, source)) {
    let text = '';
    for (const line of segmentLines(setOf(b, source), segment)) {
      const row = JSON.parse(line) as RecordRow;
      const other = extraKeys(row, declared);
      text += csvRecord([
        ...columns.map((c) => (Object.hasOwn(row, c) ? row[c] : null)),
        other === undefined ? null : JSON.stringify(other),
      ]);
      // Pieces below V8's large-object size are collected young.
      if (text.length >= PIECE_CHARS) {
        yield text;
        text = '';
      }
    }
    if (text !== '') yield text;
  }
}

function extraKeys(row: RecordRow, declared: ReadonlySet<string>): RecordRow | undefined {
  let other: RecordRow | undefined;
  for (const key of Object.keys(row)) {
    if (declared.has(key)) continue;
    other ??= Object.create(null) as RecordRow;
    other[key] = row[key] ?? null;
  }
  return other;
}

const date = (iso: string | undefined) => (iso === undefined ? 'not recorded' : iso);

function readme(b: Build): string {
  const r = b.request;
  const lines = [
    'Your personal data: the records package',
    '',
    `Request:            ${r.id}`,
    ...(r.externalId === undefined ? [] : [`Your reference:     ${r.externalId}`]),
    `Regulation:         ${r.regulation}`,
    `Request received:   ${r.receivedAt}`,
    `Request completed:  ${date(r.completedAt)}`,
    `Package generated:  ${b.generatedAt.toISOString()}`,
    '',
    'Sources:',
    ...b.included.map(
      (s) =>
        `- ${s.instance.taskName} (${s.records.source}): ${s.records.rowCount} rows, in ${s.instance.taskId}.json and ${s.instance.taskId}.csv${s.records.truncated ? ` (the source holds ${s.records.totalRows}; the export was limited to ${s.records.rowCount})` : ''}`,
    ),
    ...b.missing.map((m) => `- ${m.instance.taskName}: not in this package (${m.why})`),
    '',
    'Files:',
    '- index.html: a readable report of the data; open it in a web browser.',
    '- <source>.json: the rows exactly as exported, as a JSON array.',
    '- <source>.csv: the same rows as a table (UTF-8, comma-separated; a cell a spreadsheet',
    "  would run as a formula starts with ').",
    '- manifest.json: each file with its size and SHA-256, to check that nothing changed:',
    '    python3 -c \'import json;[print(f["sha256"]+"  "+f["name"]) for f in json.load(open("manifest.json"))["files"]]\' | sha256sum -c',
    '',
  ];
  return lines.join('\n');
}

const STYLE = [
  'body{font-family:system-ui,sans-serif;margin:2rem;color:#222}',
  'table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}',
  'th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}',
  'th{background:#eee}',
  'td{white-space:pre-wrap;word-break:break-word}',
  'dt{font-weight:bold}',
].join('');

async function* indexHtml(b: Build): AsyncGenerator<string> {
  const r = b.request;
  const e = escapeHtml;
  const facts: Array<[string, string]> = [
    ['Request', r.id],
    ...(r.externalId === undefined ? [] : [['Your reference', r.externalId] as [string, string]]),
    ['Regulation', r.regulation],
    ['Received', r.receivedAt],
    ['Completed', date(r.completedAt)],
    ['Package generated', b.generatedAt.toISOString()],
  ];
  yield [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // A constant with no double quote: written as it is, so the policy reads plainly.
    `<meta http-equiv="Content-Security-Policy" content="${PACKAGE_HTML_CSP}">`,
    '<meta name="referrer" content="no-referrer">',
    `<title>Your personal data: request ${e(r.id)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<h1>Your personal data</h1>',
    `<dl>${facts.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('')}</dl>`,
    '<h2>Sources</h2>',
    '<ul>',
    ...b.included.map(
      (s) =>
        `<li>${e(s.instance.taskName)}: ${s.records.rowCount} rows (${e(s.instance.taskId)}.json, ${e(s.instance.taskId)}.csv)</li>`,
    ),
    ...b.missing.map(
      (m) => `<li>${e(m.instance.taskName)}: not in this package (${e(m.why)})</li>`,
    ),
    '</ul>',
    '',
  ].join('\n');
  for (const source of b.included) yield* sourceTable(b, source);
  yield '</body>\n</html>\n';
}

async function* sourceTable(b: Build, source: Included): AsyncGenerator<string> {
  const e = escapeHtml;
  const { columns, rowCount } = source.records;
  const shown = Math.min(rowCount, b.htmlRows);
  yield [
    `<section>`,
    `<h2>${e(source.instance.taskName)}</h2>`,
    `<p>From ${e(source.records.source)}: ${rowCount} rows${shown < rowCount ? `; the first ${shown} are shown here, and every row is in ${e(source.instance.taskId)}.json and ${e(source.instance.taskId)}.csv` : ''}.</p>`,
    '<table>',
    `<thead><tr>${columns.map((c) => `<th>${e(c)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    '',
  ].join('\n');
  let written = 0;
  if (shown > 0) {
    for await (const segment of segmentsOf(b, source)) {
      let text = '';
      for (const line of segmentLines(setOf(b, source), segment)) {
        if (written >= shown) break;
        const row = JSON.parse(line) as RecordRow;
        const cells = columns.map((c) => e(cellText(Object.hasOwn(row, c) ? row[c] : null)));
        text += `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>\n`;
        written += 1;
        if (text.length >= PIECE_CHARS) {
          yield text;
          text = '';
        }
      }
      if (text !== '') yield text;
      if (written >= shown) break;
    }
  }
  yield '</tbody>\n</table>\n</section>\n';
}

function manifest(b: Build, files: readonly Summed[]): string {
  return `${JSON.stringify(
    {
      requestId: b.request.id,
      generatedAt: b.generatedAt.toISOString(),
      algorithm: 'sha256',
      files,
      sources: b.included.map((s) => ({
        taskId: s.instance.taskId,
        taskName: s.instance.taskName,
        source: s.records.source,
        rows: s.records.rowCount,
        totalRows: s.records.totalRows,
        truncated: s.records.truncated,
        files: [`${s.instance.taskId}.json`, `${s.instance.taskId}.csv`],
      })),
      notIncluded: b.missing.map((m) => ({
        taskId: m.instance.taskId,
        taskName: m.instance.taskName,
        state: m.instance.state,
        why: m.why,
      })),
    },
    null,
    2,
  )}\n`;
}
