/**
 * Every `event` the code logs. The logger accepts only these, and the infra tests read this list
 * to check that each log-based metric filters on an event that is really written.
 */
export const LOG_EVENTS = [
  'request.filed',
  'request.deduplicated',
  'request.approved',
  'request.denied',
  'request.cancelled',
  'request.records_read',
  'request.status_changed',
  'request.overdue',
  'request.minimised',
  'request.evidence_read',
  'ledger.appended',
  'instance.enqueue_failed',
  'instance.retried',
  'instance.abandoned',
  'instance.rearmed',
  'instance.approval_stale',
  'run.started',
  'run.finished',
  'run.failed',
  'run.duplicate_delivery',
  'run.poison_payload',
  'run.task_missing',
  'task.registered',
  'task.updated',
  'task.audited',
  'iam.policy_changed',
  'http.unauthenticated',
  'http.forbidden',
  'dispatch.finished',
  'dispatch.item_failed',
  'http.unavailable',
  'http.internal_error',
  'http.config_error',
] as const;

export type LogEvent = (typeof LOG_EVENTS)[number];
