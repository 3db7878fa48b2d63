# Log-based metrics, alert policies and the operations dashboard.
#
# Every log-based metric reads the structured lines the functions write to stdout
# (src/adapters/cloud-logging/structured-logger.ts): gen2 functions log as
# resource.type="cloud_run_revision", `event` is one of LOG_EVENTS (src/ports/log-events.ts),
# and `logging.googleapis.com/labels` becomes the entry's `labels`. test/infra checks every
# filter, event and extracted field here against that code. docs/monitoring.md explains each
# metric, alert and tile, with the Logs Explorer query behind it.

locals {
  runbook = "${var.runbook_base_url}/docs/runbook.md"

  notification_channels = concat(
    [for c in google_monitoring_notification_channel.email : c.id],
    var.notification_channel_ids,
  )

  log_metric_prefix = "logging.googleapis.com/user"

  # The lines each group of metrics reads.
  run_lines_filter       = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=(\"run.finished\" OR \"run.failed\")"
  dispatch_lines_filter  = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"dispatch.finished\""
  deadline_lines_filter  = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"request.overdue\""
  abandoned_lines_filter = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"instance.abandoned\""
  rearmed_lines_filter   = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"instance.rearmed\""
  batch_flushed_filter   = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"batch.flushed\""
  batch_failed_filter    = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"batch.failed\""

  # What each dispatch.finished line counts, one distribution per field.
  dispatch_counts = {
    enqueued = {
      field        = "enqueued"
      unit         = "1"
      display_name = "DSR dispatch enqueued"
      description  = "Outbox instances each dispatch run handed to Cloud Tasks (enqueued)."
    }
    enqueue_failed = {
      field        = "enqueueFailed"
      unit         = "1"
      display_name = "DSR dispatch enqueue failures"
      description  = "Outbox instances each dispatch run could not enqueue (enqueueFailed); they stay pending_enqueue for the next run."
    }
    rearmed = {
      field        = "rearmed"
      unit         = "1"
      display_name = "DSR dispatch re-armed"
      description  = "Instances each dispatch run re-armed (rearmed): parked ones now within the Cloud Tasks horizon, and queued or retrying ones whose Cloud Task was lost."
    }
    expired = {
      field        = "expired"
      unit         = "1"
      display_name = "DSR dispatch expired leases"
      description  = "Leases the watchdog expired in each dispatch run (expired): attempts recorded as abandoned, then retried or failed."
    }
    polled = {
      field        = "polled"
      unit         = "1"
      display_name = "DSR dispatch polls re-created"
      description  = "Waiting instances (long BigQuery jobs) whose lost poll task each dispatch run created again (polled)."
    }
    batches_rearmed = {
      field        = "batchesRearmed"
      unit         = "1"
      display_name = "DSR dispatch batches re-armed"
      description  = "Batches whose flush was overdue (its Cloud Task lost, a retry not armed, or its lease run out) that each dispatch run armed again (batchesRearmed); each is a batch.rearmed line."
    }
    items_failed = {
      field        = "itemsFailed"
      unit         = "1"
      display_name = "DSR dispatch items failed"
      description  = "Instances or requests whose handling threw in each dispatch run (itemsFailed); each is a dispatch.item_failed error line, and the next run tries again."
    }
    minimised = {
      field        = "minimised"
      unit         = "1"
      display_name = "DSR requests minimised"
      description  = "Closed requests each dispatch run minimised (minimised): subject identifiers and records package removed PII_RETENTION_DAYS after closing."
    }
    overdue = {
      field        = "overdue"
      unit         = "1"
      display_name = "DSR open requests overdue"
      description  = "Open requests past dueAt, as counted by each dispatch run (overdue)."
    }
    at_risk = {
      field        = "atRisk"
      unit         = "1"
      display_name = "DSR open requests at risk"
      description  = "Open requests with under 25 % of their response period left, as counted by each dispatch run (atRisk)."
    }
    duration_ms = {
      field        = "durationMs"
      unit         = "ms"
      display_name = "DSR dispatch duration"
      description  = "How long each dispatch run took (durationMs); near the dispatch timeout means the backlog outgrows a run."
    }
  }

  # What each batch.flushed line measures, one distribution per field. The lines carry the
  # batch's id as a label (labels.batchId) but not its task, and a label per batch would make a
  # time series per batch: these metrics have no labels.
  batch_flushes = {
    size = {
      field        = "batchMembers"
      unit         = "1"
      display_name = "DSR batch size"
      description  = "Subjects each flushed batch served with one statement per table (batchMembers); members that left before the flush are not counted."
      # 1 to 32,768 subjects: a batch holds at most 10,000 (batch.maxSubjects).
      buckets = { num_finite_buckets = 15, growth_factor = 2, scale = 1 }
    }
    wait_ms = {
      field        = "waitMs"
      unit         = "ms"
      display_name = "DSR batch wait"
      description  = "How long each flushed batch gathered subjects, from its opening to its first flush attempt's start (waitMs): up to maxWaitSeconds, longer when the flush waited for its task's execution window or was re-armed by dispatch."
      # 1 s doubling to ~12 days: a wait of maxWaitSeconds (at most 24 h), or a window's opening.
      buckets = { num_finite_buckets = 20, growth_factor = 2, scale = 1000 }
    }
    flush_ms = {
      field        = "flushMs"
      unit         = "ms"
      display_name = "DSR batch flush duration"
      description  = "How long the successful flush attempt of each batch took (flushMs): counts, statements and verification for every table. Failed attempts, and waits for a table lease, count in neither this nor the wait."
      # 50 ms doubling to ~14.5 h, as the run durations.
      buckets = { num_finite_buckets = 20, growth_factor = 2, scale = 50 }
    }
    bytes_saved = {
      field        = "bytesSaved"
      unit         = "By"
      display_name = "DSR batch bytes saved"
      description  = "Estimated BigQuery bytes that one statement per request would have billed beyond what each flushed batch billed (bytesSaved); its sum is the saving."
      # 1 MiB to 64 PiB in factors of 4; the sum (what the tiles read) is exact.
      buckets = { num_finite_buckets = 18, growth_factor = 4, scale = 1048576 }
    }
  }

  # The two deadline alerts: the early warning, and the missed deadline.
  deadline_alerts = {
    at_risk = {
      display_name = "a request is at risk of missing its due date"
      severity     = "WARNING"
      subject      = "dsr-taskrunner: a data-subject request has under 25 % of its response period left"
      content      = "At least one open request has under 25 % of its response period left and is not complete. Find it, and what holds it up (approval, a failing task, a late window)."
    }
    overdue = {
      display_name = "a request is past its due date"
      severity     = "CRITICAL"
      subject      = "dsr-taskrunner: a data-subject request is past its legal due date"
      content      = "At least one open request is past `dueAt`. The lines that dispatch logs for it carry the request id (`labels.requestId`), `dueAt` and `hoursLeft`."
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Runs: outcome, duration, cost (run.finished and run.failed lines of run-task)
# ---------------------------------------------------------------------------------------------

resource "google_logging_metric" "run_outcomes" {
  name        = "dsr_run_outcomes"
  description = "Finished attempts by outcome, task and job type, from run-task and from dispatch's watchdog (outcome abandoned). event=run.failed is a terminal failure; run.finished with will_retry=true is a retry."
  filter      = local.run_lines_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "DSR run outcomes"

    labels {
      key         = "event"
      value_type  = "STRING"
      description = "run.finished, or run.failed for a terminal failure."
    }
    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "succeeded, not_found, waiting, failed, timed_out, or abandoned (written by dispatch's watchdog when a lease expired)."
    }
    labels {
      key         = "will_retry"
      value_type  = "BOOL"
      description = "Whether another attempt is scheduled."
    }
    labels {
      key         = "task_id"
      value_type  = "STRING"
      description = "The registered task."
    }
    labels {
      key         = "job_type"
      value_type  = "STRING"
      description = "deletion or records."
    }
    labels {
      key         = "executor"
      value_type  = "STRING"
      description = "The executor that ran."
    }
  }

  label_extractors = {
    event      = "EXTRACT(jsonPayload.event)"
    outcome    = "EXTRACT(jsonPayload.outcome)"
    will_retry = "EXTRACT(jsonPayload.willRetry)"
    task_id    = "EXTRACT(labels.taskId)"
    job_type   = "EXTRACT(jsonPayload.jobType)"
    executor   = "EXTRACT(jsonPayload.executor)"
  }
}

resource "google_logging_metric" "run_duration_ms" {
  name        = "dsr_run_duration_ms"
  description = "How long each attempt's executor ran (durationMs)."
  filter      = local.run_lines_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "DSR run duration"

    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "The attempt's outcome."
    }
    labels {
      key         = "task_id"
      value_type  = "STRING"
      description = "The registered task."
    }
    labels {
      key         = "job_type"
      value_type  = "STRING"
      description = "deletion or records."
    }
  }

  value_extractor = "EXTRACT(jsonPayload.durationMs)"
  label_extractors = {
    outcome  = "EXTRACT(jsonPayload.outcome)"
    task_id  = "EXTRACT(labels.taskId)"
    job_type = "EXTRACT(jsonPayload.jobType)"
  }

  # 50 ms doubling to ~14.5 h: covers a noop and the 29-minute task timeout alike.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 20
      growth_factor      = 2
      scale              = 50
    }
  }
}

resource "google_logging_metric" "run_cost_usd" {
  name        = "dsr_run_cost_usd"
  description = "BigQuery cost of each attempt in USD (costUsd = bytesBilled at BIGQUERY_PRICE_PER_TIB)."
  filter      = local.run_lines_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "USD"
    display_name = "DSR run cost"

    labels {
      key         = "task_id"
      value_type  = "STRING"
      description = "The registered task."
    }
    labels {
      key         = "job_type"
      value_type  = "STRING"
      description = "deletion or records."
    }
  }

  value_extractor = "EXTRACT(jsonPayload.costUsd)"
  label_extractors = {
    task_id  = "EXTRACT(labels.taskId)"
    job_type = "EXTRACT(jsonPayload.jobType)"
  }

  # $0.0001 to ~$100k; the sum (what the cost tiles and the budget alert read) is exact.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 30
      growth_factor      = 2
      scale              = 0.0001
    }
  }
}

resource "google_logging_metric" "run_bytes_billed" {
  name        = "dsr_run_bytes_billed"
  description = "BigQuery bytes billed by each attempt (bytesBilled)."
  filter      = local.run_lines_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "By"
    display_name = "DSR run bytes billed"

    labels {
      key         = "task_id"
      value_type  = "STRING"
      description = "The registered task."
    }
  }

  value_extractor = "EXTRACT(jsonPayload.bytesBilled)"
  label_extractors = {
    task_id = "EXTRACT(labels.taskId)"
  }

  # 1 MiB to 4 PiB in factors of 4 (BigQuery bills at least 10 MB per table touched).
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 16
      growth_factor      = 4
      scale              = 1048576
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Dispatch: that it runs, and what each run did (dispatch.finished)
# ---------------------------------------------------------------------------------------------

resource "google_logging_metric" "dispatch_runs" {
  name        = "dsr_dispatch_runs"
  description = "Completed dispatch runs. Its absence means Cloud Scheduler stopped calling dispatch, or dispatch keeps failing."
  filter      = local.dispatch_lines_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "DSR dispatch runs"

    labels {
      key         = "budget_exhausted"
      value_type  = "BOOL"
      description = "The run stopped at DISPATCH_BUDGET_SECONDS before every phase was done (budgetExhausted); the next run carries on."
    }
  }

  label_extractors = {
    budget_exhausted = "EXTRACT(jsonPayload.budgetExhausted)"
  }
}

resource "google_logging_metric" "dispatch_counts" {
  for_each = local.dispatch_counts

  name        = "dsr_dispatch_${each.key}"
  description = each.value.description
  filter      = local.dispatch_lines_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = each.value.unit
    display_name = each.value.display_name
  }

  value_extractor = "EXTRACT(jsonPayload.${each.value.field})"
  # 1 to ~2 million: counts per run, and milliseconds up to dispatch's longest timeout.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 21
      growth_factor      = 2
      scale              = 1
    }
  }
}

# ---------------------------------------------------------------------------------------------
# The watchdog and re-arming (instance.abandoned, instance.rearmed; written by dispatch)
# ---------------------------------------------------------------------------------------------

resource "google_logging_metric" "instances_abandoned" {
  name        = "dsr_instances_abandoned"
  description = "Attempts the watchdog recorded as abandoned: run-task did not record a result before the lease (timeoutSeconds + LEASE_GRACE_SECONDS) expired."
  filter      = local.abandoned_lines_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "DSR abandoned attempts"

    labels {
      key         = "task_id"
      value_type  = "STRING"
      description = "The registered task."
    }
    labels {
      key         = "job_type"
      value_type  = "STRING"
      description = "deletion or records."
    }
  }

  label_extractors = {
    task_id  = "EXTRACT(labels.taskId)"
    job_type = "EXTRACT(jsonPayload.jobType)"
  }
}

resource "google_logging_metric" "instances_rearmed" {
  name        = "dsr_instances_rearmed"
  description = "Instances dispatch handed to Cloud Tasks again: parked ones now within the horizon, and deliveries late by REARM_AFTER_SECONDS whose Cloud Task was lost."
  filter      = local.rearmed_lines_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "DSR re-armed instances"

    labels {
      key         = "reason"
      value_type  = "STRING"
      description = "parked (its time came within 29 days), lost_task (a queued or retrying attempt's Cloud Task was missing) or lost_poll (a waiting job's poll task was missing)."
    }
  }

  label_extractors = {
    reason = "EXTRACT(jsonPayload.reason)"
  }
}

# ---------------------------------------------------------------------------------------------
# Batches (batch.flushed and batch.failed, written by run-task when it delivers a flush)
# ---------------------------------------------------------------------------------------------

resource "google_logging_metric" "batch_flushes" {
  for_each = local.batch_flushes

  name        = "dsr_batch_${each.key}"
  description = each.value.description
  filter      = local.batch_flushed_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = each.value.unit
    display_name = each.value.display_name
  }

  value_extractor = "EXTRACT(jsonPayload.${each.value.field})"
  bucket_options {
    exponential_buckets {
      num_finite_buckets = each.value.buckets.num_finite_buckets
      growth_factor      = each.value.buckets.growth_factor
      scale              = each.value.buckets.scale
    }
  }
}

resource "google_logging_metric" "batches_failed" {
  name        = "dsr_batches_failed"
  description = "Batches that failed for good (batch.failed): a permanent error, the task's maxAttempts used, or a flush that stopped answering on its last attempt. Every member's run fails with the batch's error."
  filter      = local.batch_failed_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "DSR failed batches"
  }
}

# ---------------------------------------------------------------------------------------------
# Deadlines (request.overdue: WARNING when at_risk, ERROR when overdue; once per dispatch run)
# ---------------------------------------------------------------------------------------------

resource "google_logging_metric" "requests_overdue" {
  name        = "dsr_requests_overdue"
  description = "request.overdue lines: one per open request per dispatch run while it is at risk or past dueAt."
  filter      = local.deadline_lines_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "DSR requests at risk or overdue"

    labels {
      key         = "risk"
      value_type  = "STRING"
      description = "at_risk (under 25 % of the period left) or overdue (past dueAt)."
    }
  }

  label_extractors = {
    risk = "EXTRACT(jsonPayload.risk)"
  }
}

resource "google_logging_metric" "request_hours_left" {
  name        = "dsr_request_hours_left"
  description = "Hours left until dueAt (hoursLeft, negative when overdue) of each request dispatch reports as at risk or overdue."
  filter      = local.deadline_lines_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "h"
    display_name = "DSR hours left to dueAt"

    labels {
      key         = "risk"
      value_type  = "STRING"
      description = "at_risk or overdue."
    }
  }

  value_extractor = "EXTRACT(jsonPayload.hoursLeft)"
  label_extractors = {
    risk = "EXTRACT(jsonPayload.risk)"
  }

  # One bucket per day, from 30 days overdue (-720 h) to 4 days left (+96 h).
  bucket_options {
    linear_buckets {
      num_finite_buckets = 34
      width              = 24
      offset             = -720
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Errors (every log.error line is a ReportedErrorEvent with serviceContext)
# ---------------------------------------------------------------------------------------------

# Keyed on the Error Reporting type rather than a list of events, so an error event added to
# the code later is counted without a change here: http.internal_error and http.config_error
# (a function's unhandled or configuration error), dispatch.item_failed (one instance or request
# that dispatch could not handle), and any later one.
resource "google_logging_metric" "errors" {
  name        = "dsr_errors"
  description = "Error lines (ReportedErrorEvent) by service and event."
  filter      = <<-EOT
    resource.type="cloud_run_revision"
    AND severity>=ERROR
    AND jsonPayload."@type"="type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent"
  EOT

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "DSR errors"

    labels {
      key         = "service"
      value_type  = "STRING"
      description = "serviceContext.service: api, run-task or dispatch (K_SERVICE)."
    }
    labels {
      key         = "event"
      value_type  = "STRING"
      description = "The event, e.g. http.internal_error."
    }
  }

  label_extractors = {
    service = "EXTRACT(jsonPayload.serviceContext.service)"
    event   = "EXTRACT(jsonPayload.event)"
  }
}

# ---------------------------------------------------------------------------------------------
# Notification channels
# ---------------------------------------------------------------------------------------------

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  display_name = "dsr-taskrunner ${var.environment}: ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }
}

# ---------------------------------------------------------------------------------------------
# Alert policies: each documentation block links its docs/runbook.md section
# ---------------------------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "run_failed" {
  display_name          = "dsr ${var.environment}: a run failed terminally"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "run.failed logged"

    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_prefix}/${google_logging_metric.run_outcomes.name}\" AND metric.label.event=\"run.failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.task_id"]
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    subject   = "dsr-taskrunner: task $${metric.label.task_id} failed terminally"
    mime_type = "text/markdown"
    content   = <<-EOT
      An instance of task `$${metric.label.task_id}` failed for good: a permanent error, or
      its last allowed attempt failed. Its request will end `completed_with_errors` unless the
      instance is retried.

      Runbook: [A run failed](${local.runbook}#a-run-failed)
    EOT

    links {
      display_name = "Runbook: a run failed"
      url          = "${local.runbook}#a-run-failed"
    }
  }
}

resource "google_monitoring_alert_policy" "dispatch_missing" {
  display_name          = "dsr ${var.environment}: dispatch is not running"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.notification_channels

  conditions {
    display_name = "no dispatch.finished for twice the schedule interval"

    condition_absent {
      filter   = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_prefix}/${google_logging_metric.dispatch_runs.name}\""
      duration = "${var.dispatch_interval_minutes * 2 * 60}s"

      aggregations {
        alignment_period     = "${var.dispatch_interval_minutes * 60}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    subject   = "dsr-taskrunner: dispatch has not finished a run in ${var.dispatch_interval_minutes * 2} minutes"
    mime_type = "text/markdown"
    content   = <<-EOT
      Cloud Scheduler job `dsr-dispatch` should call dispatch every
      ${var.dispatch_interval_minutes} minutes. Without it the outbox is not drained, leases
      are not expired and overdue requests are not reported.

      Runbook: [Dispatch is not running](${local.runbook}#dispatch-is-not-running)
    EOT

    links {
      display_name = "Runbook: dispatch is not running"
      url          = "${local.runbook}#dispatch-is-not-running"
    }
  }
}

# One abandoned attempt is ordinary (a deploy or a scale-down killed a handler) and is retried
# by itself. Abandonments in every hour for abandoned_alert_hours mean run-task keeps dying, or
# keeps failing to record its results, and someone should look before attempts run out.
resource "google_monitoring_alert_policy" "attempts_abandoned" {
  display_name          = "dsr ${var.environment}: attempts keep being abandoned"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "instance.abandoned in every hour for ${var.abandoned_alert_hours} h"

    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_prefix}/${google_logging_metric.instances_abandoned.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "${var.abandoned_alert_hours * 3600}s"

      # The sum over a sliding hour stays above 0 only while abandonments keep coming.
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    subject   = "dsr-taskrunner: run-task attempts keep being abandoned"
    mime_type = "text/markdown"
    content   = <<-EOT
      Dispatch's watchdog has recorded abandoned attempts (`instance.abandoned`) in every hour
      for ${var.abandoned_alert_hours} hours: run-task handlers stop before recording their
      result (crashes, out of memory, killed instances, Firestore unreachable at the finish).
      Each is retried up to the task's `maxAttempts`, then fails with code `abandoned`. The
      dashboard tile "Abandoned attempts by task" shows which task.

      Runbook: [Attempts keep being abandoned](${local.runbook}#attempts-keep-being-abandoned)
    EOT

    links {
      display_name = "Runbook: attempts keep being abandoned"
      url          = "${local.runbook}#attempts-keep-being-abandoned"
    }
  }
}

# A failed batch fails every member's run with its error, so "a run failed terminally" fires
# too, once per task; this one says that the failures share one cause: the batch's flush.
resource "google_monitoring_alert_policy" "batch_failed" {
  display_name          = "dsr ${var.environment}: a batch failed"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "batch.failed logged"

    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_prefix}/${google_logging_metric.batches_failed.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    subject   = "dsr-taskrunner: a batch's flush failed for good"
    mime_type = "text/markdown"
    content   = <<-EOT
      A batch failed (`batch.failed`): its flush hit a permanent error, used the task's
      `maxAttempts`, or stopped answering on its last attempt. Every member's run fails with
      the same error, so "a run failed terminally" fires for the task as well. The line carries
      the batch (`labels.batchId`) and its last `attempt`; the batch's document
      (`batches/<BATCH_ID>` in Firestore) has the `error` and lists the members.

      Runbook: [A batch is stuck](${local.runbook}#a-batch-is-stuck)
    EOT

    links {
      display_name = "Runbook: a batch is stuck"
      url          = "${local.runbook}#a-batch-is-stuck"
    }
  }
}

resource "google_monitoring_alert_policy" "queue_backlog" {
  display_name          = "dsr ${var.environment}: queue backlog"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "queue depth above ${var.queue_backlog_threshold}"

    condition_threshold {
      filter          = "resource.type=\"cloud_tasks_queue\" AND resource.label.queue_id=\"${google_cloud_tasks_queue.runs.name}\" AND metric.type=\"cloudtasks.googleapis.com/queue/depth\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.queue_backlog_threshold
      duration        = "${var.queue_backlog_duration_seconds}s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MEAN"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    subject   = "dsr-taskrunner: ${google_cloud_tasks_queue.runs.name} holds more than ${var.queue_backlog_threshold} tasks"
    mime_type = "text/markdown"
    content   = <<-EOT
      The run queue has stayed above ${var.queue_backlog_threshold} tasks for
      ${var.queue_backlog_duration_seconds / 60} minutes. Tasks waiting for their execution
      window count too; check the attempt delays and run-task's errors before acting.

      Runbook: [Queue backlog](${local.runbook}#queue-backlog)
    EOT

    links {
      display_name = "Runbook: queue backlog"
      url          = "${local.runbook}#queue-backlog"
    }
  }
}

resource "google_monitoring_alert_policy" "api_errors" {
  display_name          = "dsr ${var.environment}: api 5xx"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "api answered more than ${var.api_5xx_threshold} 5xx in 5 minutes"

    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"${module.api.name}\" AND metric.type=\"run.googleapis.com/request_count\" AND metric.label.response_code_class=\"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.api_5xx_threshold
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    subject   = "dsr-taskrunner: the api function is failing"
    mime_type = "text/markdown"
    content   = <<-EOT
      The api function answered more than ${var.api_5xx_threshold} requests with 5xx in
      5 minutes. 503 is a retryable dependency failure (http.unavailable), 500 an unhandled
      error (http.internal_error, in Error Reporting), a config error (http.config_error)
      fails every request.

      Runbook: [API errors](${local.runbook}#api-errors)
    EOT

    links {
      display_name = "Runbook: API errors"
      url          = "${local.runbook}#api-errors"
    }
  }
}

# A request past dueAt, and the early warning that fires while there is still time
# (under 25 % of the response period left). Dispatch logs request.overdue for such a request on every
# run, so the incident stays open until the request is done.
resource "google_monitoring_alert_policy" "deadline" {
  for_each = local.deadline_alerts

  display_name          = "dsr ${var.environment}: ${each.value.display_name}"
  combiner              = "OR"
  severity              = each.value.severity
  notification_channels = local.notification_channels

  conditions {
    display_name = "request.overdue with risk=${each.key}"

    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_prefix}/${google_logging_metric.requests_overdue.name}\" AND metric.label.risk=\"${each.key}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "${var.dispatch_interval_minutes * 60}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    subject   = each.value.subject
    mime_type = "text/markdown"
    content   = "${each.value.content}\n\nRunbook: [Request overdue or at risk](${local.runbook}#request-overdue)"

    links {
      display_name = "Runbook: request overdue or at risk"
      url          = "${local.runbook}#request-overdue"
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Paused tasks (task.paused_open: WARNING, once per dispatch run per paused task while instances
# of open requests wait on it; POST /tasks/:id/pause)
# ---------------------------------------------------------------------------------------------

resource "google_logging_metric" "paused_tasks_waiting" {
  name        = "dsr_paused_tasks_waiting"
  description = "task.paused_open lines: one per paused task per dispatch run while instances of open requests wait on it (their deadlines keep counting)."
  filter      = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"task.paused_open\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "DSR paused tasks with requests waiting"
  }
}

# A paused task is a deliberate circuit breaker, but the requests waiting on it keep their
# deadlines: the alert stays open while dispatch keeps logging the line (until the task is
# resumed, or nothing waits on it), and closes an hour after the last.
resource "google_monitoring_alert_policy" "paused_task_waiting" {
  display_name          = "dsr ${var.environment}: a paused task holds open requests"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "task.paused_open logged"

    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_prefix}/${google_logging_metric.paused_tasks_waiting.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "${var.dispatch_interval_minutes * 60}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    subject   = "dsr-taskrunner: a paused task holds open requests"
    mime_type = "text/markdown"
    content   = <<-EOT
      A task was paused (`POST /tasks/<ID>/pause`) and instances of open requests wait on it
      (`waitingInstances`); nothing of the task starts until it is resumed, and the requests'
      deadlines keep counting (`request.overdue` fires as usual). The line names the task
      (`labels.taskId`), who paused it, why and for how long.

      Runbook: [A downstream system is broken: pause its task](${local.runbook}#a-downstream-system-is-broken-pause-its-task)
    EOT

    links {
      display_name = "Runbook: a downstream system is broken: pause its task"
      url          = "${local.runbook}#a-downstream-system-is-broken-pause-its-task"
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Identity verification (request.verification_overdue: WARNING, once per dispatch run while a
# request filed `verification: "pending"` has waited past VERIFICATION_ALERT_HOURS)
# ---------------------------------------------------------------------------------------------

resource "google_logging_metric" "requests_awaiting_verification" {
  name        = "dsr_requests_awaiting_verification"
  description = "request.verification_overdue lines: one per open request per dispatch run while it has waited for identity verification longer than VERIFICATION_ALERT_HOURS."
  filter      = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"request.verification_overdue\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "DSR requests waiting too long for identity verification"
  }
}

# Nothing of such a request runs until someone verifies the person (or denies the request); under
# GDPR and UK GDPR its deadline waits too, under CCPA and LGPD it does not. The alert stays open
# while dispatch keeps logging the line, and closes an hour after the last.
resource "google_monitoring_alert_policy" "verification_overdue" {
  display_name          = "dsr ${var.environment}: a request waits for identity verification"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "request.verification_overdue logged"

    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_prefix}/${google_logging_metric.requests_awaiting_verification.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "${var.dispatch_interval_minutes * 60}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    subject   = "dsr-taskrunner: a request waits for identity verification"
    mime_type = "text/markdown"
    content   = <<-EOT
      A request filed `verification: "pending"` has waited longer than
      `VERIFICATION_ALERT_HOURS` for `POST /requests/<ID>/verify`: nothing of it runs until the
      person's identity is verified, or the request is denied (`unverifiable_identity`). The
      line (`request.verification_overdue`) names the request (`labels.requestId`), since when
      it waits and its `dueAt`; never the person.

      Runbook: [A request waits for identity verification](${local.runbook}#a-request-waits-for-identity-verification)
    EOT

    links {
      display_name = "Runbook: a request waits for identity verification"
      url          = "${local.runbook}#a-request-waits-for-identity-verification"
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Lifecycle events (events.outbox_backlog: one line per publishing pass, from dispatch every run
# and from the api after its writes, with the age of the oldest event still pending)
# ---------------------------------------------------------------------------------------------

resource "google_logging_metric" "events_oldest_pending_seconds" {
  name        = "dsr_events_oldest_pending_seconds"
  description = "Age in seconds of the oldest lifecycle event still pending in the outbox after each publishing pass (oldestPendingSeconds; 0 when none is pending)."
  filter      = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"events.outbox_backlog\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "s"
    display_name = "DSR lifecycle events: oldest pending"
  }

  value_extractor = "EXTRACT(jsonPayload.oldestPendingSeconds)"

  # 0, then doubling from 30 s to about 4 days.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 14
      growth_factor      = 2
      scale              = 30
    }
  }
}

# Events wait in the outbox while Pub/Sub refuses them (an outage, a deleted topic, a missing
# publisher grant); nothing is lost, but subscribers hear nothing until they go out.
resource "google_monitoring_alert_policy" "events_backlog" {
  display_name          = "dsr ${var.environment}: lifecycle events are not arriving"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "oldest pending lifecycle event older than ${var.events_backlog_alert_seconds} s"

    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_prefix}/${google_logging_metric.events_oldest_pending_seconds.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.events_backlog_alert_seconds
      duration        = "0s"

      aggregations {
        alignment_period     = "${var.dispatch_interval_minutes * 60}s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    subject   = "dsr-taskrunner: lifecycle events are not arriving"
    mime_type = "text/markdown"
    content   = <<-EOT
      A lifecycle event has waited in the Firestore outbox (`outbox/{ceId}`) for longer than
      ${var.events_backlog_alert_seconds} s: Pub/Sub does not accept what the api and dispatch
      publish. Nothing is lost; the events go out, in order per request, once publishing works
      again. The `events.publish_failed` error lines say why.

      Runbook: [Lifecycle events are not arriving](${local.runbook}#lifecycle-events-are-not-arriving)
    EOT

    links {
      display_name = "Runbook: lifecycle events are not arriving"
      url          = "${local.runbook}#lifecycle-events-are-not-arriving"
    }
  }
}

resource "google_monitoring_alert_policy" "cost_over_budget" {
  display_name          = "dsr ${var.environment}: run cost over the daily budget"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "costUsd over the last 24 h above ${var.daily_cost_budget_usd} USD"

    # PromQL, because only a query language can sum the values inside a distribution; the
    # log-based metric is exposed as a histogram whose _sum series is the USD total.
    condition_prometheus_query_language {
      query               = "sum(increase(logging_googleapis_com:user_${google_logging_metric.run_cost_usd.name}_sum{monitored_resource=\"cloud_run_revision\"}[1d])) > ${var.daily_cost_budget_usd}"
      duration            = "0s"
      evaluation_interval = "300s"
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    subject   = "dsr-taskrunner: BigQuery cost of runs above ${var.daily_cost_budget_usd} USD in 24 h"
    mime_type = "text/markdown"
    content   = <<-EOT
      The runs' BigQuery cost (costUsd, from bytesBilled at BIGQUERY_PRICE_PER_TIB) over the
      last 24 hours is above the budget of ${var.daily_cost_budget_usd} USD. The dashboard's
      cost-per-task tile shows which task spends it.

      Runbook: [Cost over budget](${local.runbook}#cost-over-budget)
    EOT

    links {
      display_name = "Runbook: cost over budget"
      url          = "${local.runbook}#cost-over-budget"
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Dashboard
# ---------------------------------------------------------------------------------------------

resource "google_monitoring_dashboard" "operations" {
  dashboard_json = templatefile("${path.module}/dashboards/operations.json.tftpl", {
    environment         = var.environment
    project_id          = var.project_id
    queue_id            = google_cloud_tasks_queue.runs.name
    dispatch_budget_ms  = local.dispatch_budget_seconds * 1000
    dispatch_timeout_ms = var.dispatch_timeout_seconds * 1000
  })

  # The tiles read these metrics; create them first so the dashboard never shows "no such metric".
  depends_on = [
    google_logging_metric.run_outcomes,
    google_logging_metric.run_duration_ms,
    google_logging_metric.run_cost_usd,
    google_logging_metric.run_bytes_billed,
    google_logging_metric.dispatch_runs,
    google_logging_metric.dispatch_counts,
    google_logging_metric.instances_abandoned,
    google_logging_metric.instances_rearmed,
    google_logging_metric.batch_flushes,
    google_logging_metric.batches_failed,
    google_logging_metric.requests_overdue,
    google_logging_metric.request_hours_left,
    google_logging_metric.requests_awaiting_verification,
    google_logging_metric.paused_tasks_waiting,
    google_logging_metric.events_oldest_pending_seconds,
    google_logging_metric.errors,
  ]
}
