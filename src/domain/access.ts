import { z } from 'zod';

/**
 * Who may do what. A caller is a verified identity (never a client-sent claim); roles are bound
 * to members in one access policy, IAM-style (`user:`, `serviceAccount:`, `group:`), managed by
 * admins over the API, with bootstrap admins from config. Every route names the roles it needs.
 */

/** How the identity was verified. */
export type IdentitySource =
  'local-dev' | 'cloud-run-iam' | 'iap' | 'cloud-tasks-oidc' | 'scheduler-oidc';

/** A verified caller. */
export interface Identity {
  /** Lower-cased email. */
  email: string;
  kind: 'user' | 'serviceAccount';
  via: IdentitySource;
}

export const ROLES = [
  /** Files requests and reads the ones they filed. */
  'requester',
  /** Approves or denies instances awaiting approval; never of a request they filed. */
  'approver',
  /** Retries and cancels; reads requests and runs. */
  'operator',
  /** Manages the task registry and the access policy. */
  'admin',
  /** Reads every request, run and evidence trail; changes nothing. */
  'auditor',
  /** Reads records packages (the subject's personal data); each read is recorded. */
  'records_reader',
  /** Runs the audit (dry run) of a task against an identifier; each run is recorded. */
  'task_tester',
] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling a use case: the verified email, and the roles it holds now. */
export interface Actor {
  identity: string;
  roles: ReadonlySet<Role>;
}

export type Member = `user:${string}` | `serviceAccount:${string}` | `group:${string}`;

/** The access policy as stored: role bindings, group memberships, and its version. */
export interface AccessPolicy {
  bindings: { role: Role; members: Member[] }[];
  /** Group email → its members, for `group:` bindings (kept with the policy by admins). */
  groups: Record<string, Member[]>;
  /** Changes with every write; a write must name the etag it read. */
  etag: string;
  version: number;
  updatedAt?: string;
  updatedBy?: string;
}

export const EMPTY_POLICY: AccessPolicy = { bindings: [], groups: {}, etag: 'empty', version: 0 };

const email = z
  .string()
  .max(254)
  .regex(/^[^\s@/]+@[^\s@/]+$/, 'an email address');

export const memberSchema = z
  .string()
  .regex(
    /^(user|serviceAccount|group):[^\s@/]+@[^\s@/]+$/,
    'a member: user:EMAIL, serviceAccount:EMAIL or group:EMAIL',
  )
  .transform((m) => m.toLowerCase().replace(/^serviceaccount:/, 'serviceAccount:') as Member);

/** `PUT /iam/policy` body. */
export const policyInputSchema = z
  .object({
    bindings: z
      .array(
        z
          .object({
            role: z.enum(ROLES),
            members: z.array(memberSchema).max(500),
          })
          .strict(),
      )
      .max(ROLES.length),
    groups: z.record(email, z.array(memberSchema).max(1000)).default({}),
    etag: z.string().min(1).max(100),
  })
  .strict()
  .refine((p) => new Set(p.bindings.map((b) => b.role)).size === p.bindings.length, {
    message: 'each role appears in one binding',
    path: ['bindings'],
  });
export type PolicyInput = z.infer<typeof policyInputSchema>;

/** The kind of identity an email names: Google service accounts end in gserviceaccount.com. */
export function identityKind(address: string): Identity['kind'] {
  return /\.gserviceaccount\.com$/i.test(address) ? 'serviceAccount' : 'user';
}

/** The member string that names this identity directly. */
export function memberOf(identity: Pick<Identity, 'email' | 'kind'>): Member {
  return `${identity.kind}:${identity.email.toLowerCase()}`;
}

/** Every role the identity holds: bound directly, through a group, or as a bootstrap admin. */
export function rolesOf(
  identity: Pick<Identity, 'email' | 'kind'>,
  policy: AccessPolicy,
  bootstrapAdmins: readonly Member[],
): Set<Role> {
  const self = memberOf(identity);
  const groups = new Set<Member>();
  for (const [group, members] of Object.entries(policy.groups)) {
    if (members.includes(self)) groups.add(`group:${group.toLowerCase()}`);
  }
  const isMe = (m: Member) => m === self || groups.has(m);
  const roles = new Set<Role>();
  for (const binding of policy.bindings) {
    if (binding.members.some(isMe)) roles.add(binding.role);
  }
  if (bootstrapAdmins.some(isMe)) roles.add('admin');
  return roles;
}
