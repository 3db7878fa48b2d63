# The three functions of functions/index.ts (FUNCTIONS), one Cloud Run service each:
#   api      -> entry point api      (HTTP API)
#   run-task -> entry point runTask  (Cloud Tasks target)
#   dispatch -> entry point dispatch (Cloud Scheduler target)
# test/infra checks these names, entry points and environment variables against the code.

locals {
  # The gen2 function URL is known before the function exists; using it (rather than
  # module.run_task.url) lets every function, run-task included, carry RUN_TASK_URL without a
  # cycle. The check block below proves the two agree after apply.
  run_task_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/run-task"
  # The api's and dispatch's URLs likewise: the audiences their callers' tokens are minted for.
  api_url      = "https://${var.region}-${var.project_id}.cloudfunctions.net/api"
  dispatch_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/dispatch"

  # src/config.ts: each function loads the whole config, so each gets every required setting.
  # Anything not set here takes the schema default (see .env.example).
  function_env = {
    GOOGLE_CLOUD_PROJECT      = var.project_id
    LOCATION                  = var.region
    TASKS_QUEUE               = google_cloud_tasks_queue.runs.name
    RUN_TASK_URL              = local.run_task_url
    TASKS_INVOKER_SA          = google_service_account.tasks_invoker.email
    BIGQUERY_LOCATION         = var.bigquery_location
    BIGQUERY_PRICE_PER_TIB    = var.bigquery_price_per_tib
    BIGQUERY_TIME_TRAVEL_DAYS = var.bigquery_time_travel_days
    BUSINESS_TIME_ZONE        = var.business_time_zone
    OTHER_RESPONSE_DAYS       = var.other_response_days
    # Lifecycle events: every function writes the outbox; api and dispatch publish (pubsub.tf).
    PUBSUB_TOPIC = google_pubsub_topic.events.name
    # Who may call: identities only from verified tokens (docs/security.md).
    API_AUDIENCES        = join(",", concat([local.api_url], var.api_audiences))
    IAP_AUDIENCE         = var.iap_audience
    BOOTSTRAP_ADMINS     = join(",", var.bootstrap_admins)
    HTTP_ALLOWED_ORIGINS = join(",", var.http_allowed_origins)
    HTTP_SECRET_ORIGINS  = jsonencode(var.http_secret_origins)
  }

  # DISPATCH_BUDGET_SECONDS: dispatch stops starting new pages after this long. The rest of its
  # timeout is left for the page in hand (up to DISPATCH_PAGE_SIZE items, each bounded by
  # STORE_TIMEOUT_SECONDS per Firestore call) and the dispatch.finished line. Only dispatch
  # reads it. With the default 240 s timeout this is 180 s, the code's own default.
  dispatch_budget_headroom_seconds = 60
  dispatch_budget_seconds          = var.dispatch_timeout_seconds - local.dispatch_budget_headroom_seconds
  dispatch_env = {
    DISPATCH_BUDGET_SECONDS = local.dispatch_budget_seconds
    # Only Cloud Scheduler's account may run dispatch, with a token for dispatch's URL.
    SCHEDULER_SA      = google_service_account.scheduler.email
    DISPATCH_AUDIENCE = local.dispatch_url
  }

  # Secret Manager references, resolved by Cloud Run at instance start: values never reach
  # Terraform variables or state.
  function_secrets = {
    SUBJECT_HASH_PEPPER = data.google_secret_manager_secret.subject_hash_pepper.secret_id
  }
  executor_secrets = { for ref, secret_id in var.executor_secrets : "SECRET_${ref}" => secret_id }

  function_source_zip = coalesce(var.function_source_zip, "${path.root}/../dist/function-source.zip")
}

resource "google_storage_bucket" "artifacts" {
  name                        = "${var.project_id}-dsr-artifacts"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  lifecycle_rule {
    condition {
      age = var.artifact_retention_days
    }
    action {
      type = "Delete"
    }
  }
}

# Named by the zip's MD5, so new code means a new object and a redeploy, and the same code
# (scripts/package.ts writes reproducible zips) means no change at all.
resource "google_storage_bucket_object" "function_source" {
  name   = "function-source/${filemd5(local.function_source_zip)}.zip"
  bucket = google_storage_bucket.artifacts.name
  source = local.function_source_zip
}

module "api" {
  source = "./modules/http_function"

  project_id  = var.project_id
  region      = var.region
  name        = "api"
  entry_point = "api"
  description = "dsr-taskrunner HTTP API: requests, approvals, runs and the task registry."

  source_bucket         = google_storage_bucket.artifacts.name
  source_object         = google_storage_bucket_object.function_source.name
  build_service_account = google_service_account.build.id
  service_account_email = google_service_account.api.email

  # POST /tasks/:id/audit runs an executor synchronously under the task's timeoutSeconds (up to
  # MAX_TASK_TIMEOUT_SECONDS, 1740 s): the api must wait that long. See var.api_timeout_seconds.
  timeout_seconds                  = var.api_timeout_seconds
  max_instance_count               = var.api_max_instances
  max_instance_request_concurrency = 40
  available_cpu                    = "1"
  available_memory                 = "512Mi"

  environment_variables        = local.function_env
  secret_environment_variables = local.function_secrets
  invoker_members              = var.api_invoker_members

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_reads_source,
    google_secret_manager_secret_iam_member.pepper_accessor,
  ]
}

module "run_task" {
  source = "./modules/http_function"

  project_id  = var.project_id
  region      = var.region
  name        = "run-task"
  entry_point = "runTask"
  description = "dsr-taskrunner Cloud Tasks target: runs one attempt of one instance."

  source_bucket         = google_storage_bucket.artifacts.name
  source_object         = google_storage_bucket_object.function_source.name
  build_service_account = google_service_account.build.id
  service_account_email = google_service_account.run_task.email

  # Covers MAX_TASK_TIMEOUT_SECONDS (1740) plus the dispatch deadline margin (30 s); Cloud Tasks
  # waits at most 1800 s. See var.run_task_timeout_seconds.
  timeout_seconds                  = var.run_task_timeout_seconds
  max_instance_count               = var.run_task_max_instances
  max_instance_request_concurrency = var.run_task_concurrency
  available_cpu                    = "1"
  available_memory                 = "1Gi"

  environment_variables        = local.function_env
  secret_environment_variables = merge(local.function_secrets, local.executor_secrets)
  invoker_members              = ["serviceAccount:${google_service_account.tasks_invoker.email}"]

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_reads_source,
    google_secret_manager_secret_iam_member.pepper_accessor,
    google_secret_manager_secret_iam_member.executor_secret_accessor,
  ]
}

module "dispatch" {
  source = "./modules/http_function"

  project_id  = var.project_id
  region      = var.region
  name        = "dispatch"
  entry_point = "dispatch"
  description = "dsr-taskrunner reconciler, called by Cloud Scheduler."

  source_bucket         = google_storage_bucket.artifacts.name
  source_object         = google_storage_bucket_object.function_source.name
  build_service_account = google_service_account.build.id
  service_account_email = google_service_account.dispatch.email

  timeout_seconds = var.dispatch_timeout_seconds
  # Runs are idempotent (guarded transactions), but one at a time is all the work needs.
  max_instance_count               = 1
  max_instance_request_concurrency = 1
  available_cpu                    = "1"
  available_memory                 = "512Mi"

  environment_variables        = merge(local.function_env, local.dispatch_env)
  secret_environment_variables = local.function_secrets
  invoker_members              = ["serviceAccount:${google_service_account.scheduler.email}"]

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_reads_source,
    google_secret_manager_secret_iam_member.pepper_accessor,
  ]
}

check "dispatch_url" {
  assert {
    condition     = module.dispatch.url == local.dispatch_url
    error_message = "dispatch's URL is ${module.dispatch.url}, but dispatch was given DISPATCH_AUDIENCE=${local.dispatch_url} (the scheduler's token is minted for module.dispatch.url)."
  }
}

check "api_url" {
  assert {
    condition     = module.api.url == local.api_url
    error_message = "the api's URL is ${module.api.url}, but API_AUDIENCES names ${local.api_url} (callers' tokens are minted for the api's URL)."
  }
}

check "run_task_url" {
  assert {
    condition     = module.run_task.url == local.run_task_url
    error_message = "run-task's URL is ${module.run_task.url}, but the functions were given RUN_TASK_URL=${local.run_task_url}."
  }
}
