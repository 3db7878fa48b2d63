import { createHash } from 'node:crypto';

/**
 * Tamper-evident evidence: append-only hash chains (docs/evidence.md).
 *
 * - Chain: a sequence of entries numbered 1, 2, ... (`seq`); each holds the hash of the one
 *   before it (`prevHash`, 64 zeros for the first) and its own `hash`, the SHA-256 of its
 *   canonical JSON without `hash`. Editing, removing or reordering an entry breaks the chain.
 * - Head: `{ seq, hash }` of the last entry, kept on the parent document (an instance's
 *   `runChain`, a request's or task's `ledgerHead`), so removing the last entries shows too.
 * - Runs are chained per instance (no hot document when 50 instances finish at once); actions
 *   (filed, approved, ...) per request in its ledger, and task changes per task.
 */

/** The `prevHash` of a chain's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** The last entry of a chain, as its parent document keeps it. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** The fields the store adds when it appends an entry to a chain. */
export interface ChainFields {
  seq: number;
  prevHash: string;
  hash: string;
}

export const REQUEST_LEDGER_KINDS = [
  'filed',
  'approved',
  'denied',
  'cancelled',
  'retried',
  'records_read',
  'acknowledged',
  'verified',
  'extended',
] as const;
export type RequestLedgerKind = (typeof REQUEST_LEDGER_KINDS)[number];

export const TASK_LEDGER_KINDS = ['registered', 'changed', 'audit_run'] as const;
export type TaskLedgerKind = (typeof TASK_LEDGER_KINDS)[number];

export type LedgerKind = RequestLedgerKind | TaskLedgerKind;

/** Which ledger: a request's (`requests/{id}/ledger`) or a task's (`tasks/{id}/ledger`). */
export type LedgerScope = { kind: 'request'; requestId: string } | { kind: 'task'; taskId: string };

/** An action as a caller hands it to the store: who did what, when. */
export interface LedgerAction {
  kind: LedgerKind;
  /** The verified identity (an email) that acted. */
  actor: string;
  at: string;
  taskIds?: string[];
  details?: Record<string, unknown>;
}

/** One entry of a ledger, as stored: the action, its scope's id, and its place in the chain. */
export type LedgerEntry = LedgerAction &
  ChainFields & {
    /** Set on a request's ledger entries. */
    requestId?: string;
    /** Set on a task's ledger entries. */
    taskId?: string;
  };

export interface ChainVerification {
  verified: boolean;
  /** What is wrong, each naming the seq (and run id or action kind) it concerns. */
  problems: string[];
}

/**
 * Canonical JSON (RFC 8785, JCS, for the values a document holds): object keys sorted by UTF-16
 * code units, `undefined` members dropped (in an array it is `null`, as in JSON and as the store
 * keeps it), no whitespace, numbers and strings as `JSON.stringify` writes them. Non-finite
 * numbers and anything but null, booleans, numbers, strings, arrays and plain objects are
 * refused: they would not read back from the store as they were hashed.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) {
        throw new TypeError(`canonicalJson: ${path} is ${value}, not a finite number`);
      }
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalJson: ${path} is a ${typeof value}, which JSON cannot hold`);
  }
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      items.push(item === undefined ? 'null' : write(item, `${path}[${i}]`));
    }
    return `[${items.join(',')}]`;
  }
  // A plain object's prototype is some realm's Object.prototype (its own prototype null), or null.
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== null && Object.getPrototypeOf(proto) !== null) {
    throw new TypeError(`canonicalJson: ${path} is not a plain object`);
  }
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  // Default sort: UTF-16 code units, as RFC 8785 asks.
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined) continue;
    members.push(`${JSON.stringify(key)}:${write(member, `${path}.${key}`)}`);
  }
  return `{${members.join(',')}}`;
}

/** SHA-256 of the UTF-8 bytes of `text`, as 64 lower-case hex digits. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * An entry's hash: `sha256hex(canonicalJson({ ...entry without hash, prevHash }))`. The entry's
 * `seq` and every other field are covered; a `hash` field in `entry` is ignored.
 */
export function chainHash(prevHash: string, entry: object): string {
  const body: Record<string, unknown> = { ...entry, prevHash };
  delete body['hash'];
  return sha256Hex(canonicalJson(body));
}

/** Appends `entry` after `prev` (undefined: the chain is empty): its seq, prevHash and hash. */
export function sealEntry<T extends object>(
  prev: ChainHead | undefined,
  entry: T,
): Omit<T, keyof ChainFields> & ChainFields {
  const seq = (prev?.seq ?? 0) + 1;
  const prevHash = prev?.hash ?? GENESIS_HASH;
  const body = { ...entry, seq, prevHash };
  return { ...body, hash: chainHash(prevHash, body) };
}

/** The head a chain has once `entry` is its last entry. */
export function headOf(entry: Pick<ChainFields, 'seq' | 'hash'>): ChainHead {
  return { seq: entry.seq, hash: entry.hash };
}

const HEX64 = /^[0-9a-f]{64}$/;

function isChained(entry: object): entry is ChainFields {
  const e = entry as Partial<Record<keyof ChainFields, unknown>>;
  return (
    typeof e.seq === 'number' &&
    Number.isSafeInteger(e.seq) &&
    e.seq >= 1 &&
    typeof e.prevHash === 'string' &&
    HEX64.test(e.prevHash) &&
    typeof e.hash === 'string' &&
    HEX64.test(e.hash)
  );
}

/** `seq 3 (run s1-a002-…)` or `seq 2 (approved)`: the entry a problem is about. */
function nameOf(entry: object, seq?: number): string {
  const runId = Object.hasOwn(entry, 'runId') ? (entry as { runId: unknown }).runId : undefined;
  const kind = Object.hasOwn(entry, 'kind') ? (entry as { kind: unknown }).kind : undefined;
  const what =
    typeof runId === 'string' ? `run ${runId}` : typeof kind === 'string' ? kind : undefined;
  const at = seq === undefined ? 'entry' : `seq ${seq}`;
  return what === undefined ? at : `${at} (${what})`;
}

function range(from: number, to: number): string {
  return from === to ? `seq ${from}` : `seq ${from}-${to}`;
}

/**
 * Checks a chain as stored: each entry's hash, the seqs 1..n without gaps or repeats, in the
 * order given, each linked to the one before, and (when `head` is given) the last entry
 * against the head its parent document keeps. `head: null` says the parent holds no head, so
 * the chain must be empty; an omitted head checks the entries alone.
 */
export function verifyChain(
  entries: readonly object[],
  head?: ChainHead | null,
): ChainVerification {
  const problems: string[] = [];
  const chained: ChainFields[] = [];
  for (const entry of entries) {
    if (isChained(entry)) chained.push(entry);
    else problems.push(`${nameOf(entry)}: not chained (no valid seq, prevHash and hash)`);
  }

  // The order given must be the chain's order; the rest is checked on the sorted entries so a
  // swap reads as one reordering, not as a removal plus an insertion.
  for (let i = 1; i < chained.length; i++) {
    const before = chained[i - 1]!;
    const entry = chained[i]!;
    if (entry.seq < before.seq) {
      problems.push(`${nameOf(entry, entry.seq)}: reordered (it comes after seq ${before.seq})`);
    }
  }
  const sorted = [...chained].sort((a, b) => a.seq - b.seq);

  let prev: ChainHead = { seq: 0, hash: GENESIS_HASH };
  for (const entry of sorted) {
    const name = nameOf(entry, entry.seq);
    if (chainHash(entry.prevHash, entry) !== entry.hash) {
      problems.push(`${name}: edited (hash mismatch)`);
    }
    if (entry.seq === prev.seq) {
      problems.push(`${name}: seq ${entry.seq} appears twice`);
      continue;
    }
    if (entry.seq > prev.seq + 1) {
      problems.push(`${range(prev.seq + 1, entry.seq - 1)}: removed (missing before ${name})`);
    } else if (entry.prevHash !== prev.hash) {
      problems.push(
        prev.seq === 0
          ? `${name}: chain broken (the first entry's prevHash is not the genesis hash)`
          : `${name}: chain broken (prevHash is not seq ${prev.seq}'s hash: seq ${prev.seq} was replaced, or entries reordered)`,
      );
    }
    prev = headOf(entry);
  }

  if (head !== undefined) checkHead(sorted, head, prev, problems);
  return { verified: problems.length === 0, problems };
}

function checkHead(
  sorted: readonly ChainFields[],
  head: ChainHead | null,
  last: ChainHead,
  problems: string[],
): void {
  if (head === null) {
    if (sorted.length > 0) {
      problems.push(`${range(1, last.seq)}: no head is recorded, but the chain has entries`);
    }
    return;
  }
  if (last.seq < head.seq) {
    problems.push(
      `${range(last.seq + 1, head.seq)}: removed (the head is at seq ${head.seq}, the last entry at seq ${last.seq})`,
    );
    return;
  }
  if (last.seq > head.seq) {
    problems.push(
      `${range(head.seq + 1, last.seq)}: beyond the head (seq ${head.seq}): written outside the store, or the head was rolled back`,
    );
  }
  const atHead = sorted.find((e) => e.seq === head.seq);
  if (atHead !== undefined && atHead.hash !== head.hash) {
    problems.push(
      `${nameOf(atHead, head.seq)}: head mismatch (the head's hash ${head.hash.slice(0, 12)}… is not the entry's ${atHead.hash.slice(0, 12)}…)`,
    );
  }
}

/**
 * One hash over every chain of a request: `sha256hex(canonicalJson({ ledger, instances }))`
 * with `ledger` the ledger head (or null) and `instances` `[{ taskId, head }]` sorted by taskId.
 */
export function combineHeads(
  ledger: ChainHead | null,
  instances: readonly { taskId: string; head: ChainHead | null }[],
): string {
  const sorted = [...instances]
    .sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0))
    .map(({ taskId, head }) => ({ taskId, head: head === null ? null : headOf(head) }));
  return sha256Hex(
    canonicalJson({ ledger: ledger === null ? null : headOf(ledger), instances: sorted }),
  );
}

/** Six digits, so ledger entry ids sort as their seqs do: `000001`. */
export function ledgerEntryId(seq: number): string {
  return String(seq).padStart(6, '0');
}
