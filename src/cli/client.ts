import { CliError } from './exit-codes';
import type { Target } from './target';

/** One field the API named as wrong. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** An error answer of the API: its status, code, message and field issues. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: FieldIssue[] = [],
    /** A busy answer's Retry-After, in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface CallOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface JsonAnswer<T> {
  status: number;
  body: T;
}

/** The API, called as the target's caller. Error answers throw ApiError; nothing else is hidden. */
export interface ApiClient {
  readonly apiUrl: string;
  json<T = unknown>(method: string, path: string, options?: CallOptions): Promise<JsonAnswer<T>>;
  /** The raw answer of a 2xx (a stream: a zip, a CSV); errors still throw ApiError. */
  raw(method: string, path: string, options?: CallOptions): Promise<Response>;
}

type TokenSource = () => Promise<string>;

export function createClient(target: Target, fetchImpl: typeof fetch = fetch): ApiClient {
  const token = target.kind === 'deployed' ? idTokenSource(target) : undefined;
  const send = async (method: string, path: string, options: CallOptions = {}) => {
    const url = new URL(`${target.apiUrl}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (target.kind === 'local' && target.identity !== undefined) {
      headers['x-dev-identity'] = target.identity;
    }
    if (token !== undefined) headers['authorization'] = `Bearer ${await token()}`;
    let res: Response;
    try {
      res = await fetchImpl(url, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    } catch (err) {
      throw new CliError(unreachable(target, err));
    }
    if (res.status >= 400) throw await apiErrorOf(res);
    return res;
  };
  return {
    apiUrl: target.apiUrl,
    raw: send,
    async json<T>(method: string, path: string, options?: CallOptions) {
      const res = await send(method, path, options);
      const text = await res.text();
      if (text === '') return { status: res.status, body: undefined as T };
      try {
        return { status: res.status, body: JSON.parse(text) as T };
      } catch {
        throw new CliError(`the api answered ${res.status} with something other than JSON`);
      }
    },
  };
}

function unreachable(target: Target, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  const hint =
    target.kind === 'local'
      ? '; is the local stack running (npm start), and on that port? (--api or DSR_API)'
      : '';
  return `cannot reach the api at ${target.apiUrl}: ${why}${hint}`;
}

/** Our error body `{error: {code, message, issues?}}`, or what can be said of another answer. */
async function apiErrorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as {
      error?: { code?: unknown; message?: unknown; issues?: unknown };
    };
    const e = parsed.error;
    if (e !== undefined && typeof e.code === 'string' && typeof e.message === 'string') {
      const issues = Array.isArray(e.issues)
        ? (e.issues as FieldIssue[]).filter(
            (i) => typeof i?.path === 'string' && typeof i?.message === 'string',
          )
        : [];
      const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
      return new ApiError(
        res.status,
        e.code,
        e.message,
        issues,
        Number.isFinite(retryAfter) ? retryAfter : undefined,
      );
    }
  } catch {
    // Not our JSON: a proxy's or Cloud Run's page. Say what we can without echoing it whole.
  }
  const hint =
    res.status === 401 || res.status === 403
      ? ' (Cloud Run refused the call: is your account an invoker, and the token for the right audience?)'
      : '';
  return new ApiError(
    res.status,
    `http_${res.status}`,
    `the api answered ${res.status} ${res.statusText}${hint}`,
  );
}

/**
 * ID tokens for a deployed api, from Application Default Credentials (google-auth-library,
 * loaded only here, when a deployed target needs it), optionally impersonating a service
 * account. Tokens are cached until five minutes before they expire.
 */
function idTokenSource(target: Extract<Target, { kind: 'deployed' }>): TokenSource {
  if (target.idToken !== undefined) {
    const given = target.idToken;
    return async () => given;
  }
  let cached: { token: string; expiresAt: number } | undefined;
  let mint: TokenSource | undefined;
  return async () => {
    if (cached !== undefined && cached.expiresAt - Date.now() > 5 * 60_000) return cached.token;
    mint ??= await tokenMinter(target);
    let token: string;
    try {
      token = await mint();
    } catch (err) {
      throw new CliError(
        `cannot get an ID token for ${target.audience} from Application Default Credentials: ${(err as Error).message}. ` +
          'Run `gcloud auth application-default login`, and for a user account add --impersonate-service-account SA',
      );
    }
    cached = { token, expiresAt: expiryOf(token) };
    return token;
  };
}

async function tokenMinter(target: Extract<Target, { kind: 'deployed' }>): Promise<TokenSource> {
  const { GoogleAuth, Impersonated } = await import('google-auth-library');
  const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  if (target.impersonate !== undefined) {
    const principal = target.impersonate;
    return async () => {
      const impersonated = new Impersonated({
        sourceClient: await auth.getClient(),
        targetPrincipal: principal,
        targetScopes: ['https://www.googleapis.com/auth/cloud-platform'],
        lifetime: 3600,
      });
      return impersonated.fetchIdToken(target.audience, { includeEmail: true });
    };
  }
  return async () => {
    const client = await auth.getIdTokenClient(target.audience);
    return client.idTokenProvider.fetchIdToken(target.audience);
  };
}

/** A JWT's `exp`, in ms; now when it cannot be read (the token is then minted each call). */
function expiryOf(token: string): number {
  try {
    const payload = JSON.parse(
      Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'),
    ) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : Date.now();
  } catch {
    return Date.now();
  }
}
