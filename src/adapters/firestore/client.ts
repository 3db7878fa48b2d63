import { Firestore, GrpcStatus } from '@google-cloud/firestore';
import { GoogleAuth, PassThroughClient, type gaxios } from 'google-auth-library';

/**
 * How the Firestore client talks to the service:
 * - `rest`: HTTP/1.1 and JSON (`preferRest: true`). No gRPC channel is set up, so the first
 *   call of a fresh instance costs less (bench/README.md, "Cold start"). Every call our
 *   adapters make is unary or a server stream (gets, `getAll`, queries, aggregate counts,
 *   writes, batches, transactions), which REST serves. The client would switch to gRPC on its
 *   own for a call that needs a bidirectional stream (an `onSnapshot` listener); nothing here
 *   makes one. A call costs more CPU over REST than over an open gRPC channel, though.
 * - `grpc`: the client's default; one HTTP/2 channel, cheaper per call once open.
 *
 * Note: `require('@google-cloud/firestore')` loads google-gax with @grpc/grpc-js whichever
 * transport is chosen (its tracing module loads the v1 GAPIC clients, and they load gax), so
 * REST saves the channel and the first call's set-up, not those modules.
 */
export type FirestoreTransport = 'rest' | 'grpc';

export interface FirestoreClientOptions {
  projectId: string;
  transport: FirestoreTransport;
  /**
   * FIRESTORE_EMULATOR_HOST, when set (the client reads it itself too): over REST, the
   * emulator is called with no credentials at all.
   */
  emulatorHost?: string;
}

/** Firestore's scopes, as its own client asks for them. */
const SCOPES = [
  'https://www.googleapis.com/auth/cloud-platform',
  'https://www.googleapis.com/auth/datastore',
];

/** A function instance's Firestore client (functions/composition.ts). */
export function createFirestoreClient(options: FirestoreClientOptions): Firestore {
  const settings = { projectId: options.projectId, ignoreUndefinedProperties: true };
  if (options.transport === 'grpc') return new Firestore(settings);
  const emulator = options.emulatorHost !== undefined && options.emulatorHost !== '';
  return new Firestore({
    ...settings,
    preferRest: true,
    authClient: restAuth(emulator ? new PassThroughClient() : new GoogleAuth({ scopes: SCOPES })),
  });
}

/** What gax's REST transport calls on its auth client: `fetch(url, options)`. */
interface RestAuth {
  getRequestHeaders: (url?: string | URL) => Promise<Headers>;
  fetch: (url: string | URL, init?: gaxios.GaxiosOptions) => Promise<gaxios.GaxiosResponse>;
}

/**
 * The credentials the REST transport signs and sends its calls with, mended for google-gax
 * 5.0.x, whose REST transport hands the HTTP client's own error to the caller
 * (googleapis/gax-nodejs#1803): for a non-2xx answer a GaxiosError whose `code` is the HTTP
 * status (409) rather than the gRPC code (ALREADY_EXISTS 6, ABORTED 10), and for a server that
 * cannot be reached one with no code at all. Firestore's retries (transactions retry ABORTED,
 * writes UNAVAILABLE) and our adapters (src/adapters/firestore/guarded-write.ts,
 * availability.ts) read gRPC codes. So every answer is passed back to gax, which decodes its
 * `google.rpc.Status` body into an error with the gRPC code, as over gRPC; and a call that gets
 * no answer fails UNAVAILABLE, as a gRPC call does. Calls go through Node's own fetch rather
 * than gaxios's default (node-fetch, an ES module loaded on the first call).
 */
function restAuth(inner: GoogleAuth | PassThroughClient): RestAuth {
  return {
    getRequestHeaders: (url) => inner.getRequestHeaders(url),
    fetch: async (url, init) => {
      try {
        return await inner.fetch({
          ...init,
          url,
          validateStatus: () => true,
          fetchImplementation: fetch,
        });
      } catch (err) {
        // A cancelled call stays as it is: gax recognises its own cancellation.
        if (init?.signal?.aborted === true) throw err;
        throw unreachable(err);
      }
    },
  };
}

/** No answer from the server (refused, reset, timed out): UNAVAILABLE, with the socket's code. */
function unreachable(err: unknown): Error {
  const cause = (err as { cause?: { cause?: { code?: unknown }; code?: unknown } }).cause;
  const socketCode = cause?.cause?.code ?? cause?.code;
  const detail = typeof socketCode === 'string' ? socketCode : (err as Error).message;
  return Object.assign(
    new Error(`${GrpcStatus.UNAVAILABLE} UNAVAILABLE: ${detail}`, { cause: err }),
    {
      code: GrpcStatus.UNAVAILABLE,
    },
  );
}
