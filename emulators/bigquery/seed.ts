import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BigQueryError } from './errors';
import { parsePartitioning, parseSchemaFields, rowFromJson } from './schema';
import { parseTimestamp } from './values';
import type { Warehouse } from './warehouse';

interface SeedField {
  name: string;
  type: string;
  mode?: string | undefined;
  description?: string | undefined;
  fields?: SeedField[] | undefined;
}
const fieldSchema: z.ZodType<SeedField> = z.lazy(() =>
  z.object({
    name: z.string(),
    type: z.string(),
    mode: z.string().optional(),
    description: z.string().optional(),
    fields: z.array(fieldSchema).optional(),
  }),
);

const tableSchema = z.object({
  tableId: z.string(),
  description: z.string().optional(),
  schema: z.union([z.array(fieldSchema), z.object({ fields: z.array(fieldSchema) })]),
  /** `{ type: 'DAY', field?, requirePartitionFilter? }`, as tables.insert takes it. */
  timePartitioning: z.record(z.unknown()).optional(),
  requirePartitionFilter: z.boolean().optional(),
  /** Rows; for ingestion-time partitioning a row may give `_PARTITIONTIME` (a timestamp). */
  rows: z.array(z.record(z.unknown())).default([]),
});

const seedSchema = z.object({
  projectId: z.string().optional(),
  datasets: z
    .array(
      z.object({
        datasetId: z.string(),
        projectId: z.string().optional(),
        location: z.string().optional(),
        description: z.string().optional(),
        tables: z.array(tableSchema).default([]),
      }),
    )
    .default([]),
});

/** What the emulator starts with: datasets, tables with schemas, and rows. */
export type Seed = z.input<typeof seedSchema>;
type ParsedSeed = z.output<typeof seedSchema>;

/** Reads and validates a seed given as an object or a JSON file path. */
export async function loadSeed(seed: Seed | string): Promise<ParsedSeed> {
  const raw: unknown = typeof seed === 'string' ? JSON.parse(await readFile(seed, 'utf8')) : seed;
  const parsed = seedSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid BigQuery emulator seed:\n${issues.join('\n')}`);
  }
  return parsed.data;
}

/** Creates the seed's datasets and tables. Seeded rows are not in the streaming buffer. */
export function applySeed(
  warehouse: Warehouse,
  seed: ParsedSeed,
  defaultProject: string,
  now: number,
): void {
  for (const dataset of seed.datasets) {
    const projectId = dataset.projectId ?? seed.projectId ?? defaultProject;
    warehouse.createDataset(
      {
        projectId,
        datasetId: dataset.datasetId,
        location: dataset.location ?? 'US',
        ...(dataset.description === undefined ? {} : { description: dataset.description }),
      },
      now,
    );
    for (const table of dataset.tables) {
      const where = `${projectId}.${dataset.datasetId}.${table.tableId}`;
      try {
        const fields = parseSchemaFields(
          Array.isArray(table.schema) ? table.schema : table.schema.fields,
        );
        const record = warehouse.createTable(
          { projectId, datasetId: dataset.datasetId, tableId: table.tableId },
          fields,
          table.description === undefined ? {} : { description: table.description },
          now,
          parsePartitioning(table.timePartitioning, table.requirePartitionFilter, fields),
        );
        const ingestedAt: Array<bigint | undefined> = [];
        const rows = table.rows.map((json, index) => {
          const { _PARTITIONTIME: partitionTime, ...values } = json;
          ingestedAt.push(
            typeof partitionTime === 'string' ? parseTimestamp(partitionTime) : undefined,
          );
          const { row, errors } = rowFromJson(fields, values);
          if (errors.length > 0) throw new Error(`row ${index}: ${errors.join(' ')}`);
          return row;
        });
        warehouse.insertRows(record, rows, null, now, ingestedAt);
      } catch (error) {
        const message =
          error instanceof BigQueryError || error instanceof Error ? error.message : String(error);
        throw new Error(`Invalid BigQuery emulator seed for table ${where}: ${message}`);
      }
    }
  }
}
