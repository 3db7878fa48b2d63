import {
  GENESIS_HASH,
  canonicalJson,
  chainHash,
  combineHeads,
  headOf,
  ledgerEntryId,
  sealEntry,
  sha256Hex,
  verifyChain,
  type ChainFields,
  type ChainHead,
} from '../../../src/domain/evidence';

interface RunLike extends ChainFields {
  runId: string;
  status: string;
  cost: { usd: number };
}

/** Four runs sealed one after another, and the head their instance would hold. */
function aChain(n = 4): { runs: RunLike[]; head: ChainHead } {
  const runs: RunLike[] = [];
  let head: ChainHead | undefined;
  for (let i = 1; i <= n; i++) {
    const run = sealEntry(head, {
      runId: `s1-a00${i}-0000000${i}`,
      status: 'failed',
      cost: { usd: i },
    });
    runs.push(run);
    head = headOf(run);
  }
  return { runs, head: head! };
}

/** A run rewritten with a fresh hash of its own, as someone who knows the rule would do it. */
function rehashed(run: RunLike, change: Partial<RunLike>): RunLike {
  const edited = { ...run, ...change };
  return { ...edited, hash: chainHash(edited.prevHash, edited) };
}

describe('canonicalJson', () => {
  it.each<[string, unknown, string]>([
    [
      'sorts keys at every depth',
      { b: 1, a: { d: [2, 1], c: 'x' } },
      '{"a":{"c":"x","d":[2,1]},"b":1}',
    ],
    ['drops undefined members', { a: undefined, b: null }, '{"b":null}'],
    ['keeps array order; undefined in an array is null', [3, undefined, 1], '[3,null,1]'],
    ['writes numbers as JSON does', { n: 1.5e-7, m: 1e21, z: -0 }, '{"m":1e+21,"n":1.5e-7,"z":0}'],
    ['escapes strings as JSON does', { s: 'a"\n\u2028é' }, '{"s":"a\\"\\n\u2028é"}'],
    ['sorts by UTF-16 code units', { b: 1, B: 2, _: 3, '1': 4 }, '{"1":4,"B":2,"_":3,"b":1}'],
    ['holds a __proto__ key as data', JSON.parse('{"__proto__":1}') as unknown, '{"__proto__":1}'],
    [
      'a null-prototype object is plain',
      Object.assign(Object.create(null) as object, { a: 1 }),
      '{"a":1}',
    ],
  ])('%s', (_what, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it.each<[string, unknown]>([
    ['NaN', { n: Number.NaN }],
    ['Infinity', [Number.POSITIVE_INFINITY]],
    ['-Infinity', { a: { b: Number.NEGATIVE_INFINITY } }],
    ['a bigint', { n: 1n }],
    ['a function', { f: () => 1 }],
    ['a Date (the store would not read it back as hashed)', { d: new Date(0) }],
    ['undefined at the top', undefined],
  ])('refuses %s', (_what, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });
});

describe('sealEntry and chainHash', () => {
  it('starts at seq 1 on the genesis hash and links each entry to the one before', () => {
    const { runs } = aChain(3);
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    expect(runs.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(runs[0]!.prevHash).toBe(GENESIS_HASH);
    expect(runs[1]!.prevHash).toBe(runs[0]!.hash);
    expect(runs[2]!.prevHash).toBe(runs[1]!.hash);
  });

  it('hashes the canonical JSON of the entry with its prevHash and without its hash', () => {
    const run = sealEntry({ seq: 4, hash: 'a'.repeat(64) }, { runId: 'r', status: 'ok' });
    expect(run).toMatchObject({ seq: 5, prevHash: 'a'.repeat(64) });
    const expected = sha256Hex(
      `{"prevHash":"${'a'.repeat(64)}","runId":"r","seq":5,"status":"ok"}`,
    );
    expect(run.hash).toBe(expected);
    expect(chainHash(run.prevHash, run)).toBe(expected);
  });

  it('ignores chain fields the entry brings and whether undefined members are present', () => {
    const a = sealEntry(undefined, {
      runId: 'r',
      seq: 99,
      prevHash: 'x',
      hash: 'y',
      note: undefined,
    });
    const b = sealEntry(undefined, { runId: 'r' });
    expect(a).toEqual(b);
  });
});

type Tampering = [what: string, tamper: (runs: RunLike[]) => RunLike[], problem: RegExp];

describe('verifyChain', () => {
  it('verifies an untouched chain against its head, and an empty chain with no head', () => {
    const { runs, head } = aChain();
    expect(verifyChain(runs, head)).toEqual({ verified: true, problems: [] });
    expect(verifyChain(runs)).toEqual({ verified: true, problems: [] });
    expect(verifyChain([], null)).toEqual({ verified: true, problems: [] });
  });

  const tamperings: Tampering[] = [
    [
      'a field edited',
      (r) => r.map((x) => (x.seq === 2 ? { ...x, status: 'succeeded' } : x)),
      /^seq 2 \(run s1-a002-00000002\): edited \(hash mismatch\)$/,
    ],
    [
      'a nested field edited',
      (r) => r.map((x) => (x.seq === 3 ? { ...x, cost: { usd: 0 } } : x)),
      /^seq 3 \(run s1-a003-00000003\): edited/,
    ],
    [
      'a field added',
      (r) => r.map((x) => (x.seq === 1 ? { ...x, approvedBy: 'ceo@example.com' } : x)),
      /^seq 1 .*edited/,
    ],
    [
      'an entry edited and rehashed',
      (r) => r.map((x) => (x.seq === 2 ? rehashed(x, { status: 'succeeded' }) : x)),
      /^seq 3 .*chain broken \(prevHash is not seq 2's hash/,
    ],
    [
      'the first entry edited and rehashed with another prevHash',
      (r) => r.map((x) => (x.seq === 1 ? rehashed(x, { prevHash: 'f'.repeat(64) }) : x)),
      /^seq 1 .*genesis/,
    ],
    [
      'a middle entry removed',
      (r) => r.filter((x) => x.seq !== 2),
      /^seq 2: removed \(missing before seq 3/,
    ],
    [
      'two entries removed',
      (r) => r.filter((x) => x.seq !== 2 && x.seq !== 3),
      /^seq 2-3: removed/,
    ],
    ['the first entry removed', (r) => r.slice(1), /^seq 1: removed/],
    ['the last entry removed', (r) => r.slice(0, -1), /^seq 4: removed \(the head is at seq 4/],
    ['every entry removed', () => [], /^seq 1-4: removed/],
    [
      'two entries swapped',
      (r) => [r[0]!, r[2]!, r[1]!, r[3]!],
      /^seq 2 .*reordered \(it comes after seq 3\)$/,
    ],
    [
      'seqs swapped between two entries',
      (r) => r.map((x) => (x.seq === 2 ? { ...x, seq: 3 } : x.seq === 3 ? { ...x, seq: 2 } : x)),
      /^seq [23] .*edited/,
    ],
    ['an entry copied', (r) => [...r.slice(0, 2), r[1]!, ...r.slice(2)], /^seq 2 .*appears twice/],
    [
      'an entry appended without moving the head',
      (r) => [
        ...r,
        sealEntry(headOf(r[3]!), {
          runId: 's9-a001-forged00',
          status: 'succeeded',
          cost: { usd: 0 },
        }),
      ],
      /^seq 5: beyond the head \(seq 4\)/,
    ],
    [
      'the last entry replaced by a rehashed one',
      (r) => [...r.slice(0, 3), rehashed(r[3]!, { status: 'succeeded' })],
      /^seq 4 .*head mismatch/,
    ],
    [
      'chain fields stripped',
      (r) =>
        r.map((x) =>
          x.seq === 2 ? ({ runId: x.runId, status: x.status, cost: x.cost } as RunLike) : x,
        ),
      /^entry \(run s1-a002-00000002\): not chained/,
    ],
  ];

  it.each(tamperings)('detects %s', (_what, tamper, problem) => {
    const { runs, head } = aChain();
    const result = verifyChain(tamper(structuredClone(runs)), head);
    expect(result.verified).toBe(false);
    expect(result.problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it('says a chain with entries but no recorded head is wrong', () => {
    const { runs } = aChain(2);
    expect(verifyChain(runs, null).problems).toEqual([
      'seq 1-2: no head is recorded, but the chain has entries',
    ]);
  });

  it('names a ledger entry by its kind', () => {
    const filed = sealEntry(undefined, { kind: 'filed', actor: 'a@x', at: 't' });
    const edited = { ...filed, actor: 'b@x' };
    expect(verifyChain([edited], headOf(filed)).problems).toEqual([
      'seq 1 (filed): edited (hash mismatch)',
    ]);
  });

  it('cannot see a consistent rewrite (the head logged elsewhere is the anchor for that)', () => {
    const { runs } = aChain();
    const rolledBack = runs.slice(0, 3);
    expect(verifyChain(rolledBack, headOf(rolledBack[2]!)).verified).toBe(true);
  });
});

describe('combineHeads', () => {
  const h = (c: string): ChainHead => ({ seq: 1, hash: c.repeat(64) });
  it('does not depend on the order instances come in, but on every head', () => {
    const a = combineHeads(h('a'), [
      { taskId: 't2', head: h('c') },
      { taskId: 't1', head: h('b') },
    ]);
    const b = combineHeads(h('a'), [
      { taskId: 't1', head: h('b') },
      { taskId: 't2', head: h('c') },
    ]);
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(
      combineHeads(h('a'), [
        { taskId: 't1', head: h('b') },
        { taskId: 't2', head: null },
      ]),
    ).not.toBe(a);
    expect(
      combineHeads(null, [
        { taskId: 't1', head: h('b') },
        { taskId: 't2', head: h('c') },
      ]),
    ).not.toBe(a);
  });

  it('is the hash of the documented canonical form', () => {
    expect(combineHeads(h('a'), [{ taskId: 't1', head: h('b') }])).toBe(
      sha256Hex(
        `{"instances":[{"head":{"hash":"${'b'.repeat(64)}","seq":1},"taskId":"t1"}],"ledger":{"hash":"${'a'.repeat(64)}","seq":1}}`,
      ),
    );
  });
});

describe('ledgerEntryId', () => {
  it('pads to six digits so ids sort as seqs', () => {
    expect(ledgerEntryId(1)).toBe('000001');
    expect(ledgerEntryId(123456)).toBe('123456');
  });
});
