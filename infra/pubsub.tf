# Lifecycle events (docs/compliance.md#lifecycle-events): CloudEvents in binary content mode,
# published by the api (after its writes) and by dispatch (every run) from the Firestore outbox
# (`outbox/{ceId}`). The functions get PUBSUB_TOPIC; run-task writes the outbox too (its
# roll-ups close requests) but never publishes, so only api and dispatch may publish.

resource "google_pubsub_topic" "events" {
  name = var.events_topic
  # Subscribers that were down catch up from the topic's retention (replay by seek).
  message_retention_duration = var.events_message_retention

  depends_on = [google_project_service.enabled]
}

# Where a subscription's undeliverable events go (dead_letter_policy), with a subscription of its
# own: a topic without one drops what it receives.
resource "google_pubsub_topic" "events_dead_letter" {
  name                       = "${var.events_topic}-dead-letter"
  message_retention_duration = var.events_message_retention

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_subscription" "events_dead_letter" {
  name                       = "${var.events_topic}-dead-letter"
  topic                      = google_pubsub_topic.events_dead_letter.id
  message_retention_duration = var.events_message_retention
  ack_deadline_seconds       = 60
  expiration_policy {
    ttl = ""
  }
}

# Least privilege: publisher on this topic only, for the two accounts that publish.
resource "google_pubsub_topic_iam_member" "events_publisher" {
  for_each = {
    api      = google_service_account.api.email
    dispatch = google_service_account.dispatch.email
  }

  topic  = google_pubsub_topic.events.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${each.value}"
}

# An example subscriber: a pull subscription with message ordering (a request's events arrive
# in order: the ordering key is the request id) and a dead-letter policy. Consumers (ticketing,
# the legal tracker) each get their own subscription like it, or a push one; none is needed for
# the pipeline itself. Set events_example_subscription = false to leave it out.
resource "google_pubsub_subscription" "events_example" {
  count = var.events_example_subscription ? 1 : 0

  name                       = "${var.events_topic}-example"
  topic                      = google_pubsub_topic.events.id
  enable_message_ordering    = true
  ack_deadline_seconds       = 60
  message_retention_duration = var.events_message_retention
  expiration_policy {
    ttl = ""
  }
  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.events_dead_letter.id
    max_delivery_attempts = var.events_max_delivery_attempts
  }
}

# Dead-lettering is done by Pub/Sub's own service agent: it must publish to the dead-letter topic
# and acknowledge on the subscription it forwards from.
data "google_project" "this" {
  project_id = var.project_id
}

locals {
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  count = var.events_example_subscription ? 1 : 0

  topic  = google_pubsub_topic.events_dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  count = var.events_example_subscription ? 1 : 0

  subscription = google_pubsub_subscription.events_example[0].id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
