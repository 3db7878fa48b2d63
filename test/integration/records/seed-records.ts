import { createRecordSink, type RecordSinkOptions } from '../../../src/app/record-sets';
import type { Instance, Request } from '../../../src/domain/model';
import type { RecordsOutput } from '../../../src/executors/contract';
import type { RecordRow, RecordStore } from '../../../src/ports/record-store';
import type { RequestStore } from '../../../src/ports/request-store';
import { aRequest, anInstance, aRun } from '../firestore/fixture';

/** One records task of a seeded request: its rows (exported), or the state it ended in. */
export interface SeededSource {
  taskId: string;
  taskName?: string;
  /** Rows as the export stored them; absent: the task exported nothing. */
  rows?: RecordRow[] | AsyncIterable<RecordRow[]>;
  columns?: string[];
  state?: Instance['state'];
}

/**
 * A records request as it stands after its exports ran: the request, its instances, a run per
 * exporting task whose output names its record set, and the rows in the record store, written
 * through the same sink the export executors use.
 */
export async function seedRecordsRequest(
  store: RequestStore,
  records: RecordStore,
  id: string,
  sources: SeededSource[],
  overrides: Partial<Request> = {},
  sink: RecordSinkOptions = {},
): Promise<Request> {
  const request = aRequest(id, {
    type: 'records',
    status: 'completed',
    completedAt: '2030-03-02T10:00:00.000Z',
    ...overrides,
  });
  const instances = sources.map((s) =>
    anInstance(id, s.taskId, {
      jobType: 'records',
      executor: 'bigquery.export',
      taskName: s.taskName ?? `export ${s.taskId}`,
      state: s.rows === undefined ? (s.state ?? 'skipped') : (s.state ?? 'succeeded'),
    }),
  );
  await store.createRequest(request, instances);
  for (const [i, source] of sources.entries()) {
    if (source.rows === undefined) continue;
    const setId = `job_${source.taskId}`;
    const writer = createRecordSink(records, sink).open({
      requestId: id,
      taskId: source.taskId,
      setId,
    });
    let columns = source.columns;
    for await (const page of pagesOf(source.rows)) {
      columns ??= Object.keys(page[0] ?? {});
      await writer.write(page);
    }
    const index = await writer.close();
    const output: RecordsOutput = {
      setId,
      source: `proj.warehouse.${source.taskId}`,
      columns: columns ?? [],
      rowCount: index.rowCount,
      totalRows: index.rowCount,
      truncated: false,
      segments: index.segments,
    };
    const instance = instances[i] as Instance;
    const runId = `run-${source.taskId}`;
    await store.recordRun(
      aRun(instance, runId, { executor: 'bigquery.export', output: { records: output } }),
      () => ({
        lastRun: {
          runId,
          attempt: 1,
          status: 'succeeded',
          message: 'exported',
          finishedAt: '2030-03-02T09:00:00.000Z',
        },
      }),
    );
  }
  return request;
}

async function* pagesOf(rows: RecordRow[] | AsyncIterable<RecordRow[]>) {
  if (Array.isArray(rows)) {
    for (let i = 0; i < rows.length; i += 500) yield rows.slice(i, i + 500);
  } else {
    yield* rows;
  }
}
