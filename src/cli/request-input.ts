import type { z } from 'zod';
import { fileRequestSchema } from '../domain/model';
import { CsvSyntaxError, parseCsv } from './csv';
import { CliError } from './exit-codes';

/**
 * The requests in a file for `dsr requests file`: JSON (one request or an array) or CSV (one a
 * row). Each is checked against the API's own schema here, so a bad row is named by its line
 * before anything is sent, and the good rows are filed all the same.
 */
export interface Candidate {
  /** Where it is in the file: `line 7` (CSV) or `item 3` (a JSON array). */
  label: string;
  /** The body to POST, when the row is valid. */
  body?: Record<string, unknown>;
  /** Why the row cannot be filed, when it is not. */
  error?: string;
}

/** CSV columns that are fields of the request; every other column is a subject identifier. */
export const REQUEST_COLUMNS = [
  'type',
  'regulation',
  'externalId',
  'receivedAt',
  'dueAt',
  'notes',
  'channel',
  'dryRun',
  'verification',
] as const;

/** Reads a file's requests, JSON when it looks like JSON (or is named `.json`), else CSV. */
export function readRequests(text: string, name = '-'): Candidate[] {
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (name.toLowerCase().endsWith('.json') || trimmed.startsWith('{') || trimmed.startsWith('[')) {
    return requestsFromJson(trimmed);
  }
  return requestsFromCsv(text);
}

export function requestsFromJson(text: string): Candidate[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError(`the file is not valid JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(parsed)) return parsed.map((item, i) => check(`item ${i + 1}`, item));
  return [check('the request', parsed)];
}

export function requestsFromCsv(text: string): Candidate[] {
  let records;
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvSyntaxError) throw new CliError(`the CSV cannot be read: ${err.message}`);
    throw err;
  }
  const [head, ...rows] = records;
  if (head === undefined) throw new CliError('the CSV is empty: it needs a header row');
  const columns = head.cells.map((c) => c.trim());
  const seen = new Set<string>();
  for (const column of columns) {
    if (column === '') throw new CliError('the CSV header has an empty column name (line 1)');
    if (seen.has(column)) throw new CliError(`the CSV header names ${column} twice (line 1)`);
    seen.add(column);
  }
  if (!seen.has('type')) {
    throw new CliError(
      'the CSV header needs a type column, and one column per identifier (email, userId, …)',
    );
  }
  return rows.map(({ line, cells }) => {
    const label = `line ${line}`;
    if (cells.length !== columns.length) {
      return { label, error: `${cells.length} cells where the header has ${columns.length}` };
    }
    const body: Record<string, unknown> = {};
    const subject: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [i, column] of columns.entries()) {
      const value = (cells[i] ?? '').trim();
      if (value === '') continue; // an empty cell: the field or identifier is not given
      if ((REQUEST_COLUMNS as readonly string[]).includes(column)) {
        if (column === 'dryRun') {
          if (value !== 'true' && value !== 'false') {
            return { label, error: `dryRun: true or false, not ${JSON.stringify(value)}` };
          }
          body[column] = value === 'true';
        } else body[column] = value;
      } else subject[column] = value;
    }
    return check(label, { ...body, subject: { ...subject } });
  });
}

function check(label: string, body: unknown): Candidate {
  const parsed = fileRequestSchema.safeParse(body);
  if (parsed.success) return { label, body: body as Record<string, unknown> };
  return { label, error: describeIssues(parsed.error.issues) };
}

function describeIssues(issues: readonly z.ZodIssue[]): string {
  return issues
    .map((i) => (i.path.length === 0 ? i.message : `${i.path.join('.')}: ${i.message}`))
    .join('; ');
}
