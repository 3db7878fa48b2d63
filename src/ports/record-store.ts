import type { JsonValue } from './warehouse';

/** One row of a records package, as plain JSON. */
export type RecordRow = Record<string, JsonValue>;

/** Names one stored set of rows: the rows one export run collected for a request's task. */
export interface RecordSetKey {
  requestId: string;
  taskId: string;
  /** Unique per export run (the BigQuery job id). */
  setId: string;
}

/**
 * Where records packages are kept, as numbered byte chunks of at most `MAX_RECORD_CHUNK_BYTES`
 * each, so that no stored document comes near Firestore's 1 MiB limit whatever the rows hold.
 * What the bytes mean (NDJSON rows, grouped in segments) is the app's business
 * (src/app/record-sets.ts); the store only keeps them.
 */
export interface RecordStore {
  /** Writes chunks `firstIndex`, `firstIndex + 1`, …; writing a chunk again replaces it. */
  putChunks(set: RecordSetKey, firstIndex: number, chunks: readonly Uint8Array[]): Promise<void>;
  /** The chunks at `indexes`, in that order; a missing chunk is an error. */
  getChunks(set: RecordSetKey, indexes: readonly number[]): Promise<Uint8Array[]>;
}

/** The largest chunk a RecordStore is given: half of Firestore's document limit. */
export const MAX_RECORD_CHUNK_BYTES = 512 * 1024;

/** What an executor writes a records package through: rows in, an index of what was kept out. */
export interface RecordSink {
  open(set: RecordSetKey): RecordWriter;
}

export interface RecordWriter {
  write(rows: readonly RecordRow[]): Promise<void>;
  /** Stores what is still buffered and says where every row went. */
  close(): Promise<RecordSetIndex>;
}

/**
 * Where a set's rows are: consecutive segments, each stored in `chunks` consecutive chunks
 * (usually one; a row larger than a chunk spreads over several).
 */
export interface RecordSetIndex {
  setId: string;
  rowCount: number;
  segments: Array<{ rows: number; chunks: number }>;
}
