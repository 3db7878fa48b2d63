locals {
  apis = toset([
    "artifactregistry.googleapis.com", # gen2 functions keep their images here
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com", # builds the function source
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudtasks.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com", # lifecycle events
    "run.googleapis.com",    # gen2 functions are Cloud Run services
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "enabled" {
  for_each = local.apis

  service = each.value
  # Other stacks in the project may use the same APIs: never switch them off on destroy.
  disable_on_destroy = false
}
