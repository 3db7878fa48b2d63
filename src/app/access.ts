import { ConflictError, ValidationError } from '../domain/errors';
import { policyInputSchema, type AccessPolicy } from '../domain/access';
import type { AccessStore } from '../ports/access-store';
import type { Actor } from './actor';
import type { AppDeps } from './deps';

type AccessDeps = Pick<AppDeps, 'clock' | 'log'> & { access: AccessStore };

/** `GET /iam/policy`: the bindings, the groups and the etag a change must name. */
export function getPolicy(deps: { access: AccessStore }): Promise<AccessPolicy> {
  return deps.access.getPolicy();
}

/**
 * `PUT /iam/policy`: replaces the policy, as IAM's setIamPolicy does, if the caller read the
 * current one (its etag); the replaced policy is kept as a version and the change logged.
 */
export async function setPolicy(
  deps: AccessDeps,
  body: unknown,
  actor: Actor,
): Promise<AccessPolicy> {
  const parsed = policyInputSchema.safeParse(body);
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  const { etag, bindings, groups } = parsed.data;
  const at = deps.clock.now().toISOString();
  const policy = await deps.access.setPolicy(etag, { bindings, groups }, actor.identity, at);
  if (policy === null) {
    throw new ConflictError(
      'the access policy changed since it was read: GET /iam/policy for the current etag, then apply the change again',
      'policy_conflict',
    );
  }
  deps.log.info('iam.policy_changed', `access policy version ${policy.version}`, {
    actor: actor.identity,
    version: policy.version,
    bindings: policy.bindings.map((b) => ({ role: b.role, members: b.members.length })),
  });
  return policy;
}
