import { z } from 'zod';
import { PermanentError, RetryableError } from '../domain/errors';
import { zeroCost, type Subject } from '../domain/model';
import { identifierOf } from '../domain/subject';
import { defineExecutor, type PolicyIssue } from './contract';
import {
  CLOSED_ORIGIN_POLICY,
  originAllowed,
  templateOrigin,
  type OriginPolicy,
} from './origin-policy';

/** Looks up a secret by reference (deployed: Secret Manager values mounted as env vars). */
export type SecretResolver = (ref: string) => string | undefined;

const headerValue = z.union([
  z.string().max(4096),
  z
    .object({
      secret: z.string().regex(/^[A-Z][A-Z0-9_]{0,99}$/, 'a secret reference such as GA_API_TOKEN'),
    })
    .strict(),
]);

const baseSchema = z
  .object({
    url: z.string().max(2000),
    method: z.enum(['POST', 'PUT', 'DELETE', 'PATCH', 'GET']).default('POST'),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), headerValue).default({}),
    /** A JSON value; strings may hold `{{subject.<identifier>}}` placeholders. */
    body: z.unknown().optional(),
  })
  .strict();
type HttpRequestConfig = z.infer<typeof baseSchema>;

/** A URL whose origin is fixed by the task (no credentials in it, no placeholder in the host). */
const configSchema = baseSchema.superRefine((config, ctx) => {
  const target = templateOrigin(config.url);
  if ('problem' in target) ctx.addIssue({ code: 'custom', path: ['url'], message: target.problem });
});

/**
 * Where the config would send identifiers and secrets that the policy forbids: the URL's
 * origin off the allowlist, a secret header not bound to that origin. Checked at registration,
 * at every change, and again before every run.
 */
function policyIssuesOf(config: HttpRequestConfig, policy: OriginPolicy): PolicyIssue[] {
  const target = templateOrigin(config.url);
  // The schema refused it already; a config that skipped the schema goes nowhere.
  if ('problem' in target) {
    return [{ path: ['url'], code: 'http.origin_not_allowed', message: target.problem }];
  }
  const issues: PolicyIssue[] = [];
  if (!originAllowed(target.origin, policy.allowedOrigins)) {
    issues.push({
      path: ['url'],
      code: 'http.origin_not_allowed',
      message: `${target.origin} is not on the allowlist (HTTP_ALLOWED_ORIGINS)`,
    });
  }
  for (const [name, value] of Object.entries(config.headers)) {
    if (typeof value === 'string') continue;
    const bound = Object.hasOwn(policy.secretOrigins, value.secret)
      ? (policy.secretOrigins[value.secret] ?? [])
      : [];
    if (!originAllowed(target.origin, bound)) {
      issues.push({
        path: ['headers', name],
        code: 'http.secret_not_bound',
        message: `secret ${value.secret} is not bound to ${target.origin} (HTTP_SECRET_ORIGINS)`,
      });
    }
  }
  return issues;
}

const PLACEHOLDER = /\{\{\s*subject\.([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

/** Calls a third party's deletion or export endpoint for the subject. */
export function createHttpRequestExecutor(
  secrets: SecretResolver,
  fetchImpl: typeof fetch = fetch,
  policy: OriginPolicy = CLOSED_ORIGIN_POLICY,
) {
  return defineExecutor<HttpRequestConfig>({
    name: 'http.request',
    description:
      'Calls a third-party deletion/export endpoint. 2xx succeeded, 404 not_found, 429/5xx retryable, other 4xx permanent.',
    configSchema,
    // A GET only reads (an export); any other method asks the partner to change data.
    jobTypes: (config) => (config.method === 'GET' ? ['records'] : ['deletion']),
    policyIssues: (config) => policyIssuesOf(config, policy),
    requiredIdentifiers: (config) => placeholders(config),
    async run({ config, subject, signal, dryRun }) {
      // Again before every run (a dry run too): the policy may have tightened since registration.
      const refused = policyIssuesOf(config, policy)[0];
      if (refused !== undefined) throw new PermanentError(refused.message, refused.code);
      const url = fill(config.url, subject, encodeURIComponent);
      const endpoint = endpointOf(config.method, config.url);
      if (dryRun) {
        return {
          outcome: 'succeeded',
          message: `audit: would call ${endpoint}`,
          cost: zeroCost(),
          output: { wouldCall: endpoint },
          evidence: { touched: [endpoint] },
        };
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(config.headers)) {
        if (typeof value === 'string') headers[name] = value;
        else {
          const secret = secrets(value.secret);
          if (secret === undefined) {
            throw new PermanentError(
              `secret ${value.secret} is not configured`,
              'http.secret_missing',
            );
          }
          headers[name] = secret;
        }
      }
      let body: string | undefined;
      if (config.body !== undefined && config.method !== 'GET') {
        body = JSON.stringify(fillJson(config.body, subject));
        headers['content-type'] ??= 'application/json';
      }
      let response: Response;
      try {
        response = await fetchImpl(url, { method: config.method, headers, body, signal });
      } catch (err) {
        if (signal.aborted) throw err;
        // Neither the error's message nor the error itself: fetch quotes the filled URL in
        // some of them ("Failed to parse URL from ...").
        throw new RetryableError(`could not reach ${endpoint} (${failureCode(err)})`, {
          code: 'http.unreachable',
        });
      }
      // Drain so the connection can be reused. Only the status is recorded, never the body or
      // headers: a third party may echo the subject back.
      await response.arrayBuffer().catch(() => undefined);
      const evidence = { touched: [endpoint] };
      const s = response.status;
      if (s >= 200 && s < 300) {
        return {
          outcome: 'succeeded',
          message: `${endpoint} answered ${s}`,
          cost: zeroCost(),
          evidence,
        };
      }
      if (s === 404) {
        return {
          outcome: 'not_found',
          message: `${endpoint} answered 404: nothing held for this subject`,
          cost: zeroCost(),
          evidence,
        };
      }
      if (s === 429 || s >= 500) {
        throw new RetryableError(`${endpoint} answered ${s}`, {
          code: `http.${s}`,
          retryAfterSeconds: parseRetryAfter(response.headers.get('retry-after')),
        });
      }
      throw new PermanentError(
        `${endpoint} answered ${s}; check the task's URL, method and credentials`,
        `http.${s}`,
      );
    },
  });
}

/**
 * How messages, evidence and errors name the endpoint: the method, origin and path of the URL
 * template with its placeholders unfilled (no credentials, query or fragment). The filled URL
 * holds the subject, and what is recorded of a run ends up in log lines.
 */
function endpointOf(method: string, urlTemplate: string): string {
  const [, scheme = '', host = '', path = ''] =
    /^(https?:\/\/)(?:[^@/?#]*@)?([^/?#]*)([^?#]*)/i.exec(urlTemplate) ?? [];
  return `${method} ${scheme}${host}${path === '' ? '/' : path}`;
}

/** The network error's code (ECONNREFUSED, ENOTFOUND, ...), or the error's name. */
function failureCode(err: unknown): string {
  const code = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,40}$/.test(code)) return code;
  return err instanceof Error ? err.name : 'unknown error';
}

function placeholders(config: HttpRequestConfig): string[] {
  const found = new Set<string>();
  const scan = (text: string) => {
    for (const m of text.matchAll(PLACEHOLDER)) if (m[1] !== undefined) found.add(m[1]);
  };
  scan(config.url);
  scan(JSON.stringify(config.body ?? null));
  return [...found];
}

function fill(text: string, subject: Subject, encode: (s: string) => string = (s) => s): string {
  return text.replace(PLACEHOLDER, (_m, key: string) => {
    const value = identifierOf(subject, key);
    if (value === undefined) {
      throw new PermanentError(
        `the subject has no ${key}, which this task needs`,
        'http.identifier_missing',
      );
    }
    return encode(value);
  });
}

function fillJson(value: unknown, subject: Subject): unknown {
  if (typeof value === 'string') return fill(value, subject);
  if (Array.isArray(value)) return value.map((v) => fillJson(v, subject));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillJson(v, subject)]));
  }
  return value;
}

function parseRetryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
