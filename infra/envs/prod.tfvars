# terraform plan -var-file=envs/prod.tfvars
project_id  = "dsr-taskrunner-prod"
environment = "prod"
region      = "us-central1"

firestore_location               = "nam5"
firestore_point_in_time_recovery = true
firestore_delete_protection      = true

api_max_instances               = 10
run_task_max_instances          = 20
run_task_concurrency            = 8
queue_max_concurrent_dispatches = 100
queue_max_dispatches_per_second = 10

dispatch_interval_minutes = 5
run_task_timeout_seconds  = 1800

api_invoker_members = [
  # "group:privacy-operations@example.com",
]
# Who may call, and with which roles (docs/security.md). Bootstrap admins always hold admin and
# grant the other roles with PUT /iam/policy.
bootstrap_admins = [
  # "group:privacy-platform-admins@example.com",
]
# With IAP in front of the api (a load balancer with a serverless NEG), its audience:
# only IAP's signed assertion then names the caller.
iap_audience = ""
# Where http.request tasks may send identifiers, and which origins each secret may go to.
http_allowed_origins = [
  # "https://www.googleapis.com",
]
http_secret_origins = {
  # GA_API_TOKEN = ["https://www.googleapis.com"]
}
alert_emails = [
  # "privacy-oncall@example.com",
]
notification_channel_ids = []

# Grant run-task dataEditor on each dataset its BigQuery tasks change.
bigquery_datasets = [
  # { project_id = "analytics-prod", dataset_id = "warehouse" },
]

# http.request header secrets: reference => Secret Manager secret id.
executor_secrets = {
  # GA_API_TOKEN = "dsr-ga-api-token"
}

daily_cost_budget_usd          = 50
queue_backlog_threshold        = 500
queue_backlog_duration_seconds = 1800
api_5xx_threshold              = 5
