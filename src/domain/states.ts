import { ConflictError } from './errors';
import type { Instance, InstanceState, RequestStatus } from './model';

/** Every legal instance transition; anything else is a bug or a race, and is refused. */
const TRANSITIONS: Readonly<Record<InstanceState, readonly InstanceState[]>> = {
  // Released by POST /requests/:id/verify; cancelled by a deny or a cancel.
  pending_verification: ['pending_approval', 'pending_enqueue', 'cancelled'],
  pending_approval: ['pending_enqueue', 'cancelled'],
  // → pending_approval: run-task found the task changed after approval (approval_stale).
  // → failed: dispatch found the task definition gone (task_missing).
  // → paused: its task is paused (the outbox, or a delivery, found it so).
  pending_enqueue: ['queued', 'running', 'cancelled', 'pending_approval', 'failed', 'paused'],
  queued: ['running', 'pending_enqueue', 'cancelled', 'pending_approval', 'failed', 'paused'],
  // queued / pending_enqueue: the dispatch watchdog requeues an attempt whose lease expired.
  // → paused: that requeue found the task paused, or run-task gave back a claim it made on a
  // cached task that a fresh read showed paused (the attempt is not spent).
  running: [
    'succeeded',
    'failed',
    'retry_scheduled',
    'waiting',
    'queued',
    'pending_enqueue',
    'paused',
  ],
  retry_scheduled: [
    'running',
    'queued',
    'pending_enqueue',
    'failed',
    'cancelled',
    'pending_approval',
    'paused',
  ],
  // → cancelled: a member of a batch that has not closed leaves it when its request is cancelled.
  waiting: ['running', 'succeeded', 'failed', 'retry_scheduled', 'cancelled'],
  // → pending_enqueue: its task resumed (dispatch re-arms it with a fresh Cloud Task name).
  paused: ['pending_enqueue', 'cancelled'],
  succeeded: [],
  failed: ['pending_enqueue'],
  skipped: [],
  cancelled: [],
};

export const TERMINAL_INSTANCE_STATES: readonly InstanceState[] = [
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
];

/** States a run-task delivery may claim (start an attempt from). */
export const CLAIMABLE_STATES: readonly InstanceState[] = [
  'pending_enqueue',
  'queued',
  'retry_scheduled',
];

/** States that have not started and so can still be cancelled (or denied with their request). */
export const CANCELLABLE_STATES: readonly InstanceState[] = [
  'pending_verification',
  'pending_approval',
  'pending_enqueue',
  'queued',
  'retry_scheduled',
  'paused',
];

export function canTransition(from: InstanceState, to: InstanceState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws ConflictError when `from → to` is not a legal transition. */
export function assertTransition(from: InstanceState, to: InstanceState): void {
  if (!canTransition(from, to)) {
    throw new ConflictError(`instance cannot go from ${from} to ${to}`, 'illegal_transition');
  }
}

export function isTerminal(state: InstanceState): boolean {
  return TERMINAL_INSTANCE_STATES.includes(state);
}

export function countStates(
  instances: readonly Pick<Instance, 'state'>[],
): Partial<Record<InstanceState, number>> {
  const counts: Partial<Record<InstanceState, number>> = {};
  for (const { state } of instances) counts[state] = (counts[state] ?? 0) + 1;
  return counts;
}

/**
 * A request's status is derived from its instances, never edited by hand (a denied request is
 * `denied` whatever its instances: src/app/rollup.ts):
 * - anything awaiting identity verification → awaiting_verification;
 * - anything awaiting approval (and nothing else open) → awaiting_approval;
 * - anything still open → in_progress;
 * - all closed: every one that applied (was not skipped) cancelled → cancelled; any failed →
 *   completed_with_errors; otherwise completed (skipped and cancelled instances do not make it
 *   an error).
 */
export function rollupStatus(states: readonly InstanceState[]): RequestStatus {
  if (states.length === 0) return 'completed';
  const open = states.filter((s) => !isTerminal(s));
  if (open.length > 0) {
    if (open.includes('pending_verification')) return 'awaiting_verification';
    return open.every((s) => s === 'pending_approval') ? 'awaiting_approval' : 'in_progress';
  }
  const applied = states.filter((s) => s !== 'skipped');
  if (applied.length > 0 && applied.every((s) => s === 'cancelled')) return 'cancelled';
  if (states.includes('failed')) return 'completed_with_errors';
  return 'completed';
}

export function isOpenStatus(status: RequestStatus): boolean {
  return (
    status === 'awaiting_verification' || status === 'awaiting_approval' || status === 'in_progress'
  );
}
