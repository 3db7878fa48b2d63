import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw } from 'node:zlib';

/**
 * A streaming ZIP writer (PKWARE APPNOTE 6.3): each entry is deflated as its bytes arrive, so
 * nothing is held but the compressor's window. Entries have a local header with general purpose
 * bit 3 set (sizes and CRC-32 follow the data, in a data descriptor) and bit 11 (UTF-8 names);
 * the central directory and its end record close the archive. No ZIP64: an archive that would
 * pass 4 GiB, or 65 535 entries, is refused by throwing, which aborts a streamed response
 * rather than sending a corrupt file.
 */

export interface ZipEntry {
  /** The path inside the archive: relative, `/`-separated, no `..`. */
  name: string;
  data: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
}

export interface ZipOptions {
  /** The entries' modification time (DOS time, 2-second steps, as UTC). */
  modifiedAt: Date;
  /** zlib level, 0-9 (default 6). */
  level?: number;
}

const LIMIT_32 = 0xffffffff;
const MAX_ENTRIES = 0xffff;
const FLAGS = (1 << 3) | (1 << 11);
const DEFLATE = 8;
/** 2.0: deflate and data descriptors. */
const VERSION = 20;
/** Made by a Unix host, so that unzip gives the files the mode below (rw-r--r--). */
const MADE_BY_UNIX = 3 << 8;
const REGULAR_FILE_0644 = (0o100644 << 16) >>> 0;

/** The archive, as chunks to send. */
export async function* zipStream(
  entries: AsyncIterable<ZipEntry> | Iterable<ZipEntry>,
  options: ZipOptions,
): AsyncGenerator<Buffer> {
  const { time, date } = dosDateTime(options.modifiedAt);
  const central: Buffer[] = [];
  const names = new Set<string>();
  let offset = 0;
  let count = 0;
  for await (const entry of entries) {
    const name = Buffer.from(checkName(entry.name), 'utf8');
    if (names.has(entry.name)) throw new Error(`zip: the entry ${entry.name} is there already`);
    names.add(entry.name);
    count += 1;
    if (count > MAX_ENTRIES) throw new RangeError(`zip: over ${MAX_ENTRIES} entries (no ZIP64)`);
    const localOffset = offset;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(FLAGS, 6);
    local.writeUInt16LE(DEFLATE, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    // CRC-32 and sizes (14..25) stay 0: the data descriptor carries them.
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    yield Buffer.concat([local, name]);
    offset += local.length + name.length;

    const sums = { crc: 0, size: 0 };
    let compressed = 0;
    for await (const out of deflated(entry.data, sums, options.level ?? 6)) {
      compressed += out.length;
      if (sums.size > LIMIT_32 || offset + compressed > LIMIT_32) throw tooLarge();
      yield out;
    }
    offset += compressed;
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(sums.crc, 4);
    descriptor.writeUInt32LE(compressed, 8);
    descriptor.writeUInt32LE(sums.size, 12);
    yield descriptor;
    offset += descriptor.length;
    if (offset > LIMIT_32) throw tooLarge();

    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(MADE_BY_UNIX | VERSION, 4);
    header.writeUInt16LE(VERSION, 6);
    header.writeUInt16LE(FLAGS, 8);
    header.writeUInt16LE(DEFLATE, 10);
    header.writeUInt16LE(time, 12);
    header.writeUInt16LE(date, 14);
    header.writeUInt32LE(sums.crc, 16);
    header.writeUInt32LE(compressed, 20);
    header.writeUInt32LE(sums.size, 24);
    header.writeUInt16LE(name.length, 28);
    // extra, comment, disk number and internal attributes (30..37): 0.
    header.writeUInt32LE(REGULAR_FILE_0644, 38);
    header.writeUInt32LE(localOffset, 42);
    central.push(header, name);
  }
  const directory = Buffer.concat(central);
  if (offset + directory.length > LIMIT_32) throw tooLarge();
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  yield Buffer.concat([directory, end]);
}

/** Deflates `data`, pulled only as fast as the output is read; counts and sums the input. */
async function* deflated(
  data: ZipEntry['data'],
  sums: { crc: number; size: number },
  level: number,
): AsyncGenerator<Buffer> {
  async function* tap(): AsyncGenerator<Buffer> {
    for await (const part of data) {
      const bytes =
        typeof part === 'string'
          ? Buffer.from(part, 'utf8')
          : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
      sums.crc = crc32(bytes, sums.crc);
      sums.size += bytes.length;
      yield bytes;
    }
  }
  const deflate = createDeflateRaw({ level });
  const feeding = pipeline(Readable.from(tap(), { objectMode: false }), deflate);
  // Stopping early (a consumer that left) destroys the compressor and so rejects `feeding`.
  feeding.catch(() => undefined);
  for await (const out of deflate) yield out as Buffer;
  await feeding;
}

function tooLarge(): RangeError {
  return new RangeError('zip: the archive would pass 4 GiB (ZIP64 is not supported)');
}

function checkName(name: string): string {
  const parts = name.split('/');
  if (
    name === '' ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.includes('\0') ||
    parts.some((p) => p === '' || p === '.' || p === '..') ||
    Buffer.byteLength(name, 'utf8') > 0xffff
  ) {
    throw new Error(`zip: ${JSON.stringify(name)} is not a safe entry name`);
  }
  return name;
}

function dosDateTime(at: Date): { time: number; date: number } {
  const year = Math.min(Math.max(at.getUTCFullYear(), 1980), 2107);
  return {
    time: (at.getUTCHours() << 11) | (at.getUTCMinutes() << 5) | (at.getUTCSeconds() >> 1),
    date: ((year - 1980) << 9) | ((at.getUTCMonth() + 1) << 5) | at.getUTCDate(),
  };
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC, as ZIP and gzip use it), continuing from `previous`. */
export function crc32(bytes: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}
