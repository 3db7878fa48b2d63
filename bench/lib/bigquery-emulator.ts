/**
 * The BigQuery emulator of `npm run bench -- bigquery`, in a process of its own so its memory
 * is measured alone. Started by bench/bigquery.ts with `fork` (an IPC channel), never by hand.
 *
 * It puts the emulator together from the same parts as `startBigQueryEmulator` (Warehouse,
 * JobEngine, the REST server; minimum job duration 0, the default streaming buffer), and loads
 * the rows through `Warehouse.insertRows` as a seed does (each row through `rowFromJson`, not in
 * the streaming buffer). Going through `startBigQueryEmulator({ seed })` instead would keep the
 * whole seed, a million JSON rows, alive beside the stored rows for `reset()`, and the
 * measurement would be of the seed as much as of the emulator.
 *
 * Messages: it sends `ready` once serving; it answers `memory` with its own figures and exits
 * on `stop`.
 */
import type { AddressInfo } from 'node:net';
import { JobEngine } from '../../emulators/bigquery/jobs';
import { parseSchemaFields, rowFromJson } from '../../emulators/bigquery/schema';
import { createBigQueryServer } from '../../emulators/bigquery/server';
import type { Value } from '../../emulators/bigquery/values';
import { Warehouse } from '../../emulators/bigquery/warehouse';
import { GA4_SCHEMA } from '../../scripts/lib/demo-warehouse';
import { ga4Row, type BenchData } from './ga4-data';

export type ChildMessage =
  | { type: 'ready'; port: number; loadMs: number; rows: number }
  | { type: 'memory'; usage: NodeJS.MemoryUsage; maxRssKiB: number };

export type ParentMessage = { type: 'memory' } | { type: 'stop' };

const BATCH = 10_000;

async function main(): Promise<void> {
  const data = JSON.parse(process.argv[2] ?? '') as BenchData;
  const clock = { now: () => Date.now() };
  const warehouse = await Warehouse.create();
  const engine = new JobEngine({
    warehouse,
    clock,
    minJobMs: 0,
    streamingBufferSeconds: 1800,
    deterministicJobIds: false,
  });

  const started = performance.now();
  const now = clock.now();
  warehouse.createDataset(
    { projectId: data.projectId, datasetId: data.datasetId, location: 'US' },
    now,
  );
  const table = warehouse.createTable(
    { projectId: data.projectId, datasetId: data.datasetId, tableId: data.tableId },
    parseSchemaFields(GA4_SCHEMA),
    {},
    now,
  );
  for (let from = 0; from < data.rows; from += BATCH) {
    const batch: Value[][] = [];
    for (let i = from; i < Math.min(from + BATCH, data.rows); i++) {
      const { row, errors } = rowFromJson(table.fields, ga4Row(data, i));
      if (errors.length > 0) throw new Error(`row ${i}: ${errors.join(' ')}`);
      batch.push(row);
    }
    warehouse.insertRows(table, batch, null, now);
  }
  const loadMs = performance.now() - started;

  const server = createBigQueryServer({
    warehouse,
    engine,
    clock,
    streamingBufferSeconds: 1800,
    projectId: data.projectId,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const send = (message: ChildMessage): void => {
    process.send?.(message);
  };
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'memory') {
      send({
        type: 'memory',
        usage: process.memoryUsage(),
        maxRssKiB: process.resourceUsage().maxRSS,
      });
    } else {
      server.close(() => process.exit(0));
      server.closeAllConnections();
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port, loadMs, rows: table.rows.length });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
