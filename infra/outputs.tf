output "api_url" {
  description = "The api function's URL (call it with an ID token of an api_invoker_members identity)."
  value       = module.api.url
}

output "run_task_url" {
  description = "The run-task function's URL, the target of every Cloud Task (RUN_TASK_URL)."
  value       = module.run_task.url
}

output "dispatch_url" {
  description = "The dispatch function's URL, called by Cloud Scheduler."
  value       = module.dispatch.url
}

output "function_services" {
  description = "Cloud Run service under each function (resource.labels.service_name in logs)."
  value = {
    api      = module.api.service
    run_task = module.run_task.service
    dispatch = module.dispatch.service
  }
}

output "tasks_queue_id" {
  description = "Full id of the run queue."
  value       = google_cloud_tasks_queue.runs.id
}

output "tasks_queue_name" {
  description = "Short name of the run queue (TASKS_QUEUE)."
  value       = google_cloud_tasks_queue.runs.name
}

output "scheduler_job_id" {
  description = "The Cloud Scheduler job that calls dispatch."
  value       = google_cloud_scheduler_job.dispatch.id
}

output "service_account_emails" {
  description = "Service account of each identity."
  value = {
    api           = google_service_account.api.email
    run_task      = google_service_account.run_task.email
    dispatch      = google_service_account.dispatch.email
    tasks_invoker = google_service_account.tasks_invoker.email
    scheduler     = google_service_account.scheduler.email
    build         = google_service_account.build.email
  }
}

output "artifacts_bucket" {
  description = "Bucket holding the function-source zips."
  value       = google_storage_bucket.artifacts.name
}

output "function_source_object" {
  description = "The content-hashed zip the functions run (note it before a deploy to roll back to it)."
  value       = google_storage_bucket_object.function_source.name
}

output "dashboard_url" {
  description = "The operations dashboard in the console."
  value       = "https://console.cloud.google.com/monitoring/dashboards/builder/${element(split("/", google_monitoring_dashboard.operations.id), 3)}?project=${var.project_id}"
}
