import type { HttpFunction } from '@google-cloud/functions-framework';
import { consoleCsrfKey, createCsrfTokens, type CsrfTokens } from '../src/console/csrf';
import { errorResponse } from '../src/http/error-response';
import { handleApi } from '../src/http/api-routes';
import { getRuntime } from './composition';
import { requestLogger, respond, send, toHttpRequest } from './http-adapter';

/** Methods that may change state: only their answers publish the outbox (not GET, HEAD, OPTIONS). */
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The web console's CSRF tokens: one key per instance, made on first use. */
let consoleCsrf: CsrfTokens | undefined;

/** The `api` function: the HTTP contract in docs (design note), over the use cases. */
export const api: HttpFunction = async (req, res) => {
  const { deps, config, records, access, verifiers, publishEvents } = getRuntime();
  consoleCsrf ??= createCsrfTokens(
    consoleCsrfKey({
      secret: config.console.csrfSecret,
      pepper: config.subjectHashPepper,
      localMode: config.localMode,
    }),
  );
  const log = requestLogger(deps.log, req);
  try {
    const answer = await handleApi(
      {
        deps: { ...deps, log },
        records,
        access,
        verifyCaller: verifiers.api,
        bootstrapAdmins: config.auth.bootstrapAdmins,
        consoleCsrf,
      },
      toHttpRequest(req),
    );
    // A write's lifecycle events go out before the answer (bounded; Cloud Run throttles the
    // CPU after it), so a subscriber hears of the change about when the caller does.
    if (WRITE_METHODS.has(req.method) && answer.status < 400) await publishEvents?.();
    await respond(res, answer, log, (err) => errorResponse(err, log));
  } catch (err) {
    send(res, errorResponse(err, log));
  }
};
