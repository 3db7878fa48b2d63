terraform {
  # 1.7 for `removed` blocks and mature `check` blocks; nothing here needs a newer release.
  required_version = ">= 1.7"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
}
