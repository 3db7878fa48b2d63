# A partial backend: the bucket and prefix come from `terraform init -backend-config=...`, so one
# configuration serves every environment. docs/deploy.md shows how to bootstrap the bucket.
#
#   terraform init -backend-config="bucket=<project>-tfstate" -backend-config="prefix=dsr-taskrunner/dev"
terraform {
  backend "gcs" {}
}
