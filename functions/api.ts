import type { HttpFunction } from '@google-cloud/functions-framework';
import { errorResponse } from '../src/http/error-response';
import { handleApi } from '../src/http/api-routes';
import { getRuntime } from './composition';
import { installBodyErrorHandler, requestLogger, send, toHttpRequest } from './http-adapter';

/** The `api` function: the HTTP contract in docs (design note), over the use cases. */
export const api: HttpFunction = async (req, res) => {
  installBodyErrorHandler(req);
  const { deps, config, records } = getRuntime();
  const log = requestLogger(deps.log, req);
  try {
    send(
      res,
      await handleApi(
        { deps: { ...deps, log }, records, localMode: config.localMode },
        toHttpRequest(req),
      ),
    );
  } catch (err) {
    send(res, errorResponse(err, log));
  }
};
