import { ConflictError } from './errors';
import type { ErrorCode } from './error-codes';
import { nextTaskOpening } from './execution-window';
import type { Approval, Denial, Instance, InstanceState, RunSummary, Task } from './model';
import { assertTransition, CANCELLABLE_STATES, isTerminal } from './states';

/**
 * The instance lifecycle as pure functions. Each takes the instance as stored and returns the
 * patch to write (or null to leave it alone, or a typed error), and every patch that changes
 * the state is checked against the transition table in states.ts. The store applies a patch
 * only to the document it was decided on (a guarded write), so the prior state a decision
 * rests on is enforced by the write itself.
 */

export type InstancePatch = Partial<Instance>;

/** The task fields the lifecycle reads. */
export type LifecycleTask = Pick<
  Task,
  | 'id'
  | 'timeoutSeconds'
  | 'executionWindow'
  | 'notBefore'
  | 'approvalsRequired'
  | 'version'
  | 'versionHash'
>;

/** A patch moving `current` to `to`, refused (ConflictError `illegal_transition`) if illegal. */
export function moveTo(
  current: Pick<Instance, 'state'>,
  to: InstanceState,
  fields: InstancePatch = {},
): InstancePatch {
  if (current.state !== to) assertTransition(current.state, to);
  return { ...fields, state: to };
}

/** Throws unless the patch's state change (if any) is legal from `current`. */
export function assertLegalPatch(current: Pick<Instance, 'state'>, patch: InstancePatch): void {
  if (patch.state !== undefined && patch.state !== current.state) {
    assertTransition(current.state, patch.state);
  }
}

/**
 * Whether the instance's approvals cover the task as it is now: as many distinct approvers as
 * the task requires, each of whom approved this very version (its hash). A task changed after
 * approval is therefore not covered, and needs approving again.
 */
export function approvalsCover(
  approvals: readonly Approval[] | undefined,
  task: Pick<Task, 'approvalsRequired' | 'versionHash'>,
): boolean {
  const required = task.approvalsRequired ?? 0;
  if (required === 0) return true;
  const current = (approvals ?? []).filter((a) => a.taskVersionHash === task.versionHash);
  return new Set(current.map((a) => a.actor)).size >= required;
}

/** What one delivery (a Cloud Task's payload) asks to start. */
export interface DeliveryClaim {
  series: number;
  attempt: number;
  poll?: number;
  /** A poll asked for ahead of its time (a batch's flush finished): claimed at once. */
  early?: boolean;
}

export type ClaimRefusal =
  'finished' | 'leased' | 'not_due' | 'stale' | 'not_verified' | 'not_approved' | 'approval_stale';

export type ClaimDecision =
  | { claim: InstancePatch; polling: boolean }
  | {
      refuse: ClaimRefusal;
      /** For `not_due`: when the delivery would be due. */
      dueAt?: Date;
      /** Written although the claim is refused (a stale approval goes back to approval). */
      patch?: InstancePatch;
    };

/** Deliveries may arrive this much before their time (clock skew between services). */
const EARLY_TOLERANCE_MS = 1000;

/**
 * Run-task claims only what the queue would have delivered: the instance's own series and
 * attempt, at or after its schedule, inside its window and after its notBefore, approved for
 * the task version that will run. A poll continues its waiting attempt. Anything else is
 * refused and nothing starts.
 */
export function decideClaim(
  current: Instance,
  delivery: DeliveryClaim,
  task: LifecycleTask,
  now: Date,
  leaseGraceSeconds: number,
): ClaimDecision {
  if (isTerminal(current.state)) return { refuse: 'finished' };
  if (delivery.series !== current.series) return { refuse: 'stale' };
  // A poll that failed retryably left the instance retry_scheduled: the redelivery of the poll
  // task then starts the next attempt like any other delivery.
  const polling = delivery.poll !== undefined && current.state !== 'retry_scheduled';
  let due: string | undefined;
  if (polling) {
    if (current.state !== 'waiting' || current.waitingHandle === undefined) {
      return { refuse: current.state === 'running' ? 'leased' : 'stale' };
    }
    if (current.attempt !== delivery.attempt || (current.polls ?? 0) !== delivery.poll) {
      return { refuse: 'stale' };
    }
    due = delivery.early === true ? undefined : current.nextAttemptAt;
  } else {
    if (current.state === 'running' || current.state === 'waiting') return { refuse: 'leased' };
    // Held for identity verification: nothing starts, whatever the delivery says.
    if (current.state === 'pending_verification') return { refuse: 'not_verified' };
    if (current.state === 'pending_approval') return { refuse: 'not_approved' };
    const redelivery = current.state === 'retry_scheduled';
    // A new attempt's Cloud Task names exactly the next attempt. A retry is Cloud Tasks
    // redelivering the Cloud Task of an earlier attempt of this series (the same task is
    // redelivered after every 503), or dispatch's re-armed one for the current attempt: never
    // an attempt that has not happened.
    const expected = redelivery
      ? delivery.attempt >= 1 && delivery.attempt <= current.attempt
      : delivery.attempt === current.attempt + 1;
    if (!expected) return { refuse: 'stale' };
    if (!approvalsCover(current.approvals, task)) {
      return { refuse: 'approval_stale', patch: backToApproval(current, task, now) };
    }
    due = redelivery ? current.nextAttemptAt : current.scheduleTime;
  }
  const dueMs = Math.max(
    due === undefined ? now.getTime() : Date.parse(due),
    // A poll watches a job already running: the window bounds starting work, not watching it.
    polling ? now.getTime() : nextTaskOpening(task, now).getTime(),
  );
  if (dueMs - now.getTime() > EARLY_TOLERANCE_MS) {
    return { refuse: 'not_due', dueAt: new Date(dueMs) };
  }
  const leaseMs = (task.timeoutSeconds + leaseGraceSeconds) * 1000;
  return {
    polling,
    claim: moveTo(current, 'running', {
      attempt: polling ? current.attempt : current.attempt + 1,
      totalAttempts: polling ? current.totalAttempts : current.totalAttempts + 1,
      leaseExpiresAt: new Date(now.getTime() + leaseMs).toISOString(),
      taskVersion: { version: task.version, hash: task.versionHash },
      updatedAt: now.toISOString(),
    }),
  };
}

/** An instance whose approvals no longer cover its task waits for approval again. */
function backToApproval(current: Instance, task: LifecycleTask, now: Date): InstancePatch {
  return moveTo(current, 'pending_approval', {
    approvals: [],
    taskVersion: undefined,
    scheduleTime: undefined,
    cloudTaskName: undefined,
    parked: undefined,
    nextAttemptAt: undefined,
    advice: `task ${task.id} changed after approval (now version ${task.version}); it needs approving again`,
    lastError: { code: 'approval_stale', message: `task ${task.id} changed after approval` },
    updatedAt: now.toISOString(),
  });
}

/** How an attempt ended, as run-task (or the watchdog) decided it. */
export type AttemptSettlement =
  | { kind: 'done' }
  | { kind: 'waiting'; handle?: string; poll: number; nextPollAt: Date }
  | { kind: 'retry'; nextAttemptAt: Date; error: { code: ErrorCode; message: string } }
  | { kind: 'failed'; error: { code: ErrorCode; message: string }; advice: string };

/**
 * The patch that ends a claimed attempt (`running`): succeeded, waiting for its long job,
 * retry_scheduled or failed, with the cost added and the run summarised on the instance.
 */
export function settleAttempt(
  claimed: Instance,
  settlement: AttemptSettlement,
  cost: Instance['cost'],
  lastRun: RunSummary,
): InstancePatch {
  const common: InstancePatch = {
    cost: {
      bytesBilled: claimed.cost.bytesBilled + cost.bytesBilled,
      usd: claimed.cost.usd + cost.usd,
    },
    lastRun,
    updatedAt: lastRun.finishedAt,
  };
  // A patch key set to undefined removes the field.
  const notWaiting = { waitingHandle: undefined, polls: undefined };
  const closed = {
    ...notWaiting,
    progress: undefined,
    nextAttemptAt: undefined,
    leaseExpiresAt: undefined,
  };
  switch (settlement.kind) {
    case 'done':
      return moveTo(claimed, 'succeeded', { ...closed, ...common });
    case 'waiting':
      return moveTo(claimed, 'waiting', {
        ...common,
        polls: settlement.poll,
        ...(settlement.handle === undefined ? {} : { waitingHandle: settlement.handle }),
        nextAttemptAt: settlement.nextPollAt.toISOString(),
      });
    case 'retry':
      return moveTo(claimed, 'retry_scheduled', {
        ...notWaiting,
        ...common,
        // The next attempt resumes after what this series finished.
        progress: claimed.waitingHandle ?? claimed.progress,
        nextAttemptAt: settlement.nextAttemptAt.toISOString(),
        lastError: settlement.error,
      });
    case 'failed':
      return moveTo(claimed, 'failed', {
        ...closed,
        ...common,
        lastError: settlement.error,
        advice: settlement.advice,
      });
  }
}

/**
 * The watchdog's patch for an attempt whose lease expired, or null when the instance is no
 * longer that attempt (its handler finished late, or another dispatch run got there first).
 * With attempts left it is queued again (`next`); without, it fails with the advice.
 */
export function abandonAttempt(
  current: Instance,
  seen: Pick<Instance, 'series' | 'attempt' | 'leaseExpiresAt'>,
  now: Date,
  lastRun: RunSummary,
  next:
    | { retry: true; queued: Pick<Instance, 'state' | 'cloudTaskName' | 'scheduleTime' | 'parked'> }
    | { retry: false; advice: string },
): InstancePatch | null {
  const same =
    current.state === 'running' &&
    current.series === seen.series &&
    current.attempt === seen.attempt &&
    current.leaseExpiresAt === seen.leaseExpiresAt &&
    current.leaseExpiresAt !== undefined &&
    Date.parse(current.leaseExpiresAt) <= now.getTime();
  if (!same) return null;
  const common: InstancePatch = {
    leaseExpiresAt: undefined,
    waitingHandle: undefined,
    polls: undefined,
    lastError: { code: 'abandoned', message: lastRun.message },
    lastRun,
    updatedAt: now.toISOString(),
  };
  if (!next.retry) {
    return moveTo(current, 'failed', {
      ...common,
      progress: undefined,
      nextAttemptAt: undefined,
      advice: next.advice,
    });
  }
  const { state, ...queued } = next.queued;
  return moveTo(current, state, {
    ...common,
    ...queued,
    progress: current.waitingHandle ?? current.progress,
    nextAttemptAt: queued.scheduleTime,
  });
}

/**
 * One approver's approval of a `pending_approval` instance (null when it is not awaiting
 * approval). Approvals of an older task version are dropped. With as many distinct approvers
 * as the task requires, the instance is released (`pending_enqueue`, due now) and pinned to
 * the approved version.
 */
export function approveInstance(
  current: Instance,
  approval: Approval,
  task: Pick<Task, 'id' | 'approvalsRequired' | 'version' | 'versionHash'>,
): InstancePatch | null {
  if (current.state !== 'pending_approval') return null;
  const standing = (current.approvals ?? []).filter((a) => a.taskVersionHash === task.versionHash);
  if (standing.some((a) => a.actor === approval.actor)) {
    throw new ConflictError(
      `${approval.actor} has already approved task ${task.id} of this request (version ${task.version}); approval needs a different approver`,
      'already_approved',
    );
  }
  const approvals = [...standing, approval];
  const fields: InstancePatch = { approvals, updatedAt: approval.at };
  if (!approvalsCover(approvals, task)) return fields;
  return moveTo(current, 'pending_enqueue', {
    ...fields,
    // Due now: the outbox is read by scheduleTime, so an enqueue that never happens is found.
    scheduleTime: approval.at,
    taskVersion: { version: task.version, hash: task.versionHash },
    advice: undefined,
    lastError: undefined,
  });
}

/**
 * The release of an instance held for identity verification (null unless it is held): to
 * approval where its task needs approvers, else to the outbox, due now and pinned to the task
 * version it will run. `task` is null when the task is gone: the outbox then fails it
 * (`task_missing`) as it does any instance whose task went.
 */
export function releaseVerified(
  current: Instance,
  task: Pick<Task, 'approvalsRequired' | 'version' | 'versionHash'> | null,
  at: string,
): InstancePatch | null {
  if (current.state !== 'pending_verification') return null;
  if (task !== null && (task.approvalsRequired ?? 0) > 0) {
    return moveTo(current, 'pending_approval', { updatedAt: at });
  }
  return moveTo(current, 'pending_enqueue', {
    // Due now: the outbox is read by scheduleTime, so an enqueue that never happens is found.
    scheduleTime: at,
    ...(task === null ? {} : { taskVersion: { version: task.version, hash: task.versionHash } }),
    updatedAt: at,
  });
}

/**
 * A denial of one instance awaiting approval (`taskIds` named): it is cancelled with who denied
 * it and why (null unless awaiting approval).
 */
export function denyInstance(current: Instance, denial: Denial): InstancePatch | null {
  if (current.state !== 'pending_approval') return null;
  return deniedPatch(current, denial);
}

/**
 * The denial of the whole request reaching one instance: cancelled if it has not started (null
 * once it has: running and waiting work finishes and is recorded).
 */
export function denyUnstarted(current: Instance, denial: Denial): InstancePatch | null {
  if (!CANCELLABLE_STATES.includes(current.state)) return null;
  return deniedPatch(current, denial);
}

function deniedPatch(current: Instance, denial: Denial): InstancePatch {
  return moveTo(current, 'cancelled', {
    denial,
    cancelledBy: denial.actor,
    advice: `denied by ${denial.actor} at ${denial.at}: ${denial.reason}`,
    updatedAt: denial.at,
  });
}

/** Cancels an instance that has not started (null once it has). */
export function cancelInstance(current: Instance, actor: string, at: string): InstancePatch | null {
  if (!CANCELLABLE_STATES.includes(current.state)) return null;
  return moveTo(current, 'cancelled', {
    cancelledBy: actor,
    advice: `cancelled by ${actor} at ${at}`,
    updatedAt: at,
  });
}

/**
 * Cancels a waiting member of a batch that has not closed: the caller has taken it out of the
 * batch first (null unless it still waits on that very handle).
 */
export function cancelBatchMember(
  current: Instance,
  handle: string,
  actor: string,
  at: string,
): InstancePatch | null {
  if (current.state !== 'waiting' || current.waitingHandle !== handle) return null;
  return moveTo(current, 'cancelled', {
    cancelledBy: actor,
    advice: `cancelled by ${actor} at ${at}, before its batch closed`,
    waitingHandle: undefined,
    polls: undefined,
    nextAttemptAt: undefined,
    updatedAt: at,
  });
}

/**
 * A retry that names no series is refused this long after the last retry started a series: a
 * burst of retries (a double click, a script run twice) starts one series even when that
 * series fails within the burst. Naming the failed series retries it at once.
 */
export const RETRY_COOLDOWN_MS = 30_000;

/**
 * A new attempt series for a failed instance. Exactly one series per failure: the caller names
 * (or saw) the series that failed, and a retry that finds another series, or the instance no
 * longer failed, or (naming none) a series a retry started moments ago, is refused, so
 * concurrent retries start one series between them.
 */
export function retrySeries(
  current: Instance,
  seen: { series: number; named: boolean },
  task: Pick<Task, 'maxAttempts' | 'timeoutSeconds'>,
  actor: string,
  at: string,
): InstancePatch {
  const seenSeries = seen.series;
  const sinceRetry =
    current.retriedAt === undefined ? Infinity : Date.parse(at) - Date.parse(current.retriedAt);
  if (!seen.named && sinceRetry < RETRY_COOLDOWN_MS) {
    throw new ConflictError(
      `a retry started series ${current.series} at ${current.retriedAt ?? ''}; to retry it again this soon, name the failed series: {"series": ${current.series}}`,
      'retry_in_progress',
    );
  }
  if (current.series !== seenSeries) {
    throw new ConflictError(
      `series ${seenSeries} of this instance was retried already (it is on series ${current.series}, ${current.state})`,
      'retry_in_progress',
    );
  }
  if (current.state !== 'failed') {
    throw new ConflictError(
      `only a failed instance can be retried; this one is ${current.state}`,
      'not_failed',
    );
  }
  return moveTo(current, 'pending_enqueue', {
    scheduleTime: at,
    series: current.series + 1,
    attempt: 0,
    maxAttempts: task.maxAttempts,
    timeoutSeconds: task.timeoutSeconds,
    advice: `retried by ${actor} at ${at}`,
    progress: undefined,
    retriedAt: at,
    updatedAt: at,
  });
}
