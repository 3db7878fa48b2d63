import { createFirestoreAccessStore } from '../../../../src/adapters/firestore/policy-store';
import { createApiVerifier } from '../../../../src/adapters/identity/verifiers';
import { rollupRequest } from '../../../../src/app/rollup';
import { runInstance } from '../../../../src/app/run-instance';
import type { Member, Role } from '../../../../src/domain/access';
import { handleApi, type ApiContext } from '../../../../src/http/api-routes';
import { errorResponse } from '../../../../src/http/error-response';
import type { HttpResponse } from '../../../../src/http/types';
import type { AppDeps } from '../../../../src/app/deps';
import { createMemoryRecordStore } from '../../../helpers/memory-record-store';
import { T0, type DispatchFixture } from '../../dispatch/harness';

/**
 * handleApi on the Firestore emulator, called as a named identity (X-Dev-Identity), with the
 * roles `bind` grants; and a way to run every queued delivery of a request, as run-task would.
 */
export interface ApiHarness {
  call(
    identity: string,
    method: string,
    path: string,
    options?: { body?: unknown; query?: Record<string, unknown> },
  ): Promise<HttpResponse>;
  bind(bindings: { role: Role; identities: string[] }[]): Promise<void>;
  /** Runs each delivery not yet run (a retry's too), then rolls the requests up. */
  runQueued(): Promise<void>;
}

export function apiHarness(f: DispatchFixture, deps: () => AppDeps): ApiHarness {
  const ran = new Set<string>();
  let queue = f.queue;
  const context = (): ApiContext => ({
    deps: deps(),
    records: createMemoryRecordStore(),
    access: createFirestoreAccessStore(f.store.fs.db),
    verifyCaller: createApiVerifier({ localMode: true, audiences: [], clock: { now: () => T0 } }),
    bootstrapAdmins: ['user:root@example.com'],
  });
  return {
    async call(identity, method, path, { body, query = {} } = {}) {
      const ctx = context();
      try {
        return await handleApi(ctx, {
          method,
          path,
          query,
          headers: { 'x-dev-identity': identity },
          body,
        });
      } catch (err) {
        return errorResponse(err, ctx.deps.log);
      }
    },
    async bind(bindings) {
      const access = createFirestoreAccessStore(f.store.fs.db);
      const { etag } = await access.getPolicy();
      const policy = {
        bindings: bindings.map((b) => ({
          role: b.role,
          members: b.identities.map((i) => `user:${i}` as Member),
        })),
        groups: {},
      };
      await access.setPolicy(etag, policy, 'root@example.com', T0.toISOString());
    },
    async runQueued() {
      const requests = new Set<string>();
      // Each test gets a fresh queue (and a fresh store): the same task names come round again.
      if (f.queue !== queue) {
        queue = f.queue;
        ran.clear();
      }
      for (;;) {
        const next = f.queue.created.find((t) => !ran.has(t.taskName));
        if (next === undefined) break;
        ran.add(next.taskName);
        await runInstance(deps(), next.body, {});
        requests.add((next.body as { requestId: string }).requestId);
      }
      for (const id of requests) await rollupRequest(deps(), id);
    },
  };
}
