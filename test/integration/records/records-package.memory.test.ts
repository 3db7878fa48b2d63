import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { createFirestoreRecordStore } from '../../../src/adapters/firestore/firestore-record-store';
import { createFirestoreStore } from '../../../src/adapters/firestore/firestore-store';
import { createFirestoreAccessStore } from '../../../src/adapters/firestore/policy-store';
import type { RecordRow } from '../../../src/ports/record-store';
import { firestoreForTest, type TestFirestore } from '../../helpers/firestore-emulator';
import { freePort } from '../../helpers/free-port';
import { seedRecordsRequest } from './seed-records';

/**
 * A records package far larger than the api's memory budget, served by the api function as its
 * own process (functions/serve.ts, as the local stack runs it): the download completes, the zip
 * is whole, and the process's peak resident set (VmHWM) stays under 256 MiB.
 */

jest.setTimeout(300_000);

const ROOT = join(__dirname, '../../..');
const READER = 'reader@example.com';
const ID = 'd'.repeat(32);
const MiB = 2 ** 20;
/** Rows of ~1 KiB of random base64: deflate saves only about a quarter of it. */
const ROWS = 40_000;
const LIMIT_KB = 256 * 1024;

let fs: TestFirestore;
let api: ChildProcess | undefined;
let dir: string;

beforeAll(() => {
  fs = firestoreForTest();
  dir = mkdtempSync(join(tmpdir(), 'records-package-memory-'));
});
afterAll(async () => {
  if (api !== undefined && api.exitCode === null && api.signalCode === null) {
    const exited = new Promise((resolve) => api?.once('exit', resolve));
    api.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
  await fs?.close();
});

async function* pages(): AsyncGenerator<RecordRow[]> {
  for (let i = 0; i < ROWS; i += 1000) {
    yield Array.from({ length: Math.min(1000, ROWS - i) }, (_, j) => ({
      user_id: `u-${i + j}`,
      payload: randomBytes(720).toString('base64'),
      at: '2030-01-01T00:00:00Z',
    }));
  }
}

async function startApi(port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      // V8's old generation capped below the package's own size (78 MiB of files): a download
      // that held the package, or one file of it, in memory would run out of heap and fail.
      // Without a cap V8 lets garbage pile up lazily towards the machine's memory, which says
      // nothing about what the download holds.
      '--max-old-space-size=64',
      '--import',
      pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href,
      join(ROOT, 'functions/serve.ts'),
      'api',
      String(port),
    ],
    {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        GOOGLE_CLOUD_PROJECT: fs.projectId,
        FIRESTORE_EMULATOR_HOST: fs.host,
        RUN_TASK_URL: 'http://127.0.0.1:1/',
        TASKS_INVOKER_SA: 'tasks-invoker@memory-test.iam.gserviceaccount.com',
        SUBJECT_HASH_PEPPER: 'memory-test-pepper-0123456789',
        LOCAL_MODE: 'true',
        SCHEDULER_SA: 'scheduler@memory-test.iam.gserviceaccount.com',
        TASKS_OIDC_JWKS_URL: 'http://127.0.0.1:1/jwks',
        TASKS_OIDC_ISSUER: 'http://127.0.0.1:1',
        CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:1',
        METADATA_SERVER_DETECTION: 'none',
        K_SERVICE: 'api',
        K_REVISION: 'api-memory-test',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`api exited with ${code} before it was ready`)));
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (line.includes('listening on')) resolve();
    });
  });
  return child;
}

/** Peak and current resident set of a process, in KiB, from /proc. */
function memoryOf(pid: number): { peakKb: number; nowKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { peakKb: kb('VmHWM'), nowKb: kb('VmRSS') };
}

it('serves a package over 50 MiB with the api process under 256 MiB resident', async () => {
  const records = createFirestoreRecordStore(fs.db);
  await seedRecordsRequest(
    createFirestoreStore(fs.db),
    records,
    ID,
    // The record sink's own flush size: eight chunks in one write once hung the emulator.
    [{ taskId: 'events', taskName: 'Events', rows: pages() }],
  );
  const access = createFirestoreAccessStore(fs.db);
  const { etag } = await access.getPolicy();
  await access.setPolicy(
    etag,
    { bindings: [{ role: 'records_reader', members: [`user:${READER}`] }], groups: {} },
    'root@example.com',
    new Date().toISOString(),
  );

  const port = await freePort();
  api = await startApi(port);
  const pid = api.pid as number;
  const before = memoryOf(pid);

  const res = await fetch(`http://127.0.0.1:${port}/requests/${ID}/records/package`, {
    headers: { 'x-dev-identity': READER },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/zip');
  const zip = join(dir, 'package.zip');
  await pipeline(
    Readable.fromWeb(res.body as Parameters<typeof Readable.fromWeb>[0]),
    createWriteStream(zip),
  );
  const after = memoryOf(pid);

  const size = readFileSync(zip).length;
  expect(size).toBeGreaterThan(50 * MiB);
  execFileSync('unzip', ['-tq', zip]);
  const manifest = JSON.parse(execFileSync('unzip', ['-p', zip, 'manifest.json']).toString()) as {
    files: { name: string; bytes: number }[];
  };
  expect(manifest.files.map((f) => f.name)).toEqual([
    'README.txt',
    'index.html',
    'events.json',
    'events.csv',
  ]);
  process.stdout.write(
    `records package ${(size / MiB).toFixed(1)} MiB zipped, ${(manifest.files.reduce((n, f) => n + f.bytes, 0) / MiB).toFixed(1)} MiB of files; api VmHWM ${Math.round(before.peakKb / 1024)} MiB before, ${Math.round(after.peakKb / 1024)} MiB after\n`,
  );
  expect(after.peakKb).toBeLessThan(LIMIT_KB);
});
