# The smallest instance: embedded PostgreSQL and Redis, media on a volume.
resource "mastodon_instance" "social" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.org"
  version      = "v4.7.3"
}

# Day two: the maintenance tasks tuned (they run by default) and nightly
# dumps of the embedded database to a volume, the newest 14 kept.
resource "mastodon_instance" "kept" {
  name         = "kept"
  namespace    = "kept"
  local_domain = "kept.example.org"
  version      = "v4.7.3"

  maintenance = {
    remote_media  = { retention_days = 14 }
    preview_cards = { schedule = "30 4 * * 1" }
    statuses      = { enabled = true, retention_days = 180 }
  }
  backup = {
    schedule = "15 2 * * *"
    keep     = 14
  }
}

# A larger one: external database and Redis, mail through SendGrid,
# Sidekiq split by queue, web and Sidekiq autoscaled, Prometheus metrics,
# an Ingress with cert-manager.
resource "mastodon_instance" "big" {
  name         = "big"
  namespace    = "big"
  local_domain = "example.org"
  web_domain   = "social.example.org"
  version      = "v4.7.3"

  web = {
    resources   = { cpu_request = "500m", memory_request = "1Gi", memory_limit = "2Gi" }
    autoscaling = { min_replicas = 2, max_replicas = 8, target_cpu_utilization = 70 }
  }
  streaming = { replicas = 2 }
  sidekiq = [
    # The scheduler runs once: never autoscaled.
    { name = "scheduler", queues = ["scheduler"], concurrency = 5 },
    {
      name        = "main"
      queues      = ["default,8", "push,6", "ingress,4", "mailers,2", "pull,1", "fasp,1"]
      concurrency = 25
      resources   = { cpu_request = "1", memory_request = "1Gi" }
      autoscaling = { min_replicas = 2, max_replicas = 6, target_cpu_utilization = 80 }
    },
  ]
  metrics = { enabled = true, service_monitor_labels = { release = "kube-prometheus-stack" } }

  database = {
    host                = "10.20.0.3"
    user                = "mastodon"
    password_wo         = var.database_password
    password_wo_version = 1
    sslmode             = "require"
    # At full scale web (8 x 2 x 5), Sidekiq (5 + 6 x 25), streaming (2 x 10)
    # and the Jobs may hold about 270 connections: the server allows 400.
    max_connections = 400
  }
  redis = {
    host     = "10.20.0.4"
    password = var.redis_password
  }
  smtp = {
    server       = "smtp.sendgrid.net"
    port         = 2525
    login        = "apikey"
    password     = var.sendgrid_api_key
    from_address = "notifications@example.org"
  }
  media = { storage_size = "100Gi", storage_class = "standard-rwx", access_mode = "ReadWriteMany" }
  ingress = {
    class_name      = "nginx"
    tls_secret_name = "social-example-org-tls"
    annotations     = { "cert-manager.io/cluster-issuer" = "letsencrypt" }
  }
  settings = {
    authorized_fetch      = true
    default_locale        = "en"
    rails_log_level       = "warn"
    email_domain_denylist = ["mailinator.com"]
    # Federate with a server inside the cluster's network.
    allowed_private_addresses = ["10.20.0.0/16"]
  }
  hcaptcha = { site_key = var.hcaptcha_site_key, secret_key_wo = var.hcaptcha_secret_key, secret_key_wo_version = 1 }
  # Traces of web, Sidekiq and the Jobs, one in ten.
  opentelemetry = {
    endpoint             = "http://otel-collector.monitoring:4318"
    traces_sampler       = "parentbased_traceidratio"
    traces_sampler_ratio = 0.1
  }

  # Full-text search in an OpenSearch cluster you run; the indexes are built
  # by a Job (tootctl search deploy) when search is switched on and when an
  # upgrade needs it. A large instance may build them in the background.
  opensearch = {
    host                = "opensearch.search.svc"
    user                = "mastodon"
    password_wo         = var.opensearch_password
    password_wo_version = 1
    prefix              = "big"
    wait_for_index      = false
  }
  translation = {
    deepl = { api_key_wo = var.deepl_api_key, api_key_wo_version = 1, plan = "pro" }
  }
}

variable "database_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "redis_password" {
  type      = string
  sensitive = true
}

variable "sendgrid_api_key" {
  type      = string
  sensitive = true
}

variable "opensearch_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "deepl_api_key" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "hcaptcha_site_key" {
  type = string
}

variable "hcaptcha_secret_key" {
  type      = string
  sensitive = true
  ephemeral = true
}
