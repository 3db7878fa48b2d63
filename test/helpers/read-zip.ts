import { inflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/http/zip-stream';

/** One file read back from a ZIP archive, checked against its central directory entry. */
export interface ZipFileRead {
  name: string;
  flags: number;
  method: number;
  data: Buffer;
}

/**
 * Reads a whole archive by its central directory, as unzip does, and checks every entry on the
 * way: the local header agrees with the directory, the data inflates to the recorded size and
 * CRC-32, and the data descriptor repeats them. Throws on the first disagreement.
 */
export function readZip(zip: Buffer): ZipFileRead[] {
  const endAt = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (endAt < 0 || endAt + 22 > zip.length) throw new Error('no end of central directory');
  const count = zip.readUInt16LE(endAt + 10);
  const dirSize = zip.readUInt32LE(endAt + 12);
  const dirOffset = zip.readUInt32LE(endAt + 16);
  if (dirOffset + dirSize !== endAt) throw new Error('the central directory is not where it says');
  const files: ZipFileRead[] = [];
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`entry ${i}: bad signature`);
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const localAt = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    at += 46 + nameLength + extra + comment;

    if (zip.readUInt32LE(localAt) !== 0x04034b50) throw new Error(`${name}: bad local header`);
    const localName = zip
      .subarray(localAt + 30, localAt + 30 + zip.readUInt16LE(localAt + 26))
      .toString('utf8');
    if (localName !== name) throw new Error(`${name}: local header names ${localName}`);
    const dataAt = localAt + 30 + zip.readUInt16LE(localAt + 26) + zip.readUInt16LE(localAt + 28);
    const data = inflateRawSync(zip.subarray(dataAt, dataAt + compressed));
    if (data.length !== size) throw new Error(`${name}: ${data.length} bytes, not ${size}`);
    if (crc32(data) !== crc) throw new Error(`${name}: CRC-32 mismatch`);
    const descriptor = dataAt + compressed;
    if (
      zip.readUInt32LE(descriptor) !== 0x08074b50 ||
      zip.readUInt32LE(descriptor + 4) !== crc ||
      zip.readUInt32LE(descriptor + 8) !== compressed ||
      zip.readUInt32LE(descriptor + 12) !== size
    ) {
      throw new Error(`${name}: the data descriptor disagrees with the directory`);
    }
    files.push({ name, flags, method, data });
  }
  return files;
}
