# Mastodon moved from a VM or docker-compose, keeping its database where it
# is (a managed PostgreSQL, or a server the cluster reaches): nothing is
# dumped or restored; the instance's prepare step finds the schema and
# only migrates it. See the guide "Moving from a VM or docker-compose".
terraform {
  required_version = ">= 1.11"
  required_providers {
    mastodon = {
      source = "tootform/mastodon"
    }
  }
}

variable "env_production" {
  type      = map(string)
  sensitive = true
  ephemeral = true
}

resource "mastodon_instance" "social" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.org"
  version      = "v4.7.3"

  own_secrets = {
    values_wo = {
      for k, v in var.env_production : k => v if contains([
        "SECRET_KEY_BASE", "OTP_SECRET", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY",
        "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT",
        "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY",
      ], k)
    }
    values_wo_version = 1
  }

  # DB_HOST, DB_PORT, DB_NAME, DB_USER and DB_PASS of .env.production.
  database = {
    host                = "db.internal.example.org"
    port                = 5432
    name                = "mastodon_production"
    user                = "mastodon"
    password_wo         = var.env_production["DB_PASS"]
    password_wo_version = 1
    sslmode             = "require" # DB_SSLMODE, when set there
  }

  media_bucket = {
    bucket                       = "social-media"
    endpoint                     = "https://s3.eu-west-1.amazonaws.com"
    region                       = "eu-west-1"
    access_key_id                = "AKIAMEDIAEXAMPLE"
    secret_access_key_wo         = var.env_production["AWS_SECRET_ACCESS_KEY"]
    secret_access_key_wo_version = 1
  }
}
