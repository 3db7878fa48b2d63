import type { HttpFunction } from '@google-cloud/functions-framework';
import { isFlushPayload } from '../src/app/batch-arm';
import { runFlush } from '../src/app/batch-flush';
import { runInstance } from '../src/app/run-instance';
import { ValidationError } from '../src/domain/errors';
import { errorResponse } from '../src/http/error-response';
import { header } from '../src/http/types';
import { getRuntime } from './composition';
import { requestLogger, send, toHttpRequest } from './http-adapter';

/**
 * The Cloud Tasks target, callable only with the invoker account's OIDC token (401/403, and
 * nothing runs, otherwise). 2xx ends the Cloud Task (done, or failed terminally once recorded);
 * 503 with Retry-After asks for another delivery. A malformed payload is answered 200 after
 * logging it: retrying a poison task forever helps nobody.
 */
export const runTask: HttpFunction = async (req, res) => {
  // Firestore over gRPC: an instance serves many deliveries, and each costs less CPU over an
  // open gRPC channel than over REST (bench/README.md, "REST or gRPC, per function": the
  // 50-request pipeline's paired median was 2.40 over REST, 1.44 over gRPC).
  const { deps, verifiers } = getRuntime(process.env, { firestoreTransport: 'grpc' });
  const log = requestLogger(deps.log, req);
  const http = toHttpRequest(req);
  const num = (name: string) => {
    const v = header(http, name);
    return v === undefined || v === '' ? undefined : Number(v);
  };
  try {
    // Only Cloud Tasks' invoker account may start work; its delivery headers count as evidence
    // only once the call is verified.
    await verifiers.runTask(req.headers);
    // A batch's flush comes as its own Cloud Task to the same target.
    const answer = isFlushPayload(http.body)
      ? await runFlush({ ...deps, log }, http.body)
      : await runInstance({ ...deps, log }, http.body, {
          taskName: header(http, 'x-cloudtasks-taskname'),
          retryCount: num('x-cloudtasks-taskretrycount'),
          executionCount: num('x-cloudtasks-taskexecutioncount'),
        });
    send(res, {
      status: answer.status,
      ...(answer.retryAfterSeconds === undefined
        ? {}
        : { headers: { 'Retry-After': String(answer.retryAfterSeconds) } }),
      body: answer.body,
    });
  } catch (err) {
    if (err instanceof ValidationError) {
      log.error('run.poison_payload', 'dropping a malformed run-task payload', err);
      send(res, { status: 200, body: { result: 'dropped', error: err.message } });
      return;
    }
    send(res, errorResponse(err, log));
  }
};
