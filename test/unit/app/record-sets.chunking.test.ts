import { createRecordSink, readRecordRows } from '../../../src/app/record-sets';
import type { RecordRow, RecordSetIndex } from '../../../src/ports/record-store';
import { createMemoryRecordStore } from '../../helpers/memory-record-store';

const SET = { requestId: 'r1', taskId: 't1', setId: 'job_1' };

async function store(rows: RecordRow[], chunkBytes: number, batches = 1, flushBytes?: number) {
  const records = createMemoryRecordStore();
  const writer = createRecordSink(records, {
    chunkBytes,
    ...(flushBytes === undefined ? {} : { flushBytes }),
  }).open(SET);
  const per = Math.ceil(rows.length / batches);
  for (let i = 0; i < rows.length; i += per) await writer.write(rows.slice(i, i + per));
  return { records, index: await writer.close() };
}

async function readAll(
  records: ReturnType<typeof createMemoryRecordStore>,
  index: RecordSetIndex,
  pageSize: number,
): Promise<{ rows: RecordRow[]; pages: number }> {
  const rows: RecordRow[] = [];
  let offset: number | undefined = 0;
  let pages = 0;
  while (offset !== undefined) {
    const slice = await readRecordRows(records, SET, index, offset, pageSize);
    rows.push(...slice.rows);
    offset = slice.nextOffset;
    pages += 1;
  }
  return { rows, pages };
}

const rowsOf = (n: number, width = 10): RecordRow[] =>
  Array.from({ length: n }, (_, i) => ({ id: i, text: `${i}`.padEnd(width, '-'), at: null }));

describe('record sets: rows kept as NDJSON chunks', () => {
  it('packs consecutive rows into segments that each fit one chunk, and reads them back in pages', async () => {
    const rows = rowsOf(100);
    const { records, index } = await store(rows, 200, 7);
    expect(index.rowCount).toBe(100);
    expect(index.segments.reduce((n, s) => n + s.rows, 0)).toBe(100);
    expect(index.segments.every((s) => s.chunks === 1)).toBe(true);
    expect(index.segments.length).toBeGreaterThan(10);
    for (const chunk of records.chunks.values()) expect(chunk.length).toBeLessThanOrEqual(200);
    expect(records.chunks.size).toBe(index.segments.length);

    for (const pageSize of [1, 7, 33, 100, 1000]) {
      const read = await readAll(records, index, pageSize);
      expect(read.rows).toEqual(rows);
      expect(read.pages).toBe(Math.ceil(100 / pageSize));
    }
  });

  it('spreads a row larger than a chunk over several chunks, multi-byte characters included', async () => {
    const big = { id: 'big', text: 'é€😀'.repeat(200) };
    const rows = [{ id: 'a' }, big, { id: 'b' }];
    const { records, index } = await store(rows, 64);
    expect(index.segments).toEqual([
      { rows: 1, chunks: 1 },
      { rows: 1, chunks: Math.ceil(Buffer.byteLength(`${JSON.stringify(big)}\n`) / 64) },
      { rows: 1, chunks: 1 },
    ]);
    for (const chunk of records.chunks.values()) expect(chunk.length).toBeLessThanOrEqual(64);
    expect((await readAll(records, index, 1)).rows).toEqual(rows);
    expect(await readRecordRows(records, SET, index, 1, 1)).toEqual({ rows: [big], nextOffset: 2 });
  });

  it('writes chunks as it goes once flushBytes are waiting, numbering them without gaps', async () => {
    const rows = rowsOf(60);
    const { records, index } = await store(rows, 100, 6, 300);
    expect(records.writes).toBeGreaterThan(1);
    const chunks = index.segments.reduce((n, s) => n + s.chunks, 0);
    expect([...records.chunks.keys()].sort()).toEqual(
      Array.from({ length: chunks }, (_, i) => `r1/t1/job_1/${i}`).sort(),
    );
    expect((await readAll(records, index, 25)).rows).toEqual(rows);
  });

  it('stops a page early once maxBytes of rows are in it, but always returns a row', async () => {
    const rows = rowsOf(10, 100);
    const { records, index } = await store(rows, 10_000);
    // Each line is about 130 bytes: the page closes once it holds 250 or more.
    const slice = await readRecordRows(records, SET, index, 0, 10, 250);
    expect(slice.rows).toEqual(rows.slice(0, 2));
    expect(slice.nextOffset).toBe(2);
    expect((await readRecordRows(records, SET, index, 9, 10, 1)).rows).toEqual([rows[9]]);
  });

  it('keeps an empty set as no chunks, and answers an offset past the end with no rows', async () => {
    const { records, index } = await store([], 100);
    expect(index).toEqual({ setId: 'job_1', rowCount: 0, segments: [] });
    expect(records.writes).toBe(0);
    expect(await readRecordRows(records, SET, index, 0, 10)).toEqual({ rows: [] });
    const some = await store(rowsOf(3), 100);
    expect(await readRecordRows(some.records, SET, some.index, 5, 10)).toEqual({ rows: [] });
  });

  it('refuses rows after close', async () => {
    const writer = createRecordSink(createMemoryRecordStore()).open(SET);
    await writer.close();
    await expect(writer.write([{ a: 1 }])).rejects.toThrow(/closed/);
  });
});
