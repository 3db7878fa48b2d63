/**
 * The ZIP records (PKWARE APPNOTE 6.3) that both zip writers lay out: the streaming one
 * (zip-stream.ts, records packages) and the whole-buffer one of `npm run package`
 * (scripts/package.ts, which keeps sizes in its local headers and stores what deflate would not
 * shrink). Only the byte layout is here; each writer decides flags, method and limits.
 */

/** General purpose bit 3: CRC-32 and sizes follow the data, in a data descriptor. */
export const FLAG_DATA_DESCRIPTOR = 1 << 3;
/** General purpose bit 11: names are UTF-8. */
export const FLAG_UTF8 = 1 << 11;
export const STORED = 0;
export const DEFLATE = 8;
/** 2.0: deflate and data descriptors. */
const VERSION = 20;
/** Made by a Unix host, so that unzip gives the files the mode below (rw-r--r--). */
const MADE_BY_UNIX = 3 << 8;
const REGULAR_FILE_0644 = (0o100644 << 16) >>> 0;

/** What the local header and the central directory header of an entry both say. */
export interface EntryHeader {
  /** The entry's name, UTF-8. */
  name: Buffer;
  flags: number;
  method: number;
  /** DOS time and date, as dosDateTime gives them. */
  time: number;
  date: number;
  /** 0 (with the sizes) in a local header whose data descriptor carries them. */
  crc: number;
  compressedSize: number;
  size: number;
}

/**
 * The fields the local and central headers share, in the same order from `at`: flags, method,
 * time, date, CRC-32, compressed size, size, name length (22 bytes).
 */
function writeEntryFields(header: Buffer, entry: EntryHeader, at: number): void {
  header.writeUInt16LE(entry.flags, at);
  header.writeUInt16LE(entry.method, at + 2);
  header.writeUInt16LE(entry.time, at + 4);
  header.writeUInt16LE(entry.date, at + 6);
  header.writeUInt32LE(entry.crc, at + 8);
  header.writeUInt32LE(entry.compressedSize, at + 12);
  header.writeUInt32LE(entry.size, at + 16);
  header.writeUInt16LE(entry.name.length, at + 20);
}

/** The local file header, followed by the name. */
export function localHeader(entry: EntryHeader): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(VERSION, 4);
  writeEntryFields(header, entry, 6);
  // extra field length (28): 0.
  return Buffer.concat([header, entry.name]);
}

/** The data descriptor that follows an entry's data when FLAG_DATA_DESCRIPTOR is set. */
export function dataDescriptor(crc: number, compressedSize: number, size: number): Buffer {
  const descriptor = Buffer.alloc(16);
  descriptor.writeUInt32LE(0x08074b50, 0);
  descriptor.writeUInt32LE(crc, 4);
  descriptor.writeUInt32LE(compressedSize, 8);
  descriptor.writeUInt32LE(size, 12);
  return descriptor;
}

/** The central directory header of an entry whose local header is at `localOffset`, with the name. */
export function centralHeader(entry: EntryHeader, localOffset: number): Buffer {
  const header = Buffer.alloc(46);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE(MADE_BY_UNIX | VERSION, 4);
  header.writeUInt16LE(VERSION, 6);
  writeEntryFields(header, entry, 8);
  // extra, comment, disk number and internal attributes (30..37): 0.
  header.writeUInt32LE(REGULAR_FILE_0644, 38);
  header.writeUInt32LE(localOffset, 42);
  return Buffer.concat([header, entry.name]);
}

/** The end of central directory record (single disk, no comment). */
export function endOfCentralDirectory(
  count: number,
  directorySize: number,
  directoryOffset: number,
): Buffer {
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(directorySize, 12);
  end.writeUInt32LE(directoryOffset, 16);
  return end;
}

/** A date as DOS time and date (2-second steps, as UTC, clamped to 1980-2107). */
export function dosDateTime(at: Date): { time: number; date: number } {
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

/**
 * CRC-32 (ISO-HDLC, as ZIP and gzip use it), continuing from `previous`; node:zlib only exports
 * one from Node 20.15.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}
