/** HTTP statuses the emulator answers with, and the google.rpc status name of each. */
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
};

/** The `errorProto` BigQuery puts in `errors[]` and in a job's `status.errorResult`. */
export interface ErrorProto {
  reason: string;
  message: string;
  location?: string;
}

/**
 * An error the service would answer with. It renders both as an HTTP error body and as a
 * failed job's `status.errorResult`, so one throw serves jobs.query and jobs.get alike.
 */
export class BigQueryError extends Error {
  override readonly name = 'BigQueryError';

  constructor(
    readonly httpStatus: number,
    readonly reason: string,
    message: string,
    readonly location?: string,
  ) {
    super(message);
  }

  toErrorProto(): ErrorProto {
    return {
      reason: this.reason,
      message: this.message,
      ...(this.location === undefined ? {} : { location: this.location }),
    };
  }

  toResponseBody(): object {
    return {
      error: {
        code: this.httpStatus,
        message: this.message,
        errors: [{ ...this.toErrorProto(), domain: 'global' }],
        status: STATUS_NAMES[this.httpStatus] ?? 'UNKNOWN',
      },
    };
  }
}

export const invalidQuery = (message: string): BigQueryError =>
  new BigQueryError(400, 'invalidQuery', message, 'query');

export const invalid = (message: string): BigQueryError =>
  new BigQueryError(400, 'invalid', message);

export const notFound = (message: string): BigQueryError =>
  new BigQueryError(404, 'notFound', `Not found: ${message}`);

export const duplicate = (message: string): BigQueryError =>
  new BigQueryError(409, 'duplicate', `Already Exists: ${message}`);

/** Re-raises anything that is not a BigQueryError as a 500 the caller can render. */
export function toBigQueryError(error: unknown): BigQueryError {
  if (error instanceof BigQueryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BigQueryError(500, 'internalError', `Emulator internal error: ${message}`);
}
