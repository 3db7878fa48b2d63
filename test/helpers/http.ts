import type { ErrorBody } from '../../src/http/error-response';

/** A tiny JSON client for tests: the status and the parsed body, never throwing on 4xx/5xx. */
export interface JsonResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** The body an error answer carries, for tests that expect one. */
export type ErrorAnswer = ErrorBody;

export async function call<T = unknown>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  init: { headers?: Record<string, string>; raw?: string } = {},
): Promise<JsonResponse<T>> {
  const hasBody = body !== undefined || init.raw !== undefined;
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(hasBody ? { body: init.raw ?? JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: the test will see the text.
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}
