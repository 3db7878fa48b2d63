import type { Role } from '../domain/access';
import { streamed, type HttpResponse } from '../http/types';
import { CSRF_FIELD } from './csrf';
import { markup, toText, type Html, type HtmlValue } from './html';

/** Sent with every console answer, pages, errors and assets alike. */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
};

/** Who is looking at a page, and the token their forms carry. */
export interface Viewer {
  identity: string;
  roles: ReadonlySet<Role>;
  csrfToken: string;
}

export type Section = 'requests' | 'tasks' | 'costs' | 'reports';

const NAV: readonly { section: Section; label: string; href: string }[] = [
  { section: 'requests', label: 'Requests', href: '/console/requests' },
  { section: 'tasks', label: 'Tasks', href: '/console/tasks' },
  { section: 'costs', label: 'Costs', href: '/console/costs' },
  { section: 'reports', label: 'Reports', href: '/console/reports' },
];

/** A whole console page: skip link, banner with navigation and caller, then `main`. */
export function page(options: {
  title: string;
  section?: Section;
  viewer?: Pick<Viewer, 'identity' | 'roles'>;
  body: Html;
}): Html {
  const { title, section, viewer, body } = options;
  return markup`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · dsr-taskrunner console</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
        <link rel="icon" href="data:," />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/console/requests">dsr-taskrunner</a>
          <nav aria-label="Console sections">
            <ul>
              ${NAV.map(
                (item) =>
                  markup`<li>
                    <a
                      href="${item.href}"
                      ${item.section === section ? markup` aria-current="page"` : ''}
                      >${item.label}</a
                    >
                  </li>`,
              )}
            </ul>
          </nav>
          ${
            viewer === undefined
              ? ''
              : markup`<p class="who">
                  Signed in as
                  <strong>${viewer.identity}</strong>
                  (${[...viewer.roles].sort().join(', ') || 'no role'})
                </p>`
          }
        </header>
        <main id="main" tabindex="-1">
          <h1>${title}</h1>
          ${body}
        </main>
      </body>
    </html> `;
}

/** The hidden field with the viewer's CSRF token. */
export function csrfInput(viewer: Viewer): Html {
  return markup`<input type="hidden" name="${CSRF_FIELD}" value="${viewer.csrfToken}" />`;
}

/** A required checkbox: the confirmation an action needs before the form can be sent. */
export function confirmBox(id: string, text: string): Html {
  return markup`<label class="check" for="${id}"
    ><input type="checkbox" id="${id}" name="confirm" value="yes" required /> ${text}</label
  >`;
}

/** A labelled field with its error (from a refused save) beside it. */
export function field(options: {
  id: string;
  label: string;
  control: Html;
  error?: string | undefined;
  hint?: string;
  wide?: boolean;
}): Html {
  const { id, label, control, error, hint, wide } = options;
  return markup`<div class="field${wide === true ? ' wide' : ''}">
    <label for="${id}">${label}</label>
    ${control} ${hint === undefined ? '' : markup`<span class="muted" id="${id}-hint">${hint}</span>`}
    ${error === undefined ? '' : markup`<span class="error-text" id="${id}-error" role="alert">${error}</span>`}
  </div>`;
}

/** A `<select>` with its options, the current value selected. */
export function select(
  id: string,
  name: string,
  options: readonly (readonly [string, string])[],
  current: string | undefined,
  extra: HtmlValue = '',
): Html {
  return markup`<select id="${id}" name="${name}" ${extra}>
    ${options.map(
      ([value, label]) =>
        markup`<option value="${value}" ${value === (current ?? '') ? markup` selected` : ''}>
          ${label}
        </option>`,
    )}
  </select>`;
}

/** A status or risk as a tag whose text says what the colour says. */
export function tag(kind: string, text?: string): Html {
  return markup`<span class="tag ${kind}">${text ?? kind.replace(/_/g, ' ')}</span>`;
}

/** An HTML answer with the console's security headers. */
export function htmlResponse(markup: Html, status = 200): HttpResponse {
  const text = toText(markup);
  return streamed(
    { ...CONSOLE_SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8' },
    (async function* () {
      yield text;
    })(),
    status,
  );
}

/** 303 See Other to a console page (after a POST). */
export function seeOther(location: string): HttpResponse {
  return { status: 303, headers: { ...CONSOLE_SECURITY_HEADERS, Location: location } };
}

export const fmtUsd = (usd: number | undefined): string =>
  usd === undefined ? '—' : `$${usd.toFixed(usd !== 0 && Math.abs(usd) < 0.01 ? 6 : 2)}`;

export function fmtBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** An ISO time as `YYYY-MM-DD HH:MM UTC`, inside a `<time>` element. */
export function time(iso: string | undefined): Html {
  if (iso === undefined) return markup`—`;
  const shown = iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
  return markup`<time datetime="${iso}">${shown}</time>`;
}
