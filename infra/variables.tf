# ---------------------------------------------------------------------------------------------
# Project and placement
# ---------------------------------------------------------------------------------------------

variable "project_id" {
  description = "The Google Cloud project to deploy into (one project per environment)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id: 6-30 lower-case letters, digits and hyphens."
  }
}

variable "environment" {
  description = "The environment name, used in labels and display names."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "region" {
  description = "Region of the functions, the queue and the scheduler job (LOCATION in src/config.ts)."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 or europe-west1."
  }
}

variable "firestore_location" {
  description = "Firestore location: a multi-region (nam5, eur3) or a region. It cannot be changed after creation."
  type        = string
  default     = "nam5"
}

variable "firestore_point_in_time_recovery" {
  description = "Keep 7 days of Firestore point-in-time recovery (recommended in production)."
  type        = bool
  default     = false
}

variable "firestore_delete_protection" {
  description = "Refuse to delete the Firestore database (recommended in production)."
  type        = bool
  default     = false
}

variable "firestore_ttl_field" {
  description = "Timestamp field whose value Firestore's TTL policy deletes a document after (PII minimisation)."
  type        = string
  default     = "expireAt"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*$", var.firestore_ttl_field))
    error_message = "firestore_ttl_field must be a top-level field name."
  }
}

# ---------------------------------------------------------------------------------------------
# Function source (npm run package)
# ---------------------------------------------------------------------------------------------

variable "function_source_zip" {
  description = "Path of the zip built by `npm run package`. Null means ../dist/function-source.zip next to this directory."
  type        = string
  default     = null
}

variable "artifact_retention_days" {
  description = "Days before an old function-source zip is deleted from the artifacts bucket."
  type        = number
  default     = 90

  validation {
    condition     = var.artifact_retention_days >= 7
    error_message = "artifact_retention_days must be at least 7, so a rollback target stays available."
  }
}

# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------

variable "api_max_instances" {
  description = "max_instance_count of the api function."
  type        = number
  default     = 10

  validation {
    condition     = var.api_max_instances >= 1 && var.api_max_instances <= 1000
    error_message = "api_max_instances must be between 1 and 1000."
  }
}

variable "api_invoker_members" {
  description = "IAM members allowed to call the api function (for example group:privacy-ops@example.com). Production auth is IAM ID tokens."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.api_invoker_members : can(regex("^(user|group|serviceAccount|domain):", m))])
    error_message = "api_invoker_members must be user:, group:, serviceAccount: or domain: members (never allUsers)."
  }
}

variable "run_task_max_instances" {
  description = "max_instance_count of run-task: the ceiling on parallel executor runs, with run_task_concurrency. It must also cover the queue's rate in CPU (docs/scaling.md; checked as a warning)."
  type        = number
  default     = 20

  validation {
    condition     = var.run_task_max_instances >= 1 && var.run_task_max_instances <= 1000
    error_message = "run_task_max_instances must be between 1 and 1000."
  }
}

variable "run_task_concurrency" {
  description = "Requests one run-task instance serves at once. Executors mostly wait on I/O."
  type        = number
  default     = 8

  validation {
    condition     = var.run_task_concurrency >= 1 && var.run_task_concurrency <= 80
    error_message = "run_task_concurrency must be between 1 and 80 (1 CPU)."
  }
}

variable "run_task_timeout_seconds" {
  description = "run-task's request timeout. It must cover the longest task timeout (1740 s, MAX_TASK_TIMEOUT_SECONDS) plus the dispatch deadline margin, and Cloud Tasks waits at most 1800 s."
  type        = number
  default     = 1800

  validation {
    condition     = var.run_task_timeout_seconds >= 1770 && var.run_task_timeout_seconds <= 1800
    error_message = "run_task_timeout_seconds must be between 1770 (1740 s task timeout + 30 s margin) and 1800."
  }
}

variable "api_timeout_seconds" {
  description = "The api function's request timeout. POST /tasks/:id/audit runs the task's executor synchronously under the task's timeoutSeconds (at most 1740 s, MAX_TASK_TIMEOUT_SECONDS), so this must cover that plus a margin to answer."
  type        = number
  default     = 1800

  validation {
    condition     = var.api_timeout_seconds >= 1770 && var.api_timeout_seconds <= 3600
    error_message = "api_timeout_seconds must be between 1770 (the longest audit, 1740 s, plus 30 s to answer) and 3600 (the HTTP function maximum)."
  }
}

variable "dispatch_timeout_seconds" {
  description = "dispatch's request timeout. Dispatch works in pages and stops starting new ones after DISPATCH_BUDGET_SECONDS, which Terraform sets to this minus 60 s (local.dispatch_budget_seconds), so a run ends well within its interval."
  type        = number
  default     = 240

  validation {
    condition     = var.dispatch_timeout_seconds >= 120 && var.dispatch_timeout_seconds <= 1770
    error_message = "dispatch_timeout_seconds must be between 120 (a 60 s budget plus 60 s to finish the page in hand) and 1770 (Cloud Scheduler waits at most 1800 s)."
  }
}

variable "dispatch_interval_minutes" {
  description = "How often Cloud Scheduler calls dispatch. The dispatch-missing alert fires after twice this."
  type        = number
  default     = 5

  validation {
    condition     = contains([1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30], var.dispatch_interval_minutes)
    error_message = "dispatch_interval_minutes must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30) so the cron is evenly spaced."
  }
}

# ---------------------------------------------------------------------------------------------
# Application settings (environment variables read by src/config.ts)
# ---------------------------------------------------------------------------------------------

variable "bigquery_location" {
  description = "BIGQUERY_LOCATION: where the executors' BigQuery jobs run."
  type        = string
  default     = "US"
}

variable "bigquery_price_per_tib" {
  description = "BIGQUERY_PRICE_PER_TIB: on-demand USD per TiB billed, for the run cost (costUsd)."
  type        = number
  default     = 6.25

  validation {
    condition     = var.bigquery_price_per_tib > 0
    error_message = "bigquery_price_per_tib must be positive."
  }
}

variable "bigquery_time_travel_days" {
  description = "BIGQUERY_TIME_TRAVEL_DAYS: the warehouse datasets' time-travel window (2-7)."
  type        = number
  default     = 7

  validation {
    condition     = var.bigquery_time_travel_days >= 2 && var.bigquery_time_travel_days <= 7
    error_message = "bigquery_time_travel_days must be between 2 and 7."
  }
}

variable "business_time_zone" {
  description = "BUSINESS_TIME_ZONE: the IANA zone in which a request's receipt is dated and its deadline days end (docs/compliance.md#deadlines)."
  type        = string
  default     = "UTC"
}

variable "other_response_days" {
  description = "OTHER_RESPONSE_DAYS: the response period, in calendar days, of requests filed under regulation `other`."
  type        = number
  default     = 30

  validation {
    condition     = var.other_response_days >= 1 && var.other_response_days <= 3650
    error_message = "other_response_days must be between 1 and 3650."
  }
}

variable "bigquery_datasets" {
  description = "Datasets run-task's BigQuery executors may change: dataEditor is granted on each, never project-wide."
  type = list(object({
    project_id = string
    dataset_id = string
  }))
  default = []

  validation {
    condition     = alltrue([for d in var.bigquery_datasets : can(regex("^[A-Za-z0-9_]{1,1024}$", d.dataset_id))])
    error_message = "Each dataset_id must be letters, digits and underscores."
  }
}

# ---------------------------------------------------------------------------------------------
# Who may call (docs/security.md)
# ---------------------------------------------------------------------------------------------

variable "api_audiences" {
  description = "Extra `aud` values the api accepts on Cloud Run's forwarded ID token, besides its cloudfunctions.net URL: its run.app URL or a custom domain, or an OAuth client id. A person's `gcloud auth print-identity-token` is for gcloud's client id, 32555940559.apps.googleusercontent.com (a user account cannot choose the audience): list it to let people call the api with gcloud, knowing that any gcloud token of an api invoker is then accepted. API_AUDIENCES."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.api_audiences : can(regex("^(https://[^\\s,]+|[0-9]+(-[0-9a-z]+)?[.]apps[.]googleusercontent[.]com)$", a))])
    error_message = "Each api audience is an https URL or an OAuth client id (NUMBER-ID.apps.googleusercontent.com)."
  }
}

variable "iap_audience" {
  description = "When the api sits behind IAP: the IAP audience (/projects/NUMBER/global/backendServices/ID or /projects/NUMBER/apps/PROJECT). Then only IAP's signed assertion names the caller. Empty: no IAP. IAP_AUDIENCE."
  type        = string
  default     = ""
}

variable "bootstrap_admins" {
  description = "Members that always hold the admin role (they grant the others with PUT /iam/policy). BOOTSTRAP_ADMINS."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.bootstrap_admins : can(regex("^(user|serviceAccount|group):[^\\s@/]+@[^\\s@/]+$", m))])
    error_message = "Each bootstrap admin is an IAM-style member: user:EMAIL, serviceAccount:EMAIL or group:EMAIL."
  }
}

variable "http_allowed_origins" {
  description = "Origins the http.request executor may call with a subject's identifiers (scheme://host[:port]). Empty: no http.request task can be registered. HTTP_ALLOWED_ORIGINS."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for o in var.http_allowed_origins : can(regex("^https?://[A-Za-z0-9.-]+(:([0-9]{1,5}|[*]))?$", o))])
    error_message = "Each allowed origin is scheme://host[:port], with no path."
  }
}

variable "http_secret_origins" {
  description = "Secret reference (a key of executor_secrets) => the origins that secret may be sent to. A secret header to any other origin is refused. HTTP_SECRET_ORIGINS."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for ref, origins in var.http_secret_origins : can(regex("^[A-Z][A-Z0-9_]{0,99}$", ref)) && alltrue([for o in origins : can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", o))])])
    error_message = "Keys are secret references such as GA_API_TOKEN; values are lists of origins."
  }
}

# ---------------------------------------------------------------------------------------------
# Secrets (ids only: values never pass through Terraform)
# ---------------------------------------------------------------------------------------------

variable "subject_hash_pepper_secret_id" {
  description = "Secret Manager secret holding SUBJECT_HASH_PEPPER. Created at bootstrap (docs/deploy.md) so it outlives the stack."
  type        = string
  default     = "dsr-subject-hash-pepper"
}

variable "executor_secrets" {
  description = "Secrets for http.request headers: reference (e.g. GA_API_TOKEN) => Secret Manager secret id. run-task reads them as SECRET_<reference>."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for ref in keys(var.executor_secrets) : can(regex("^[A-Z][A-Z0-9_]{0,99}$", ref))])
    error_message = "executor_secrets keys must be secret references such as GA_API_TOKEN."
  }
}

# ---------------------------------------------------------------------------------------------
# Queue
# ---------------------------------------------------------------------------------------------

variable "tasks_queue_id" {
  description = "TASKS_QUEUE: the Cloud Tasks queue id."
  type        = string
  default     = "dsr-tasks"

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,100}$", var.tasks_queue_id))
    error_message = "tasks_queue_id must be letters, digits and hyphens (at most 100)."
  }
}

variable "queue_max_dispatches_per_second" {
  description = "Cloud Tasks rate limit towards run-task: attempts a second, polls and retries included (20 tasks a request: 25 requests a second at the 500 maximum). One queue cannot go past 500; docs/scaling.md is the plan beyond it."
  type        = number
  default     = 10

  validation {
    condition     = var.queue_max_dispatches_per_second > 0 && var.queue_max_dispatches_per_second <= 500
    error_message = "queue_max_dispatches_per_second must be in (0, 500]."
  }
}

variable "queue_max_concurrent_dispatches" {
  description = "Cloud Tasks concurrency towards run-task (attempts in flight). Keep it within run_task_max_instances * run_task_concurrency (checked), and at least queue_max_dispatches_per_second (an attempt that starts a BigQuery job takes about a second; checked as a warning): see docs/scaling.md."
  type        = number
  default     = 100

  validation {
    condition     = var.queue_max_concurrent_dispatches >= 1 && var.queue_max_concurrent_dispatches <= 5000
    error_message = "queue_max_concurrent_dispatches must be between 1 and 5000."
  }
}

variable "queue_log_sampling_ratio" {
  description = "Fraction of Cloud Tasks attempts logged by the queue itself (0-1)."
  type        = number
  default     = 1

  validation {
    condition     = var.queue_log_sampling_ratio >= 0 && var.queue_log_sampling_ratio <= 1
    error_message = "queue_log_sampling_ratio must be between 0 and 1."
  }
}

# ---------------------------------------------------------------------------------------------
# Alerting
# ---------------------------------------------------------------------------------------------

variable "alert_emails" {
  description = "Email addresses that receive every alert (one notification channel each)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+$", e))])
    error_message = "alert_emails must be email addresses."
  }
}

variable "notification_channel_ids" {
  description = "Existing notification channels (projects/P/notificationChannels/ID) to add to every alert, e.g. PagerDuty or Slack."
  type        = list(string)
  default     = []
}

variable "runbook_base_url" {
  description = "Where docs/ is browsable, without a trailing slash; alert documentation links to <this>/docs/runbook.md#<section>."
  type        = string
  default     = "https://github.com/your-org/dsr-taskrunner/blob/main"

  validation {
    condition     = can(regex("^https://[^\\s]+[^/]$", var.runbook_base_url))
    error_message = "runbook_base_url must be an https URL without a trailing slash."
  }
}

variable "daily_cost_budget_usd" {
  description = "Alert when the runs' BigQuery cost (costUsd) over the last 24 h exceeds this."
  type        = number
  default     = 50

  validation {
    condition     = var.daily_cost_budget_usd > 0
    error_message = "daily_cost_budget_usd must be positive."
  }
}

variable "queue_backlog_threshold" {
  description = "Alert when the queue holds more tasks than this for queue_backlog_duration_seconds. Tasks parked for a later execution window count too."
  type        = number
  default     = 500

  validation {
    condition     = var.queue_backlog_threshold >= 1
    error_message = "queue_backlog_threshold must be at least 1."
  }
}

variable "queue_backlog_duration_seconds" {
  description = "How long the backlog must last before the alert fires."
  type        = number
  default     = 1800

  validation {
    condition     = var.queue_backlog_duration_seconds >= 60 && var.queue_backlog_duration_seconds % 60 == 0
    error_message = "queue_backlog_duration_seconds must be a whole number of minutes, at least 60."
  }
}

variable "abandoned_alert_hours" {
  description = "Alert when the watchdog records abandoned attempts (instance.abandoned) in every hour for this many hours."
  type        = number
  default     = 3

  validation {
    condition     = var.abandoned_alert_hours >= 1 && var.abandoned_alert_hours <= 12 && floor(var.abandoned_alert_hours) == var.abandoned_alert_hours
    error_message = "abandoned_alert_hours must be a whole number of hours between 1 and 12."
  }
}

variable "api_5xx_threshold" {
  description = "Alert when the api function answers more than this many 5xx responses in 5 minutes."
  type        = number
  default     = 5

  validation {
    condition     = var.api_5xx_threshold >= 0
    error_message = "api_5xx_threshold must not be negative."
  }
}

variable "events_topic" {
  description = "PUBSUB_TOPIC: the Pub/Sub topic lifecycle events are published to (docs/compliance.md#lifecycle-events); its dead-letter topic is <name>-dead-letter."
  type        = string
  default     = "dsr-events"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,200}$", var.events_topic))
    error_message = "events_topic must be a Pub/Sub topic id (3-200 characters, starting with a letter)."
  }
}

variable "events_message_retention" {
  description = "How long the events topic, its dead-letter topic and their subscriptions keep messages (seek and replay)."
  type        = string
  default     = "604800s"
}

variable "events_example_subscription" {
  description = "Create the example pull subscription <events_topic>-example (message ordering, dead-letter policy)."
  type        = bool
  default     = true
}

variable "events_max_delivery_attempts" {
  description = "Deliveries of one event to the example subscription before it goes to the dead-letter topic (5-100)."
  type        = number
  default     = 10

  validation {
    condition     = var.events_max_delivery_attempts >= 5 && var.events_max_delivery_attempts <= 100
    error_message = "events_max_delivery_attempts must be between 5 and 100."
  }
}

variable "events_backlog_alert_seconds" {
  description = "Alert when the oldest lifecycle event still pending in the outbox is older than this (seconds)."
  type        = number
  default     = 1800
}
