provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app         = "dsr-taskrunner"
    environment = var.environment
    managed-by  = "terraform"
  }
}
