# terraform plan -var-file=envs/dev.tfvars
project_id  = "dsr-taskrunner-dev"
environment = "dev"
region      = "us-central1"

firestore_location               = "nam5"
firestore_point_in_time_recovery = false
firestore_delete_protection      = false

api_max_instances      = 3
run_task_max_instances = 5
run_task_concurrency   = 4
# Within run_task_max_instances * run_task_concurrency (checked by a precondition on the queue).
queue_max_concurrent_dispatches = 20
queue_max_dispatches_per_second = 5

dispatch_interval_minutes = 5
run_task_timeout_seconds  = 1800

api_invoker_members = [
  # "group:privacy-engineering@example.com",
]
# Who may call, and with which roles (docs/security.md). Bootstrap admins always hold admin and
# grant the other roles with PUT /iam/policy.
bootstrap_admins = [
  # "user:you@example.com",
]
# gcloud's OAuth client id: lets people call the api with `gcloud auth print-identity-token`
# (a user account cannot mint a token for the api's URL). Production puts people behind IAP.
api_audiences = ["32555940559.apps.googleusercontent.com"]
# Where http.request tasks may send identifiers, and which origins each secret may go to.
http_allowed_origins = []
http_secret_origins  = {}
alert_emails         = []

daily_cost_budget_usd   = 5
queue_backlog_threshold = 100
