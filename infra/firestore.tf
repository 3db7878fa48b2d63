# Firestore (Native mode) holds tasks, requests, instances and runs (the audit trail), batches
# (with their members) and table leases.
# The code uses the (default) database: new Firestore({ projectId }).
resource "google_firestore_database" "main" {
  name                              = "(default)"
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "PESSIMISTIC"
  app_engine_integration_mode       = "DISABLED"
  point_in_time_recovery_enablement = var.firestore_point_in_time_recovery ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = var.firestore_delete_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  # The run records are legal evidence: `terraform destroy` leaves the database alone.
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.enabled]
}

locals {
  # The indexes the store's queries need, as declared by src/adapters/firestore/indexes.ts
  # (COMPOSITE_INDEXES and FIELD_OVERRIDES); test/infra checks that the two lists agree.
  firestore_indexes = {
    instances_state_lease_expires_at = {
      collection  = "instances"
      query_scope = "COLLECTION_GROUP"
      fields      = [{ field_path = "state", order = "ASCENDING" }, { field_path = "leaseExpiresAt", order = "ASCENDING" }]
    }
    instances_state_next_attempt_at = {
      collection  = "instances"
      query_scope = "COLLECTION_GROUP"
      fields      = [{ field_path = "state", order = "ASCENDING" }, { field_path = "nextAttemptAt", order = "ASCENDING" }]
    }
    instances_state_schedule_time = {
      collection  = "instances"
      query_scope = "COLLECTION_GROUP"
      fields      = [{ field_path = "state", order = "ASCENDING" }, { field_path = "scheduleTime", order = "ASCENDING" }]
    }
    instances_state_updated_at = {
      collection  = "instances"
      query_scope = "COLLECTION_GROUP"
      fields      = [{ field_path = "state", order = "ASCENDING" }, { field_path = "updatedAt", order = "ASCENDING" }]
    }
    # A paused task's waiting instances (counted), a resumed task's paused ones (re-armed).
    instances_state_task_id = {
      collection  = "instances"
      query_scope = "COLLECTION_GROUP"
      fields      = [{ field_path = "state", order = "ASCENDING" }, { field_path = "taskId", order = "ASCENDING" }]
    }
    # GET /requests: [createdBy ==] dryRun == [status in], by receivedAt (newest first) or
    # dueAt (soonest first); every other filter is applied in memory (src/adapters/firestore/request-scan.ts).
    requests_dry_run_received_at = {
      collection  = "requests"
      query_scope = "COLLECTION"
      fields      = [{ field_path = "dryRun", order = "ASCENDING" }, { field_path = "receivedAt", order = "DESCENDING" }]
    }
    requests_dry_run_due_at = {
      collection  = "requests"
      query_scope = "COLLECTION"
      fields      = [{ field_path = "dryRun", order = "ASCENDING" }, { field_path = "dueAt", order = "ASCENDING" }]
    }
    requests_dry_run_status_received_at = {
      collection  = "requests"
      query_scope = "COLLECTION"
      fields      = [{ field_path = "dryRun", order = "ASCENDING" }, { field_path = "status", order = "ASCENDING" }, { field_path = "receivedAt", order = "DESCENDING" }]
    }
    requests_dry_run_status_due_at = {
      collection  = "requests"
      query_scope = "COLLECTION"
      fields      = [{ field_path = "dryRun", order = "ASCENDING" }, { field_path = "status", order = "ASCENDING" }, { field_path = "dueAt", order = "ASCENDING" }]
    }
    requests_created_by_dry_run_received_at = {
      collection  = "requests"
      query_scope = "COLLECTION"
      fields      = [{ field_path = "createdBy", order = "ASCENDING" }, { field_path = "dryRun", order = "ASCENDING" }, { field_path = "receivedAt", order = "DESCENDING" }]
    }
    requests_created_by_dry_run_due_at = {
      collection  = "requests"
      query_scope = "COLLECTION"
      fields      = [{ field_path = "createdBy", order = "ASCENDING" }, { field_path = "dryRun", order = "ASCENDING" }, { field_path = "dueAt", order = "ASCENDING" }]
    }
    requests_subject_hash_type_created_at = {
      collection  = "requests"
      query_scope = "COLLECTION"
      fields      = [{ field_path = "subjectHash", order = "ASCENDING" }, { field_path = "type", order = "ASCENDING" }, { field_path = "createdAt", order = "DESCENDING" }]
    }
    requests_minimised_completed_at = {
      collection  = "requests"
      query_scope = "COLLECTION"
      fields      = [{ field_path = "minimised", order = "ASCENDING" }, { field_path = "completedAt", order = "ASCENDING" }]
    }
    # GET /costs: task audits (audit_run) in a range, across every task's ledger.
    ledger_kind_at = {
      collection  = "ledger"
      query_scope = "COLLECTION_GROUP"
      fields      = [{ field_path = "kind", order = "ASCENDING" }, { field_path = "at", order = "ASCENDING" }]
    }
    batches_state_due_at = {
      collection  = "batches"
      query_scope = "COLLECTION"
      fields      = [{ field_path = "state", order = "ASCENDING" }, { field_path = "dueAt", order = "ASCENDING" }]
    }
  }

  # Single-field indexes are automatic for collection queries only; these collection-group
  # queries need theirs declared. Declaring a field replaces its automatic settings, so the
  # collection-scope index is restated beside the collection-group one.
  #   instances.state:  dispatch's `state in [...]` across every request's instances;
  #   runs.requestId:   listRuns across a request's instances;
  #   runs.finishedAt:  GET /costs, the runs finished in a range across every request.
  firestore_field_indexes = {
    instances_state = {
      collection = "instances"
      field      = "state"
      indexes    = [{ order = "ASCENDING", query_scope = "COLLECTION" }, { order = "ASCENDING", query_scope = "COLLECTION_GROUP" }]
    }
    runs_request_id = {
      collection = "runs"
      field      = "requestId"
      indexes    = [{ order = "ASCENDING", query_scope = "COLLECTION" }, { order = "ASCENDING", query_scope = "COLLECTION_GROUP" }]
    }
    runs_finished_at = {
      collection = "runs"
      field      = "finishedAt"
      indexes    = [{ order = "ASCENDING", query_scope = "COLLECTION" }, { order = "ASCENDING", query_scope = "COLLECTION_GROUP" }]
    }
  }

  # Collections whose documents hold or point at subject data. A document whose TTL field holds
  # a timestamp is deleted by Firestore after that time (usually within 24 h); documents
  # without the field are kept. TTL does not cascade, hence one policy per level:
  #   requests/{r}, requests/{r}/instances/{t}, .../instances/{t}/runs/{run},
  #   .../instances/{t}/records/{chunk} (a records package, src/adapters/firestore/firestore-record-store.ts).
  # outbox/{ceId}: a lifecycle event, given its TTL once published (src/adapters/firestore/event-outbox.ts).
  ttl_collections = ["requests", "instances", "runs", "records", "ledger", "outbox"]

  # Fields never queried whose values are large: exempt from Firestore's automatic single-field
  # indexes (an empty index_config), so a write does not index up to 512 KiB of bytes.
  #   records.data: a records package chunk (NDJSON, at most MAX_RECORD_CHUNK_BYTES).
  firestore_index_exemptions = {
    records_data = {
      collection = "records"
      field      = "data"
    }
  }
}

resource "google_firestore_index" "composite" {
  for_each = local.firestore_indexes

  database    = google_firestore_database.main.name
  collection  = each.value.collection
  query_scope = each.value.query_scope

  dynamic "fields" {
    for_each = each.value.fields

    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }
}

resource "google_firestore_field" "collection_group" {
  for_each = local.firestore_field_indexes

  database   = google_firestore_database.main.name
  collection = each.value.collection
  field      = each.value.field

  index_config {
    dynamic "indexes" {
      for_each = each.value.indexes

      content {
        order       = indexes.value.order
        query_scope = indexes.value.query_scope
      }
    }
  }
}

# PII minimisation: Firestore deletes each document once its TTL field's time has passed. The
# field is not indexed (an index on a monotonic timestamp would only add write hotspots).
resource "google_firestore_field" "ttl" {
  for_each = toset(local.ttl_collections)

  database   = google_firestore_database.main.name
  collection = each.value
  field      = var.firestore_ttl_field

  ttl_config {}
  index_config {}
}

resource "google_firestore_field" "index_exemption" {
  for_each = local.firestore_index_exemptions

  database   = google_firestore_database.main.name
  collection = each.value.collection
  field      = each.value.field

  index_config {}
}
