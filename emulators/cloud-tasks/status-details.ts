import type { protobuf } from 'google-gax';
import { Code, type ApiError, type ErrorDetail } from './errors';
import { loadRpcStatusRoot } from './protos';

/**
 * The error details of an ApiError on the wire, as the service sends them: over gRPC a
 * serialised google.rpc.Status in the `grpc-status-details-bin` trailer (google-gax decodes it
 * into `statusDetails`, `reason`, `domain` and `errorInfoMetadata`), over REST the proto3 JSON
 * `details` array of Google's error envelope.
 */

const TYPE_PREFIX = 'type.googleapis.com/google.rpc.';

let root: protobuf.Root | undefined;
const rpcType = (name: string): protobuf.Type => {
  root ??= loadRpcStatusRoot();
  return root.lookupType(`google.rpc.${name}`);
};

function fields(detail: ErrorDetail): Record<string, unknown> {
  const { type: _type, ...rest } = detail;
  return rest;
}

/** The `grpc-status-details-bin` value for an error with details; undefined without any. */
export function grpcStatusDetails(error: ApiError): Buffer | undefined {
  if (error.details.length === 0) return undefined;
  const details = error.details.map((detail) => {
    const type = rpcType(detail.type);
    return {
      type_url: `${TYPE_PREFIX}${detail.type}`,
      value: type.encode(type.fromObject(fields(detail))).finish(),
    };
  });
  const status = rpcType('Status');
  const message = status.fromObject({ code: Code[error.code], message: error.message, details });
  return Buffer.from(status.encode(message).finish());
}

/** The REST envelope's `details`, each with its `@type`. */
export function jsonStatusDetails(error: ApiError): Array<Record<string, unknown>> {
  return error.details.map((detail) => ({
    '@type': `${TYPE_PREFIX}${detail.type}`,
    ...fields(detail),
  }));
}
