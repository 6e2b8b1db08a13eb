# The Mastodon part of examples/gke-cloudsql: everything that the google
# resources feed arrives as a variable, so this module also applies on any
# cluster (the provider's tests apply it on their local cluster).
terraform {
  required_providers {
    mastodon = {
      source = "tootform/mastodon"
    }
  }
}

variable "namespace" {
  type    = string
  default = "mastodon"
}

variable "domain" {
  description = "LOCAL_DOMAIN: the domain of the handles, and where the web interface is served."
  type        = string
}

variable "version_tag" {
  description = "The Mastodon release, pinned: the provider's default moves with its releases, so leaving version unset lets a provider upgrade upgrade Mastodon."
  type        = string
  default     = "v4.7.3"
}

variable "cloud_sql_connection_name" {
  description = "google_sql_database_instance.connection_name"
  type        = string
}

variable "database_name" {
  type = string
}

variable "database_user" {
  type = string
}

variable "database_password" {
  description = "The password of google_sql_user (write-only here: never stored in this state)."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "database_password_version" {
  type    = number
  default = 1
}

variable "workload_identity_service_account" {
  description = "google_service_account.email, bound to the instance's Kubernetes ServiceAccount."
  type        = string
}

variable "media_bucket" {
  type = string
}

variable "media_endpoint" {
  description = "The store's S3 endpoint: GCS's XML interface."
  type        = string
  default     = "https://storage.googleapis.com"
}

variable "media_public_access" {
  description = "acl on GCS with fine-grained access control."
  type        = string
  default     = "acl"
}

variable "media_access_key_id" {
  description = "google_storage_hmac_key.access_id"
  type        = string
}

variable "media_secret_access_key" {
  description = "google_storage_hmac_key.secret"
  type        = string
  sensitive   = true
}

variable "static_ip_name" {
  description = "google_compute_global_address.name, for the GCE Ingress."
  type        = string
}

variable "tls_certificate_pem" {
  type = string
}

variable "tls_private_key_pem" {
  type      = string
  sensitive = true
}

variable "sendgrid_api_key" {
  type      = string
  sensitive = true
}

variable "owner_email" {
  type = string
}

variable "deletion_protection" {
  type    = bool
  default = true
}

# The bucket is created by google_storage_bucket; this checks that Mastodon
# can use it (write, read back, anonymous read, no anonymous listing).
resource "mastodon_media_bucket" "media" {
  bucket            = var.media_bucket
  endpoint          = var.media_endpoint
  region            = "auto"
  create            = false
  public_access     = var.media_public_access
  access_key_id     = var.media_access_key_id
  secret_access_key = var.media_secret_access_key
}

resource "mastodon_instance" "social" {
  name         = "social"
  namespace    = var.namespace
  local_domain = var.domain
  version      = var.version_tag

  deletion_protection = var.deletion_protection

  web       = { replicas = 2 }
  streaming = { replicas = 2 }
  sidekiq = [
    { name = "scheduler", queues = ["scheduler"] },
    { name = "main", queues = ["default,8", "push,6", "ingress,4", "mailers,2", "pull,1", "fasp,1"], concurrency = 10, replicas = 2 },
  ]

  database = {
    name                = var.database_name
    user                = var.database_user
    password_wo         = var.database_password
    password_wo_version = var.database_password_version
    cloud_sql = {
      instance_connection_name          = var.cloud_sql_connection_name
      workload_identity_service_account = var.workload_identity_service_account
    }
  }

  smtp = {
    server       = "smtp.sendgrid.net"
    port         = 2525 # 25, 465 and 587 are blocked on GCE
    login        = "apikey"
    password     = var.sendgrid_api_key
    from_address = "notifications@${var.domain}"
  }

  # Media in GCS through its S3 interface: S3_* settings and the HMAC key in the Secret.
  media_bucket = mastodon_media_bucket.media.settings

  ingress = {
    class_name = "gce"
    annotations = {
      "kubernetes.io/ingress.global-static-ip-name" = var.static_ip_name
    }
    certificate_pem = var.tls_certificate_pem
    private_key_pem = var.tls_private_key_pem
    # GKE's load balancer cuts connections after 30 s, streaming's
    # websockets included, unless a BackendConfig raises the timeout.
    gke_streaming_timeout_seconds = 3600
  }
}

resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.social.id
  username = "owner"
  email    = var.owner_email
}

output "url" {
  value = mastodon_instance.social.url
}

output "load_balancer_ip" {
  value = mastodon_instance.social.load_balancer_ip
}

output "owner_password" {
  value     = mastodon_admin_user.owner.password
  sensitive = true
}
