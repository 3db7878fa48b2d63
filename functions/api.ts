import type { HttpFunction } from '@google-cloud/functions-framework';
import { errorResponse } from '../src/http/error-response';
import { handleApi } from '../src/http/api-routes';
import { getRuntime } from './composition';
import { requestLogger, respond, send, toHttpRequest } from './http-adapter';

/** The `api` function: the HTTP contract in docs (design note), over the use cases. */
export const api: HttpFunction = async (req, res) => {
  const { deps, config, records, access, verifiers } = getRuntime();
  const log = requestLogger(deps.log, req);
  try {
    await respond(
      res,
      await handleApi(
        {
          deps: { ...deps, log },
          records,
          access,
          verifyCaller: verifiers.api,
          bootstrapAdmins: config.auth.bootstrapAdmins,
        },
        toHttpRequest(req),
      ),
      log,
      (err) => errorResponse(err, log),
    );
  } catch (err) {
    send(res, errorResponse(err, log));
  }
};
