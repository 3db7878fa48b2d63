import type { AccessPolicy } from '../domain/access';

/** The access policy's storage: one document, changed only by a write that names its etag. */
export interface AccessStore {
  /** The policy as stored (the empty policy before the first write). */
  getPolicy(): Promise<AccessPolicy>;
  /**
   * Replaces the policy if its etag is still `etag`, keeping the replaced one as a version;
   * returns the new policy, or null when the etag is stale (someone changed it meanwhile).
   */
  setPolicy(
    etag: string,
    next: Pick<AccessPolicy, 'bindings' | 'groups'>,
    actor: string,
    at: string,
  ): Promise<AccessPolicy | null>;
}
