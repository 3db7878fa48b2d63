import { addCosts } from '../domain/cost';
import type { Instance, Request } from '../domain/model';
import { requestStatusOf } from '../domain/request-status';
import { countStates, isOpenStatus } from '../domain/states';
import type { AppDeps } from './deps';

/**
 * The request's derived summary: status, counts and cost, from its instances; a denied request
 * (`denial` given) is `denied` whatever they are, and a closed dry run (`dryRun`) reads
 * `dry_run_completed…`, never `completed` (src/domain/request-status.ts).
 */
export function summarise(
  instances: readonly Instance[],
  denial?: Request['denial'],
  dryRun = false,
): Pick<Request, 'status' | 'counts' | 'cost'> {
  return {
    status: requestStatusOf(
      instances.map((i) => i.state),
      { denied: denial !== undefined, dryRun },
    ),
    counts: countStates(instances),
    cost: addCosts(...instances.map((i) => i.cost)),
  };
}

/**
 * Writes the derived summary onto the request document when it changed. Called by the last
 * instance to finish and by dispatch; never by every run, so the request is not a hot document.
 */
export async function rollupRequest(
  deps: Pick<AppDeps, 'store' | 'clock' | 'log'>,
  requestId: string,
): Promise<Request | null> {
  const instances = await deps.store.listInstances(requestId);
  let summary = summarise(instances);
  const now = deps.clock.now().toISOString();
  let changedTo: Request['status'] | undefined;
  const updated = await deps.store.updateRequest(requestId, (current) => {
    // A denied request stays `denied` while the work it had started finishes.
    summary = summarise(instances, current.denial, current.dryRun);
    const { status } = summary;
    const failedInstances = announcedFailures(current, instances);
    if (
      current.status === status &&
      failedInstances === current.failedInstances &&
      current.cost.usd === summary.cost.usd &&
      JSON.stringify(current.counts) === JSON.stringify(summary.counts)
    ) {
      return null;
    }
    if (current.status !== status) changedTo = status;
    const closing = isOpenStatus(current.status) && !isOpenStatus(status);
    return {
      ...summary,
      updatedAt: now,
      ...(closing ? { completedAt: now } : {}),
      ...(failedInstances === current.failedInstances ? {} : { failedInstances }),
    };
  });
  if (changedTo !== undefined && updated !== null) {
    deps.log
      .child({ labels: { requestId } })
      .info('request.status_changed', `request is now ${changedTo}`, {
        status: changedTo,
        costUsd: summary.cost.usd,
        bytesBilled: summary.cost.bytesBilled,
        subjectHash: updated.subjectHash,
      });
  }
  return updated;
}

/**
 * The failed instances to announce (`instance.failed`, once each) as `taskId#series`: those
 * announced before plus any failed now; `current.failedInstances` itself when nothing is new.
 */
function announcedFailures(
  current: Request,
  instances: readonly Instance[],
): Request['failedInstances'] {
  const known = current.failedInstances ?? [];
  const fresh = instances
    .filter((i) => i.state === 'failed')
    .map((i) => `${i.taskId}#${i.series}`)
    .filter((key) => !known.includes(key));
  return fresh.length === 0 ? current.failedInstances : [...known, ...fresh.sort()];
}
