import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '../../../src/domain/errors';
import {
  headOf,
  sealEntry,
  type ChainHead,
  type LedgerEntry,
  type LedgerScope,
} from '../../../src/domain/evidence';
import type { Instance, Request, Run, Task, TaskVersion } from '../../../src/domain/model';
import { isOpenStatus, isTerminal } from '../../../src/domain/states';
import type {
  Claim,
  ClaimOutcome,
  InstanceMutation,
  Page,
  RequestStore,
  UnsealedRun,
} from '../../../src/ports/request-store';

/**
 * A plain in-memory RequestStore, just faithful enough to drive the real use cases (intake, a
 * run, dispatch with its watchdog) so that the infra tests see the log lines the code really
 * writes. It answers as the Firestore store does where the use cases depend on it: a declined
 * mutation returns null, any write to an instance voids its claim, a run id is recorded once,
 * runs are chained per instance and actions per ledger (a late run moves only the chain head,
 * which leaves the current claim standing).
 * It is not a Firestore stand-in: no transactions, no indexes, pages are the whole result.
 */
export function createMemoryStore(): RequestStore {
  const tasks = new Map<string, Task>();
  const versions = new Map<string, TaskVersion[]>();
  const requests = new Map<string, Request>();
  const instances = new Map<string, Instance>();
  const runs: Run[] = [];
  const claims = new Map<string, string>();
  const ledgers = new Map<string, LedgerEntry[]>();
  const ledgerKey = (scope: LedgerScope) =>
    scope.kind === 'request' ? `request/${scope.requestId}` : `task/${scope.taskId}`;
  const key = (requestId: string, taskId: string) => `${requestId}/${taskId}`;
  const copy = <T>(value: T): T => structuredClone(value);
  const instancesOf = (requestId: string) =>
    [...instances.values()].filter((i) => i.requestId === requestId);
  const page = <T>(items: T[], limit: number): Page<T> => ({
    items: items.slice(0, limit).map(copy),
  });

  function mutateInstance(
    requestId: string,
    taskId: string,
    mutate: InstanceMutation,
  ): Instance | null {
    const current = instances.get(key(requestId, taskId));
    if (current === undefined) return null;
    const patch = mutate(copy(current));
    // Declined: nothing written, and null, as the Firestore store answers.
    if (patch === null) return null;
    const next = { ...current, ...patch };
    instances.set(key(requestId, taskId), next);
    // As in Firestore (the claim token is the instance's update time), any later write to the
    // instance, e.g. the watchdog expiring its lease, voids the claim: a late finish is not applied.
    claims.delete(key(requestId, taskId));
    return copy(next);
  }

  const hasRun = (run: UnsealedRun) =>
    runs.some(
      (r) => r.requestId === run.requestId && r.taskId === run.taskId && r.runId === run.runId,
    );

  /** Seals the run onto its instance's chain head and moves the head (nothing else). */
  function chainRun(run: UnsealedRun): Run {
    const k = key(run.requestId, run.taskId);
    const current = instances.get(k);
    const sealed: Run = sealEntry(current?.runChain, run);
    runs.push(copy(sealed));
    if (current !== undefined) instances.set(k, { ...current, runChain: headOf(sealed) });
    return sealed;
  }

  function appendTo(
    scope: LedgerScope,
    head: ChainHead | undefined,
    entry: Omit<LedgerEntry, 'seq' | 'prevHash' | 'hash'>,
  ): LedgerEntry {
    const sealed: LedgerEntry = sealEntry(head, entry);
    const list = ledgers.get(ledgerKey(scope)) ?? [];
    list.push(copy(sealed));
    ledgers.set(ledgerKey(scope), list);
    return sealed;
  }

  return {
    async createTask(task, registered) {
      if (tasks.has(task.id)) {
        throw new ConflictError(`a task with id ${task.id} already exists`, 'task_exists');
      }
      tasks.set(task.id, copy(task));
      if (registered !== undefined) {
        versions.set(task.id, [copy(registered.version)]);
        appendTo({ kind: 'task', taskId: task.id }, undefined, {
          ...registered.action,
          taskId: task.id,
        });
      }
      return copy(task);
    },
    async getTask(id) {
      const task = tasks.get(id);
      return task === undefined ? null : copy(task);
    },
    async listTasks(filter = {}) {
      return [...tasks.values()]
        .filter((t) => filter.jobType === undefined || t.jobType === filter.jobType)
        .filter((t) => filter.active === undefined || t.active === filter.active)
        .map(copy);
    },
    async updateTask(id, change) {
      const current = tasks.get(id);
      if (current === undefined) throw new NotFoundError(`no task ${id}`);
      const write = change(copy(current));
      if (write === null) return copy(current);
      const scope = { kind: 'task', taskId: id } as const;
      tasks.set(id, copy(write.version.task));
      versions.set(id, [...(versions.get(id) ?? []), copy(write.version)]);
      appendTo(scope, ledgers.get(ledgerKey(scope))?.at(-1), { ...write.action, taskId: id });
      return copy(write.version.task);
    },
    async getTaskVersion(id, version) {
      const kept = versions.get(id)?.find((v) => v.version === version);
      return kept === undefined ? null : copy(kept);
    },
    async listTaskVersions(id) {
      return (versions.get(id) ?? []).map(copy);
    },

    async createRequest(request, list, filed) {
      const existing = requests.get(request.id);
      if (existing !== undefined)
        return {
          created: false,
          request: copy(existing),
          instances: instancesOf(request.id).map(copy),
        };
      const scope = { kind: 'request', requestId: request.id } as const;
      const entry =
        filed === undefined
          ? undefined
          : appendTo(scope, undefined, { ...filed, requestId: request.id });
      const stored = entry === undefined ? request : { ...request, ledgerHead: headOf(entry) };
      requests.set(request.id, copy(stored));
      for (const i of list) instances.set(key(i.requestId, i.taskId), copy(i));
      return { created: true, request: copy(stored), instances: list.map(copy) };
    },
    async getRequest(id) {
      const request = requests.get(id);
      return request === undefined ? null : copy(request);
    },
    async listRequests(scan) {
      const field = scan.orderBy;
      const sign = field === 'receivedAt' ? -1 : 1;
      const by = scan.by;
      return [...requests.values()]
        .filter((r) => r.dryRun === scan.dryRun)
        .filter((r) => by.kind !== 'owner' || r.createdBy === by.createdBy)
        .filter((r) => by.kind !== 'status' || by.statuses.includes(r.status))
        .filter((r) => scan.from === undefined || r[field] >= scan.from)
        .filter((r) => scan.before === undefined || r[field] < scan.before)
        .sort((a, b) => sign * (a[field].localeCompare(b[field]) || a.id.localeCompare(b.id)))
        .filter(
          (r) =>
            scan.after === undefined ||
            sign * (r[field].localeCompare(scan.after.value) || r.id.localeCompare(scan.after.id)) >
              0,
        )
        .slice(0, scan.limit)
        .map(copy);
    },
    async queryRunsFinished(from, to, limit) {
      const items = runs
        .filter((r) => r.finishedAt >= from && r.finishedAt < to)
        .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
      return page(items, limit);
    },
    async queryAuditRuns(from, to, limit) {
      const items = [...ledgers.values()]
        .flat()
        .filter((e) => e.kind === 'audit_run' && e.at >= from && e.at < to)
        .sort((a, b) => a.at.localeCompare(b.at));
      return page(items, limit);
    },
    async findRequestsByExternalId(externalId, limit) {
      return [...requests.values()]
        .filter((r) => r.externalId === externalId)
        .slice(0, limit)
        .map(copy);
    },
    async findRequestsBySubject(subjectHash, type, limit) {
      return [...requests.values()]
        .filter((r) => r.subjectHash === subjectHash && r.type === type)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .slice(0, limit)
        .map(copy);
    },
    async updateRequest(id, mutate) {
      const current = requests.get(id);
      if (current === undefined) return null;
      const patch = mutate(copy(current));
      if (patch === null) return null;
      const next = { ...current, ...patch };
      requests.set(id, next);
      return copy(next);
    },

    async getInstance(requestId, taskId) {
      const instance = instances.get(key(requestId, taskId));
      return instance === undefined ? null : copy(instance);
    },
    async listInstances(requestId) {
      return instancesOf(requestId).map(copy);
    },
    async countOpenInstances(requestId) {
      return instancesOf(requestId).filter((i) => !isTerminal(i.state)).length;
    },
    async countTaskInstances(taskId, states) {
      return [...instances.values()].filter((i) => i.taskId === taskId && states.includes(i.state))
        .length;
    },
    async queryInstances(query) {
      const items = [...instances.values()]
        .filter((i) => query.states.includes(i.state))
        .filter((i) => query.taskId === undefined || i.taskId === query.taskId)
        .filter((i) => {
          if (query.dueBefore === undefined || query.dueField === undefined) return true;
          const due = i[query.dueField];
          return due !== undefined && Date.parse(due) <= query.dueBefore.getTime();
        });
      return page(items, query.limit);
    },
    async updateInstance(requestId, taskId, mutate) {
      return mutateInstance(requestId, taskId, mutate);
    },
    async patchInstances(requestId, patches) {
      for (const { taskId, patch } of patches) mutateInstance(requestId, taskId, () => patch);
    },

    async claimInstance(requestId, taskId, decide): Promise<ClaimOutcome> {
      const current = instances.get(key(requestId, taskId));
      if (current === undefined) return { claimed: false, reason: 'not_found' };
      const decision = decide(copy(current));
      if ('refuse' in decision) {
        const written = decision.write === undefined ? current : { ...current, ...decision.write };
        instances.set(key(requestId, taskId), written);
        return { claimed: false, reason: decision.refuse, instance: copy(written) };
      }
      const next = { ...current, ...decision.patch };
      instances.set(key(requestId, taskId), next);
      const token = randomUUID();
      claims.set(key(requestId, taskId), token);
      const claim: Claim = { instance: copy(next), token };
      return { claimed: true, claim };
    },
    async finishAttempt(claim, run, patch) {
      // The same run id already recorded: an earlier call with this run got through.
      if (hasRun(run)) return { applied: false, run: null };
      const k = key(claim.instance.requestId, claim.instance.taskId);
      const applied = claims.get(k) === claim.token;
      const sealed = chainRun(run);
      if (applied) {
        claims.delete(k);
        const current = instances.get(k);
        if (current !== undefined) instances.set(k, { ...current, ...patch });
      }
      return { applied, run: copy(sealed) };
    },
    async recordRun(run, mutate) {
      const current = instances.get(key(run.requestId, run.taskId));
      if (current === undefined) return null;
      // The run is written only together with a patch, as the Firestore store's guarded batch.
      if (mutate(copy(current)) === null) return null;
      if (hasRun(run))
        throw new ConflictError(`run ${run.runId} is already recorded`, 'run_exists');
      chainRun(run);
      return mutateInstance(run.requestId, run.taskId, mutate);
    },
    async listRuns(requestId) {
      return runs.filter((r) => r.requestId === requestId).map(copy);
    },
    async appendLedger(scope, action) {
      if (scope.kind === 'request') {
        const request = requests.get(scope.requestId);
        if (request === undefined) throw new NotFoundError(`no request ${scope.requestId}`);
        const entry = appendTo(scope, request.ledgerHead, {
          ...action,
          requestId: scope.requestId,
        });
        requests.set(scope.requestId, { ...request, ledgerHead: headOf(entry) });
        return copy(entry);
      }
      if (!tasks.has(scope.taskId)) throw new NotFoundError(`no task ${scope.taskId}`);
      // A task's head is its ledger's last entry here (Firestore keeps it on the task document).
      const head = ledgers.get(ledgerKey(scope))?.at(-1);
      return copy(appendTo(scope, head, { ...action, taskId: scope.taskId }));
    },
    async listLedger(scope) {
      return (ledgers.get(ledgerKey(scope)) ?? []).map(copy);
    },

    async queryOpenRequests(limit) {
      return page(
        [...requests.values()].filter((r) => isOpenStatus(r.status)),
        limit,
      );
    },
    async queryRequestsReceived(from, to, limit) {
      return page(
        [...requests.values()]
          .filter((r) => r.receivedAt >= from && r.receivedAt < to)
          .sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.id.localeCompare(b.id)),
        limit,
      );
    },
    async queryRequestsToMinimise(closedBefore, limit) {
      return page(
        [...requests.values()].filter(
          (r) =>
            r.minimised === false && r.completedAt !== undefined && r.completedAt <= closedBefore,
        ),
        limit,
      );
    },
    async minimiseRequest(requestId, mutate) {
      const current = requests.get(requestId);
      const patch = current === undefined ? null : mutate(copy(current));
      if (current === undefined || patch === null) return null;
      const next = { ...current, ...patch };
      requests.set(requestId, next);
      return copy(next);
    },
  };
}
