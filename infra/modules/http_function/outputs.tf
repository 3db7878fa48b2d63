output "name" {
  description = "The function name."
  value       = google_cloudfunctions2_function.this.name
}

output "url" {
  description = "The function's HTTPS URL (https://REGION-PROJECT.cloudfunctions.net/NAME)."
  value       = google_cloudfunctions2_function.this.url
}

output "service" {
  description = "The Cloud Run service under the function."
  value       = google_cloudfunctions2_function.this.service_config[0].service
}

output "service_uri" {
  description = "The Cloud Run service's run.app URI."
  value       = google_cloudfunctions2_function.this.service_config[0].uri
}
