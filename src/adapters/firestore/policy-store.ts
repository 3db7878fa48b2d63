import { randomBytes } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { EMPTY_POLICY, type AccessPolicy } from '../../domain/access';
import type { AccessStore } from '../../ports/access-store';
import { boundedMethods } from './availability';
import { fromStored, stripUndefined, toUpdateData } from './codec';
import { isAlreadyExists, isGuardFailure } from './guarded-write';

/** `iam/policy`, with every replaced policy kept under `iam/policy/versions/{version}`. */
export const POLICY_PATH = { collection: 'iam', doc: 'policy', versions: 'versions' } as const;

/** The access policy on Firestore. It takes a client and never creates one. */
export function createFirestoreAccessStore(
  db: Firestore,
  opts: { operationTimeoutMs?: number } = {},
): AccessStore {
  const ref = db.collection(POLICY_PATH.collection).doc(POLICY_PATH.doc);
  const store: AccessStore = {
    async getPolicy() {
      const snap = await ref.get();
      return snap.exists ? fromStored<AccessPolicy>(snap.data()) : EMPTY_POLICY;
    },
    async setPolicy(etag, next, actor, at) {
      const snap = await ref.get();
      const current = snap.exists ? fromStored<AccessPolicy>(snap.data()) : EMPTY_POLICY;
      if (current.etag !== etag) return null;
      const policy: AccessPolicy = {
        bindings: next.bindings,
        groups: next.groups,
        etag: randomBytes(8).toString('hex'),
        version: current.version + 1,
        updatedAt: at,
        updatedBy: actor,
      };
      // Guarded twice over: the update only if nothing wrote the policy since it was read, and
      // the replaced version is created (never overwritten) beside it.
      const batch = db.batch();
      if (!snap.exists) batch.create(ref, stripUndefined(policy));
      else {
        batch.update(ref, toUpdateData(policy), { lastUpdateTime: snap.updateTime! });
        batch.create(
          ref.collection(POLICY_PATH.versions).doc(String(current.version)),
          stripUndefined(current),
        );
      }
      try {
        await batch.commit();
      } catch (err) {
        if (isGuardFailure(err) || isAlreadyExists(err)) return null;
        throw err;
      }
      return policy;
    },
  };
  return boundedMethods(store, opts.operationTimeoutMs ?? 10_000);
}
