import {
  combineHeads,
  verifyChain,
  type ChainHead,
  type LedgerEntry,
  type RequestLedgerKind,
} from '../domain/evidence';
import type { Run } from '../domain/model';
import type { Actor } from './actor';
import type { AppDeps } from './deps';
import { requireRequest } from './lookups';

/** One instance's run chain, as read, and what checking it found. */
export interface InstanceEvidence {
  taskId: string;
  /** The head the instance holds (`runChain`); null before its first run. */
  head: ChainHead | null;
  /** Its runs in chain order; each names the task version it ran (`taskVersion`, `taskVersionHash`). */
  runs: Run[];
  verified: boolean;
  problems: string[];
}

/** `GET /requests/:id/evidence`. */
export interface RequestEvidence {
  requestId: string;
  /** Every chain verified against its head. */
  verified: boolean;
  /** `combineHeads` of the ledger head and every instance head: one value to compare over time. */
  root: string;
  ledger: { entries: LedgerEntry[]; head: ChainHead | null; verified: boolean; problems: string[] };
  instances: InstanceEvidence[];
  /** Every problem found, each prefixed with the chain it is in (`ledger:`, `instance t1:`). */
  problems: string[];
}

/**
 * The evidence of a request: its ledger and every instance's runs, each chain checked against
 * the head its parent document holds, and the heads combined into one root. Reading it changes
 * nothing; the read is logged with the reader and the root (an independent copy of the root).
 */
export async function getEvidence(
  deps: Pick<AppDeps, 'store' | 'log'>,
  requestId: string,
  actor: Actor,
): Promise<RequestEvidence> {
  const request = await requireRequest(deps, requestId);
  const scope = { kind: 'request', requestId } as const;
  const [entries, instances, runs] = await Promise.all([
    deps.store.listLedger(scope),
    deps.store.listInstances(requestId),
    deps.store.listRuns(requestId),
  ]);
  const ledgerHead = request.ledgerHead ?? null;
  const ledgerCheck = verifyChain(bySeq(entries), ledgerHead);

  const runsByTask = new Map<string, Run[]>();
  for (const run of runs) {
    const list = runsByTask.get(run.taskId) ?? [];
    list.push(run);
    runsByTask.set(run.taskId, list);
  }
  const instanceEvidence = [...instances]
    .sort((a, b) => compare(a.taskId, b.taskId))
    .map((instance): InstanceEvidence => {
      const chain = bySeq(runsByTask.get(instance.taskId) ?? []);
      runsByTask.delete(instance.taskId);
      const head = instance.runChain ?? null;
      const check = verifyChain(chain, head);
      return { taskId: instance.taskId, head, runs: chain, ...check };
    });
  // Runs whose instance is gone cannot be checked against a head: that is a problem itself.
  const orphans = [...runsByTask.keys()]
    .sort(compare)
    .map((taskId) => `runs of task ${taskId} belong to no instance of this request`);

  const problems = [
    ...ledgerCheck.problems.map((p) => `ledger: ${p}`),
    ...instanceEvidence.flatMap((i) => i.problems.map((p) => `instance ${i.taskId}: ${p}`)),
    ...orphans,
  ];
  const evidence: RequestEvidence = {
    requestId,
    verified: problems.length === 0,
    root: combineHeads(
      ledgerHead,
      instanceEvidence.map(({ taskId, head }) => ({ taskId, head })),
    ),
    ledger: { entries: bySeq(entries), head: ledgerHead, ...ledgerCheck },
    instances: instanceEvidence,
    problems,
  };
  deps.log
    .child({ labels: { requestId } })
    .log(
      evidence.verified ? 'INFO' : 'WARNING',
      'request.evidence_read',
      evidence.verified
        ? 'evidence read: every chain verified'
        : `evidence read: ${problems.length} problem(s) found`,
      {
        readBy: actor.identity,
        verified: evidence.verified,
        root: evidence.root,
        problems: problems.slice(0, 20),
      },
    );
  return evidence;
}

/**
 * Appends an action to the request's ledger and logs the new head (`chainSeq`, `chainHash`), so
 * Cloud Logging keeps a copy of every head the store cannot rewrite. `details.taskIds`, when a
 * list of strings, becomes the entry's `taskIds`.
 */
export async function recordAction(
  deps: Pick<AppDeps, 'store' | 'clock' | 'log'>,
  requestId: string,
  kind: Exclude<RequestLedgerKind, 'filed'>,
  actor: Actor,
  details: Record<string, unknown> = {},
): Promise<LedgerEntry> {
  const { taskIds, rest } = liftTaskIds(details);
  const entry = await deps.store.appendLedger(
    { kind: 'request', requestId },
    {
      kind,
      actor: actor.identity,
      at: deps.clock.now().toISOString(),
      ...(taskIds === undefined ? {} : { taskIds }),
      ...(Object.keys(rest).length === 0 ? {} : { details: rest }),
    },
  );
  deps.log
    .child({ labels: { requestId } })
    .info('ledger.appended', `ledger entry ${entry.seq}: ${kind} by ${actor.identity}`, {
      kind,
      actor: actor.identity,
      chainSeq: entry.seq,
      chainHash: entry.hash,
    });
  return entry;
}

function liftTaskIds(details: Record<string, unknown>): {
  taskIds: string[] | undefined;
  rest: Record<string, unknown>;
} {
  const rest = { ...details };
  const value = Object.hasOwn(details, 'taskIds') ? details['taskIds'] : undefined;
  if (!Array.isArray(value) || !value.every((t): t is string => typeof t === 'string')) {
    return { taskIds: undefined, rest };
  }
  delete rest['taskIds'];
  return { taskIds: value, rest };
}

/** Entries in seq order; anything without a numeric seq last (verifyChain names it). */
function bySeq<T extends object>(entries: readonly T[]): T[] {
  const seqOf = (e: T) => {
    const seq = Object.hasOwn(e, 'seq') ? (e as { seq: unknown }).seq : undefined;
    return typeof seq === 'number' ? seq : Number.POSITIVE_INFINITY;
  };
  return [...entries].sort((a, b) => {
    const [x, y] = [seqOf(a), seqOf(b)];
    return x === y ? 0 : x - y;
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
