import { readRecordRows } from '../../src/app/record-sets';
import { recordsOutputOf, type RecordsOutput } from '../../src/executors/contract';
import type { RecordRow, RecordStore } from '../../src/ports/record-store';

export type ExportedRows = RecordsOutput & { rows: RecordRow[] };

/** An export result's `output.records`, with every row read back from the store. */
export async function exportedRows(
  store: RecordStore,
  result: { output?: unknown },
  where: { requestId: string; taskId: string },
): Promise<ExportedRows> {
  const records = recordsOutputOf(result.output);
  if (records === undefined) {
    throw new Error(`not an export result: ${JSON.stringify(result.output)}`);
  }
  const { rows } = await readRecordRows(
    store,
    { ...where, setId: records.setId },
    records,
    0,
    Number.MAX_SAFE_INTEGER,
    Number.POSITIVE_INFINITY,
  );
  return { ...records, rows };
}
