/**
 * Where `http.request` may send a subject's identifiers and our secrets. A task's URL must be
 * on the allowlist (`HTTP_ALLOWED_ORIGINS`), and each secret header may go only to the origins
 * it is bound to (`HTTP_SECRET_ORIGINS`). An entry is an origin, `scheme://host[:port]` with
 * scheme http or https and no path (`https://api.example.com`), matched exactly; or an origin
 * with the port `*`, `http://127.0.0.1:*`, for any port of that scheme and host (local partners
 * on random ports). No host wildcards: `https://*.example.com` matches nothing.
 */
export interface OriginPolicy {
  allowedOrigins: readonly string[];
  /** Secret reference → the origins it may be sent to. */
  secretOrigins: Readonly<Record<string, readonly string[]>>;
}

/** Nothing is allowed until configured: a registry locked down by default. */
export const CLOSED_ORIGIN_POLICY: OriginPolicy = { allowedOrigins: [], secretOrigins: {} };

/** The origin a URL template sends to, or why it names none safely. */
export function templateOrigin(template: string): { origin: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(template);
  } catch {
    return { problem: 'not a URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return { problem: 'http or https only' };
  if (url.username !== '' || url.password !== '') {
    return { problem: 'a URL with credentials in it (user@host) is not allowed' };
  }
  // Placeholders may fill the path and query (encoded), never choose the host.
  const authority = template.slice(url.protocol.length + 2).split(/[/?#]/)[0] ?? '';
  if (authority.includes('{{') || authority.includes('%7B')) {
    return { problem: 'placeholders may not appear in the host' };
  }
  return { origin: url.origin };
}

/**
 * Whether `origin` (a URL's `origin`: lower-case, no default port) matches one of `entries`:
 * exactly, or for an entry ending in `:*`, on any port. Entries are compared as URLs would
 * write them (`HTTPS://API.Example.com:443` is `https://api.example.com`).
 */
export function originAllowed(origin: string, entries: readonly string[]): boolean {
  return entries.some((raw) => {
    const entry = raw.trim().toLowerCase();
    if (!entry.endsWith(':*')) return canonicalOrigin(entry) === origin;
    const base = entry.slice(0, -2);
    return (
      origin === base ||
      (origin.startsWith(`${base}:`) && /^\d+$/.test(origin.slice(base.length + 1)))
    );
  });
}

/**
 * An entry as `URL.origin` writes it. Only a bare origin is rewritten: anything with a path,
 * user info or query stays as it is, and so matches no origin.
 */
function canonicalOrigin(entry: string): string {
  if (!/^https?:\/\/[^/?#@]+$/.test(entry)) return entry;
  try {
    return new URL(entry).origin;
  } catch {
    return entry;
  }
}

/** The secret references bound to an origin, for the policy's own validation. */
export function parseSecretOrigins(json: string): Record<string, string[]> {
  const parsed = JSON.parse(json) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('an object of secret reference → list of origins');
  }
  const out: Record<string, string[]> = {};
  for (const [ref, origins] of Object.entries(parsed)) {
    if (!/^[A-Z][A-Z0-9_]{0,99}$/.test(ref)) throw new Error(`${ref}: not a secret reference`);
    if (!Array.isArray(origins) || !origins.every((o) => typeof o === 'string')) {
      throw new Error(`${ref}: a list of origins`);
    }
    out[ref] = origins;
  }
  return out;
}
