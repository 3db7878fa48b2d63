import { stringify as toYaml } from 'yaml';
import { UsageError } from './exit-codes';

/**
 * Output formats, as gcloud spells them: `table` (the default on a terminal), `json` (the
 * default in a pipe), `yaml`, `csv`, and `value(field,…)`: the named fields, tab-separated, one
 * row a line, for shell scripts. Data goes to stdout only; nothing here writes colour.
 */
export type Format =
  | { kind: 'table' | 'json' | 'yaml' | 'csv' }
  | { kind: 'value'; fields: string[] }
  | { kind: 'csv'; fields: string[] };

/** A column of a table or CSV: its heading and the dotted path of the field it shows. */
export interface Column {
  header: string;
  path: string;
  /** How the cell reads; the raw value by default. */
  show?: (value: unknown, row: Record<string, unknown>) => string;
}

/**
 * How a command's answer is shown: the rows a table, CSV or `value()` shows and their default
 * columns, and for a single object an optional `describe` that a table shows instead.
 */
export interface View {
  rows: (data: unknown) => Record<string, unknown>[];
  columns?: Column[];
  describe?: (data: unknown) => string;
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

/** Parses `--format`: `table`, `json`, `yaml`, `csv`, `csv(a,b)` or `value(a,b.c)`. */
export function parseFormat(text: string): Format {
  const trimmed = text.trim();
  if (['table', 'json', 'yaml', 'csv'].includes(trimmed)) {
    return { kind: trimmed as 'table' | 'json' | 'yaml' | 'csv' };
  }
  const match = /^(value|csv)\((.*)\)$/.exec(trimmed);
  if (match !== null) {
    const fields = (match[2] ?? '').split(',').map((f) => f.trim());
    const bad = fields.find((f) => !FIELD.test(f));
    if (bad !== undefined) {
      throw new UsageError(
        `--format ${match[1]}(…) needs field names such as ${match[1]}(id,status,cost.usd)${bad === undefined ? '' : `; not a field: ${JSON.stringify(bad)}`}`,
      );
    }
    return match[1] === 'value' ? { kind: 'value', fields } : { kind: 'csv', fields };
  }
  throw new UsageError(
    `--format must be table, json, yaml, csv or value(field,…); got ${JSON.stringify(text)}`,
  );
}

/** The value at a dotted path, by own properties only (`cost.usd`, `instances.0.state`). */
export function getPath(data: unknown, path: string): unknown {
  let value: unknown = data;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A cell as text: empty for nothing, JSON for objects and arrays of objects. */
export function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) {
    return value.map(cellText).join(',');
  }
  return JSON.stringify(value);
}

/** Columns for rows no command described: every top-level field, objects one level deep. */
export function autoColumns(rows: readonly Record<string, unknown>[]): Column[] {
  const paths: string[] = [];
  const add = (p: string) => void (paths.includes(p) ? undefined : paths.push(p));
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const sub of Object.keys(value)) add(`${key}.${sub}`);
      } else add(key);
    }
  }
  return paths.map((path) => ({ header: headerOf(path), path }));
}

function headerOf(path: string): string {
  return path
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/\./g, '_')
    .toUpperCase();
}

function cell(row: Record<string, unknown>, column: Column): string {
  const value = getPath(row, column.path);
  return column.show === undefined ? cellText(value) : column.show(value, row);
}

/** A plain-text table: a header row, then one row per item, columns padded to fit. */
export function renderTable(rows: readonly Record<string, unknown>[], columns: Column[]): string {
  if (columns.length === 0) return rows.length === 0 ? '' : `${rows.length} item(s)\n`;
  const cells = rows.map((row) => columns.map((c) => oneLine(cell(row, c))));
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map((r) => line(r))].join('\n') + '\n';
}

/** Key and value pairs, one a line, for one object (`show` commands). */
export function renderPairs(pairs: readonly [string, unknown][]): string {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return (
    shown.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${oneLine(cellText(v))}`).join('\n') + '\n'
  );
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ');
}

/** RFC 4180 CSV; a text cell that a spreadsheet would run as a formula is quoted with `'`. */
export function renderCsv(rows: readonly Record<string, unknown>[], columns: Column[]): string {
  const lines = [
    columns.map((c) => csvCell(c.header)).join(','),
    ...rows.map((row) =>
      columns
        .map((c) => {
          const value = getPath(row, c.path);
          const text = c.show === undefined ? cellText(value) : c.show(value, row);
          return csvCell(
            typeof value === 'string' && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text,
          );
        })
        .join(','),
    ),
  ];
  return lines.join('\r\n') + '\r\n';
}

function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** `value(a,b)`: the fields tab-separated, one row a line, nothing else. */
export function renderValues(rows: readonly Record<string, unknown>[], fields: string[]): string {
  return rows
    .map((row) => fields.map((f) => oneLine(cellText(getPath(row, f)))).join('\t'))
    .map((l) => `${l}\n`)
    .join('');
}

/** Renders a command's answer in the chosen format. */
export function render(data: unknown, view: View, format: Format): string {
  switch (format.kind) {
    case 'json':
      return `${JSON.stringify(data, null, 2)}\n`;
    case 'yaml':
      return toYaml(data ?? null);
    case 'value':
      return renderValues(view.rows(data), format.fields);
    case 'csv': {
      const rows = view.rows(data);
      const columns =
        'fields' in format
          ? format.fields.map((path) => ({ header: path, path }))
          : (view.columns ?? autoColumns(rows)).map((c) => ({ ...c, header: c.path }));
      return renderCsv(rows, columns);
    }
    case 'table': {
      if (view.describe !== undefined) return view.describe(data);
      const rows = view.rows(data);
      return renderTable(rows, view.columns ?? autoColumns(rows));
    }
  }
}

/** A list's items as rows (a list answer is an array). */
export const listView = (columns?: Column[]): View => ({
  rows: (data) => (Array.isArray(data) ? (data as Record<string, unknown>[]) : []),
  ...(columns === undefined ? {} : { columns }),
});

/** One object as one row, with a `describe` for tables. */
export const objectView = (describe?: (data: unknown) => string, columns?: Column[]): View => ({
  rows: (data) =>
    data !== null && typeof data === 'object' ? [data as Record<string, unknown>] : [],
  ...(describe === undefined ? {} : { describe }),
  ...(columns === undefined ? {} : { columns }),
});
