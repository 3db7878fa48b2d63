/** A transport-neutral HTTP request, so routes are tested without a server. */
export interface HttpRequest {
  method: string;
  path: string;
  /** As the framework parsed it: a repeated parameter arrives as an array (and is refused). */
  query: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
  /** The raw bytes, when the framework kept them (for the size limit). */
  rawBody?: Buffer;
}

export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export function header(req: Pick<HttpRequest, 'headers'>, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
