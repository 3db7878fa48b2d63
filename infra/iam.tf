# One identity per function, plus the two that sign OIDC tokens and the build identity.
# Least privilege: each role below names who needs it and why; no primitive roles anywhere.

resource "google_service_account" "api" {
  account_id   = "dsr-api"
  display_name = "dsr-taskrunner api function"
  description  = "Runs the api function: intake, approvals, the task registry."
}

resource "google_service_account" "run_task" {
  account_id   = "dsr-run-task"
  display_name = "dsr-taskrunner run-task function"
  description  = "Runs the executors: Firestore run records, BigQuery jobs, third-party calls."
}

resource "google_service_account" "dispatch" {
  account_id   = "dsr-dispatch"
  display_name = "dsr-taskrunner dispatch function"
  description  = "Runs the scheduled reconciler: outbox, re-arming, roll-ups, overdue checks."
}

resource "google_service_account" "tasks_invoker" {
  account_id   = "dsr-tasks-invoker"
  display_name = "dsr-taskrunner Cloud Tasks invoker"
  description  = "Cloud Tasks signs each task's OIDC token as this account to call run-task (TASKS_INVOKER_SA)."
}

resource "google_service_account" "scheduler" {
  account_id   = "dsr-scheduler"
  display_name = "dsr-taskrunner Cloud Scheduler invoker"
  description  = "Cloud Scheduler signs its OIDC token as this account to call dispatch."
}

resource "google_service_account" "build" {
  account_id   = "dsr-build"
  display_name = "dsr-taskrunner function builds"
  description  = "Cloud Build runs the functions' builds as this account instead of the default compute account."
}

locals {
  # Firestore is read and written by all three functions (src/adapters/firestore).
  firestore_users = {
    api      = google_service_account.api.email
    run_task = google_service_account.run_task.email
    dispatch = google_service_account.dispatch.email
  }

  # Who creates Cloud Tasks: intake and approvals (api) and the outbox drain (dispatch).
  enqueuers = {
    api      = google_service_account.api.email
    dispatch = google_service_account.dispatch.email
  }
}

resource "google_project_iam_member" "firestore_user" {
  for_each = local.firestore_users

  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${each.value}"
}

# BigQuery: only run-task runs statements, and it may change only the datasets listed in
# var.bigquery_datasets (dataset-level dataEditor, never project-wide).
resource "google_project_iam_member" "run_task_bigquery_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.run_task.email}"
}

resource "google_bigquery_dataset_iam_member" "run_task_data_editor" {
  for_each = { for d in var.bigquery_datasets : "${d.project_id}.${d.dataset_id}" => d }

  project    = each.value.project_id
  dataset_id = each.value.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.run_task.email}"
}

# Registration checks a BigQuery task against its table (tables.get and tables.list for the
# schema, partitioning and shards) and dry-runs its statement: the api reads metadata only,
# never rows, and its dry runs are jobs (docs/bigquery-tasks.md, "Registration checks").
resource "google_project_iam_member" "api_bigquery_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.api.email}"
}

resource "google_bigquery_dataset_iam_member" "api_metadata_viewer" {
  for_each = { for d in var.bigquery_datasets : "${d.project_id}.${d.dataset_id}" => d }

  project    = each.value.project_id
  dataset_id = each.value.dataset_id
  role       = "roles/bigquery.metadataViewer"
  member     = "serviceAccount:${google_service_account.api.email}"
}

# Cloud Tasks: enqueue on this queue only.
resource "google_cloud_tasks_queue_iam_member" "enqueuer" {
  for_each = local.enqueuers

  project  = var.project_id
  location = google_cloud_tasks_queue.runs.location
  name     = google_cloud_tasks_queue.runs.name
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${each.value}"
}

# A task that carries an OIDC token for tasks-invoker may only be created by someone allowed
# to act as tasks-invoker.
resource "google_service_account_iam_member" "enqueuer_acts_as_invoker" {
  for_each = local.enqueuers

  service_account_id = google_service_account.tasks_invoker.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${each.value}"
}

# The build identity: write build logs and images, read the source zip.
resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/cloudbuild.builds.builder",
    "roles/logging.logWriter",
    "roles/artifactregistry.writer",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}

resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.build.email}"
}

# roles/run.invoker is granted inside modules/http_function, on the Cloud Run service under each
# function (service_config[0].service): tasks-invoker -> run-task, scheduler -> dispatch, and
# var.api_invoker_members -> api. The function-level IAM resources reject that role.
