import { createFirestoreRecordStore } from '../../../src/adapters/firestore/firestore-record-store';
import { createRecordSink, readRecordRows } from '../../../src/app/record-sets';
import { MAX_RECORD_CHUNK_BYTES, type RecordRow } from '../../../src/ports/record-store';
import { firestoreForTest, type TestFirestore } from '../../helpers/firestore-emulator';

const MiB = 2 ** 20;
const SET = { requestId: 'req-big', taskId: 'events-export', setId: 'dsr_job_1' };

describe('Firestore record store: an export larger than one document', () => {
  let fs: TestFirestore;
  beforeAll(() => {
    fs = firestoreForTest();
  });
  afterAll(async () => {
    await fs.close();
  });

  it('stores 2.5 MiB of rows, one of them 1.2 MiB, in chunk documents far below 1 MiB, and reads every page back', async () => {
    const store = createFirestoreRecordStore(fs.db);
    // 3000 ordinary rows (~1.3 MiB) with one 1.2 MiB row in the middle.
    const rows: RecordRow[] = Array.from({ length: 3000 }, (_, i) => ({
      user_id: `u-${i % 97}`,
      event_name: `event-${i}`,
      ts: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(),
      payload: 'p'.repeat(400),
    }));
    rows.splice(1500, 0, {
      user_id: 'u-big',
      event_name: 'upload',
      ts: null,
      payload: 'x'.repeat(1.2 * MiB),
    });
    const writer = createRecordSink(store).open(SET);
    for (let i = 0; i < rows.length; i += 1000) await writer.write(rows.slice(i, i + 1000));
    const index = await writer.close();

    const total = rows.reduce((n, r) => n + JSON.stringify(r).length + 1, 0);
    expect(total).toBeGreaterThan(2.5 * MiB);
    const snap = await fs.db
      .collection(`requests/${SET.requestId}/instances/${SET.taskId}/records`)
      .get();
    const chunks = index.segments.reduce((n, s) => n + s.chunks, 0);
    expect(snap.size).toBe(chunks);
    expect(chunks).toBeGreaterThanOrEqual(6);
    for (const doc of snap.docs) {
      const data = doc.get('data') as Buffer;
      expect(data.length).toBeLessThanOrEqual(MAX_RECORD_CHUNK_BYTES);
      expect(doc.id.startsWith(`${SET.setId}-`)).toBe(true);
    }
    // The big row has a segment of its own, over three chunks.
    expect(index.segments).toContainEqual({ rows: 1, chunks: 3 });

    const read: RecordRow[] = [];
    let offset: number | undefined = 0;
    while (offset !== undefined) {
      const slice = await readRecordRows(store, SET, index, offset, 700);
      read.push(...slice.rows);
      offset = slice.nextOffset;
    }
    expect(read).toEqual(rows);
  });

  it('fails clearly when a chunk is missing', async () => {
    const store = createFirestoreRecordStore(fs.db);
    await expect(store.getChunks({ ...SET, setId: 'nothing' }, [0])).rejects.toThrow(
      /record set nothing has no chunk 0/,
    );
  });

  it('refuses a chunk over the limit', async () => {
    const store = createFirestoreRecordStore(fs.db);
    await expect(
      store.putChunks(SET, 0, [new Uint8Array(MAX_RECORD_CHUNK_BYTES + 1)]),
    ).rejects.toThrow(RangeError);
  });
});
