# Mastodon moved from a VM or docker-compose: the secrets of its
# .env.production, its database restored from a pg_dump in a bucket into
# the embedded PostgreSQL, its media in the bucket it already uses, its
# mail settings. See the guide "Moving from a VM or docker-compose".
terraform {
  required_version = ">= 1.11"
  required_providers {
    mastodon = {
      source = "tootform/mastodon"
    }
  }
}

# The old host's .env.production as a map, for example from
# `-var-file` or a secrets manager: write-only attributes take it, so its
# values are not stored in state as given.
variable "env_production" {
  type      = map(string)
  sensitive = true
  ephemeral = true
}

# The key of the bucket where the dump was uploaded (migration_bucket).
variable "dump_secret_access_key" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "mastodon_instance" "social" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.org" # LOCAL_DOMAIN, never another
  # web_domain = "mastodon.example.org" # WEB_DOMAIN, when set there
  version = "v4.7.3" # the version the old host runs

  # SECRET_KEY_BASE, OTP_SECRET, the VAPID pair and the Active Record
  # encryption keys: sessions, Web Push subscriptions and encrypted columns
  # (two-factor secrets) depend on them.
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

  # The database: pg_dump --format=custom of the old one, uploaded to a
  # private bucket, restored into the embedded PostgreSQL when the
  # instance is created, before anything else runs.
  restore = {
    key = "migration/mastodon_production.dump"
    bucket = {
      bucket                       = "social-migration"
      endpoint                     = "https://s3.eu-west-1.amazonaws.com"
      region                       = "eu-west-1"
      access_key_id                = "AKIAMIGRATIONEXAMPLE"
      secret_access_key_wo         = var.dump_secret_access_key
      secret_access_key_wo_version = 1
    }
  }

  # The bucket the old host stores media in (its S3_* settings), used as
  # it is. Note the inversion: S3_OVERRIDE_PATH_STYLE=true there is
  # path_style = false here.
  media_bucket = {
    bucket                       = "social-media"                       # S3_BUCKET
    endpoint                     = "https://s3.eu-west-1.amazonaws.com" # S3_ENDPOINT (or S3_PROTOCOL://S3_HOSTNAME)
    region                       = "eu-west-1"                          # S3_REGION
    alias_host                   = "files.social.example.org"           # S3_ALIAS_HOST
    permission                   = "public-read"                        # S3_PERMISSION
    path_style                   = false                                # S3_OVERRIDE_PATH_STYLE=true
    access_key_id                = "AKIAMEDIAEXAMPLE"                   # AWS_ACCESS_KEY_ID
    secret_access_key_wo         = var.env_production["AWS_SECRET_ACCESS_KEY"]
    secret_access_key_wo_version = 1
  }

  smtp = {
    server              = "smtp.mailgun.org"          # SMTP_SERVER
    port                = 587                         # SMTP_PORT
    login               = "postmaster@mg.example.org" # SMTP_LOGIN
    password_wo         = var.env_production["SMTP_PASSWORD"]
    password_wo_version = 1
    from_address        = "notifications@social.example.org" # SMTP_FROM_ADDRESS
  }
}
