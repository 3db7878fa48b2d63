import {
  MAX_RECORD_CHUNK_BYTES,
  type RecordRow,
  type RecordSetIndex,
  type RecordSetKey,
  type RecordSink,
  type RecordStore,
  type RecordWriter,
} from '../ports/record-store';

/**
 * How an export's rows are stored: as NDJSON text (one `JSON.stringify(row)` per line), cut
 * into segments of consecutive rows whose text fits one chunk. A row whose text alone is larger
 * than a chunk gets a segment of its own, spread over as many chunks as it needs. The run keeps
 * the index (rows and chunks per segment), so a page of rows reads only the chunks it covers.
 */

export interface RecordSinkOptions {
  /** Largest chunk, in bytes (default and maximum: MAX_RECORD_CHUNK_BYTES). Tests go lower. */
  chunkBytes?: number;
  /** Chunks are written once this many bytes are waiting, to bound memory. */
  flushBytes?: number;
}

/**
 * Four chunks (2 MiB) per write: Firestore takes a 10 MiB request, but its emulator's gRPC
 * server stops answering a request over 4 MiB, so eight chunks hung a large export locally.
 */
const DEFAULT_FLUSH_BYTES = 4 * MAX_RECORD_CHUNK_BYTES;

/** A RecordSink over a RecordStore. */
export function createRecordSink(store: RecordStore, options: RecordSinkOptions = {}): RecordSink {
  const chunkBytes = Math.min(options.chunkBytes ?? MAX_RECORD_CHUNK_BYTES, MAX_RECORD_CHUNK_BYTES);
  const flushBytes = options.flushBytes ?? DEFAULT_FLUSH_BYTES;
  if (!(chunkBytes > 0)) throw new RangeError('chunkBytes must be positive');
  return {
    open: (set) => openWriter(store, set, chunkBytes, flushBytes),
  };
}

function openWriter(
  store: RecordStore,
  set: RecordSetKey,
  chunkBytes: number,
  flushBytes: number,
): RecordWriter {
  const segments: RecordSetIndex['segments'] = [];
  let rowCount = 0;
  let lines: Buffer[] = [];
  let lineBytes = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let written = 0;
  let closed = false;

  const endSegment = () => {
    if (lines.length === 0) return;
    const text = Buffer.concat(lines, lineBytes);
    const parts: Buffer[] = [];
    for (let at = 0; at < text.length; at += chunkBytes) {
      parts.push(text.subarray(at, at + chunkBytes));
    }
    segments.push({ rows: lines.length, chunks: parts.length });
    pending.push(...parts);
    pendingBytes += text.length;
    lines = [];
    lineBytes = 0;
  };
  const flush = async () => {
    if (pending.length === 0) return;
    const chunks = pending;
    pending = [];
    pendingBytes = 0;
    await store.putChunks(set, written, chunks);
    written += chunks.length;
  };

  return {
    async write(rows) {
      if (closed) throw new Error(`record set ${set.setId} is closed`);
      for (const row of rows) {
        const line = Buffer.from(`${JSON.stringify(row)}\n`, 'utf8');
        if (lines.length > 0 && lineBytes + line.length > chunkBytes) endSegment();
        lines.push(line);
        lineBytes += line.length;
        rowCount += 1;
        if (lineBytes >= chunkBytes) endSegment();
      }
      if (pendingBytes >= flushBytes) await flush();
    },
    async close() {
      closed = true;
      endSegment();
      await flush();
      return { setId: set.setId, rowCount, segments };
    },
  };
}

export interface RowSlice {
  rows: RecordRow[];
  /** Where the next page starts; absent when the slice reached the end of the set. */
  nextOffset?: number;
}

/**
 * Reads up to `limit` rows from `offset`, stopping early (after at least one row) once
 * `maxBytes` of row text is collected, so one answer stays well inside HTTP response limits.
 */
export async function readRecordRows(
  store: RecordStore,
  set: RecordSetKey,
  index: Pick<RecordSetIndex, 'segments'>,
  offset: number,
  limit: number,
  maxBytes = 8 * 2 ** 20,
): Promise<RowSlice> {
  const total = index.segments.reduce((n, s) => n + s.rows, 0);
  const rows: RecordRow[] = [];
  let bytes = 0;
  let position = offset;
  let firstRow = 0;
  let firstChunk = 0;
  for (const segment of index.segments) {
    const segmentEnd = firstRow + segment.rows;
    if (position < segmentEnd && rows.length < limit && (rows.length === 0 || bytes < maxBytes)) {
      const chunkIndexes = Array.from({ length: segment.chunks }, (_, i) => firstChunk + i);
      const text = Buffer.concat(await store.getChunks(set, chunkIndexes)).toString('utf8');
      const lines = text.split('\n').slice(0, segment.rows);
      if (lines.length !== segment.rows) {
        throw new Error(
          `record set ${set.setId}: segment at row ${firstRow} holds ${lines.length} rows, not ${segment.rows}`,
        );
      }
      for (let i = position - firstRow; i < lines.length; i++) {
        if (rows.length >= limit || (rows.length > 0 && bytes >= maxBytes)) break;
        const line = lines[i] ?? '';
        rows.push(JSON.parse(line) as RecordRow);
        bytes += line.length;
        position += 1;
      }
    }
    firstRow = segmentEnd;
    firstChunk += segment.chunks;
  }
  return position < total ? { rows, nextOffset: position } : { rows };
}

/** One segment of a set as stored: `rows` NDJSON lines, each ending in `\n`. */
export interface RecordSegment {
  rows: number;
  ndjson: Buffer;
}

/**
 * Every row of a set, a segment at a time as its stored NDJSON bytes, reading the chunks of the
 * next segment only when the caller asks for it: however large the set, one segment is held at
 * a time.
 */
export async function* readRecordSegments(
  store: RecordStore,
  set: RecordSetKey,
  index: Pick<RecordSetIndex, 'segments'>,
): AsyncGenerator<RecordSegment> {
  let firstChunk = 0;
  for (const segment of index.segments) {
    const chunkIndexes = Array.from({ length: segment.chunks }, (_, i) => firstChunk + i);
    const chunks = await store.getChunks(set, chunkIndexes);
    const ndjson =
      chunks.length === 1 && Buffer.isBuffer(chunks[0]) ? chunks[0] : Buffer.concat(chunks);
    yield { rows: segment.rows, ndjson };
    firstChunk += segment.chunks;
  }
}

/**
 * A segment's lines (each one `JSON.stringify(row)`), decoded one at a time: small strings die
 * young, where one string of the whole segment would sit in V8's large-object space until a
 * full collection. Checked against the segment's row count.
 */
export function* segmentLines(set: RecordSetKey, segment: RecordSegment): Generator<string> {
  let at = 0;
  for (let row = 0; row < segment.rows; row++) {
    const end = segment.ndjson.indexOf(0x0a, at);
    if (end < 0) {
      throw new Error(`record set ${set.setId}: a segment holds ${row} rows, not ${segment.rows}`);
    }
    yield segment.ndjson.toString('utf8', at, end);
    at = end + 1;
  }
}
