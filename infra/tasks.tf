# The queue that delivers each instance attempt to run-task (TASKS_QUEUE).
#
# Why this retry_config. The code, not the queue, owns the retry policy of an instance:
# - run-task answers 2xx once an attempt is recorded as done, including a terminal failure
#   after the task's own maxAttempts (src/app/run-instance.ts);
# - a retryable failure records `retry_scheduled` with nextAttemptAt and answers 503 with
#   Retry-After; a delivery that arrives before nextAttemptAt is answered 503 "not due";
# - a crash or timeout leaves a lease that dispatch expires.
# So the queue must never give up on its own (max_attempts = -1 and max_retry_duration = 0s:
# unlimited; if Cloud Tasks dropped a task, its instance would sit `queued` until the watchdog
# noticed), and it should come back soon after a task's own backoff ends: start at 1 s, double
# four times (1, 2, 4, 8, 16 s), then grow linearly and stay at most 5 minutes apart. A task
# backing off for an hour therefore costs about a dozen cheap "not due" answers, and a task's
# retry is never more than 300 s late. The tasks' own policies (retryPolicySchema: 10 s doubling
# to 600 s by default) are what actually pace the work.
resource "google_cloud_tasks_queue" "runs" {
  name     = var.tasks_queue_id
  location = var.region

  rate_limits {
    max_dispatches_per_second = var.queue_max_dispatches_per_second
    max_concurrent_dispatches = var.queue_max_concurrent_dispatches
  }

  retry_config {
    max_attempts       = -1
    max_retry_duration = "0s"
    min_backoff        = "1s"
    max_backoff        = "300s"
    max_doublings      = 4
  }

  stackdriver_logging_config {
    sampling_ratio = var.queue_log_sampling_ratio
  }

  depends_on = [google_project_service.enabled]

  lifecycle {
    precondition {
      condition     = var.queue_max_concurrent_dispatches <= var.run_task_max_instances * var.run_task_concurrency
      error_message = "queue_max_concurrent_dispatches exceeds what run-task can serve (run_task_max_instances * run_task_concurrency); the excess would be answered 429 and retried."
    }
  }
}

# Capacity checks against docs/scaling.md (warnings at plan time, not errors: a deployment may
# choose to queue). The figures are the load test's (`npm run bench -- load`, bench/README.md).
locals {
  # run-task's CPU per attempt of a noop task, measured on the local stack (tsx, 2 shared
  # cores): about 10 ms. Executors that wait on BigQuery or a partner add wall time, not CPU.
  run_task_cpu_ms_per_attempt = 10
  # Planned CPU share of a run-task instance, leaving room for bursts and the executors' own work.
  run_task_target_cpu_share = 0.6
  # Attempts a second run-task can take at that share with every instance up.
  run_task_attempts_per_second = var.run_task_max_instances * local.run_task_target_cpu_share * 1000 / local.run_task_cpu_ms_per_attempt
}

check "queue_rate_reachable" {
  assert {
    # Little's law: attempts in flight = rate x attempt time. An attempt that starts a BigQuery
    # job takes about a second, so fewer slots than the rate caps the queue below its rate.
    condition     = var.queue_max_concurrent_dispatches >= var.queue_max_dispatches_per_second
    error_message = "queue_max_concurrent_dispatches (${var.queue_max_concurrent_dispatches}) is below queue_max_dispatches_per_second (${var.queue_max_dispatches_per_second}): with attempts of about a second the queue cannot reach its rate (docs/scaling.md)."
  }
}

check "run_task_covers_queue_rate" {
  assert {
    condition     = local.run_task_attempts_per_second >= var.queue_max_dispatches_per_second
    error_message = "run_task_max_instances (${var.run_task_max_instances}) serves about ${local.run_task_attempts_per_second} attempts a second at ${local.run_task_target_cpu_share * 100} % CPU (${local.run_task_cpu_ms_per_attempt} ms each), below queue_max_dispatches_per_second (${var.queue_max_dispatches_per_second}): raise run_task_max_instances (docs/scaling.md)."
  }
}
