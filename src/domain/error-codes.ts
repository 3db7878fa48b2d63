/**
 * The closed catalogue of error codes. Every `code` a typed error, a run's `lastError` or an
 * HTTP error body carries is one of these: operators, alerts and API clients match on them, so
 * a code is never made up where it is thrown. Add a line here (kept sorted within its group)
 * before using a new one; the type system refuses anything else.
 */
export const ERROR_CODES = {
  // The API's own answers.
  already_acknowledged: 'the request was acknowledged already',
  already_approved: 'the caller has approved this instance already',
  already_extended: 'the request was extended already; the law allows one extension',
  approval_stale: 'the task changed after approval; approve it again',
  conflict: 'the call conflicts with the current state',
  deadline_passed: "the request's deadline has passed; an extension must be granted before it",
  external_id_conflict: 'the externalId names another request (a different subject or type)',
  forbidden: 'the caller lacks the role the route needs',
  gone: 'what was asked for was removed for good',
  idempotency_key_conflict: 'the Idempotency-Key was used for a different request',
  illegal_transition: 'the instance cannot make that state change',
  internal: 'an unexpected error; see the logs',
  invalid_cursor: 'not a cursor this listing issued',
  invalid_utf8: 'the body is not valid UTF-8',
  method_not_allowed: 'the route exists but not for that method',
  not_failed: 'only a failed instance can be retried',
  no_extension: "the request's regulation allows no extension",
  not_found: 'no such resource, or not visible to the caller',
  orphan_instances: 'instances exist without their request document',
  nothing_to_approve: 'none of the named instances is awaiting approval',
  nothing_to_deny: 'none of the named instances is awaiting approval',
  payload_too_large: 'the body is over the limit',
  records_deleted: 'the records package was deleted at minimisation',
  policy_conflict: 'the access policy changed since it was read (etag)',
  request_cancelled: 'the request was cancelled',
  request_closed: 'the request is closed (completed, cancelled or denied)',
  request_denied: 'the request was denied',
  request_minimised: 'the request was minimised; its identifiers are gone',
  retry_in_progress: 'another retry of this instance started its series',
  self_approval: 'the filer of a request cannot approve or deny it',
  task_exists: 'a task with that id exists',
  unauthenticated: 'no verifiable caller identity',
  validation_failed: 'the input is invalid',
  // Configuration.
  config_invalid: 'the service is misconfigured',
  // Runs and their attempts.
  abandoned: 'the attempt stopped answering before its lease expired',
  aborted: 'the attempt was aborted',
  'batch.left': 'the instance left its batch before the flush (its attempt moved on)',
  no_poll: 'the executor cannot poll a waiting job',
  permanent: 'a failure retrying will not fix',
  retryable: 'a transient failure',
  run_exists: 'that run is recorded already',
  task_missing: 'the task no longer exists',
  timed_out: 'the executor did not finish within the task timeout',
  // Stores and queues.
  'queue.rejected': 'Cloud Tasks refused the task',
  'queue.unavailable': 'Cloud Tasks did not answer',
  'store.contention': 'a document kept changing under guarded updates',
  'store.unavailable': 'Firestore did not answer',
  // Executors.
  'bigquery.access_denied': 'BigQuery denied access',
  'bigquery.bad_handle': 'a waiting handle that is not a BigQuery job',
  'bigquery.bytes_billed_limit': "the statement would bill more than the task's cap",
  'bigquery.identifier_missing': 'the subject lacks an identifier the task needs',
  'bigquery.interpolated_value':
    "a hand-written statement holds the subject's identifier as a literal instead of a parameter",
  'bigquery.invalid_query': 'BigQuery refused the statement',
  'bigquery.not_done': 'the BigQuery job is still running',
  'bigquery.not_found': 'the table or dataset does not exist',
  'bigquery.rate_limited': 'BigQuery rate-limited the job',
  'bigquery.rejected': 'BigQuery refused the request',
  'bigquery.rows_remain': "the subject's rows are still there after the deletion ran",
  'bigquery.stopped': 'the BigQuery job was cancelled',
  'bigquery.streaming_buffer': 'rows are still in the streaming buffer',
  'bigquery.unavailable': 'BigQuery is unavailable',
  'bigquery.unreachable': 'BigQuery could not be reached',
  'demo.permanent': 'the demo executor failed for good',
  'demo.retryable': 'the demo executor failed, retryably',
  'http.identifier_missing': 'the subject lacks an identifier the URL or body needs',
  'http.origin_not_allowed': 'the endpoint is not on the allowlist',
  'http.secret_missing': 'a secret the task names is not configured',
  'http.secret_not_bound': 'a secret is not bound to the endpoint origin',
  'http.unreachable': 'the endpoint could not be reached',
} as const;

/** A code from the catalogue, or an HTTP status answered by a third party (`http.503`). */
export type ErrorCode = keyof typeof ERROR_CODES | `http.${number}`;
