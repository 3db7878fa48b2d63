/**
 * How the records package writes a row's values into its CSV and HTML files. Pure text work,
 * kept apart so that its escaping rules are tested on their own.
 */

/**
 * A JSON value as the text of one cell: strings as they are, `null` as nothing, numbers and
 * booleans as JSON writes them, and nested values (a BigQuery RECORD or REPEATED column) as
 * their JSON text, so a row stays one line of the table.
 */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}

/** Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV field (RFC 4180): quoted when it holds a quote, comma, CR or LF, with quotes doubled.
 * A string that a spreadsheet would run as a formula (it starts with = + - @, a tab or a CR)
 * is prefixed with `'`; numbers are left alone (a negative number is data, not a formula).
 */
export function csvField(value: unknown): string {
  let text = cellText(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record, CRLF-terminated as RFC 4180 asks. */
export function csvRecord(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** The CSP of the package's index.html: nothing may load or run; inline styles only. */
export const PACKAGE_HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'";
