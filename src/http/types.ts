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
  /** A JSON body. */
  body?: unknown;
  /**
   * A streamed body, sent as it is produced (with backpressure) instead of `body`. The headers
   * go out with the first chunk: a throw before it is answered as an ordinary JSON error, a
   * throw after it aborts the connection (the client sees a truncated download, never a
   * well-formed one). Set `content-type` in `headers`.
   */
  stream?: AsyncIterable<Uint8Array | string>;
}

/** A streamed answer: `source` is pulled only as fast as the client reads. */
export function streamed(
  headers: Record<string, string>,
  source: AsyncIterable<Uint8Array | string>,
  status = 200,
): HttpResponse {
  return { status, headers, stream: source };
}

export function header(req: Pick<HttpRequest, 'headers'>, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
