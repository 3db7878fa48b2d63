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
 * unchanged build does not. Only Node built-ins and src/http/zip-format.ts (the ZIP records it
 * shares with the records package's streaming writer) are used; no `zip` binary is needed.
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
import {
  centralHeader,
  crc32,
  DEFLATE,
  dosDateTime,
  endOfCentralDirectory,
  FLAG_UTF8,
  localHeader,
  STORED,
  type EntryHeader,
} from '../src/http/zip-format';

export { crc32 };

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

// 1980-01-01 00:00 UTC, the zip epoch (DOS time 0): timestamps never change the bytes.
const { time, date } = dosDateTime(new Date(Date.UTC(1980, 0, 1)));

/**
 * A deterministic zip of the entries (deflated, or stored when that is smaller). Unlike the
 * streaming writer it has each entry whole, so the local headers carry the CRC-32 and sizes and
 * there are no data descriptors: the most widely read form, for an archive Cloud Build unpacks.
 */
export function createZip(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const deflated = deflateRawSync(data, { level: 9 });
    const stored = deflated.length >= data.length;
    const body = stored ? data : deflated;
    const header: EntryHeader = {
      name: Buffer.from(name, 'utf8'),
      flags: FLAG_UTF8,
      method: stored ? STORED : DEFLATE,
      time,
      date,
      crc: crc32(data),
      compressedSize: body.length,
      size: data.length,
    };
    const local = localHeader(header);
    locals.push(local, body);
    centrals.push(centralHeader(header, offset));

    offset += local.length + body.length;
    if (offset > 0xffffffff || entries.length > 0xffff)
      throw new Error('the archive needs ZIP64, which this writer does not do');
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  return Buffer.concat([
    ...locals,
    ...centrals,
    endOfCentralDirectory(entries.length, centralSize, offset),
  ]);
}

if (require.main === module) main();
