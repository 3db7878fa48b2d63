variable "project_id" {
  description = "Project of the function."
  type        = string
}

variable "region" {
  description = "Region of the function and its Cloud Run service."
  type        = string
}

variable "name" {
  description = "Function name, which is also the Cloud Run service name (resource.labels.service_name in logs)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,48}[a-z0-9]$", var.name))
    error_message = "name must be lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "entry_point" {
  description = "The exported function functions-framework serves (a key of FUNCTIONS in functions/index.ts)."
  type        = string
}

variable "description" {
  description = "Shown in the console."
  type        = string
  default     = ""
}

variable "source_bucket" {
  description = "Bucket of the source zip."
  type        = string
}

variable "source_object" {
  description = "Content-hashed object name of the source zip."
  type        = string
}

variable "build_service_account" {
  description = "Full id (projects/P/serviceAccounts/EMAIL) of the account Cloud Build runs as."
  type        = string
}

variable "service_account_email" {
  description = "The runtime identity of this function."
  type        = string
}

variable "timeout_seconds" {
  description = "Request timeout."
  type        = number

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 3600
    error_message = "timeout_seconds must be between 1 and 3600 for an HTTP function."
  }
}

variable "max_instance_count" {
  description = "Upper bound on instances: the function's share of downstream capacity."
  type        = number

  validation {
    condition     = var.max_instance_count >= 1
    error_message = "max_instance_count must be at least 1."
  }
}

variable "min_instance_count" {
  description = "Instances kept warm."
  type        = number
  default     = 0
}

variable "max_instance_request_concurrency" {
  description = "Requests served by one instance at once."
  type        = number
  default     = 1

  validation {
    condition     = var.max_instance_request_concurrency >= 1 && var.max_instance_request_concurrency <= 1000
    error_message = "max_instance_request_concurrency must be between 1 and 1000."
  }
}

variable "available_cpu" {
  description = "vCPUs per instance; concurrency above 1 needs at least 1."
  type        = string
  default     = "1"
}

variable "available_memory" {
  description = "Memory per instance, e.g. 512Mi."
  type        = string
  default     = "512Mi"
}

variable "environment_variables" {
  description = "Plain settings (never secrets)."
  type        = map(string)
  default     = {}
}

variable "secret_environment_variables" {
  description = "Environment variable name => Secret Manager secret id (latest version) in project_id."
  type        = map(string)
  default     = {}
}

variable "invoker_members" {
  description = "Members granted roles/run.invoker on the function's Cloud Run service."
  type        = list(string)
  default     = []
}

variable "ingress_settings" {
  description = "ALLOW_ALL keeps Cloud Tasks and Cloud Scheduler able to call in; IAM still authenticates every call."
  type        = string
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress_settings)
    error_message = "ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}
