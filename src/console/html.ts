/**
 * The console's one escaping rule. Every page is built with the `markup` tag: each interpolated
 * value is escaped for text and for a quoted attribute value (& < > " ' `), unless it is already
 * `Html` (the result of another `markup` template, or a constant marked with `trusted`). Arrays
 * are joined; null, undefined and false render nothing. Attributes are always written quoted in
 * the templates, so an escaped value can never leave its attribute.
 */

const brand: unique symbol = Symbol('html');

/** Markup that is safe to emit as it is. */
export interface Html {
  readonly [brand]: true;
  readonly text: string;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Text as it must appear inside an element or a quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

function isHtml(value: unknown): value is Html {
  return typeof value === 'object' && value !== null && (value as Html)[brand] === true;
}

function make(text: string): Html {
  return { [brand]: true, text };
}

/** A value a template may interpolate. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (isHtml(value)) return value.text;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  if (typeof value === 'object') return ''; // not reachable through the types
  return escapeHtml(String(value));
}

/** The template tag: the literal parts are markup, every value is escaped. */
export function markup(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return make(out);
}

/**
 * Marks a constant of this codebase (never data) as markup. Only for literals: a value that
 * came from a request, the store or a caller must go through `markup`.
 */
export function trusted(markup: string): Html {
  return make(markup);
}

/** The markup as a string, for the response body. */
export function toText(value: Html): string {
  return value.text;
}

/** A path with each segment percent-encoded (ids go into hrefs and form actions). */
export function path(...segments: string[]): string {
  return segments.map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');
}

/** A query string from defined, non-empty values, `?a=1&b=2`, or '' when there are none. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== '') search.set(k, String(v));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
