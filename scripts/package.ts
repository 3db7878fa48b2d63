/**
 * `npm run package`: builds the functions (`npm run build` -> dist/) and zips what Cloud
 * Functions deploys: dist/ plus package.json and package-lock.json, at the zip's root.
 *
 * The zip holds compiled JavaScript only, so the Cloud Build step must not compile again:
 * package.json's `gcp-build` script is empty, which tells the Node.js buildpack to skip `build`
 * and just `npm ci` the production dependencies. functions-framework then loads `main`
 * (dist/functions/index.js), which registers the entry points api, runTask and dispatch.
 *
 * The zip is reproducible (sorted entries, fixed timestamps), so the same code gives the same
 * MD5, and infra/functions.tf names the uploaded object by that MD5: new code redeploys, an
 * unchanged build does not. Only Node built-ins are used; no `zip` binary is needed.
 *
 * Usage: npm run package [-- <output.zip>]   (default: dist/function-source.zip)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { deflateRawSync } from 'node:zlib';

/** Where the zip goes, relative to the repository; infra/functions.tf uploads it from here. */
export const DEFAULT_OUTPUT = 'dist/function-source.zip';

const root = resolve(__dirname, '..');
const dist = join(root, 'dist');
const output = resolve(root, process.argv[2] ?? DEFAULT_OUTPUT);

export interface ZipEntry {
  /** Path inside the archive, with forward slashes. */
  name: string;
  data: Buffer;
}

function main(): void {
  rmSync(dist, { recursive: true, force: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const build = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    process.stderr.write(
      `npm run build failed (exit ${build.status ?? build.signal}); nothing packaged\n`,
    );
    process.exit(1);
  }
  const entry = join(dist, 'functions', 'index.js');
  if (!existsSync(entry)) {
    process.stderr.write(
      `${relative(root, entry)} is missing after the build: package.json "main" would not load\n`,
    );
    process.exit(1);
  }
  const files = [
    ...listFiles(dist).filter((f) => f !== output),
    join(root, 'package.json'),
    join(root, 'package-lock.json'),
  ];
  const entries = files
    .map((file) => ({ name: relative(root, file).split(sep).join('/'), data: readFileSync(file) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const zip = createZip(entries);
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, zip);
  const md5 = createHash('md5').update(zip).digest('hex');
  process.stdout.write(
    `${relative(root, output)}: ${entries.length} files, ${zip.length} bytes, md5 ${md5}\n` +
      `Terraform uploads it as function-source/${md5}.zip\n`,
  );
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

// MS-DOS date and time of 1980-01-01 00:00, the zip epoch: timestamps never change the bytes.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const VERSION = 20; // 2.0: deflate
const MADE_BY_UNIX = (3 << 8) | VERSION;
const FILE_MODE = 0o100644;

/** A deterministic zip of the entries (deflated, or stored when that is smaller). */
export function createZip(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const fileName = Buffer.from(name, 'utf8');
    const deflated = deflateRawSync(data, { level: 9 });
    const stored = deflated.length >= data.length;
    const body = stored ? data : deflated;
    const method = stored ? 0 : 8;
    const crc = crc32(data);
    const flags = 0x0800; // names are UTF-8

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, fileName, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    central.writeUInt16LE(VERSION, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE((FILE_MODE << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, fileName);

    offset += local.length + fileName.length + body.length;
    if (offset > 0xffffffff || entries.length > 0xffff)
      throw new Error('the archive needs ZIP64, which this writer does not do');
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

let table: Uint32Array | undefined;

/** CRC-32 (IEEE), as zip needs; node:zlib only exports one from Node 20.15. */
export function crc32(data: Uint8Array): number {
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (const byte of data) crc = (table[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

if (require.main === module) main();
