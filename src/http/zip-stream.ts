import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw } from 'node:zlib';
import {
  centralHeader,
  crc32,
  dataDescriptor,
  DEFLATE,
  dosDateTime,
  endOfCentralDirectory,
  FLAG_DATA_DESCRIPTOR,
  FLAG_UTF8,
  localHeader,
} from './zip-format';

export { crc32 };

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
const FLAGS = FLAG_DATA_DESCRIPTOR | FLAG_UTF8;

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
    // CRC-32 and sizes stay 0 in the local header: the data descriptor carries them.
    const header = {
      name,
      flags: FLAGS,
      method: DEFLATE,
      time,
      date,
      crc: 0,
      compressedSize: 0,
      size: 0,
    };
    const local = localHeader(header);
    yield local;
    offset += local.length;

    const sums = { crc: 0, size: 0 };
    let compressed = 0;
    for await (const out of deflated(entry.data, sums, options.level ?? 6)) {
      compressed += out.length;
      if (sums.size > LIMIT_32 || offset + compressed > LIMIT_32) throw tooLarge();
      yield out;
    }
    offset += compressed;
    const descriptor = dataDescriptor(sums.crc, compressed, sums.size);
    yield descriptor;
    offset += descriptor.length;
    if (offset > LIMIT_32) throw tooLarge();

    central.push(
      centralHeader(
        { ...header, crc: sums.crc, compressedSize: compressed, size: sums.size },
        localOffset,
      ),
    );
  }
  const directory = Buffer.concat(central);
  if (offset + directory.length > LIMIT_32) throw tooLarge();
  yield Buffer.concat([directory, endOfCentralDirectory(count, directory.length, offset)]);
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
