import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { crc32, createZip, DEFAULT_OUTPUT, type ZipEntry } from '../../scripts/package';
import { INFRA_DIR, loadModule, REPO_ROOT } from './support/terraform';

/** Reads a zip back through its central directory (what Cloud Build's unzip does). */
function readZip(zip: Buffer): ZipEntry[] {
  const end = zip.length - 22;
  expect(zip.readUInt32LE(end)).toBe(0x06054b50);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const offset = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const localNameLength = zip.readUInt16LE(offset + 26);
    const body = zip.subarray(offset + 30 + localNameLength, offset + 30 + localNameLength + size);
    const data = method === 8 ? inflateRawSync(body) : Buffer.from(body);
    expect(crc32(data)).toBe(crc);
    entries.push({ name, data });
    at += 46 + nameLength;
  }
  return entries;
}

describe('npm run package', () => {
  const entries: ZipEntry[] = [
    { name: 'dist/functions/index.js', data: Buffer.from('exports.x = 1;\n'.repeat(50)) },
    { name: 'package.json', data: Buffer.from('{"main":"dist/functions/index.js"}') },
    { name: 'empty.txt', data: Buffer.alloc(0) },
  ];

  it('computes the standard CRC-32', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });

  it('writes a zip that reads back to the same files, byte for byte', () => {
    const back = readZip(createZip(entries));
    expect(back.map((e) => [e.name, e.data.toString('hex')])).toEqual(
      entries.map((e) => [e.name, e.data.toString('hex')]),
    );
  });

  it('is reproducible, so the same code keeps the same content-hashed object name', () => {
    expect(createZip(entries).equals(createZip(entries))).toBe(true);
  });

  it('is accepted by unzip, where unzip is installed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsr-zip-'));
    try {
      const path = join(dir, 'probe.zip');
      writeFileSync(path, createZip(entries));
      const result = spawnSync('unzip', ['-t', path], { encoding: 'utf8' });
      if (result.error !== undefined) return; // no unzip binary: the read-back test above stands
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ships compiled output, so gcp-build must not compile again, and main points into it', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      main: string;
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['package']).toBe('tsx scripts/package.ts');
    expect(pkg.scripts['gcp-build']).toBe('');
    expect(pkg.main).toMatch(/^dist\/functions\/index\.js$/);
  });

  it('writes the zip where Terraform uploads it from', async () => {
    const root = await loadModule();
    const local = String(root.locals['function_source_zip']);
    const path = /"\$\{path\.root\}\/([^"]+)"/.exec(local)?.[1];
    if (path === undefined) throw new Error(`unexpected local.function_source_zip: ${local}`);
    // path.root is infra/ when Terraform runs there.
    expect(relative(REPO_ROOT, resolve(INFRA_DIR, path))).toBe(DEFAULT_OUTPUT);
  });
});
