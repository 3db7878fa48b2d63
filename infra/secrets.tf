# The pepper of the subject HMAC (SUBJECT_HASH_PEPPER). Its secret and first version are created
# at bootstrap (docs/deploy.md), outside this stack, because:
# - a value written by Terraform would land in its state;
# - losing or changing the pepper breaks duplicate detection against every stored subjectHash,
#   so it must outlive `terraform destroy`.
# Terraform only looks it up (failing the plan early if it is missing) and grants read access.
data "google_secret_manager_secret" "subject_hash_pepper" {
  secret_id = var.subject_hash_pepper_secret_id
}

resource "google_secret_manager_secret_iam_member" "pepper_accessor" {
  for_each = {
    api      = google_service_account.api.email
    run_task = google_service_account.run_task.email
    dispatch = google_service_account.dispatch.email
  }

  secret_id = data.google_secret_manager_secret.subject_hash_pepper.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${each.value}"
}

# Secrets the http.request executor sends as headers: run-task alone may read them.
resource "google_secret_manager_secret_iam_member" "executor_secret_accessor" {
  for_each = var.executor_secrets

  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.run_task.email}"
}
