# Mastodon on GKE with Cloud SQL for PostgreSQL (through the Cloud SQL Auth
# Proxy and Workload Identity), media in GCS, mail through SendGrid, a static
# IP and a DNS record. See the guide "Mastodon on GKE with Cloud SQL".
terraform {
  required_version = ">= 1.11"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "7.43.0"
    }
    mastodon = {
      source  = "tootform/mastodon"
      version = "0.1.0"
    }
  }
}

variable "project" {
  type = string
}

variable "region" {
  type    = string
  default = "europe-west1"
}

variable "domain" {
  description = "The instance's domain, in the Cloud DNS zone dns_zone."
  type        = string
}

variable "dns_zone" {
  description = "The name of an existing Cloud DNS managed zone for domain."
  type        = string
}

variable "owner_email" {
  type = string
}

variable "sendgrid_api_key" {
  type      = string
  sensitive = true
}

variable "tls_certificate_pem" {
  type = string
}

variable "tls_private_key_pem" {
  type      = string
  sensitive = true
}

variable "database_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

provider "google" {
  project = var.project
  region  = var.region
}

# --- the cluster ----------------------------------------------------------
resource "google_container_cluster" "main" {
  name                = "mastodon"
  location            = var.region
  enable_autopilot    = true
  deletion_protection = true
  workload_identity_config {
    workload_pool = "${var.project}.svc.id.goog"
  }
}

data "google_client_config" "current" {}

# The mastodon provider reaches the cluster created above: it plans before
# the cluster exists and connects once it does.
provider "mastodon" {
  kubernetes = {
    host                   = "https://${google_container_cluster.main.endpoint}"
    token                  = data.google_client_config.current.access_token
    cluster_ca_certificate = base64decode(google_container_cluster.main.master_auth[0].cluster_ca_certificate)
  }
}

# --- the database -----------------------------------------------------------
resource "google_sql_database_instance" "main" {
  name             = "mastodon"
  database_version = "POSTGRES_17"
  region           = var.region
  settings {
    tier = "db-custom-2-7680"
  }
  deletion_protection = true
}

resource "google_sql_database" "mastodon" {
  name     = "mastodon_production"
  instance = google_sql_database_instance.main.name
}

resource "google_sql_user" "mastodon" {
  name                = "mastodon"
  instance            = google_sql_database_instance.main.name
  password_wo         = var.database_password
  password_wo_version = 1
}

# The Google service account the Pods act as (Workload Identity): it may
# connect to Cloud SQL, and no key file exists.
resource "google_service_account" "mastodon" {
  account_id   = "mastodon"
  display_name = "Mastodon (Cloud SQL client)"
}

resource "google_project_iam_member" "cloudsql_client" {
  project = var.project
  role    = "roles/cloudsql.client"
  member  = "serviceAccount:${google_service_account.mastodon.email}"
}

resource "google_service_account_iam_member" "workload_identity" {
  service_account_id = google_service_account.mastodon.name
  role               = "roles/iam.workloadIdentityUser"
  # namespace "mastodon", Kubernetes ServiceAccount "social" (the instance's name)
  member = "serviceAccount:${var.project}.svc.id.goog[mastodon/social]"
}

# --- media ------------------------------------------------------------------
resource "google_storage_bucket" "media" {
  name                        = "${var.project}-mastodon-media"
  location                    = var.region
  uniform_bucket_level_access = false # Mastodon sets object ACLs (fine-grained access)
}

resource "google_service_account" "media" {
  account_id   = "mastodon-media"
  display_name = "Mastodon media (GCS HMAC)"
}

resource "google_storage_bucket_iam_member" "media" {
  bucket = google_storage_bucket.media.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.media.email}"
}

resource "google_storage_hmac_key" "media" {
  service_account_email = google_service_account.media.email
}

# --- address and DNS -----------------------------------------------------------
resource "google_compute_global_address" "mastodon" {
  name = "mastodon"
}

resource "google_dns_record_set" "mastodon" {
  managed_zone = var.dns_zone
  name         = "${var.domain}."
  type         = "A"
  ttl          = 300
  # The address the instance's Ingress reports, once the load balancer has it.
  rrdatas = [coalesce(module.mastodon.load_balancer_ip, google_compute_global_address.mastodon.address)]
}

# --- Mastodon -------------------------------------------------------------------
module "mastodon" {
  source = "./mastodon"

  domain                            = var.domain
  cloud_sql_connection_name         = google_sql_database_instance.main.connection_name
  database_name                     = google_sql_database.mastodon.name
  database_user                     = google_sql_user.mastodon.name
  database_password                 = var.database_password
  workload_identity_service_account = google_service_account.mastodon.email
  media_bucket                      = google_storage_bucket.media.name
  media_access_key_id               = google_storage_hmac_key.media.access_id
  media_secret_access_key           = google_storage_hmac_key.media.secret
  static_ip_name                    = google_compute_global_address.mastodon.name
  tls_certificate_pem               = var.tls_certificate_pem
  tls_private_key_pem               = var.tls_private_key_pem
  sendgrid_api_key                  = var.sendgrid_api_key
  owner_email                       = var.owner_email

  depends_on = [google_project_iam_member.cloudsql_client, google_service_account_iam_member.workload_identity]
}

output "url" {
  value = module.mastodon.url
}

output "owner_password" {
  value     = module.mastodon.owner_password
  sensitive = true
}
