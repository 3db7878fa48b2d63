import { deadlineRisk } from '../domain/deadline';
import type { Instance } from '../domain/model';
import type { AppDeps } from './deps';
import { queueInstances } from './enqueue';
import { tasksById } from './requests';
import { rollupRequest } from './rollup';

export interface DispatchSummary {
  enqueued: number;
  enqueueFailed: number;
  rolledUp: number;
  overdue: number;
  atRisk: number;
  durationMs: number;
}

/**
 * The reconciler, run by Cloud Scheduler (locally by a timer). Every action is a guarded
 * transaction, so two runs at once do no harm. It works in pages so a backlog cannot blow
 * its own deadline.
 */
export async function dispatch(deps: AppDeps): Promise<DispatchSummary> {
  const started = deps.clock.now();
  const summary: DispatchSummary = {
    enqueued: 0,
    enqueueFailed: 0,
    rolledUp: 0,
    overdue: 0,
    atRisk: 0,
    durationMs: 0,
  };
  await enqueueOutbox(deps, summary);
  await reconcileRequests(deps, summary);
  summary.durationMs = deps.clock.now().getTime() - started.getTime();
  deps.log.info('dispatch.finished', 'dispatch run finished', { ...summary });
  return summary;
}

async function enqueueOutbox(deps: AppDeps, summary: DispatchSummary): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await deps.store.queryInstances({
      states: ['pending_enqueue'],
      limit: deps.settings.dispatchPageSize,
      cursor,
    });
    const byRequest = new Map<string, Instance[]>();
    for (const i of page.items)
      byRequest.set(i.requestId, [...(byRequest.get(i.requestId) ?? []), i]);
    const tasks = await tasksById(deps, page.items);
    for (const instances of byRequest.values()) {
      const after = await queueInstances(deps, instances, tasks);
      for (const i of after) {
        if (i.state === 'queued') summary.enqueued += 1;
        else summary.enqueueFailed += 1;
      }
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

async function reconcileRequests(deps: AppDeps, summary: DispatchSummary): Promise<void> {
  let cursor: string | undefined;
  const now = deps.clock.now();
  do {
    const page = await deps.store.queryOpenRequests(deps.settings.dispatchPageSize, cursor);
    for (const request of page.items) {
      const updated = await rollupRequest(deps, request.id);
      if (updated !== null && updated.updatedAt !== request.updatedAt) summary.rolledUp += 1;
      const risk = deadlineRisk(new Date(request.dueAt), now, deps.settings.overdueWarningHours);
      if (risk === 'ok') continue;
      const log = deps.log.child({ labels: { requestId: request.id } });
      const hoursLeft = Math.round((Date.parse(request.dueAt) - now.getTime()) / 36e5);
      if (risk === 'overdue') {
        summary.overdue += 1;
        log.log('ERROR', 'request.overdue', `request is past its due date (${request.dueAt})`, {
          dueAt: request.dueAt,
          hoursLeft,
          risk,
          status: updated?.status ?? request.status,
        });
        if (!request.overdue)
          await deps.store.updateRequest(request.id, (c) => (c.overdue ? null : { overdue: true }));
      } else {
        summary.atRisk += 1;
        log.warn(
          'request.overdue',
          `request is due within ${deps.settings.overdueWarningHours} h (${request.dueAt})`,
          {
            dueAt: request.dueAt,
            hoursLeft,
            risk,
            status: updated?.status ?? request.status,
          },
        );
      }
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}
