import { UsageError } from './exit-codes';

/** The local stack's api when neither `--api` nor DSR_API names another. */
export const DEFAULT_API = 'http://localhost:8080';

/** Which api `dsr` calls and how it proves who is calling. */
export type Target =
  | {
      kind: 'local';
      apiUrl: string;
      /** Sent as `X-Dev-Identity`; absent, the local api takes developer@localhost. */
      identity?: string;
    }
  | {
      kind: 'deployed';
      apiUrl: string;
      /** The audience of the ID token: the api's URL unless DSR_AUDIENCE or --audience say. */
      audience: string;
      /** Mint the token as this service account (Application Default Credentials impersonate it). */
      impersonate?: string;
      /** A token given outright (DSR_ID_TOKEN, e.g. from `gcloud auth print-identity-token`). */
      idToken?: string;
    };

export interface TargetOptions {
  api?: string;
  as?: string;
  impersonateServiceAccount?: string;
  audience?: string;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * The target, from the flags and the environment alone (a pure function: nothing reads
 * process.env here). Flags win over DSR_API, DSR_IDENTITY, DSR_AUDIENCE,
 * DSR_IMPERSONATE_SERVICE_ACCOUNT and DSR_ID_TOKEN.
 */
export function resolveTarget(
  options: TargetOptions,
  env: Readonly<Record<string, string | undefined>>,
): Target {
  const given = nonEmpty(options.api) ?? nonEmpty(env['DSR_API']) ?? DEFAULT_API;
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new UsageError(`--api (or DSR_API) is not a URL: ${JSON.stringify(given)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--api (or DSR_API) must be an http or https URL; got ${url.protocol}`);
  }
  const apiUrl = url.href.replace(/\/+$/, '');
  const identity = nonEmpty(options.as) ?? nonEmpty(env['DSR_IDENTITY']);
  const impersonate =
    nonEmpty(options.impersonateServiceAccount) ?? nonEmpty(env['DSR_IMPERSONATE_SERVICE_ACCOUNT']);
  if (LOCAL_HOSTS.has(url.hostname)) {
    if (impersonate !== undefined && nonEmpty(options.impersonateServiceAccount) !== undefined) {
      throw new UsageError(
        '--impersonate-service-account applies to a deployed api; locally, name the caller with --as EMAIL',
      );
    }
    return { kind: 'local', apiUrl, ...(identity === undefined ? {} : { identity }) };
  }
  if (nonEmpty(options.as) !== undefined) {
    throw new UsageError(
      '--as names the caller of a local stack only; a deployed api knows you by your ID token (use --impersonate-service-account)',
    );
  }
  const audience = nonEmpty(options.audience) ?? nonEmpty(env['DSR_AUDIENCE']) ?? url.origin;
  const idToken = nonEmpty(env['DSR_ID_TOKEN']);
  return {
    kind: 'deployed',
    apiUrl,
    audience,
    ...(impersonate === undefined ? {} : { impersonate }),
    ...(idToken === undefined ? {} : { idToken }),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v === undefined || v === '' ? undefined : v;
}
