import type { InstanceState, RequestStatus } from './model';
import { rollupStatus } from './states';

/**
 * A request's status from its instances and its recorded actions (docs/compliance.md, "Request
 * status"). On top of the instance roll-up (src/domain/states.ts):
 * - a denied request reads `denied`, whatever its instances;
 * - a dry run that closed reads `dry_run_completed` (or `dry_run_completed_with_errors` when
 *   an audit failed), never `completed`: nothing was changed, and it must not be counted, shown
 *   or announced as work done;
 * - a real request whose work closed with some tasks cancelled (an approver refused them, an
 *   operator cancelled them) and none failed reads `partially_completed`, never `completed`;
 *   with a failure too it reads `completed_with_errors` (the counts show both).
 * `cancelled` (every applied task cancelled) stays `cancelled`, dry run or not.
 */
export function requestStatusOf(
  states: readonly InstanceState[],
  request: { dryRun?: boolean; denied?: boolean } = {},
): RequestStatus {
  if (request.denied === true) return 'denied';
  const status = rollupStatus(states);
  if (request.dryRun === true) {
    if (status === 'completed') return 'dry_run_completed';
    if (status === 'completed_with_errors') return 'dry_run_completed_with_errors';
    return status;
  }
  if (status === 'completed' && states.includes('cancelled')) return 'partially_completed';
  return status;
}

/** Statuses of real work that closed with the request answered in whole or in part. */
export const ANSWERED_STATUSES: readonly RequestStatus[] = [
  'completed',
  'partially_completed',
  'completed_with_errors',
];

/** The closed statuses of a dry run. */
export const DRY_RUN_CLOSED_STATUSES: readonly RequestStatus[] = [
  'dry_run_completed',
  'dry_run_completed_with_errors',
];
