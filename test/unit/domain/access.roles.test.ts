import {
  EMPTY_POLICY,
  ROLES,
  identityKind,
  memberOf,
  policyInputSchema,
  rolesOf,
  type AccessPolicy,
  type Identity,
  type Member,
} from '../../../src/domain/access';

const user = (email: string): Identity => ({ email, kind: 'user', via: 'cloud-run-iam' });

const policy: AccessPolicy = {
  bindings: [
    { role: 'requester', members: ['user:filer@example.com', 'group:intake@example.com'] },
    { role: 'approver', members: ['user:alice@example.com', 'group:privacy@example.com'] },
    { role: 'operator', members: ['serviceAccount:ops@p.iam.gserviceaccount.com'] },
    { role: 'auditor', members: ['user:audit@example.com'] },
  ],
  groups: {
    'privacy@example.com': ['user:bob@example.com', 'user:alice@example.com'],
    'intake@example.com': ['user:bob@example.com'],
    // A group bound to nothing grants nothing.
    'idle@example.com': ['user:carol@example.com'],
  },
  etag: 'e1',
  version: 3,
};

const sorted = (roles: Set<string>) => [...roles].sort();

describe('rolesOf', () => {
  it.each<[string, Identity, string[]]>([
    ['a direct binding', user('filer@example.com'), ['requester']],
    ['a direct binding and a group', user('alice@example.com'), ['approver']],
    ['two groups', user('bob@example.com'), ['approver', 'requester']],
    ['a group bound to nothing', user('carol@example.com'), []],
    ['no binding at all', user('stranger@example.com'), []],
    [
      'a service account',
      { email: 'ops@p.iam.gserviceaccount.com', kind: 'serviceAccount', via: 'cloud-run-iam' },
      ['operator'],
    ],
    // The same email as a user is another member than as a service account.
    ['a user named like a bound service account', user('ops@p.iam.gserviceaccount.com'), []],
  ])('%s', (_name, identity, roles) => {
    expect(sorted(rolesOf(identity, policy, []))).toEqual(roles);
  });

  it('matches an identity whatever the case of its email', () => {
    expect(sorted(rolesOf(user('Filer@Example.COM'), policy, []))).toEqual(['requester']);
  });

  it('gives bootstrap admins admin, directly or through a group, whatever the policy says', () => {
    const boot: Member[] = ['user:root@example.com', 'group:privacy@example.com'];
    expect(sorted(rolesOf(user('root@example.com'), EMPTY_POLICY, boot))).toEqual(['admin']);
    expect(sorted(rolesOf(user('bob@example.com'), policy, boot))).toEqual([
      'admin',
      'approver',
      'requester',
    ]);
    expect(sorted(rolesOf(user('stranger@example.com'), policy, boot))).toEqual([]);
  });

  it('reads group names as data: only the members of a group named __proto__ get its binding', () => {
    const odd: AccessPolicy = {
      ...policy,
      groups: JSON.parse('{"__proto__": ["user:eve@example.com"]}') as AccessPolicy['groups'],
      bindings: [{ role: 'admin', members: ['group:constructor', 'group:__proto__'] as Member[] }],
    };
    expect(sorted(rolesOf(user('eve@example.com'), odd, []))).toEqual(['admin']);
    expect(sorted(rolesOf(user('mallory@example.com'), odd, []))).toEqual([]);
  });

  it('holds nothing under the empty policy', () => {
    expect(rolesOf(user('developer@localhost'), EMPTY_POLICY, []).size).toBe(0);
  });
});

describe('identities and members', () => {
  it.each<[string, Identity['kind']]>([
    ['tasks-invoker@p.iam.gserviceaccount.com', 'serviceAccount'],
    ['P-123@developer.GSERVICEACCOUNT.com', 'serviceAccount'],
    ['alice@example.com', 'user'],
    ['gserviceaccount.com@example.com', 'user'],
  ])('%s is a %s', (email, kind) => {
    expect(identityKind(email)).toBe(kind);
  });

  it('names a member as IAM does, lower-cased', () => {
    expect(memberOf({ email: 'Alice@Example.com', kind: 'user' })).toBe('user:alice@example.com');
    expect(memberOf({ email: 'x@p.iam.gserviceaccount.com', kind: 'serviceAccount' })).toBe(
      'serviceAccount:x@p.iam.gserviceaccount.com',
    );
  });
});

describe('policyInputSchema (PUT /iam/policy)', () => {
  const ok = {
    etag: 'e1',
    bindings: [{ role: 'approver', members: ['user:Alice@Example.com', 'serviceAccount:X@Y.z'] }],
    groups: { 'privacy@example.com': ['user:bob@example.com'] },
  };

  it('accepts a policy and lower-cases the emails of its members', () => {
    const parsed = policyInputSchema.parse(ok);
    expect(parsed.bindings[0]?.members).toEqual(['user:alice@example.com', 'serviceAccount:x@y.z']);
  });

  it('defaults groups to none', () => {
    expect(policyInputSchema.parse({ etag: 'e', bindings: [] }).groups).toEqual({});
  });

  it.each<[string, unknown]>([
    ['an unknown role', { ...ok, bindings: [{ role: 'owner', members: [] }] }],
    ['a member without a kind', { ...ok, bindings: [{ role: 'admin', members: ['a@b.c'] }] }],
    ['a domain: member', { ...ok, bindings: [{ role: 'admin', members: ['domain:b.c'] }] }],
    ['allUsers', { ...ok, bindings: [{ role: 'admin', members: ['allUsers'] }] }],
    ['a kind spelt otherwise', { ...ok, bindings: [{ role: 'admin', members: ['USER:a@b.c'] }] }],
    ['a member with a slash', { ...ok, bindings: [{ role: 'admin', members: ['user:a/b@c.d'] }] }],
    [
      'a role bound twice',
      {
        ...ok,
        bindings: [
          { role: 'admin', members: [] },
          { role: 'admin', members: [] },
        ],
      },
    ],
    ['an unknown field', { ...ok, owner: 'me' }],
    ['an unknown binding field', { ...ok, bindings: [{ role: 'admin', members: [], x: 1 }] }],
    ['no etag', { bindings: [] }],
    ['a group that is not an email', { ...ok, groups: { privacy: [] } }],
    [
      'more bindings than roles',
      { ...ok, bindings: ROLES.concat(['admin']).map((role) => ({ role, members: [] })) },
    ],
  ])('refuses %s', (_name, body) => {
    expect(policyInputSchema.safeParse(body).success).toBe(false);
  });
});
