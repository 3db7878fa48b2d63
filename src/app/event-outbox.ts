import type { Clock } from '../ports/clock';
import type { EventOutbox } from '../ports/event-outbox';
import type { EventPublisher } from '../ports/event-publisher';
import type { Logger } from '../ports/logger';

/** Lifecycle events: the outbox the store writes, and where they are published. */
export interface LifecycleEventsDeps {
  outbox: EventOutbox;
  publisher: EventPublisher;
}

export interface PublishSummary {
  published: number;
  /** Publishes that failed (each event stays pending). */
  failed: number;
  /** Events not tried because an earlier event of the same request failed: order is kept. */
  heldBack: number;
  /** Age of the oldest event still pending afterwards, in seconds (0: none pending). */
  oldestPendingSeconds: number;
}

export interface PublishOptions {
  /** Events read per page. */
  pageSize?: number;
  /** Stop starting pages after this long (the caller's time is bounded). */
  budgetMs?: number;
}

type Deps = { events: LifecycleEventsDeps; clock: Clock; log: Logger };

/**
 * Publishes pending lifecycle events, oldest first and per request in order: once one of a
 * request's events fails, its later ones are held back until the next call, so a subscriber
 * with ordering never sees them out of order. Each event is marked published only after
 * Pub/Sub accepted it, so an outage loses nothing; an event sent whose mark was lost is sent
 * again with the same ce-id (at least once). Never throws: what it could not do, the next
 * call (dispatch runs it every time) does.
 */
export async function publishPending(
  deps: Deps,
  opts: PublishOptions = {},
): Promise<PublishSummary> {
  const pageSize = opts.pageSize ?? 200;
  const budgetMs = opts.budgetMs ?? 30_000;
  const started = Date.now();
  const summary: PublishSummary = { published: 0, failed: 0, heldBack: 0, oldestPendingSeconds: 0 };
  const blocked = new Set<string>();
  try {
    // Page after page until one comes back empty: a page may be short of pageSize and still not
    // the last (the store leaves a write cut by the page's end for the next one).
    let drained = false;
    for (;;) {
      const pending = await deps.events.outbox.listPending(pageSize);
      if (pending.length === 0) {
        drained = true;
        break;
      }
      const done: string[] = [];
      for (const { event } of pending) {
        if (blocked.has(event.subject)) {
          summary.heldBack++;
          continue;
        }
        try {
          await deps.events.publisher.publish(event);
          done.push(event.id);
        } catch (err) {
          blocked.add(event.subject);
          summary.failed++;
          deps.log
            .child({ labels: { requestId: event.subject } })
            .error(
              'events.publish_failed',
              `publishing ${event.type} failed; it stays in the outbox`,
              err,
              { ceId: event.id, ceType: event.type },
            );
        }
      }
      if (done.length > 0) {
        await deps.events.outbox.markPublished(done, deps.clock.now());
        summary.published += done.length;
      }
      // Anything held back or failed waits for the next call.
      if (done.length < pending.length || Date.now() - started > budgetMs) break;
    }
    const [oldest] = drained ? [] : await deps.events.outbox.listPending(1);
    summary.oldestPendingSeconds =
      oldest === undefined
        ? 0
        : Math.max(0, (deps.clock.now().getTime() - Date.parse(oldest.pendingSince)) / 1000);
  } catch (err) {
    deps.log.error('events.publish_failed', 'the event outbox could not be read or marked', err);
  }
  if (summary.published > 0) {
    deps.log.info('events.published', `${summary.published} lifecycle events published`, {
      published: summary.published,
    });
  }
  // The backlog line feeds the log-based metric and its alert (docs/monitoring.md).
  deps.log.log(
    summary.oldestPendingSeconds > 0 ? 'WARNING' : 'INFO',
    'events.outbox_backlog',
    summary.oldestPendingSeconds > 0
      ? `lifecycle events pending, the oldest for ${Math.round(summary.oldestPendingSeconds)} s`
      : 'no lifecycle event pending',
    { ...summary },
  );
  return summary;
}

/**
 * A best-effort publisher for after an API write: runs publishPending at most once at a time
 * (a call while one runs asks for one more run after it), bounded by `boundMs` for the caller,
 * and after a failure stays quiet for `pauseMs` (dispatch publishes meanwhile), so an outage
 * does not slow every call.
 */
export function createEventKicker(
  deps: Deps,
  { boundMs = 1000, pauseMs = 60_000 }: { boundMs?: number; pauseMs?: number } = {},
): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  let quietUntil = 0;
  const run = async (): Promise<void> => {
    do {
      again = false;
      const s = await publishPending(deps, { budgetMs: boundMs, pageSize: 50 });
      if (s.failed > 0) quietUntil = Date.now() + pauseMs;
    } while (again && Date.now() >= quietUntil);
  };
  return async () => {
    if (Date.now() < quietUntil) return;
    if (running !== undefined) again = true;
    running ??= run().finally(() => (running = undefined));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      running,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, boundMs))),
    ]);
    clearTimeout(timer);
  };
}
