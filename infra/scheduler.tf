# Cloud Scheduler calls dispatch every var.dispatch_interval_minutes (5 by default), with an
# OIDC token for the scheduler account, which alone may invoke dispatch.
resource "google_cloud_scheduler_job" "dispatch" {
  name        = "dsr-dispatch"
  description = "Runs the dsr-taskrunner reconciler (outbox, re-arming, roll-ups, overdue checks)."
  region      = var.region
  schedule    = "*/${var.dispatch_interval_minutes} * * * *"
  time_zone   = "Etc/UTC"
  # Cloud Scheduler waits at most 30 minutes; give dispatch its whole timeout plus a margin.
  attempt_deadline = "${var.dispatch_timeout_seconds + 30}s"

  # The next tick is the retry: a missed run is repaired by the following one.
  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = module.dispatch.url
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode("{}")

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = module.dispatch.url
    }
  }

  depends_on = [google_project_service.enabled]
}
