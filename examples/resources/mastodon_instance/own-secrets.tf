# An instance moved from the official chart (mastodon/helm-charts): its
# secrets come from the chart's Secret, under the chart's key names.
resource "mastodon_instance" "from_chart" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.org"
  version      = "v4.7.3"

  own_secrets = {
    secret_name = "mastodon-secrets"
    secret_keys = {
      SECRET_KEY_BASE                              = "secret-key-base"
      VAPID_PRIVATE_KEY                            = "vapid-private-key"
      VAPID_PUBLIC_KEY                             = "vapid-public-key"
      ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY         = "are-primary-key"
      ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY   = "are-deterministic-key"
      ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT = "are-derivation-salt"
    }
  }
}

# An instance moved from a VM: the values of its .env.production, given
# write-only (never stored as given; `secrets` shows them once taken).
variable "env_production" {
  type      = map(string)
  sensitive = true
  ephemeral = true
}

resource "mastodon_instance" "from_vm" {
  name         = "social"
  namespace    = "mastodon-vm"
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
}
