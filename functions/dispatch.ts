import type { HttpFunction } from '@google-cloud/functions-framework';
import { dispatch as reconcile } from '../src/app/dispatch';
import { errorResponse } from '../src/http/error-response';
import { getRuntime } from './composition';
import { requestLogger, send } from './http-adapter';

/**
 * The scheduled reconciler, called by Cloud Scheduler with an OIDC token: only the scheduler's
 * service account may run it (401/403 otherwise, and nothing runs).
 */
export const dispatch: HttpFunction = async (req, res) => {
  // Firestore over gRPC: a pass makes dozens of calls, each cheaper than over REST.
  const { deps, verifiers } = getRuntime(process.env, { firestoreTransport: 'grpc' });
  const log = requestLogger(deps.log, req);
  try {
    await verifiers.dispatch(req.headers);
    send(res, { status: 200, body: await reconcile({ ...deps, log }) });
  } catch (err) {
    send(res, errorResponse(err, log));
  }
};
