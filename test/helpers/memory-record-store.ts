import type { RecordSetKey, RecordStore } from '../../src/ports/record-store';

/** A RecordStore in memory for unit and integration tests; `writes` counts putChunks calls. */
export function createMemoryRecordStore(): RecordStore & {
  chunks: Map<string, Uint8Array>;
  writes: number;
} {
  const chunks = new Map<string, Uint8Array>();
  const key = (set: RecordSetKey, index: number) =>
    `${set.requestId}/${set.taskId}/${set.setId}/${index}`;
  const store = {
    chunks,
    writes: 0,
    async putChunks(set: RecordSetKey, firstIndex: number, data: readonly Uint8Array[]) {
      store.writes += 1;
      data.forEach((chunk, i) => chunks.set(key(set, firstIndex + i), Uint8Array.from(chunk)));
    },
    async getChunks(set: RecordSetKey, indexes: readonly number[]) {
      return indexes.map((i) => {
        const chunk = chunks.get(key(set, i));
        if (chunk === undefined) throw new Error(`no chunk ${key(set, i)}`);
        return chunk;
      });
    },
  };
  return store;
}
