import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFirestoreRecordStore } from '../../../src/adapters/firestore/firestore-record-store';
import { createFirestoreAccessStore } from '../../../src/adapters/firestore/policy-store';
import { createApiVerifier } from '../../../src/adapters/identity/verifiers';
import type { Member, Role } from '../../../src/domain/access';
import { handleApi, type ApiContext } from '../../../src/http/api-routes';
import { errorResponse } from '../../../src/http/error-response';
import type { HttpResponse } from '../../../src/http/types';
import type { RecordRow, RecordStore } from '../../../src/ports/record-store';
import { snapshotFirestore } from '../../e2e/support/firestore-snapshot';
import { readZip } from '../../helpers/read-zip';
import { T0, useDispatchFixture } from '../dispatch/harness';
import { seedRecordsRequest } from './seed-records';

/**
 * GET /requests/:id/records/package on the Firestore emulator: the zip unzips with unzip and
 * Python, every hash in its manifest matches, the JSON and CSV files hold exactly the exported
 * rows, data planted to run in index.html is inert, each download is in the ledger, and every
 * refusal writes nothing.
 */

const READER = 'reader@example.com';
const ID = 'b'.repeat(32);
const SUBJECT_EMAIL = 'ada.lovelace@example.com';
const XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';

/** Rows a CSV or HTML writer can get wrong, spread over many small chunks. */
const crmRows: RecordRow[] = Array.from({ length: 240 }, (_, i) => ({
  user_id: `u-${i}`,
  email: SUBJECT_EMAIL,
  note: ['plain', 'a, comma', 'a "quote"', 'two\nlines', 'crlf\r\nend', 'é ü 中文 🙂'][i % 6] ?? '',
  formula: ['=HYPERLINK("http://evil","x")', '+1', '-2', '@SUM(A1)', '\tTab', 'safe'][i % 6] ?? '',
  score: i % 2 === 0 ? -i - 1 : i + 0.5,
  tags: i % 3 === 0 ? ['a', 'b'] : null,
  address: i % 4 === 0 ? { city: 'Paris', zip: '75001' } : null,
  active: i % 5 === 0,
}));
const eventRows: RecordRow[] = [
  { event: XSS, at: '2030-01-01T00:00:00Z' },
  { event: '<SCRIPT SRC=//evil.example/x.js></SCRIPT>', at: null },
];

describe('GET /requests/:id/records/package', () => {
  const f = useDispatchFixture();
  let records: RecordStore;
  let ctx: ApiContext;
  let dir: string;

  beforeEach(async () => {
    records = createFirestoreRecordStore(f.store.fs.db);
    const access = createFirestoreAccessStore(f.store.fs.db);
    const { etag } = await access.getPolicy();
    const bindings: { role: Role; members: Member[] }[] = [
      { role: 'records_reader', members: [`user:${READER}`] },
    ];
    await access.setPolicy(etag, { bindings, groups: {} }, 'root@example.com', T0.toISOString());
    ctx = {
      deps: f.deps(),
      records,
      access,
      verifyCaller: createApiVerifier({ localMode: true, audiences: [], clock: { now: () => T0 } }),
      bootstrapAdmins: [],
    };
    dir = mkdtempSync(join(tmpdir(), 'records-package-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function download(
    path = `/requests/${ID}/records/package`,
    query: Record<string, unknown> = {},
  ): Promise<HttpResponse & { bytes?: Buffer }> {
    let res: HttpResponse;
    try {
      res = await handleApi(ctx, {
        method: 'GET',
        path,
        query,
        headers: { 'x-dev-identity': READER },
        body: undefined,
      });
    } catch (err) {
      return errorResponse(err, ctx.deps.log);
    }
    if (res.stream === undefined) return res;
    const parts: Buffer[] = [];
    for await (const part of res.stream) parts.push(Buffer.from(part));
    return { ...res, bytes: Buffer.concat(parts) };
  }

  const seedFull = () =>
    seedRecordsRequest(
      f.store.store,
      records,
      ID,
      [
        { taskId: 'crm', taskName: 'CRM contacts', rows: crmRows },
        { taskId: 'events', taskName: `Events ${XSS}`, rows: eventRows, columns: ['event', 'at'] },
        { taskId: 'support', taskName: 'Support tickets', state: 'skipped' },
      ],
      { subject: { email: SUBJECT_EMAIL } },
      { chunkBytes: 2048 },
    );

  /** Python's csv module reads the file: an independent RFC 4180 reader. */
  const pythonCsv = (file: string) =>
    JSON.parse(
      execFileSync('python3', [
        '-c',
        "import csv,json,sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))))",
        file,
      ]).toString(),
    ) as string[][];

  it('streams a zip that unzip and Python accept, whose manifest hashes match every file', async () => {
    await seedFull();
    const res = await download();
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({
      'Content-Type': 'application/zip',
      'Content-Disposition': `attachment; filename="records-${ID}.zip"`,
      'Cache-Control': 'no-store',
    });
    const zip = join(dir, 'package.zip');
    writeFileSync(zip, res.bytes as Buffer);
    execFileSync('unzip', ['-tq', zip]);
    execFileSync('python3', ['-m', 'zipfile', '-t', zip]);
    execFileSync('unzip', ['-q', zip, '-d', join(dir, 'out')]);
    const out = join(dir, 'out');

    expect(readZip(res.bytes as Buffer).map((e) => e.name)).toEqual([
      'README.txt',
      'index.html',
      'crm.json',
      'crm.csv',
      'events.json',
      'events.csv',
      'manifest.json',
    ]);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      requestId: string;
      files: { name: string; bytes: number; sha256: string }[];
      sources: { taskId: string; rows: number }[];
      notIncluded: { taskId: string; state: string }[];
    };
    expect(manifest.requestId).toBe(ID);
    expect(manifest.files.map((x) => x.name).sort()).toEqual(
      readdirSync(out)
        .filter((n) => n !== 'manifest.json')
        .sort(),
    );
    for (const file of manifest.files) {
      const bytes = readFileSync(join(out, file.name));
      expect({ name: file.name, bytes: bytes.length, sha256: sha256(bytes) }).toEqual(file);
    }
    expect(manifest.sources).toEqual([
      expect.objectContaining({ taskId: 'crm', rows: 240 }),
      expect.objectContaining({ taskId: 'events', rows: 2 }),
    ]);
    expect(manifest.notIncluded).toEqual([
      expect.objectContaining({ taskId: 'support', state: 'skipped' }),
    ]);

    // The check the docs give the person: it passes, and fails once a file changes.
    const check = `python3 -c 'import json;[print(f["sha256"]+"  "+f["name"]) for f in json.load(open("manifest.json"))["files"]]' | sha256sum -c`;
    expect(execFileSync('sh', ['-c', check], { cwd: out }).toString()).toMatch(/crm\.csv: OK/);
    writeFileSync(join(out, 'crm.csv'), 'changed');
    expect(() => execFileSync('sh', ['-c', check], { cwd: out, stdio: 'pipe' })).toThrow();
  });

  it('holds exactly the exported rows, in JSON as they were and in CSV cell by cell', async () => {
    await seedFull();
    const res = await download();
    const files = new Map(readZip(res.bytes as Buffer).map((e) => [e.name, e.data]));
    expect(JSON.parse(files.get('crm.json')?.toString('utf8') ?? '')).toEqual(crmRows);
    expect(JSON.parse(files.get('events.json')?.toString('utf8') ?? '')).toEqual(eventRows);

    const csvFile = join(dir, 'crm.csv');
    writeFileSync(csvFile, files.get('crm.csv') as Buffer);
    const table = pythonCsv(csvFile);
    const columns = Object.keys(crmRows[0] as RecordRow);
    expect(table[0]).toEqual([...columns, '_other']);
    expect(table).toHaveLength(crmRows.length + 1);
    const formulaSafe = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
    const cell = (v: RecordRow[string]) =>
      v === null
        ? ''
        : typeof v === 'string'
          ? formulaSafe(v)
          : typeof v === 'object'
            ? JSON.stringify(v)
            : String(v);
    crmRows.forEach((row, i) => {
      expect(table[i + 1]).toEqual([...columns.map((c) => cell(row[c] ?? null)), '']);
    });
    // CRLF record ends, as RFC 4180 has them, and every formula start is neutralised.
    const text = files.get('crm.csv')?.toString('utf8') ?? '';
    expect(text.startsWith(`${columns.join(',')},_other\r\n`)).toBe(true);
    expect(text).toContain(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(text).not.toMatch(/(^|,)[=+@]/m);
  });

  it('renders index.html with every value escaped, no script at all, and a CSP that forbids one', async () => {
    await seedFull();
    const res = await download();
    const files = new Map(readZip(res.bytes as Buffer).map((e) => [e.name, e.data]));
    const html = files.get('index.html')?.toString('utf8') ?? '';
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    // No attribute an attacker wrote: every tag is one of ours.
    const tags = new Set(
      [...html.matchAll(/<\/?([a-zA-Z0-9!]+)/g)].map((m) => m[1]?.toLowerCase()),
    );
    expect([...tags].sort()).toEqual(
      [
        '!doctype',
        'body',
        'dd',
        'dl',
        'dt',
        'h1',
        'h2',
        'head',
        'html',
        'li',
        'meta',
        'p',
        'section',
        'style',
        'table',
        'tbody',
        'td',
        'th',
        'thead',
        'title',
        'tr',
        'ul',
      ].sort(),
    );
    expect(html).not.toMatch(/<[^>]*\son\w+\s*=/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x');
    expect(html).toContain('&lt;SCRIPT SRC=//evil.example/x.js&gt;&lt;/SCRIPT&gt;');
    // The policy comes before anything it governs.
    const csp = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`;
    expect(html.indexOf(csp)).toBeGreaterThan(0);
    expect(html.indexOf(csp)).toBeLessThan(html.indexOf('<style>'));
    expect(html.indexOf(csp)).toBeLessThan(html.indexOf('<title>'));
    // Each source as a table, the readable values in it.
    expect(html).toContain('<h2>CRM contacts</h2>');
    expect(html).toContain('<td>a &quot;quote&quot;</td>');
    expect(html).toContain(
      '<td>{&quot;city&quot;:&quot;Paris&quot;,&quot;zip&quot;:&quot;75001&quot;}</td>',
    );
    expect(html).toContain('Support tickets: not in this package');

    const readme = files.get('README.txt')?.toString('utf8') ?? '';
    expect(readme).toContain(`Request:            ${ID}`);
    expect(readme).toContain('Package generated:  2030-03-01T12:00:00.000Z');
    expect(readme).toContain('- CRM contacts (proj.warehouse.crm): 240 rows');
    expect(readme).toContain('- Support tickets: not in this package');
  });

  it('records each download in the ledger and the log with its reader, and no identifier', async () => {
    await seedFull();
    await download();
    await download();
    const ledger = await f.store.store.listLedger({ kind: 'request', requestId: ID });
    const reads = ledger.filter((e) => e.kind === 'records_read');
    expect(reads).toHaveLength(2);
    expect(reads[0]).toMatchObject({
      actor: READER,
      taskIds: ['crm', 'events'],
      details: { format: 'zip' },
    });
    expect(f.events('request.records_read')).toEqual([
      expect.objectContaining({ readBy: READER, format: 'zip', tasks: ['crm', 'events'] }),
      expect.objectContaining({ readBy: READER, format: 'zip' }),
    ]);
    expect(f.events('request.package_sent')).toEqual([
      expect.objectContaining({ readBy: READER, files: 7 }),
      expect.objectContaining({ readBy: READER, files: 7 }),
    ]);
    const logged = JSON.stringify(f.lines);
    expect(logged).not.toContain(SUBJECT_EMAIL);
    expect(logged).not.toContain('u-1');
  });

  it('reads only one segment of rows at a time, whatever the set holds', async () => {
    await seedFull();
    const reads: number[][] = [];
    const getChunks = records.getChunks.bind(records);
    ctx = {
      ...ctx,
      records: {
        ...records,
        getChunks: (set, indexes) => {
          reads.push([...indexes]);
          return getChunks(set, indexes);
        },
      },
    };
    const res = await download();
    expect(res.status).toBe(200);
    expect(reads.length).toBeGreaterThan(10);
    for (const indexes of reads) expect(indexes.length).toBe(1);
  });

  describe('refusals: a JSON error, and nothing written', () => {
    const cases: Array<{
      name: string;
      seed: () => Promise<unknown>;
      path?: string;
      query?: Record<string, unknown>;
      status: number;
      code: string;
    }> = [
      {
        name: 'a deletion request',
        seed: () => seedRecordsRequest(f.store.store, records, ID, [], { type: 'deletion' }),
        status: 409,
        code: 'not_records_request',
      },
      {
        name: 'a records request still running',
        seed: () =>
          seedRecordsRequest(
            f.store.store,
            records,
            ID,
            [
              { taskId: 'crm', rows: crmRows.slice(0, 3) },
              { taskId: 'events', state: 'running' },
            ],
            { status: 'in_progress' },
          ),
        status: 409,
        code: 'records_not_ready',
      },
      {
        name: 'a records request waiting for identity verification',
        seed: () =>
          seedRecordsRequest(
            f.store.store,
            records,
            ID,
            [{ taskId: 'crm', state: 'pending_verification' }],
            { status: 'awaiting_verification' },
          ),
        status: 409,
        code: 'records_not_ready',
      },
      {
        name: 'a completed records request that exported nothing',
        seed: () =>
          seedRecordsRequest(f.store.store, records, ID, [{ taskId: 'crm', state: 'skipped' }]),
        status: 409,
        code: 'no_records_package',
      },
      {
        name: 'a denied records request',
        seed: () =>
          seedRecordsRequest(f.store.store, records, ID, [{ taskId: 'crm', state: 'cancelled' }], {
            status: 'denied',
            denial: { at: T0.toISOString(), by: 'approver@example.com', reason: 'exempt' },
          }),
        status: 409,
        code: 'no_records_package',
      },
      {
        name: 'a minimised records request',
        seed: () =>
          seedRecordsRequest(f.store.store, records, ID, [{ taskId: 'crm', rows: crmRows }], {
            minimised: true,
            minimisedAt: T0.toISOString(),
          }),
        status: 409,
        code: 'records_deleted',
      },
      {
        name: 'an unknown request',
        seed: seedFull,
        path: `/requests/${'c'.repeat(32)}/records/package`,
        status: 404,
        code: 'not_found',
      },
      {
        name: 'a malformed id',
        seed: seedFull,
        path: '/requests/..%2Fx/records/package',
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'a query parameter',
        seed: seedFull,
        query: { format: 'tar' },
        status: 400,
        code: 'validation_failed',
      },
    ];

    it.each(cases)('$name: $status $code', async ({ seed, path, query, status, code }) => {
      await seed();
      const before = await snapshotFirestore(f.store.fs.db);
      const res = await download(path, query);
      expect({
        status: res.status,
        code: (res.body as { error: { code: string } }).error.code,
      }).toEqual({
        status,
        code,
      });
      expect(res.stream).toBeUndefined();
      expect(await snapshotFirestore(f.store.fs.db)).toEqual(before);
      expect(f.events('request.records_read')).toEqual([]);
    });
  });
});

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
